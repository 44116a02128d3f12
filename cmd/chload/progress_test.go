package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chload/chload/writer/batch"
)

// signalWriter is a stderr that closes seen once a line holding want has
// been written.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(b, []byte(w.want)) && !bytes.Contains(b, []byte("rows_read=0 ")) {
		w.once.Do(func() { close(w.seen) })
	}
	return w.buf.Write(b)
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestProgressOffATerminal: off a terminal, a run reports progress as
// plain log lines (reading and writing apart: rows, bytes, rows/s, the ETA)
// and writes no terminal control characters. The first insert waits for
// the first progress line that counts rows read, so the test does not
// depend on timing.
func TestProgressOffATerminal(t *testing.T) {
	house, srv := eventsHouse()
	stderr := &signalWriter{want: "msg=progress", seen: make(chan struct{})}
	srv.BeforeInsert(func(*batch.Batch) {
		select {
		case <-stderr.seen:
		case <-time.After(time.Minute):
		}
	})
	var out bytes.Buffer
	env := map[string]string{"DATA_DIR": eventsDir(t), "CH_HOST": "ch1", "CH_PORT": "9000", "TABLE": "db.events"}
	code := execute(context.Background(), &state{
		args: []string{"run", writeFile(t, t.TempDir(), "job.yaml", jobText)}, stdout: &out, stderr: stderr,
		lookup:        func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		clickhouse:    house.Dialer(),
		progressEvery: 5 * time.Millisecond,
	})
	errs := stderr.String()
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	var line string
	for _, l := range strings.Split(errs, "\n") {
		if strings.Contains(l, "msg=progress") && !strings.Contains(l, "rows_read=0 ") {
			line = l
			break
		}
	}
	if line == "" {
		t.Fatalf("no progress line:\n%s", errs)
	}
	for _, w := range []string{"rows_total=4000", "rows_read=", "bytes_read=", "read_rows_per_second=", "rows_written=", "bytes_written=", "write_rows_per_second=", "write_eta="} {
		if !strings.Contains(line, w) {
			t.Errorf("progress line lacks %s:\n%s", w, line)
		}
	}
	if strings.ContainsAny(errs, "\r\x1b") {
		t.Errorf("stderr holds terminal control characters off a terminal:\n%q", errs)
	}
}
