package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TLSAddrEnv overrides the single node's native "host:port" over TLS
// (chenv.sh's CHLOAD_SINGLE_TLS_PORT).
const TLSAddrEnv = "CHLOAD_CH_TLS_ADDR"

// DefaultTLSAddr is the single node's secure native address when TLSAddrEnv
// is unset.
const DefaultTLSAddr = "127.0.0.1:19440"

// HTTPAddrEnv overrides the single node's HTTP "host:port".
const HTTPAddrEnv = "CHLOAD_CH_HTTP_ADDR"

// DefaultHTTPAddr is the single node's HTTP address when HTTPAddrEnv is
// unset.
const DefaultHTTPAddr = "127.0.0.1:18123"

// DirEnv is chenv.sh's state directory (default /tmp/chload-testenv); the
// single node's test certificates are in its single/tls.
const DirEnv = "CHLOAD_TESTENV_DIR"

// TLSFiles are the PEM files chenv.sh makes for the single node's TLS port:
// the CA that signed the server's certificate, and a client certificate
// and key signed by the same CA.
type TLSFiles struct {
	CA, ClientCert, ClientKey string
}

// TLSNode returns the single node's secure native address and the test
// certificates. It skips the test when CHLOAD_E2E=0 and fails it when the
// files are missing or the port does not complete a TLS handshake verified
// by the CA: a node started before chenv.sh configured TLS needs a restart.
func TLSNode(t testing.TB) (string, TLSFiles) {
	t.Helper()
	requireE2E(t)
	addr := envOr(TLSAddrEnv, DefaultTLSAddr)
	dir := filepath.Join(envOr(DirEnv, "/tmp/chload-testenv"), "single", "tls")
	f := TLSFiles{CA: filepath.Join(dir, "ca.pem"), ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client.key")}
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatalf("read the test CA: %v\n"+restartHint, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("the test CA %s holds no PEM certificate\n"+restartHint, f.CA)
	}
	for _, p := range []string{f.ClientCert, f.ClientKey} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("test client certificate: %v\n"+restartHint, err)
		}
	}
	d := &net.Dialer{Timeout: 3 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("clickhouse test node's TLS port %s does not answer: %v\n"+restartHint, addr, err)
	}
	c.Close()
	return addr, f
}

// HTTPAddr returns the single node's HTTP "host:port". It skips the test
// when CHLOAD_E2E=0 and fails it when the port does not answer /ping.
func HTTPAddr(t testing.TB) string {
	t.Helper()
	requireE2E(t)
	addr := envOr(HTTPAddrEnv, DefaultHTTPAddr)
	client := http.Client{Timeout: pingTimeout}
	resp, err := client.Get("http://" + addr + "/ping")
	if err != nil {
		t.Fatalf("clickhouse test node's HTTP port %s does not answer: %v\n"+startHint, addr, err, "single")
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("clickhouse test node's HTTP port %s answers /ping with %s", addr, resp.Status)
	}
	return addr
}

// restartHint says how to get a single node with the TLS port.
var restartHint = fmt.Sprintf("the single node's TLS port and certificates come from chenv.sh: run `bash internal/testenv/chenv.sh restart single` (or `make test`), or set %s=0 to skip", E2EEnv)
