package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTLSAndHTTPSwitch: TLSNode and HTTPAddr obey the three-state switch,
// and fail loudly, saying how to get the TLS port, when the certificates
// are missing or the port does not answer.
func TestTLSAndHTTPSwitch(t *testing.T) {
	down := closedAddr(t)
	empty := t.TempDir()
	withCerts := t.TempDir()
	tlsDir := filepath.Join(withCerts, "single", "tls")
	if err := os.MkdirAll(tlsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Any PEM certificate will do: the port is down.
	const pem = "-----BEGIN CERTIFICATE-----\nMIIBhTCCASugAwIBAgIQIRi6zePL6mKjOipn+dNuaTAKBggqhkjOPQQDAjASMRAw\nDgYDVQQKEwdBY21lIENvMB4XDTE3MTAyMDE5NDMwNloXDTE4MTAyMDE5NDMwNlow\nEjEQMA4GA1UEChMHQWNtZSBDbzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABD0d\n7VNhbWvZLWPuj/RtHFjvtJBEwOkhbN/BnnE8rnZR8+sbwnc/KhCk3FhnpHZnQz7B\n5aETbbIgmuvewdjvSBSjYzBhMA4GA1UdDwEB/wQEAwICpDATBgNVHSUEDDAKBggr\nBgEFBQcDATAPBgNVHRMBAf8EBTADAQH/MCkGA1UdEQQiMCCCDmxvY2FsaG9zdDo1\nNDUzgg4xMjcuMC4wLjE6NTQ1MzAKBggqhkjOPQQDAgNIADBFAiEA2zpJEPQyz6/l\nWf86aX6PepsntZv2GYlA5UpabfT2EZICICpJ5h/iI+i341gBmLiAFQOyTDT+/wQc\n6MF9+Yw1Yy0t\n-----END CERTIFICATE-----\n"
	for _, f := range []string{"ca.pem", "client.pem", "client.key"} {
		if err := os.WriteFile(filepath.Join(tlsDir, f), []byte(pem), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, e2e, dir string
		call           func(tb testing.TB)
		wantSkip       bool
		wantFatal      []string
	}{
		{name: "tls skipped", e2e: "0", dir: empty, call: func(tb testing.TB) { TLSNode(tb) }, wantSkip: true},
		{name: "tls no certificates", e2e: "1", dir: empty, call: func(tb testing.TB) { TLSNode(tb) }, wantFatal: []string{"ca.pem", "chenv.sh restart single"}},
		{name: "tls port down", e2e: "", dir: withCerts, call: func(tb testing.TB) { TLSNode(tb) }, wantFatal: []string{down, "chenv.sh restart single"}},
		{name: "http skipped", e2e: "0", call: func(tb testing.TB) { HTTPAddr(tb) }, wantSkip: true},
		{name: "http down", e2e: "1", call: func(tb testing.TB) { HTTPAddr(tb) }, wantFatal: []string{down, "chenv.sh start single"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(E2EEnv, tc.e2e)
			t.Setenv(DirEnv, tc.dir)
			t.Setenv(TLSAddrEnv, down)
			t.Setenv(HTTPAddrEnv, down)
			r := runHelper(t, tc.call)
			if got := r.skipped != ""; got != tc.wantSkip {
				t.Fatalf("skipped = %v (%q), want %v", got, r.skipped, tc.wantSkip)
			}
			if len(tc.wantFatal) == 0 && r.fatal != "" {
				t.Fatalf("unexpected failure: %s", r.fatal)
			}
			for _, w := range tc.wantFatal {
				if !strings.Contains(r.fatal, w) {
					t.Errorf("failure = %q, want it to contain %q", r.fatal, w)
				}
			}
		})
	}
}
