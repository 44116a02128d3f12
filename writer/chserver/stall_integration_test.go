package chserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chload/chload/writer/loadmon"
)

// warnings is a slog handler that keeps the Warn records' messages and
// attributes; safe for concurrent use.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler           { return w }
func (w *warnings) WithGroup(string) slog.Handler                { return w }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, b.String())
	return nil
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

// TestStallOnCluster, on the real cluster: a batch waiting on two replicas
// that the servers' parts pause is a stall, logged at Warn level with each
// replica's reason as the server reports it, and ended by MaxPause with a
// *loadmon.PauseError naming both. The policy's StallWarning is shortened
// (the default is a minute); nothing is asserted on durations.
func TestStallOnCluster(t *testing.T) {
	nodes, db := clusterNodes(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	table := db + ".t"
	day := time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
	for _, n := range nodes[:2] {
		if err := n.Conn.Exec(ctx, "SYSTEM STOP MERGES "+table); err != nil {
			t.Fatalf("stop merges: %v", err)
		}
		conn := n.Conn
		t.Cleanup(func() { _ = conn.Exec(context.Background(), "SYSTEM START MERGES "+table) })
		for k := range 6 { // 3/4 of parts_to_delay_insert 8
			b, err := n.Conn.PrepareBatch(ctx, "INSERT INTO "+table+" (d, k)")
			if err != nil {
				t.Fatalf("prepare insert %d: %v", k, err)
			}
			if err := b.Append(day, uint64(k)); err != nil {
				t.Fatalf("append row %d: %v", k, err)
			}
			if err := b.Send(); err != nil {
				t.Fatalf("insert part %d: %v", k, err)
			}
		}
	}
	warns := &warnings{}
	m := loadmon.NewLoadMonitor(monitored(nodes, db, "t"), db, "t",
		loadmon.LoadPolicy{StallWarning: 200 * time.Millisecond, MaxPause: 2 * time.Second}, slog.New(warns))
	if err := m.Poll(ctx); err != nil {
		t.Fatalf("poll: %v", err)
	}
	addr, _, err := m.AcquireAny(ctx, []string{nodes[0].Addr, nodes[1].Addr})
	var pe *loadmon.PauseError
	if !errors.As(err, &pe) || len(pe.Replicas) != 2 {
		t.Fatalf("AcquireAny = %q, %v; want a *loadmon.PauseError for both replicas", addr, err)
	}
	for _, n := range nodes[:2] {
		if want := fmt.Sprintf("%s (replica %d) 6 active parts in one partition", n.Addr, n.Replica); !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	var stalls []string
	for _, w := range warns.all() {
		if strings.HasPrefix(w, "shard stalled") {
			stalls = append(stalls, w)
		}
	}
	if len(stalls) == 0 {
		t.Fatalf("no stall warning; warnings: %q", warns.all())
	}
	for _, n := range nodes[:2] {
		if !strings.Contains(stalls[0], n.Addr) || !strings.Contains(stalls[0], "6 active parts") || !strings.Contains(stalls[0], "shard=1") {
			t.Errorf("stall warning %q does not name shard 1, %s and its parts", stalls[0], n.Addr)
		}
	}
}
