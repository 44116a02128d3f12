package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/eventsgen"
	"github.com/chload/chload/internal/testenv"
)

// connJob is a job whose target.clickhouse section is written in by
// connFile (a variable's value is never YAML, so it is not a ${...}).
const connJob = `version: 1
name: conn
source:
  type: parquet
  paths: ["${DATA_DIR}/*.parquet"]
target:
  clickhouse:
@CONN@
  table: ${TABLE}
`

// connEnv makes a scratch events table on the single node and 2,000 rows
// for it, and returns the job file and its environment.
func connEnv(t *testing.T) (job string, env map[string]string, count func() uint64) {
	t.Helper()
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	if err := conn.Exec(context.Background(), eventsgen.TableDDL(db+".events")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := (eventsgen.Dataset{Params: eventsgen.Params{Rows: 2_000, Seed: 5, Months: 1}, ParquetDir: dir, Files: 1, RowGroupRows: 2_000}).Write(context.Background(), memory.DefaultAllocator); err != nil {
		t.Fatal(err)
	}
	count = func() uint64 {
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+db+".events").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	return writeFile(t, t.TempDir(), "job.yaml", connJob), map[string]string{"DATA_DIR": dir, "TABLE": db + ".events"}, count
}

// unusedAddr is a loopback address nothing listens on.
func unusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestHostsInOrderAgainstServer lists a port nothing listens on before the
// single node: the dry run shows the first does not answer and the second
// is used, and the run writes every row (it used to fail after reading
// everything, its inserts going to the first host).
func TestHostsInOrderAgainstServer(t *testing.T) {
	_, env, count := connEnv(t)
	live, dead := testenv.ClickHouseAddr(t), unusedAddr(t)
	env["CONN"] = fmt.Sprintf("    hosts: [%q, %q]", dead, live)

	code, out, errs := runCLI(t, env, "dry-run", connFile(t, env))
	if code != exitOK {
		t.Fatalf("dry-run exit %d:\n%s\n%s", code, out, errs)
	}
	t.Logf("dry run:\n%s", out)
	for _, w := range []string{"host " + dead + ": does not answer: ", "connection refused", "host " + live + ": answers (used)"} {
		if !strings.Contains(out, w) {
			t.Errorf("dry run lacks %q:\n%s", w, out)
		}
	}
	code, out, errs = runCLI(t, env, "dry-run", "-o", "json", connFile(t, env))
	var rep struct {
		Hosts []struct {
			Addr     string `json:"addr"`
			Answered bool   `json:"answered"`
			Used     bool   `json:"used"`
			Error    string `json:"error"`
		} `json:"hosts"`
		Nodes []struct {
			Addr string `json:"addr"`
		} `json:"nodes"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("dry-run json exit %d:\n%s\n%s", code, out, errs)
	}
	if len(rep.Hosts) != 2 || rep.Hosts[0].Answered || rep.Hosts[0].Error == "" || !rep.Hosts[1].Used || len(rep.Nodes) != 1 || rep.Nodes[0].Addr != live {
		t.Errorf("dry run hosts %+v, nodes %+v; want %s down and %s used", rep.Hosts, rep.Nodes, dead, live)
	}

	if code, out, errs = runCLI(t, env, "run", connFile(t, env)); code != exitOK {
		t.Fatalf("run exit %d:\n%s\n%s", code, out, errs)
	}
	if n := count(); n != 2_000 {
		t.Fatalf("%d rows written, want 2000", n)
	}
}

// TestHTTPPortAgainstServer points the job at the single node's HTTP port:
// a server error (exit 5) saying it is the HTTP port.
func TestHTTPPortAgainstServer(t *testing.T) {
	_, env, _ := connEnv(t)
	addr := testenv.HTTPAddr(t)
	env["CONN"] = fmt.Sprintf("    hosts: [%q]", addr)
	code, out, errs := runCLI(t, env, "run", connFile(t, env))
	t.Logf("stderr:\n%s", errs)
	want := addr + " is ClickHouse's HTTP port; chload speaks the native protocol (usually port 9000"
	if code != exitServer || !strings.Contains(errs, want) {
		t.Fatalf("exit %d, want %d saying %q:\n%s\n%s", code, exitServer, want, out, errs)
	}
}

// TestTLSAgainstServer loads over the single node's TLS port: with the test
// CA, with a client certificate, and skipping verification the rows land;
// without the CA the certificate is refused (exit 5) with a message naming
// ca_file.
func TestTLSAgainstServer(t *testing.T) {
	_, env, count := connEnv(t)
	addr, files := testenv.TLSNode(t)
	hosts := fmt.Sprintf("    hosts: [%q]\n    secure: true\n", addr)
	var want uint64
	for _, c := range []struct{ name, keys string }{
		{"ca", fmt.Sprintf("    ca_file: %q", files.CA)},
		{"client certificate", fmt.Sprintf("    ca_file: %q\n    cert_file: %q\n    key_file: %q", files.CA, files.ClientCert, files.ClientKey)},
		{"skip verify", "    insecure_skip_verify: true"},
	} {
		env["CONN"] = hosts + c.keys
		code, out, errs := runCLI(t, env, "run", connFile(t, env))
		if code != exitOK {
			t.Fatalf("%s: run exit %d:\n%s\n%s", c.name, code, out, errs)
		}
		want += 2_000
		if n := count(); n != want {
			t.Fatalf("%s: %d rows in the table, want %d", c.name, n, want)
		}
	}
	env["CONN"] = strings.TrimSuffix(hosts, "\n")
	code, out, errs := runCLI(t, env, "run", connFile(t, env))
	if code != exitServer || !strings.Contains(errs, "certificate signed by unknown authority") || !strings.Contains(errs, "target.clickhouse.ca_file") {
		t.Fatalf("without the CA: exit %d, want %d with a certificate error naming ca_file:\n%s\n%s", code, exitServer, out, errs)
	}
	if n := count(); n != want {
		t.Fatalf("without the CA: %d rows in the table, want %d", n, want)
	}
}

// connFile writes connJob with env["CONN"] as its target.clickhouse section.
func connFile(t *testing.T, env map[string]string) string {
	t.Helper()
	return writeFile(t, t.TempDir(), "job.yaml", strings.Replace(connJob, "@CONN@", env["CONN"], 1))
}
