package chnative

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/chload/chload/internal/testenv"
)

// TestInsertOverTLS inserts over the single node's TLS port: a finished
// insert lands its rows, and an aborted one (whose connection is reset
// beneath TLS, without the close_notify a server could take for the end of
// the data) lands none.
func TestInsertOverTLS(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	addr, files := testenv.TLSNode(t)
	pem, err := os.ReadFile(files.CA)
	if err != nil {
		t.Fatal(err)
	}
	ca := x509.NewCertPool()
	ca.AppendCertsFromPEM(pem)
	ctx := context.Background()
	dial := func() *Conn {
		t.Helper()
		c, err := Dial(ctx, Options{Addr: addr, Compression: "lz4", TLS: &tls.Config{RootCAs: ca}})
		if err != nil {
			t.Fatalf("connect over TLS: %v", err)
		}
		return c
	}

	done := table(t, conn, db, "finished")
	c := dial()
	in, err := c.BeginInsert(ctx, "INSERT INTO "+done+" (n, s) VALUES", nil)
	if err != nil {
		t.Fatalf("begin insert: %v", err)
	}
	if err := in.WriteBlock(100, encodeRows(0, 100)); err != nil {
		t.Fatalf("write block: %v", err)
	}
	if err := in.Finish(); err != nil {
		t.Fatalf("finish: %v", err)
	}
	c.Close()
	check(t, conn, done, 100)

	aborted := table(t, conn, db, "aborted")
	for round := 0; round < 3; round++ {
		c := dial()
		in, err := c.BeginInsert(ctx, "INSERT INTO "+aborted+" (n, s) VALUES", nil)
		if err != nil {
			t.Fatalf("begin insert: %v", err)
		}
		if err := in.WriteBlock(10, encodeRows(0, 10)); err != nil {
			t.Fatalf("write block: %v", err)
		}
		in.Abort()
	}
	if err := conn.Exec(ctx, "SYSTEM FLUSH LOGS"); err != nil {
		t.Fatal(err)
	}
	waitNoInsert(t, conn, aborted)
	check(t, conn, aborted, 0)
}
