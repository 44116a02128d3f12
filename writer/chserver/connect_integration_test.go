package chserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/testenv"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/chnative"
	"github.com/chload/chload/writer/plan"
)

// insertThrough inserts rows through node (both its query and its insert
// connections) into a new table of db, and checks through conn that they
// all landed.
func insertThrough(t *testing.T, node writer.Node, conn driver.Conn, db, name string) {
	t.Helper()
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	if err := conn.Exec(ctx, fmt.Sprintf("CREATE TABLE %s.%s (k UInt64, s String) ENGINE = MergeTree ORDER BY k", db, name)); err != nil {
		t.Fatal(err)
	}
	server, err := node.Server(ctx)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := node.Describe(ctx, db, name)
	if err != nil {
		t.Fatal(err)
	}
	table, err := writer.NewTable(desc)
	if err != nil {
		t.Fatal(err)
	}
	src := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Uint64}, {Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	pl, err := plan.New(table, server, src, false)
	if err != nil {
		t.Fatal(err)
	}
	const rows = 1000
	b := insertBatch(t, pl, mem, 0, rows)
	err = node.Insert(ctx, pl.Insert(), b)
	b.Release()
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	var count uint64
	if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.%s", db, name)).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != rows {
		t.Fatalf("%d rows in the table, want %d", count, rows)
	}
}

// TestDialFirstHostThatAnswers lists a port nothing listens on before the
// single node: the node reached is the live one, and chload's own insert
// connections go to it too (they used to go to the first listed host).
func TestDialFirstHostThatAnswers(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	live, dead := testenv.ClickHouseAddr(t), closedAddr(t)
	n, err := Dialer{}.Dial(context.Background(), writer.ConnParams{Addrs: []string{dead, live}, User: "default", Compression: "lz4"})
	if err != nil {
		t.Fatalf("dial %s then %s: %v", dead, live, err)
	}
	defer n.Close()
	if got := n.(*Node).Addr(); got != live {
		t.Fatalf("node reached %s, want %s", got, live)
	}
	insertThrough(t, n, conn, db, "first_answering")

	// No host answering names each with its error.
	other := closedAddr(t)
	_, err = Dialer{}.Dial(context.Background(), writer.ConnParams{Addrs: []string{dead, other}, User: "default"})
	var se *writer.ServerError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), dead) || !strings.Contains(err.Error(), other) {
		t.Fatalf("no host answering: %v (a server error naming both hosts wanted)", err)
	}
}

// TestDialHTTPPort points chload at the single node's HTTP port: the error
// says it is the HTTP port and is a server error that is not retried.
func TestDialHTTPPort(t *testing.T) {
	addr := testenv.HTTPAddr(t)
	_, err := Dialer{}.Dial(context.Background(), writer.ConnParams{Addrs: []string{addr}, User: "default"})
	var se *writer.ServerError
	if !errors.As(err, &se) || se.Retryable() {
		t.Fatalf("dial the HTTP port: %v; want a server error that is not retryable", err)
	}
	var hp *chnative.HTTPPortError
	if !errors.As(err, &hp) || !strings.HasPrefix(hp.Status, "HTTP/") {
		t.Fatalf("dial the HTTP port: %v; want it recognised as HTTP", err)
	}
	want := addr + " is ClickHouse's HTTP port; chload speaks the native protocol (usually port 9000"
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("dial the HTTP port: %q lacks %q", err, want)
	}
}

// TestDialTLS connects to the single node's TLS port: with the test CA the
// queries and inserts run over TLS; without it the certificate is refused
// with a message naming ca_file; skipping verification and sending a client
// certificate work; TLS on one side only fails plainly.
func TestDialTLS(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	plain := testenv.ClickHouseAddr(t)
	addr, files := testenv.TLSNode(t)
	pem, err := os.ReadFile(files.CA)
	if err != nil {
		t.Fatal(err)
	}
	ca := x509.NewCertPool()
	ca.AppendCertsFromPEM(pem)
	client, err := tls.LoadX509KeyPair(files.ClientCert, files.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	dial := func(addr string, cfg *tls.Config) (writer.Node, error) {
		return Dialer{}.Dial(context.Background(), writer.ConnParams{Addrs: []string{addr}, User: "default", Compression: "lz4", TLS: cfg})
	}
	for _, tt := range []struct {
		name string
		cfg  *tls.Config
	}{
		{"ca", &tls.Config{RootCAs: ca}},
		{"skip_verify", &tls.Config{InsecureSkipVerify: true}},
		{"client_cert", &tls.Config{RootCAs: ca, Certificates: []tls.Certificate{client}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, err := dial(addr, tt.cfg)
			if err != nil {
				t.Fatalf("dial %s over TLS: %v", addr, err)
			}
			defer n.Close()
			insertThrough(t, n, conn, db, "tls_"+tt.name)
		})
	}
	refused := func(t *testing.T, err error, want string) {
		t.Helper()
		var se *writer.ServerError
		if !errors.As(err, &se) || se.Retryable() || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v; want a server error that is not retryable, saying %q", err, want)
		}
	}
	t.Run("without_ca", func(t *testing.T) {
		_, err := dial(addr, &tls.Config{})
		refused(t, err, "certificate signed by unknown authority")
		refused(t, err, "target.clickhouse.ca_file")
	})
	t.Run("plain_to_tls_port", func(t *testing.T) {
		// The server resets the connection, which may be a passing network
		// failure too: the error may be retried, but says what to check.
		_, err := dial(addr, nil)
		var se *writer.ServerError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "set secure: true") {
			t.Fatalf("got %v; want a server error saying to set secure: true", err)
		}
	})
	t.Run("tls_to_plain_port", func(t *testing.T) {
		_, err := dial(plain, &tls.Config{RootCAs: ca})
		refused(t, err, "does not speak TLS")
	})
}
