package jobs

import (
	"fmt"
	"strings"
	"testing"
)

const exampleJob = `version: 1
name: events_daily
source:
  type: parquet
  paths: ["${DATA_DIR}/events/*.parquet"]
target:
  clickhouse:
    hosts: ["${CH_HOST:-127.0.0.1}:${CH_PORT:-9000}"]
    user: ${CH_USER:-default}
    password: ${CH_PASSWORD:-}
  table: analytics.events
write:
  mode: append
  batch_rows: 1000000
`

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseExampleJob(t *testing.T) {
	job, err := Parse([]byte(exampleJob), LoadOptions{Env: envOf(map[string]string{"DATA_DIR": "/data", "CH_PASSWORD": "s3cret"})})
	if err != nil {
		t.Fatal(err)
	}
	if job.Name != "events_daily" || job.Source.Type != "parquet" || job.Target.Table != "analytics.events" {
		t.Fatalf("decoded %+v", job)
	}
	if got := job.Target.ClickHouse.Hosts; len(got) != 1 || got[0] != "127.0.0.1:9000" {
		t.Fatalf("hosts %v", got)
	}
	if job.Target.ClickHouse.Password != "s3cret" || job.Target.ClickHouse.Password.String() != "******" {
		t.Fatalf("password handling")
	}
	if job.Write.BatchRows != 1_000_000 || job.Write.MaxBufferBytes != DefaultMaxBufferBytes || job.Write.Concurrency != Auto || job.Write.NodeConcurrency != DefaultConcurrency {
		t.Fatalf("write %+v", job.Write)
	}
	var src struct {
		Paths []string `yaml:"paths"`
	}
	if err := job.Source.Decoder()(&src); err != nil {
		t.Fatal(err)
	}
	if src.Paths[0] != "/data/events/*.parquet" {
		t.Fatalf("paths %v", src.Paths)
	}
}

func TestVarsWinOverEnvironment(t *testing.T) {
	job, err := Parse([]byte(exampleJob), LoadOptions{
		Vars: map[string]string{"DATA_DIR": "/flag", "CH_HOST": "ch-1"},
		Env:  envOf(map[string]string{"DATA_DIR": "/env", "CH_HOST": "ch-env", "CH_PORT": "9440"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := job.Target.ClickHouse.Hosts[0]; got != "ch-1:9440" {
		t.Fatalf("hosts %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		job  string
		env  map[string]string
		want []string
	}{
		{"every missing variable at once", "version: 1\nname: ${A}\nsource: {type: ${B}}\ntarget: {table: ${A}}\n", nil,
			[]string{"A (line 2, 4)", "B (line 3)"}},
		{"unknown top-level key with line", "version: 1\nname: x\nsource: {type: parquet, paths: [a]}\ntarget: {table: a.b}\nwrit:\n  mode: append\n", nil,
			[]string{"writ (line 5): unknown key", "version, name, source, target, write"}},
		{"unknown nested key", "version: 1\nname: x\nsource: {type: parquet, paths: [a]}\ntarget: {table: a.b}\nwrite:\n  batch_row: 5\n", nil,
			[]string{"write.batch_row (line 6): unknown key", "batch_rows"}},
		{"all validation problems joined", "version: 2\nname: ''\nsource: {type: parquet, paths: [a]}\ntarget: {table: ''}\nwrite: {batch_rows: -1, mode: upsert}\n", nil,
			[]string{"version (line 1): must be 1", "name (line 2): required", "target.table (line 4): required", "write.batch_rows (line 5)", "write.mode (line 5)"}},
		{"bad host", "version: 1\nname: x\nsource: {type: parquet, paths: [a]}\ntarget: {table: a.b, clickhouse: {hosts: [nope]}}\n", nil,
			[]string{"target.clickhouse.hosts[0]"}},
		{"bad size", "version: 1\nname: x\nsource: {type: parquet, paths: [a]}\ntarget: {table: a.b}\nwrite: {max_buffer_bytes: lots}\n", nil,
			[]string{"invalid size", "512MiB"}},
		{"missing source", "version: 1\nname: x\ntarget: {table: a.b}\n", nil, []string{"source: required"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.job), LoadOptions{Env: envOf(c.env)})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestConnectorDecoderIsStrict(t *testing.T) {
	// The connector's own keys are checked with the rest of the file.
	_, err := Parse([]byte("version: 1\nname: x\nsource:\n  type: parquet\n  pathz: [a]\ntarget: {table: a.b}\nwrite: {readers: 0}\n"), LoadOptions{Env: envOf(nil)})
	if err == nil || !strings.Contains(err.Error(), "source.pathz (line 5): unknown key") || !strings.Contains(err.Error(), "write.readers (line 7)") {
		t.Fatalf("error %v", err)
	}
	// And by the decoder the connector is given.
	job, err := Parse([]byte("version: 1\nname: x\nsource:\n  type: unregistered\n  pathz: [a]\ntarget: {table: a.b}\n"), LoadOptions{Env: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Paths []string `yaml:"paths"`
	}
	err = job.Source.Decoder()(&cfg)
	if err == nil || !strings.Contains(err.Error(), "source.pathz (line 5): unknown key") {
		t.Fatalf("error %v", err)
	}
}

// TestJobLevelSourceKeys: the keys every source has are read by the job and
// never reach the connector, whose config does not declare them; a key
// unknown to both is still an error naming its line.
func TestJobLevelSourceKeys(t *testing.T) {
	doc := "version: 1\nname: x\nsource:\n  type: parquet\n  ignore_extra_columns: true\n  null_as_default: true\n  paths: [a]\n%starget: {table: a.b}\n"
	job, err := Parse([]byte(fmt.Sprintf(doc, "")), LoadOptions{Env: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if job.Source.Type != "parquet" || !job.Source.IgnoreExtraColumns || !job.Source.NullAsDefault {
		t.Fatalf("source %+v: the job-level keys were not read", job.Source)
	}
	var cfg struct {
		Paths []string `yaml:"paths"`
	}
	if err := job.Source.Decoder()(&cfg); err != nil || len(cfg.Paths) != 1 {
		t.Fatalf("connector decode: %v (paths %v)", err, cfg.Paths)
	}
	_, err = Parse([]byte(fmt.Sprintf(doc, "  colour: red\n")), LoadOptions{Env: envOf(nil)})
	if err == nil || !strings.Contains(err.Error(), "source.colour (line 8): unknown key") {
		t.Fatalf("unknown key: error %v, want it named with its line", err)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"1GiB": 1 << 30, "512MiB": 512 << 20, "1GB": 1e9, "100": 100, "64 KiB": 64 << 10} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "1.5GiB", "GiB", "1XB"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// FuzzExpand checks Expand (one value) against its documented rules, stated as round
// trips: text written with every literal "${" escaped as "$${" comes back
// unchanged, and a ${X} reference placed between two such texts becomes X's
// value with the texts around it unchanged. Arbitrary text never panics.
//
// The escape is a plain substitution of "$${" for "${", so a literal "$"
// written right before a reference joins it into an escape ("$${X}" is the
// literal "${X}"); the reference property is only stated when the text
// before it does not end in "$".
func FuzzExpand(f *testing.F) {
	f.Add("a ${X} b ${Y:-d} $${Z} $ {", "tail")
	f.Add("$", "$${")
	f.Add("$${", "${")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		vars := map[string]string{"X": "1"}
		_, _ = Expand(a, vars, nil) // arbitrary text: an error is fine, a panic is not
		escape := func(s string) string { return strings.ReplaceAll(s, "${", "$${") }
		got, err := Expand(escape(a), vars, nil)
		if err != nil || got != a {
			t.Fatalf("literal text %q written as %q: got %q, %v", a, escape(a), got, err)
		}
		if strings.HasSuffix(a, "$") {
			return
		}
		in := escape(a) + "${X}" + escape(b)
		got, err = Expand(in, vars, nil)
		if want := a + "1" + b; err != nil || got != want {
			t.Fatalf("%q: got %q, %v; want %q", in, got, err, want)
		}
	})
}

func TestConcurrencyAutoOrNumber(t *testing.T) {
	base := "version: 1\nname: x\nsource: {type: parquet, paths: [a]}\ntarget: {table: a.b}\nwrite:\n  concurrency: %s\n"
	for in, want := range map[string]Concurrency{"auto": Auto, "3": 3, `"4"`: 4} {
		job, err := Parse([]byte(fmt.Sprintf(base, in)), LoadOptions{Env: envOf(nil)})
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if job.Write.Concurrency != want {
			t.Errorf("%s: got %d, want %d", in, job.Write.Concurrency, want)
		}
	}
	for _, in := range []string{"0", "fast", "-1", "100"} {
		if _, err := Parse([]byte(fmt.Sprintf(base, in)), LoadOptions{Env: envOf(nil)}); err == nil {
			t.Errorf("concurrency %s accepted", in)
		}
	}
	job, err := Parse([]byte("version: 1\nname: x\nsource: {type: parquet, paths: [a]}\ntarget: {table: a.b, cluster: c, sharding_key: 'intHash64(k)', internal_replication: false}\n"), LoadOptions{Env: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if job.Target.Cluster != "c" || job.Target.ShardingKey != "intHash64(k)" || job.Target.InternalReplication == nil || *job.Target.InternalReplication {
		t.Fatalf("cluster target %+v", job.Target)
	}
	if _, err := Parse([]byte("version: 1\nname: x\nsource: {type: parquet, paths: [a]}\ntarget: {table: a.b, sharding_key: k}\n"), LoadOptions{Env: envOf(nil)}); err == nil || !strings.Contains(err.Error(), "target.sharding_key") {
		t.Fatalf("sharding key without cluster: %v", err)
	}
}
