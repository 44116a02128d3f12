package loadmon

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when the test says (Advance).
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	ch      chan time.Time
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	return t.ch, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves the clock by d and fires the timers due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	var left []*fakeTimer
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			t.ch <- c.now
		default:
			left = append(left, t)
		}
	}
	c.timers = left
}

// pending counts the timers not yet fired or stopped.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}

// waitForTimers yields until n timers are pending.
func (c *fakeClock) waitForTimers(n int) {
	for c.pending() != n {
		runtime.Gosched()
	}
}

// records is a slog handler that keeps every record, safe for concurrent
// use.
type records struct {
	mu   sync.Mutex
	recs []record
}

type record struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	out := record{level: rec.Level, msg: rec.Message, attrs: map[string]string{}}
	rec.Attrs(func(a slog.Attr) bool {
		out.attrs[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, out)
	return nil
}

// with returns the records whose message is msg.
func (r *records) with(msg string) []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []record
	for _, rec := range r.recs {
		if rec.msg == msg {
			out = append(out, rec)
		}
	}
	return out
}

// waitFor yields until n records with message msg were logged.
func (r *records) waitFor(msg string, n int) []record {
	for {
		if got := r.with(msg); len(got) >= n {
			return got
		}
		runtime.Gosched()
	}
}

type acquiredAny struct {
	addr    string
	release func()
	err     error
}

func acquireAnyAsync(ctx context.Context, m *LoadMonitor, addrs ...string) <-chan acquiredAny {
	ch := make(chan acquiredAny, 1)
	go func() {
		a, r, err := m.AcquireAny(ctx, addrs)
		ch <- acquiredAny{a, r, err}
	}()
	return ch
}

func assertAnyBlocked(t *testing.T, ch <-chan acquiredAny, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s: AcquireAny returned %q (err %v), want it blocked", what, r.addr, r.err)
	default:
	}
}

// paused is a load that pauses a node: its fullest partition is at the
// pause threshold.
var paused = NodeLoad{MaxParts: 6, PartsToDelay: 8, PartsToThrow: 300}

// monitorWithClock is a synthetic monitor over addrs whose time is a fake
// clock, logging to a records handler.
func monitorWithClock(t *testing.T, p LoadPolicy, addrs ...string) (*LoadMonitor, *fakeClock, *records) {
	t.Helper()
	recs := &records{}
	m := newSyntheticMonitor(t, p, slog.New(recs), addrs...)
	c := newFakeClock()
	m.clock = c
	return m, c, recs
}

// TestAcquireAnyTakesTheReplicaThatResumes: with both replicas of a shard
// paused, the waiting batch goes to the second as soon as it resumes, while
// the first stays paused.
func TestAcquireAnyTakesTheReplicaThatResumes(t *testing.T) {
	m, _, _ := monitorWithClock(t, LoadPolicy{}, "r1", "r2")
	setLoad(t, m, "r1", paused)
	setLoad(t, m, "r2", paused)
	got := acquireAnyAsync(context.Background(), m, "r1", "r2")
	waitForWaiters(m, 1)
	assertAnyBlocked(t, got, "both replicas paused")

	setLoad(t, m, "r2", NodeLoad{})
	r := <-got
	if r.err != nil || r.addr != "r2" {
		t.Fatalf("AcquireAny = %q, %v; want r2, the replica that resumed", r.addr, r.err)
	}
	r.release()
	if l := loadOf(m, "r1"); l.Limit != 0 {
		t.Fatalf("r1 resumed too (%+v): the test proves nothing", l)
	}
}

// TestAcquireAnyPrefersAsChoose: when several replicas have a free slot,
// AcquireAny takes the one Choose names.
func TestAcquireAnyPrefersAsChoose(t *testing.T) {
	tests := []struct {
		name   string
		loads  [2]NodeLoad
		busy   [2]int // slots taken before
		addrs  []string
		wantOK bool
	}{
		{name: "both idle: the order given", addrs: []string{"r2", "r1"}},
		{name: "one paused", loads: [2]NodeLoad{paused, {}}, addrs: []string{"r1", "r2"}},
		{name: "lower share of limit in use", busy: [2]int{1, 0}, addrs: []string{"r1", "r2"}},
		{name: "shorter replication queue", loads: [2]NodeLoad{{QueueSize: 5}, {QueueSize: 1}}, addrs: []string{"r1", "r2"}},
		{name: "smaller delay", loads: [2]NodeLoad{{AbsoluteDelay: 1}, {AbsoluteDelay: 9}}, addrs: []string{"r2", "r1"}},
		{name: "read-only is passed over", loads: [2]NodeLoad{{ReadOnly: true}, {QueueSize: 9}}, addrs: []string{"r1", "r2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := monitorWithClock(t, LoadPolicy{}, "r1", "r2")
			for i, a := range []string{"r1", "r2"} {
				setLoad(t, m, a, tc.loads[i])
				for range tc.busy[i] {
					defer mustAcquire(t, m, a)()
				}
			}
			want, ok := m.Choose(tc.addrs, nil)
			if !ok {
				t.Fatal("Choose found no replica")
			}
			got, release, err := m.AcquireAny(context.Background(), tc.addrs)
			if err != nil {
				t.Fatal(err)
			}
			release()
			if got != want {
				t.Fatalf("AcquireAny = %s, Choose = %s", got, want)
			}
		})
	}
}

// TestAcquireAnyDown: no writable replica on entry fails at once without a
// replica; replicas going down while the batch waits fail it with the one
// it was waiting for.
func TestAcquireAnyDown(t *testing.T) {
	m, _, _ := monitorWithClock(t, LoadPolicy{}, "r1", "r2")
	setLoad(t, m, "r1", NodeLoad{ReadOnly: true})
	m.MarkFailed("r2", errors.New("connection refused"))
	addr, _, err := m.AcquireAny(context.Background(), []string{"r1", "r2"})
	if !errors.Is(err, ErrNodeDown) || addr != "" || !strings.Contains(err.Error(), "read-only") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("AcquireAny = %q, %v; want ErrNodeDown, no replica, and both reasons", addr, err)
	}

	setLoad(t, m, "r2", paused)
	got := acquireAnyAsync(context.Background(), m, "r1", "r2")
	waitForWaiters(m, 1)
	m.MarkFailed("r2", errors.New("broken pipe"))
	r := <-got
	if !errors.Is(r.err, ErrNodeDown) || r.addr != "r2" {
		t.Fatalf("AcquireAny = %q, %v; want ErrNodeDown on r2", r.addr, r.err)
	}
}

// TestStallIsLoggedAndBounded: while every replica is paused, the stall is
// logged at Warn level after StallWarning with each replica's reason (once
// for all batches waiting on the same replicas), and the wait ends with a
// *PauseError after MaxPause.
func TestStallIsLoggedAndBounded(t *testing.T) {
	m, c, recs := monitorWithClock(t, LoadPolicy{MaxPause: 5 * time.Minute}, "r1", "r2")
	setLoad(t, m, "r1", paused)
	setLoad(t, m, "r2", NodeLoad{ReadOnly: true, MaxParts: 1})
	ctx := context.Background()
	first := acquireAnyAsync(ctx, m, "r1", "r2")
	second := acquireAnyAsync(ctx, m, "r1", "r2")
	waitForWaiters(m, 2)
	c.waitForTimers(2)

	c.Advance(59 * time.Second)
	if n := len(recs.with("shard stalled: every replica is paused")); n != 0 {
		t.Fatalf("%d warnings before StallWarning", n)
	}
	c.Advance(time.Second)
	warns := recs.waitFor("shard stalled: every replica is paused", 1)
	w := warns[0]
	if w.level != slog.LevelWarn || w.attrs["shard"] != "1" || !strings.Contains(w.attrs["replicas"], "r1 (replica 1) 6 active parts") ||
		!strings.Contains(w.attrs["replicas"], "r2 (replica 2) replica is read-only") {
		t.Fatalf("warning %+v: want Warn level, shard 1 and each replica's reason", w)
	}
	waitForWaiters(m, 2)
	c.waitForTimers(2)
	if n := len(recs.with("shard stalled: every replica is paused")); n != 1 {
		t.Fatalf("two batches waiting on the same replicas logged %d warnings, want 1", n)
	}
	assertAnyBlocked(t, first, "before MaxPause")

	// Logged again every minute the stall lasts.
	for k := 2; k <= 4; k++ {
		c.Advance(time.Minute)
		recs.waitFor("shard stalled: every replica is paused", k)
		waitForWaiters(m, 2)
		c.waitForTimers(2)
	}
	c.Advance(time.Minute)
	for _, ch := range []<-chan acquiredAny{first, second} {
		r := <-ch
		var pe *PauseError
		if !errors.As(r.err, &pe) || pe.Shard != 1 || pe.Paused != 5*time.Minute || len(pe.Replicas) != 2 {
			t.Fatalf("after MaxPause: %q, %v; want a *PauseError for shard 1 with both replicas", r.addr, r.err)
		}
		msg := r.err.Error()
		for _, want := range []string{"5m0s", "r1 (replica 1) 6 active parts in one partition", "r2 (replica 2) replica is read-only"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not say %q", msg, want)
			}
		}
	}
}

// TestBusySlotsAreNoStall: waiting for slots that inserts in flight hold is
// not a stall: no timer runs, so neither a warning nor MaxPause comes.
func TestBusySlotsAreNoStall(t *testing.T) {
	m, c, recs := monitorWithClock(t, LoadPolicy{Fixed: 1, MaxPause: time.Minute}, "r1", "r2")
	setLoad(t, m, "r1", NodeLoad{})
	setLoad(t, m, "r2", paused)
	hold := mustAcquire(t, m, "r1")
	got := acquireAnyAsync(context.Background(), m, "r1", "r2")
	waitForWaiters(m, 1)
	if n := c.pending(); n != 0 {
		t.Fatalf("%d timers while a replica is only busy", n)
	}
	c.Advance(time.Hour)
	assertAnyBlocked(t, got, "replica busy")
	if n := len(recs.with("shard stalled: every replica is paused")); n != 0 {
		t.Fatalf("%d stall warnings for a busy replica", n)
	}
	hold()
	r := <-got
	if r.err != nil || r.addr != "r1" {
		t.Fatalf("AcquireAny = %q, %v; want r1 once its slot freed", r.addr, r.err)
	}
	r.release()

	// A paused replica that resumes before MaxPause takes the batch.
	setLoad(t, m, "r1", paused)
	again := acquireAnyAsync(context.Background(), m, "r1")
	waitForWaiters(m, 1)
	c.waitForTimers(1)
	c.Advance(time.Minute - time.Second)
	setLoad(t, m, "r1", NodeLoad{})
	r = <-again
	if r.err != nil {
		t.Fatalf("after resuming: %v", r.err)
	}
	r.release()
}

// TestReasonChangeIsLogged: a node that stays at the same limit for another
// reason logs the change; a change of counts alone does not.
func TestReasonChangeIsLogged(t *testing.T) {
	m, _, recs := monitorWithClock(t, LoadPolicy{}, "a")
	setLoad(t, m, "a", paused)
	more := paused
	more.MaxParts = 7
	setLoad(t, m, "a", more)
	setLoad(t, m, "a", NodeLoad{ReadOnly: true})
	got := recs.with("insert limit kept, for another reason")
	// From "not polled yet" to parts, then from parts to read-only.
	if len(got) != 2 {
		t.Fatalf("logged %d reason changes, want 2: %+v", len(got), got)
	}
	last := got[1]
	if last.attrs["node"] != "a" || last.attrs["limit"] != "0" || last.attrs["reason"] != "replica is read-only" ||
		!strings.Contains(last.attrs["previous_reason"], "7 active parts") {
		t.Fatalf("reason change %+v", last)
	}
}
