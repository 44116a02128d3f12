package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/chload/chload/internal/memch"
)

// awkwardSecrets are passwords that YAML would read as something else if
// they were pasted into the file's text: aliases, comments, mappings,
// flow collections, tags, anchors, quotes, newlines, and text that looks
// like a reference.
var awkwardSecrets = []string{
	"*hunter2", "pa ss#word", "pass #word", "a: b", "{x}", "{x: 1}", "!tag", "&anc*hor", "[open", "]close",
	"multi\nline\tß", `quote"and'`, "${NOT_A_VAR}", "$${LIT}", "  spaced  x9 ", "- dash", "? key", "%percent",
	"@at`tick", "|pipe", ">fold", "null", "~", "0x1F", "1e3", "007", "true", "",
}

// assertNoPart fails when out holds any part of secret 4 bytes or longer
// that baseline, the same output made with another secret, does not hold
// (so "word" in "password" is not taken for a part of "pa ss#word").
func assertNoPart(t *testing.T, what, out, baseline, secret string) {
	t.Helper()
	for i := 0; i < len(secret); i++ {
		for j := i + 4; j <= len(secret); j++ {
			if strings.Contains(out, secret[i:j]) && !strings.Contains(baseline, secret[i:j]) {
				t.Errorf("%s holds %q, part of the secret %q:\n%s", what, secret[i:j], secret, out)
				return
			}
		}
	}
}

// minimalJob is a valid job with fmt verbs for the password line and more.
const minimalJob = "version: 1\nname: x\nsource: {type: parquet, paths: [a]}\ntarget:\n  table: db.t\n  clickhouse:\n%s%s"

// TestVariableValuesArriveByteForByte: a variable's value is never read as
// YAML, wherever the reference sits: plain, quoted, in a flow mapping, in a
// block scalar, and with text around it.
func TestVariableValuesArriveByteForByte(t *testing.T) {
	forms := []struct {
		name, line string
		wrap       func(string) string
	}{
		{"plain", "    password: ${P}\n", nil},
		{"double quoted", "    password: \"${P}\"\n", nil},
		{"single quoted", "    password: '${P}'\n", nil},
		{"text around", "    password: x-${P}-y\n", func(s string) string { return "x-" + s + "-y" }},
		{"comment after", "    password: ${P} # the password\n", nil},
		{"literal block", "    password: |-\n      ${P}\n", nil},
	}
	for _, secret := range awkwardSecrets {
		for _, f := range forms {
			t.Run(fmt.Sprintf("%s/%q", f.name, secret), func(t *testing.T) {
				job, err := Parse([]byte(fmt.Sprintf(minimalJob, f.line, "")), LoadOptions{Env: envOf(map[string]string{"P": secret})})
				if err != nil {
					t.Fatal(err)
				}
				want := secret
				if f.wrap != nil {
					want = f.wrap(secret)
				}
				if got := string(job.Target.ClickHouse.Password); got != want {
					t.Fatalf("password %q, want %q", got, want)
				}
			})
		}
	}
	// A flow mapping, where "{" "}" "," are YAML syntax, and a non-secret key.
	for _, v := range []string{"a, b]", "x: {y,z}", "#c", "*a"} { // each also a valid path pattern
		text := "version: 1\nname: ${N}\nsource: {type: parquet, paths: [\"${N}\", ${N}]}\ntarget: {table: db.t, clickhouse: {password: ${P}}}\n"
		job, err := Parse([]byte(text), LoadOptions{Env: envOf(map[string]string{"N": v, "P": v + "!"})})
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		var src struct {
			Paths []string `yaml:"paths"`
		}
		if err := job.Source.Decoder()(&src); err != nil {
			t.Fatal(err)
		}
		if job.Name != v || string(job.Target.ClickHouse.Password) != v+"!" || len(src.Paths) != 2 || src.Paths[0] != v || src.Paths[1] != v {
			t.Errorf("%q: name %q, password %q, paths %q", v, job.Name, job.Target.ClickHouse.Password, src.Paths)
		}
	}
}

// TestKeysAndCommentsAreNotExpanded: a reference in a key stays as
// written (and is an unknown key); one in a comment is ignored, even when
// its variable is not set; $${ is a literal ${.
func TestKeysAndCommentsAreNotExpanded(t *testing.T) {
	env := envOf(map[string]string{"K": "name"})
	_, err := Parse([]byte("version: 1\n${K}: x\nsource: {type: parquet, paths: [a]}\ntarget: {table: db.t}\n"), LoadOptions{Env: env})
	if err == nil || !strings.Contains(err.Error(), "${K} (line 2): unknown key") {
		t.Fatalf("a reference in a key: %v", err)
	}
	job, err := Parse([]byte("# uses ${UNSET}\nversion: 1\nname: a$${b}c # ${UNSET_TOO}\nsource: {type: parquet, paths: [a]}\ntarget: {table: db.t}\n"), LoadOptions{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if job.Name != "a${b}c" {
		t.Fatalf("name %q, want a${b}c", job.Name)
	}
}

// neutral is s with its letters and digits replaced: the same shape of
// value with none of its parts, to make a baseline output from.
func neutral(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			return 'Q'
		case r >= '0' && r <= '9':
			return '7'
		}
		return r
	}, s)
}

// secretOutputs is everything chload prints about a job whose password is
// secret: the errors of two broken files and the validate output.
func secretOutputs(t *testing.T, secret string) string {
	t.Helper()
	env := envOf(map[string]string{"CH_PASSWORD": secret})
	var out strings.Builder
	// The README's own line, with other errors around it.
	bad := fmt.Sprintf(minimalJob, "    password: ${CH_PASSWORD:-}\n", "write: {batch_rows: abc, readerz: 2}\nversion: 2\n")
	_, err := Parse([]byte(strings.Replace(bad, "version: 1\n", "", 1)), LoadOptions{Env: env})
	if err == nil {
		t.Fatal("no error")
	}
	out.WriteString(err.Error())
	// The secret's variable used where values are printed.
	reuse := "version: 1\nname: ${CH_PASSWORD}\nsource: {type: parquet, paths: [\"${CH_PASSWORD}\"]}\ntarget:\n  table: db.${CH_PASSWORD}\n  clickhouse:\n    hosts: [\"${CH_PASSWORD}\"]\n    password: ${CH_PASSWORD}\nwrite: {batch_rows: \"${CH_PASSWORD}\", concurrency: \"${CH_PASSWORD}\", max_buffer_bytes: \"${CH_PASSWORD}\"}\n"
	_, err = Parse([]byte(reuse), LoadOptions{Env: env})
	if err == nil || !strings.Contains(err.Error(), "name (line 2): uses ${CH_PASSWORD}, which the secret key target.clickhouse.password uses too") {
		t.Fatalf("a secret's variable in other keys: %v", err)
	}
	out.WriteString(err.Error())
	// A password from the environment default, and validate's output.
	job, err := Parse([]byte(fmt.Sprintf(minimalJob, "    user: u\n", "")), LoadOptions{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if string(job.Target.ClickHouse.Password) != secret {
		t.Fatalf("password from $CH_PASSWORD: %q", job.Target.ClickHouse.Password)
	}
	y, err := yaml.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(job)
	fmt.Fprintf(&out, "%s%s%v %+v %#v", y, js, job, job, job)
	return out.String()
}

// TestSecretsNeverInMessages: with the password from a variable, every
// error (a typo, a bad value, a missing variable, the secret's variable
// reused in a key that is printed) and the validate output hold no part of
// it; a secret written in the file that YAML cannot read is not echoed.
func TestSecretsNeverInMessages(t *testing.T) {
	for _, secret := range awkwardSecrets {
		if len(secret) < 4 {
			continue
		}
		t.Run(fmt.Sprintf("%q", secret), func(t *testing.T) {
			assertNoPart(t, "output", secretOutputs(t, secret), secretOutputs(t, neutral(secret)), secret)
		})
	}
	// Written in the file as it is, where YAML reads it as an alias, a tag
	// or a broken flow collection: the error names the key, not the value.
	for _, lit := range []string{"*hunter2", "!tagged value", "[unclosed1", "{unclosed2", "\"unclosed3", "'unclosed4", "a: b: c"} {
		errFor := func(lit string) string {
			_, err := Parse([]byte(fmt.Sprintf(minimalJob, "    password: "+lit+"\n", "")), LoadOptions{Env: envOf(nil)})
			if err == nil {
				t.Fatalf("%s: accepted", lit)
			}
			return err.Error()
		}
		msg := errFor(lit)
		if !strings.Contains(msg, "password") || !strings.Contains(msg, "line 7") {
			t.Errorf("%s: %v; want the key and its line", lit, msg)
		}
		assertNoPart(t, "error", msg, errFor(neutral(lit)), lit)
	}
}

// TestAliasesAndSecrets: anchors and aliases work, but an alias may not
// carry a secret into a key that is printed.
func TestAliasesAndSecrets(t *testing.T) {
	const secret = "'qz-7wkx-pw'"
	job, err := Parse([]byte(fmt.Sprintf(minimalJob, "    user: &u loader\n    password: *u\n", "")), LoadOptions{Env: envOf(nil)})
	if err != nil || job.Target.ClickHouse.User != "loader" || job.Target.ClickHouse.Password != "loader" {
		t.Fatalf("alias: %v %+v", err, job)
	}
	_, err = Parse([]byte(fmt.Sprintf(minimalJob, "    password: &p "+secret+"\n", "name2: *p\n")), LoadOptions{Env: envOf(nil)})
	if err == nil || !strings.Contains(err.Error(), "name2 (line 8): alias *p repeats a secret value") {
		t.Fatalf("a secret through an alias: %v", err)
	}
	assertNoPart(t, "error", err.Error(), "", "qz-7wkx-pw")
}

// TestSecretSourceKeysAreMasked: a connector's secret-looking key is
// masked when the job is printed, and reusing its variable elsewhere is
// refused.
func TestSecretSourceKeysAreMasked(t *testing.T) {
	const secret = "AKIA-very-hidden"
	job, err := Parse([]byte("version: 1\nname: x\nsource: {type: vault, paths: [a], secret_access_key: '${S}'}\ntarget: {table: db.t}\n"), LoadOptions{Env: envOf(map[string]string{"S": secret})})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := yaml.Marshal(job)
	assertNoPart(t, "validate output", string(out), "", secret)
	if !strings.Contains(string(out), "secret_access_key: '******'") && !strings.Contains(string(out), `secret_access_key: "******"`) {
		t.Errorf("the key is not shown masked:\n%s", out)
	}
	var cfg struct {
		Paths []string `yaml:"paths"`
	}
	err = job.Source.Decoder()(&cfg)
	if err == nil || !strings.Contains(err.Error(), "source.secret_access_key (line 3): unknown key") {
		t.Errorf("a key the connector lacks: %v", err)
	}
}

// TestMissingVariables: every missing variable at once with its lines; a
// secret made only of references names its variable; one that mixes text
// and references does not (the name may be part of the secret).
func TestMissingVariables(t *testing.T) {
	_, err := Parse([]byte(fmt.Sprintf(minimalJob, "    password: ${CH_PASSWORD}\n", "write: {batch_rows: \"${ROWS}\"}\n")), LoadOptions{Env: envOf(nil)})
	if err == nil || !strings.Contains(err.Error(), "CH_PASSWORD (line 7), ROWS (line 8)") {
		t.Fatalf("missing variables: %v", err)
	}
	if strings.Contains(err.Error(), "write.batch_rows") {
		t.Errorf("a value whose variable is missing was judged too: %v", err)
	}
	for secret, want := range map[string]string{
		"hunt${er2x}yz": "target.clickhouse.password (line 7): names a variable that is not set",
		"pa${ss word}":  "target.clickhouse.password (line 7): ${ must be followed by",
	} {
		errFor := func(secret string) string {
			_, err := Parse([]byte(fmt.Sprintf(minimalJob, "    password: "+secret+"\n", "")), LoadOptions{Env: envOf(nil)})
			if err == nil {
				t.Fatalf("%s: accepted", secret)
			}
			return err.Error()
		}
		msg := errFor(secret)
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
		assertNoPart(t, "error", msg, errFor(neutral(secret)), secret)
	}
}

// TestPasswordFile: password_file is read at load time, one trailing
// newline dropped; its path may come from a variable; it excludes password
// and wins over $CH_PASSWORD; an unreadable file is an error naming the key
// and the path, and no error holds the content.
func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for content, want := range map[string]string{
		"s3cr*t #x\n":  "s3cr*t #x",
		"s3cr*t #x":    "s3cr*t #x",
		"s3cr*t\n\n":   "s3cr*t\n",
		"s3cr*t\r\n":   "s3cr*t",
		"two\nlines\n": "two\nlines",
		" spaced \n":   " spaced ",
		"":             "",
		"a: b\n":       "a: b",
		"${NOT_VAR}\n": "${NOT_VAR}",
	} {
		p := write("pw", content)
		job, err := Parse([]byte(fmt.Sprintf(minimalJob, "    password_file: ${DIR}/pw\n", "")), LoadOptions{Env: envOf(map[string]string{"DIR": dir, "CH_PASSWORD": "from-env"})})
		if err != nil {
			t.Fatalf("%q: %v", content, err)
		}
		if got := string(job.Target.ClickHouse.Password); got != want {
			t.Errorf("file %q: password %q, want %q", content, got, want)
		}
		if job.Target.ClickHouse.PasswordFile != p {
			t.Errorf("password_file %q, want %q", job.Target.ClickHouse.PasswordFile, p)
		}
	}
	const content = "file-secret-42"
	p := write("pw", content+"\n")
	pn := write("neutral", neutral(content)+"\n")
	cases := []struct {
		name, lines string
		want        []string
	}{
		{"both", "    password: x\n    password_file: " + p + "\n", []string{"target.clickhouse.password_file (line 8): set password or password_file, not both"}},
		{"missing file", "    password_file: " + filepath.Join(dir, "nope") + "\n", []string{"target.clickhouse.password_file (line 7): cannot read the password file", filepath.Join(dir, "nope"), "no such file"}},
		{"a directory", "    password_file: " + dir + "\n", []string{"target.clickhouse.password_file (line 7): cannot read the password file", dir}},
		{"empty path", "    password_file: ''\n", []string{"target.clickhouse.password_file (line 7): is empty"}},
		{"read, other errors", "    password_file: " + p + "\n", []string{"write.batch_rows (line 8)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errFor := func(lines string) string {
				_, err := Parse([]byte(fmt.Sprintf(minimalJob, lines, "write: {batch_rows: 0}\n")), LoadOptions{Env: envOf(nil)})
				if err == nil {
					t.Fatal("no error")
				}
				return err.Error()
			}
			msg := errFor(c.lines)
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			assertNoPart(t, "error", msg, errFor(strings.ReplaceAll(c.lines, p, pn)), content)
		})
	}
}

// TestDecodeErrorsNameTheKey: a value of the wrong kind is reported under
// its YAML key and line in the user's words, never naming a Go type, and
// with every other problem at once.
func TestDecodeErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, write, want string
	}{
		{"string for an integer", `batch_rows: "abc"`, `write.batch_rows (line 8): expected an integer, got "abc"`},
		{"fraction for an integer", `batch_rows: 1.5`, `write.batch_rows (line 8): expected an integer, got "1.5"`},
		{"list for an integer", `readers: [1]`, `write.readers (line 8): expected an integer, got a list`},
		{"mapping for an integer", "readers: {a: 1}", `write.readers (line 8): expected an integer, got a mapping`},
		{"bad size", `max_buffer_bytes: lots`, `write.max_buffer_bytes (line 8): invalid size "lots"`},
		{"bad concurrency", `concurrency: fast`, `write.concurrency (line 8): concurrency "fast": write auto or a number`},
		{"huge integer", `batch_rows: 99999999999999999999`, `write.batch_rows (line 8): expected an integer, got "99999999999999999999"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// version: 2 and a typo in the same file are reported as well.
			text := "version: 2\nname: x\nsource: {type: parquet, paths: [a]}\ntarget:\n  table: db.t\n  clickhouse: {dial_timeout: 10, hosts: h:1}\nwrite:\n  " + c.write + "\n  mdoe: append\ntarget_x: {internal_replication: yes}\n"
			_, err := Parse([]byte(text), LoadOptions{Env: envOf(nil)})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range []string{
				c.want,
				"version (line 1): must be 1, got 2",
				"write.mdoe (line 9): unknown key",
				"target_x (line 10): unknown key",
				`target.clickhouse.dial_timeout (line 6): expected a duration such as 10s or 1m30s, got "10"`,
				`target.clickhouse.hosts (line 6): expected a list such as [a, b], got "h:1"`,
			} {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			for _, never := range []string{"Go ", "struct", "rawJob", "unmarshal", "int64", "reflect", "jobs."} {
				if strings.Contains(msg, never) {
					t.Errorf("error names %q:\n%s", never, msg)
				}
			}
		})
	}
	_, err := Parse([]byte("version: 1\nname: x\nsource: {type: parquet, paths: [a]}\ntarget: {table: db.t, internal_replication: yes}\n"), LoadOptions{Env: envOf(nil)})
	if err == nil || !strings.Contains(err.Error(), `target.internal_replication (line 4): expected true or false, got "yes"`) {
		t.Errorf("bool: %v", err)
	}
}

// TestExplicitValuesAreNotDefaulted: a key written with 0, "" or an empty
// list is judged as written, not replaced by its default; leaving the key
// out (or writing no value) takes the default.
func TestExplicitValuesAreNotDefaulted(t *testing.T) {
	cases := []struct {
		key, value, want string
	}{
		{"write.batch_rows", "0", "write.batch_rows (line 7): must be at least 1, got 0"},
		{"write.batch_rows", "-5", "write.batch_rows (line 7): must be at least 1, got -5"},
		{"write.readers", "0", "write.readers (line 7): must be 1..64, got 0"},
		{"write.node_concurrency", "0", "write.node_concurrency (line 7): must be 1..64, got 0"},
		{"write.max_concurrency", "0", "write.max_concurrency (line 7): must be 1..256, got 0"},
		{"write.max_buffer_bytes", "0", "write.max_buffer_bytes (line 7): must be at least 1MiB, got 0B"},
		{"write.max_buffer_bytes", "-1", `write.max_buffer_bytes (line 7): invalid size "-1"`},
		{"write.mode", "''", `write.mode (line 7): "" is not supported`},
		{"write.concurrency", "0", `write.concurrency (line 7): concurrency "0"`},
		{"target.clickhouse.compression", "''", `target.clickhouse.compression (line 7): "" is not one of`},
		{"target.clickhouse.dial_timeout", "0s", "target.clickhouse.dial_timeout (line 7): must be positive, got 0s"},
		{"target.clickhouse.dial_timeout", "-1s", "target.clickhouse.dial_timeout (line 7): must be positive, got -1s"},
		{"target.clickhouse.hosts", "[]", "target.clickhouse.hosts (line 7): needs at least one host:port"},
		{"target.clickhouse.hosts", "['h:0']", `target.clickhouse.hosts[0] (line 7): "h:0" is not host:port`},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.value, func(t *testing.T) {
			_, err := Parse([]byte(keyedJob(c.key, c.value)), LoadOptions{Env: envOf(nil)})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
		t.Run(c.key+" left out or empty", func(t *testing.T) {
			for _, v := range []string{"", "~", "null"} {
				if _, err := Parse([]byte(keyedJob(c.key, v)), LoadOptions{Env: envOf(nil)}); err != nil {
					t.Errorf("%q: %v", v, err)
				}
			}
		})
	}
}

// keyedJob is a valid job with key (section.key or target.clickhouse.key)
// set to value on line 7.
func keyedJob(key, value string) string {
	section, name := "write", strings.TrimPrefix(key, "write.")
	if strings.HasPrefix(key, "target.clickhouse.") {
		section, name = "clickhouse", strings.TrimPrefix(key, "target.clickhouse.")
	}
	text := "version: 1\nname: x\nsource: {type: parquet, paths: [a]}\ntarget:\n  table: db.t\n%s:\n  %s: %s\n"
	if section == "clickhouse" {
		text = "version: 1\nname: x\nsource: {type: parquet, paths: [a]}\ntarget:\n  table: db.t\n  clickhouse:\n    %[2]s: %[3]s\n"
		return fmt.Sprintf(text, "", name, value)
	}
	return fmt.Sprintf(text, section, name, value)
}

// TestTableNeedsADatabase: target.table names its database; a bare table
// name is refused with the fix, since the connection's database depends on
// the ClickHouse user's settings, which validate cannot see.
func TestTableNeedsADatabase(t *testing.T) {
	_, err := Parse([]byte("version: 1\nname: x\nsource: {type: parquet, paths: [a]}\ntarget: {table: events}\n"), LoadOptions{Env: envOf(nil)})
	if err == nil || !strings.Contains(err.Error(), `target.table (line 4): "events" names no database: write database.table, e.g. default.events`) {
		t.Fatalf("error %v", err)
	}
}

// TestSecretsNeverInLogsOrReports: a run and a dry run (one failing)
// against the in-memory server log at debug level and report without any
// part of the password.
func TestSecretsNeverInLogsOrReports(t *testing.T) {
	const secret = "*hunter2 #pa ss: {x}"
	glob, _ := generate(t, 2_000, 1, 1_000)
	outputs := func(secret string) (reports, logs string) {
		house := memch.NewHouse()
		srv := house.AddServer(memch.ServerParams{Addr: "ch1:9000"})
		srv.CreateTable(eventsTable("db.events", "MergeTree"))
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		var out strings.Builder
		for _, table := range []string{"db.events", "db.missing"} {
			text := fmt.Sprintf("version: 1\nname: secret-test\nsource:\n  type: parquet\n  paths: [%q]\ntarget:\n  table: %s\n  clickhouse:\n    hosts: [\"ch1:9000\"]\n    password: ${CH_PASSWORD}\n", glob, table)
			job, err := Parse([]byte(text), LoadOptions{Env: envOf(map[string]string{"CH_PASSWORD": secret})})
			if err != nil {
				t.Fatal(err)
			}
			if string(job.Target.ClickHouse.Password) != secret {
				t.Fatalf("password %q", job.Target.ClickHouse.Password)
			}
			rep, derr := DryRun(context.Background(), job, RunParams{Logger: log, ClickHouse: house.Dialer()})
			sum, rerr := Run(context.Background(), job, RunParams{Logger: log, ClickHouse: house.Dialer()})
			js, _ := json.Marshal([]any{rep, sum})
			fmt.Fprintf(&out, "%s\n%v\n%v\n%+v\n%+v\n", js, derr, rerr, rep, sum)
			if table == "db.missing" && rerr == nil {
				t.Errorf("a run into a missing table succeeded")
			}
		}
		if buf.Len() == 0 {
			t.Fatal("nothing was logged")
		}
		return out.String(), buf.String()
	}
	reports, logs := outputs(secret)
	baseReports, baseLogs := outputs(neutral(secret))
	assertNoPart(t, "report", reports, baseReports, secret)
	assertNoPart(t, "logs", logs, baseLogs, secret)
}

// FuzzVariableValue: whatever bytes a variable holds arrive byte for byte
// in a plain, a quoted and a flow-mapping value, and a secret's value is in
// no part of the validate output.
func FuzzVariableValue(f *testing.F) {
	for _, s := range awkwardSecrets {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		text := "version: 1\nname: '${N}'\nsource: {type: fuzzsrc, x: [${N}]}\ntarget: {table: db.t, cluster: ${N}, clickhouse: {password: ${P}}}\n"
		job, err := Parse([]byte(text), LoadOptions{Env: envOf(map[string]string{"N": "n" + v, "P": v})})
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		var src struct {
			Paths []string `yaml:"paths"`
			X     []string `yaml:"x"`
		}
		if err := job.Source.Decoder()(&src); err != nil {
			t.Fatal(err)
		}
		if job.Name != "n"+v || job.Target.Cluster != "n"+v || string(job.Target.ClickHouse.Password) != v || len(src.X) != 1 || src.X[0] != "n"+v {
			t.Fatalf("%q: name %q, cluster %q, password %q, x %q", v, job.Name, job.Target.Cluster, job.Target.ClickHouse.Password, src.X)
		}
	})
}

// FuzzParse: no job file text makes Parse panic.
func FuzzParse(f *testing.F) {
	f.Add(exampleJob)
	f.Add("a: ${X}\n${Y}: [${Z:-a, b}]\n")
	f.Add("password: *x\n")
	f.Fuzz(func(t *testing.T, text string) {
		_, _ = Parse([]byte(text), LoadOptions{Env: envOf(map[string]string{"X": "{", "Z": "*"})})
	})
}

// TestExpandIsLinear: a long line of "${" that close nowhere is scanned in
// linear time (a quadratic scan takes minutes at this size).
func TestExpandIsLinear(t *testing.T) {
	for _, s := range []string{strings.Repeat("${", 200_000), strings.Repeat("${a:-", 100_000) + "}", strings.Repeat("$${", 100_000)} {
		_, _ = Expand(s, nil, nil)
		_, _ = Parse([]byte("name: "+s+"\n"), LoadOptions{Env: envOf(nil)})
	}
}
