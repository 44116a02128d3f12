package loadmon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"testing"
)

// newSyntheticMonitor is a monitor over nodes without connections, whose
// loads the test sets with setLoad.
func newSyntheticMonitor(t *testing.T, p LoadPolicy, log *slog.Logger, addrs ...string) *LoadMonitor {
	t.Helper()
	nodes := make([]Node, len(addrs))
	for i, a := range addrs {
		nodes[i] = Node{Addr: a, Shard: i/2 + 1, Replica: i%2 + 1}
	}
	return NewLoadMonitor(nodes, "db", "t", p, log)
}

// setLoad stores l as the polled load of addr, as a successful poll would.
func setLoad(t *testing.T, m *LoadMonitor, addr string, l NodeLoad) {
	t.Helper()
	i, ok := m.index[addr]
	if !ok {
		t.Fatalf("no node %s", addr)
	}
	m.mu.Lock()
	seq := m.failSeq[i]
	m.mu.Unlock()
	m.apply(i, l, seq)
}

// waitForWaiters yields until n Acquire calls are blocked.
func waitForWaiters(m *LoadMonitor, n int) {
	for m.waiters() != n {
		runtime.Gosched()
	}
}

type acquired struct {
	release func()
	err     error
}

// acquireAsync calls Acquire in a goroutine and delivers its result.
func acquireAsync(ctx context.Context, m *LoadMonitor, addr string) <-chan acquired {
	ch := make(chan acquired, 1)
	go func() {
		r, err := m.Acquire(ctx, addr)
		ch <- acquired{r, err}
	}()
	return ch
}

func mustAcquire(t *testing.T, m *LoadMonitor, addr string) func() {
	t.Helper()
	r, err := m.Acquire(context.Background(), addr)
	if err != nil {
		t.Fatalf("acquire %s: %v", addr, err)
	}
	return r
}

// assertBlocked checks that a blocked Acquire has not returned.
func assertBlocked(t *testing.T, ch <-chan acquired, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s: acquire returned (err %v), want it blocked", what, r.err)
	default:
	}
}

func TestAcquireHonoursLimits(t *testing.T) {
	ctx := context.Background()
	m := newSyntheticMonitor(t, LoadPolicy{PerNodeCap: 2, GlobalCap: 3}, nil, "a", "b")

	// Not polled yet: paused.
	early := acquireAsync(ctx, m, "a")
	waitForWaiters(m, 1)
	assertBlocked(t, early, "before the first poll")
	setLoad(t, m, "a", NodeLoad{})
	setLoad(t, m, "b", NodeLoad{})
	ra1 := (<-early).release

	// Node limit: a third insert on a waits for a slot on a.
	ra2 := mustAcquire(t, m, "a")
	third := acquireAsync(ctx, m, "a")
	waitForWaiters(m, 1)
	assertBlocked(t, third, "node at its limit")

	// Global cap: 2 on a + 1 on b = 3; b is below its limit but waits.
	rb1 := mustAcquire(t, m, "b")
	onB := acquireAsync(ctx, m, "b")
	waitForWaiters(m, 2)
	assertBlocked(t, onB, "global cap reached")

	// Releasing a slot on b frees the global cap only for b (a is still
	// at its limit).
	rb1()
	rb1() // a second release does nothing
	rb2 := (<-onB).release
	waitForWaiters(m, 1)
	assertBlocked(t, third, "node still at its limit")

	// Releasing one on a wakes the waiter on a.
	ra1()
	ra3 := (<-third).release

	// A limit cut to 1 (heavy queries) blocks new inserts until two end.
	setLoad(t, m, "a", NodeLoad{Queries: 3})
	rb2()
	cut := acquireAsync(ctx, m, "a")
	waitForWaiters(m, 1)
	ra2()
	assertBlocked(t, cut, "one insert still above the lowered limit")
	ra3()
	rcut := (<-cut).release

	// Pausing: a read-only replica blocks until it recovers.
	rcut()
	setLoad(t, m, "b", NodeLoad{ReadOnly: true})
	paused := acquireAsync(ctx, m, "b")
	waitForWaiters(m, 1)
	assertBlocked(t, paused, "paused node")
	setLoad(t, m, "b", NodeLoad{})
	r := <-paused
	if r.err != nil {
		t.Fatalf("acquire after resume: %v", r.err)
	}
	r.release()

	if m.total != 0 || m.inflight[0] != 0 || m.inflight[1] != 0 {
		t.Fatalf("slots left taken: total %d, inflight %v", m.total, m.inflight)
	}
}

func TestAcquireErrors(t *testing.T) {
	m := newSyntheticMonitor(t, LoadPolicy{Fixed: 1}, nil, "a")
	setLoad(t, m, "a", NodeLoad{})
	if _, err := m.Acquire(context.Background(), "nope"); err == nil {
		t.Fatal("acquire on an unknown node succeeded")
	}
	hold := mustAcquire(t, m, "a")
	defer hold()

	ctx, cancel := context.WithCancel(context.Background())
	ch := acquireAsync(ctx, m, "a")
	waitForWaiters(m, 1)
	cancel()
	r := <-ch
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("acquire after cancel: err = %v, want context.Canceled", r.err)
	}
	if n := m.waiters(); n != 0 {
		t.Fatalf("%d waiters left after cancel", n)
	}
	// An ended context fails even when a slot is free.
	hold()
	if _, err := m.Acquire(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire with an ended context: err = %v, want context.Canceled", err)
	}
}

func TestAcquireConcurrentHolders(t *testing.T) {
	addrs := []string{"a", "b", "c"}
	limits := map[string]int{"a": 2, "b": 1, "c": 2}
	const globalCap = 4
	m := newSyntheticMonitor(t, LoadPolicy{PerNodeCap: 2, GlobalCap: globalCap}, nil, addrs...)
	setLoad(t, m, "a", NodeLoad{})
	setLoad(t, m, "b", NodeLoad{TableMerges: 2}) // limit 1
	setLoad(t, m, "c", NodeLoad{})

	var (
		mu             sync.Mutex
		holders        = map[string]int{}
		total, maxSeen int
		violations     []string
	)
	var wg sync.WaitGroup
	for g := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 20 {
				addr := addrs[(g+k)%len(addrs)]
				release, err := m.Acquire(context.Background(), addr)
				if err != nil {
					mu.Lock()
					violations = append(violations, err.Error())
					mu.Unlock()
					return
				}
				mu.Lock()
				holders[addr]++
				total++
				maxSeen = max(maxSeen, total)
				if holders[addr] > limits[addr] {
					violations = append(violations, addr+" above its limit")
				}
				if total > globalCap {
					violations = append(violations, "above the global cap")
				}
				mu.Unlock()
				runtime.Gosched()
				mu.Lock()
				holders[addr]--
				total--
				mu.Unlock()
				release()
			}
		}()
	}
	wg.Wait()
	if len(violations) > 0 {
		t.Fatalf("violations: %v", violations[:min(len(violations), 5)])
	}
	if maxSeen == 0 {
		t.Fatal("no holder seen")
	}
}

func TestChoose(t *testing.T) {
	m := newSyntheticMonitor(t, LoadPolicy{PerNodeCap: 2}, nil, "r1", "r2", "r3", "ro", "down", "idle")
	setLoad(t, m, "r1", NodeLoad{})
	setLoad(t, m, "r2", NodeLoad{QueueSize: 3})
	setLoad(t, m, "r3", NodeLoad{QueueSize: 3, AbsoluteDelay: 5})
	setLoad(t, m, "ro", NodeLoad{ReadOnly: true})
	setLoad(t, m, "down", NodeLoad{Err: errors.New("connection refused")})
	// "idle" is never polled: paused.

	busy := mustAcquire(t, m, "r1")
	defer busy()

	tests := []struct {
		name    string
		addrs   []string
		exclude map[string]bool
		want    string
		wantOK  bool
	}{
		{name: "first of equals", addrs: []string{"r1", "r1"}, want: "r1", wantOK: true},
		{name: "less inflight", addrs: []string{"r1", "r2"}, want: "r2", wantOK: true},
		{name: "shorter queue", addrs: []string{"r3", "r2"}, want: "r2", wantOK: true},
		{name: "read-only and down skipped", addrs: []string{"ro", "down", "r3"}, want: "r3", wantOK: true},
		{name: "excluded skipped", addrs: []string{"r2", "r3"}, exclude: map[string]bool{"r2": true}, want: "r3", wantOK: true},
		{name: "paused last", addrs: []string{"idle", "r1"}, want: "r1", wantOK: true},
		{name: "only paused", addrs: []string{"idle"}, want: "idle", wantOK: true},
		{name: "none writable", addrs: []string{"ro", "down", "r1"}, exclude: map[string]bool{"r1": true}},
		{name: "unknown", addrs: []string{"elsewhere"}},
		{name: "empty", addrs: nil},
	}
	for _, tc := range tests {
		got, ok := m.Choose(tc.addrs, tc.exclude)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("%s: Choose(%v, %v) = %q, %v; want %q, %v", tc.name, tc.addrs, tc.exclude, got, ok, tc.want, tc.wantOK)
		}
	}

	// A lower share of the limit wins: r1 at 1/2 beats r2 at 1/1 once r2
	// is cut to 1 and busy.
	setLoad(t, m, "r1", NodeLoad{})
	setLoad(t, m, "r2", NodeLoad{Queries: 2})
	rb := mustAcquire(t, m, "r2")
	defer rb()
	if got, _ := m.Choose([]string{"r2", "r1"}, nil); got != "r1" {
		t.Errorf("Choose by share of limit = %q, want r1", got)
	}
}

func TestMarkFailed(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	m := newSyntheticMonitor(t, LoadPolicy{}, log, "a", "b")
	setLoad(t, m, "a", NodeLoad{})
	setLoad(t, m, "b", NodeLoad{})

	m.MarkFailed("a", errors.New("connection reset by peer"))
	m.MarkFailed("elsewhere", errors.New("ignored"))
	l := loadOf(m, "a")
	if l.Limit != 0 || l.Err == nil {
		t.Fatalf("after MarkFailed: limit %d, err %v; want 0 and an error", l.Limit, l.Err)
	}
	if got, ok := m.Choose([]string{"a", "b"}, nil); got != "b" || !ok {
		t.Fatalf("Choose after MarkFailed = %q, %v; want b", got, ok)
	}

	// A poll that started before the failure does not clear it ...
	i := m.index["a"]
	m.apply(i, NodeLoad{}, m.failSeq[i]-1)
	if l := loadOf(m, "a"); l.Err == nil || l.Limit != 0 {
		t.Fatalf("a poll older than the failure cleared it: %+v", l)
	}
	// ... a later one does.
	setLoad(t, m, "a", NodeLoad{})
	if l := loadOf(m, "a"); l.Err != nil || l.Limit != 2 {
		t.Fatalf("after a later poll: limit %d, err %v; want 2 and no error", l.Limit, l.Err)
	}

	// Every change of limit was logged with its attributes.
	type entry struct {
		Msg      string
		Node     string
		Shard    int
		Replica  int
		Limit    int
		Previous int
		Reason   string
	}
	var changes []entry
	for line := range bytes.Lines(buf.Bytes()) {
		var e entry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("parse log line %q: %v", line, err)
		}
		if e.Msg == "insert limit changed" && e.Node == "a" {
			changes = append(changes, e)
		}
	}
	want := [][2]int{{0, 2}, {2, 0}, {0, 2}}
	if len(changes) != len(want) {
		t.Fatalf("logged %d changes of a's limit, want %d: %+v", len(changes), len(want), changes)
	}
	for k, c := range changes {
		if c.Previous != want[k][0] || c.Limit != want[k][1] || c.Reason == "" || c.Shard != 1 || c.Replica != 1 {
			t.Errorf("change %d = %+v, want previous %d, limit %d, a reason, shard 1, replica 1", k, c, want[k][0], want[k][1])
		}
	}
	if want := "node down: write to node a: connection reset by peer"; changes[1].Reason != want {
		t.Errorf("reason of the failure = %q, want %q", changes[1].Reason, want)
	}
}

func TestLoadsBeforeAPoll(t *testing.T) {
	m := newSyntheticMonitor(t, LoadPolicy{}, nil, "a", "b")
	loads := m.Loads()
	if len(loads) != 2 || loads[0].Addr != "a" || loads[1].Addr != "b" || loads[0].Reason != "not polled yet" {
		t.Fatalf("Loads before a poll = %+v", loads)
	}
}

// loadOf is the last load of the node at addr.
func loadOf(m *LoadMonitor, addr string) NodeLoad {
	for _, l := range m.Loads() {
		if l.Addr == addr {
			return l
		}
	}
	return NodeLoad{}
}
