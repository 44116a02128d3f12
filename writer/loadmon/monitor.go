// Package loadmon is chload's load monitor: it polls every node written,
// turns each node's load into a limit of concurrent inserts (the policy in
// monitor_policy.go), hands out insert slots within those limits and
// chooses the replica a batch goes to. It talks to no server itself: each
// Node comes with its Poll function.
package loadmon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Node is one ClickHouse server of the cluster chload writes to directly.
type Node struct {
	// Addr is the node's native "host:port"; it names the node everywhere.
	Addr string
	// Shard and Replica are the node's numbers in the cluster (from 1).
	Shard, Replica int
	// Poll reads the node's load of the target table; Limit and Reason are
	// left for the policy. Nil: the node cannot be polled and stays down.
	Poll func(ctx context.Context) (NodeLoad, error)
}

// NodeLoad is a node's load as last polled and the concurrent inserts the
// policy allows it.
type NodeLoad struct {
	// Addr, Shard and Replica identify the node.
	Addr           string
	Shard, Replica int
	// Merges counts the node's running merges (system.merges), TableMerges
	// those on the target table.
	Merges, TableMerges int
	// Queries counts the running queries that are not INSERTs and not a
	// load monitor's polls (system.processes), the heavy queries of the
	// policy; Inserts counts the running INSERTs, chload's own included.
	Queries, Inserts int
	// MaxParts is the most active parts in one partition of the target
	// table (system.parts).
	MaxParts int
	// PartsToDelay and PartsToThrow are the table's parts_to_delay_insert
	// and parts_to_throw_insert: the server's merge_tree settings
	// overridden by the table's own SETTINGS.
	PartsToDelay, PartsToThrow int
	// ReadOnly, QueueSize and AbsoluteDelay are the target's replica state
	// (system.replicas); zero for a table that is not replicated.
	ReadOnly      bool
	QueueSize     int
	AbsoluteDelay int
	// Limit is the number of concurrent inserts allowed now; 0 pauses the
	// node.
	Limit int
	// Reason says why Limit is what it is, in words.
	Reason string
	// Err is why the node is taken as down: its last poll failed, or a
	// write to it failed since (MarkFailed). Limit is 0 then.
	Err error
	// At is when the load was polled or the node marked as failed.
	At time.Time
}

// LoadMonitor polls every node's load, keeps a limit of concurrent inserts
// per node following a LoadPolicy, and hands out insert slots within those
// limits. chload writes straight to each shard's local table and uses it to
// back off before the servers throttle inserts. Its methods are safe for
// concurrent use.
type LoadMonitor struct {
	nodes           []Node
	index           map[string]int
	database, table string
	policy          LoadPolicy
	log             *slog.Logger
	clock           clock

	mu       sync.Mutex
	loads    []NodeLoad
	inflight []int
	total    int
	failSeq  []uint64      // counts MarkFailed calls per node
	waiting  int           // Acquire calls blocked now (tests observe it)
	changed  chan struct{} // closed and replaced when a slot frees or a limit changes
	// warned is when a stall of a set of replicas (stallKey) was last
	// logged, so that batches waiting together log it once.
	warned map[string]time.Time
}

// NewLoadMonitor returns a monitor of database.table on nodes with policy p;
// log receives the changes of limits (nil discards them). Every node is
// paused until the first Poll.
func NewLoadMonitor(nodes []Node, database, table string, p LoadPolicy, log *slog.Logger) *LoadMonitor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &LoadMonitor{
		nodes:    append([]Node(nil), nodes...),
		index:    make(map[string]int, len(nodes)),
		database: database,
		table:    table,
		policy:   p.withDefaults(len(nodes)),
		log:      log,
		clock:    realClock{},
		warned:   map[string]time.Time{},
		loads:    make([]NodeLoad, len(nodes)),
		inflight: make([]int, len(nodes)),
		failSeq:  make([]uint64, len(nodes)),
		changed:  make(chan struct{}),
	}
	for i, n := range nodes {
		if _, dup := m.index[n.Addr]; !dup {
			m.index[n.Addr] = i
		}
		m.loads[i] = NodeLoad{Addr: n.Addr, Shard: n.Shard, Replica: n.Replica, Reason: "not polled yet"}
	}
	return m
}

// Poll polls every node once now, concurrently, and updates their limits.
// chload calls it before the first insert and for a dry run; Run calls it
// periodically. A node that does not answer is paused until a later poll
// succeeds. The error is non-nil only when every node failed, and joins
// their errors; when ctx ends during the poll, the nodes it did not reach
// keep their previous load.
func (m *LoadMonitor) Poll(ctx context.Context) error {
	timeout := max(10*time.Second, m.policy.PollEvery)
	errs := make([]error, len(m.nodes))
	var wg sync.WaitGroup
	for i, n := range m.nodes {
		if m.index[n.Addr] != i {
			continue // a duplicate address: polled once
		}
		m.mu.Lock()
		seq := m.failSeq[i]
		m.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			var (
				l   NodeLoad
				err error
			)
			if n.Poll == nil {
				err = errors.New("no connection")
			} else {
				l, err = n.Poll(pctx)
			}
			if err != nil {
				err = fmt.Errorf("poll node %s: %w", n.Addr, err)
				l = NodeLoad{Err: err}
			}
			errs[i] = err
			if err != nil && ctx.Err() != nil {
				return // the caller gave up: the node is not to blame
			}
			m.apply(i, l, seq)
		}()
	}
	wg.Wait()
	var failed []error
	for i, n := range m.nodes {
		if m.index[n.Addr] != i {
			continue
		}
		if errs[i] == nil {
			return nil
		}
		failed = append(failed, errs[i])
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("poll load of %s.%s: every node failed: %w", m.database, m.table, errors.Join(failed...))
}

// Run polls every node every PollEvery until ctx ends; start it in a
// goroutine after the first Poll. A poll where every node fails is logged
// as a warning and the next poll tries again.
func (m *LoadMonitor) Run(ctx context.Context) {
	t := time.NewTicker(m.policy.PollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := m.Poll(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("load monitor: no node answered", "table", m.database+"."+m.table, "error", err)
		}
	}
}

// apply stores a node's polled load (or its poll error in l.Err), decides
// its limit and wakes waiters. A failure marked since the poll started
// (seq) stands: a poll that began before the failed write does not clear it.
func (m *LoadMonitor) apply(i int, l NodeLoad, seq uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.loads[i]
	if l.Err == nil && m.failSeq[i] != seq && prev.Err != nil {
		l.Err = prev.Err
	}
	n := m.nodes[i]
	l.Addr, l.Shard, l.Replica = n.Addr, n.Shard, n.Replica
	l.At = m.clock.Now()
	l.Limit, l.Reason = decideLimit(l, m.policy)
	m.setLocked(i, l, prev)
}

// setLocked stores l as node i's load, logs a change of limit or of the
// kind of reason (reasonKind) and wakes waiters. m.mu is held.
func (m *LoadMonitor) setLocked(i int, l, prev NodeLoad) {
	m.loads[i] = l
	if l.Limit == prev.Limit && l.Reason == prev.Reason {
		return
	}
	switch {
	case l.Limit != prev.Limit:
		m.log.Info("insert limit changed", "node", l.Addr, "shard", l.Shard, "replica", l.Replica,
			"limit", l.Limit, "previous", prev.Limit, "reason", l.Reason)
	case reasonKind(l.Reason) != reasonKind(prev.Reason):
		m.log.Info("insert limit kept, for another reason", "node", l.Addr, "shard", l.Shard, "replica", l.Replica,
			"limit", l.Limit, "reason", l.Reason, "previous_reason", prev.Reason)
	}
	m.wakeLocked()
}

// wakeLocked wakes every blocked Acquire to look again. m.mu is held.
func (m *LoadMonitor) wakeLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// Loads returns every node's last load and limit, in the order the nodes
// were given.
func (m *LoadMonitor) Loads() []NodeLoad {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]NodeLoad(nil), m.loads...)
}

// MarkFailed records that a write to the node failed (a connection error):
// the node is taken as down, paused, until a poll started after this call
// succeeds. The inserter calls it before trying another replica.
func (m *LoadMonitor) MarkFailed(addr string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m.index[addr]
	if !ok {
		return
	}
	if err == nil {
		err = errors.New("write failed")
	}
	m.failSeq[i]++
	prev := m.loads[i]
	l := prev
	l.Err = fmt.Errorf("write to node %s: %w", addr, err)
	l.At = m.clock.Now()
	l.Limit, l.Reason = decideLimit(l, m.policy)
	m.setLocked(i, l, prev)
}

// ErrNodeDown is returned by Acquire when the node does not answer polls or
// a write to it failed: the caller should write through another replica.
var ErrNodeDown = errors.New("node is down")

// Acquire takes one insert slot on the node, blocking while the node is at
// its limit or paused, or the global cap is reached; it wakes when a slot
// frees or a limit changes. It waits on one node only and keeps no stall
// account: the inserter uses AcquireAny, which waits on every replica of a
// shard. The caller calls release (once; later calls do nothing) when the
// insert ends. The error wraps ErrNodeDown when the node is down (on entry or while
// waiting), is ctx's when ctx ends first, or says the node is unknown.
func (m *LoadMonitor) Acquire(ctx context.Context, addr string) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("wait for an insert slot on %s: %w", addr, err)
	}
	m.mu.Lock()
	i, ok := m.index[addr]
	if !ok {
		m.mu.Unlock()
		return nil, fmt.Errorf("acquire insert slot on %s: not a node of this load monitor", addr)
	}
	for m.inflight[i] >= m.loads[i].Limit || m.total >= m.policy.GlobalCap {
		if l := m.loads[i]; l.Err != nil {
			m.mu.Unlock()
			return nil, fmt.Errorf("wait for an insert slot on %s: %w: %v", addr, ErrNodeDown, l.Err)
		}
		changed := m.changed
		m.waiting++
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			m.mu.Lock()
			m.waiting--
			m.mu.Unlock()
			return nil, fmt.Errorf("wait for an insert slot on %s: %w", addr, ctx.Err())
		case <-changed:
		}
		m.mu.Lock()
		m.waiting--
	}
	return m.takeLocked(i), nil
}

// waiters is the number of Acquire calls blocked now.
func (m *LoadMonitor) waiters() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.waiting
}
