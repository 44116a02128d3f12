package chnative

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/chload/chload/internal/testenv"
)

// holdingProxy forwards a connection to addr and, once held, keeps the
// server's bytes from the client until released.
type holdingProxy struct {
	ln       net.Listener
	addr     string
	mu       sync.Mutex
	held     bool
	released chan struct{}
}

func newHoldingProxy(t *testing.T, addr string) *holdingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdingProxy{ln: ln, addr: addr, released: make(chan struct{})}
	t.Cleanup(func() { ln.Close() })
	go func() {
		client, err := ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", addr)
		if err != nil {
			client.Close()
			return
		}
		go func() { io.Copy(server, client); server.Close() }()
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			p.mu.Lock()
			held := p.held
			p.mu.Unlock()
			if held {
				<-p.released
			}
			if n > 0 {
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				client.Close()
				return
			}
		}
	}()
	return p
}

func (p *holdingProxy) hold() { p.mu.Lock(); p.held = true; p.mu.Unlock() }

// TestCancelAfterLastBlockStillKnowsTheOutcome: once the end of the data is
// sent, the server writes the rows; a cancellation while the answer is on
// its way must not turn a written batch into one reported as failed.
func TestCancelAfterLastBlockStillKnowsTheOutcome(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	name := table(t, conn, db, "t")
	proxy := newHoldingProxy(t, testenv.ClickHouseAddr(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := Dial(ctx, Options{Addr: proxy.ln.Addr().String()})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Close()
	in, err := c.BeginInsert(ctx, "INSERT INTO "+name+" (n, s) VALUES", nil)
	if err != nil {
		t.Fatalf("begin insert: %v", err)
	}
	if err := in.WriteBlock(10, encodeRows(0, 10)); err != nil {
		t.Fatalf("write block: %v", err)
	}
	proxy.hold()
	done := make(chan error, 1)
	go func() { done <- in.Finish() }()
	// The server has the end of the data and writes the part; its answer
	// waits in the proxy.
	for {
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 10 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	close(proxy.released)
	if err := <-done; err != nil {
		t.Fatalf("finish after the rows were written: %v, want success", err)
	}
	check(t, conn, name, 10)
}
