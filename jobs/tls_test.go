package jobs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTLSKeys checks the TLS keys of target.clickhouse: each problem is
// reported at parse time naming its key, and valid keys give the TLS
// configuration the connections use.
func TestTLSKeys(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	parse := func(keys string) error {
		text := strings.Replace(exampleJob, "    password: ${CH_PASSWORD:-}\n", "    password: ${CH_PASSWORD:-}\n"+keys, 1)
		_, err := Parse([]byte(text), LoadOptions{Env: envOf(map[string]string{"DATA_DIR": dir})})
		return err
	}
	for _, c := range []struct {
		name, keys string
		want       []string // in the error; none: valid
	}{
		{"ca without secure", "    ca_file: /x/ca.pem\n", []string{"target.clickhouse.ca_file", "secure: true"}},
		{"skip verify without secure", "    insecure_skip_verify: true\n", []string{"target.clickhouse.insecure_skip_verify", "secure: true"}},
		{"missing ca", "    secure: true\n    ca_file: " + filepath.Join(dir, "nope.pem") + "\n", []string{"target.clickhouse.ca_file", "nope.pem"}},
		{"ca not pem", "    secure: true\n    ca_file: " + notPEM + "\n", []string{"target.clickhouse.ca_file", "no PEM certificate"}},
		{"cert without key", "    secure: true\n    cert_file: /x/c.pem\n", []string{"target.clickhouse.key_file", "required with cert_file"}},
		{"bad client pair", "    secure: true\n    cert_file: " + notPEM + "\n    key_file: " + notPEM + "\n", []string{"target.clickhouse.cert_file, key_file", "not.pem"}},
		{"secure alone", "    secure: true\n", nil},
		{"skip verify", "    secure: true\n    insecure_skip_verify: true\n", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := parse(c.keys)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("valid keys refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error saying %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
