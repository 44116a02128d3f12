package writer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chload/chload/writer/loadmon"
)

// OpenParams say which target to open and how hard to write to it.
type OpenParams struct {
	// Conn reaches the servers: Conn.Addrs are the job's hosts, tried in
	// order, one at a time; a cluster's replicas are reached with the same
	// credentials.
	Conn ConnParams
	// ProbeHosts dials every one of Conn.Addrs, also those after the first
	// that answers, so that Hosts says how each answered; dry runs set it.
	ProbeHosts bool
	// Target names the table, and the cluster for a local table.
	Target DestinationParams
	// Concurrency is the fixed number of concurrent inserts per node; 0
	// lets the load monitor decide (auto).
	Concurrency int
	// NodeConcurrency caps a node's concurrent inserts under auto.
	NodeConcurrency int
	// MaxConcurrency caps the inserts in flight over all nodes; 0 derives
	// it from the servers' cores (MaxInFlight).
	MaxConcurrency int
	// MaxPause ends a Write with a *ServerError when every replica its
	// batch may go to stays paused that long; 0 waits forever. Optional,
	// defaults to 0.
	MaxPause time.Duration
	// Logger receives what the door does (cluster found, replicas that do
	// not answer, failovers). Optional, defaults to discarding.
	Logger *slog.Logger
}

// Target is an opened destination: the server, the table, a cluster's
// shards with a connection to every replica that answered, and the monitor
// of their load, which polls them until Close. Safe for concurrent use.
type Target struct {
	params  OpenParams
	log     *slog.Logger
	first   Node   // the first host that answered
	addr    string // its address
	hosts   []HostState
	server  ServerInfo
	dest    *Destination
	nodes   []targetNode
	byAddr  map[string]Node
	shards  [][]string // per shard index, its replicas' addresses that answered
	monitor *loadmon.LoadMonitor
	cores   map[string]int // per host, the cores its server uses
	router  *Router

	stop    context.CancelFunc
	stopped sync.WaitGroup
	// parts counts the parts the inserts created.
	parts atomic.Int64
}

// HostState is how one of the job's hosts (OpenParams.Conn.Addrs) answered
// when the target was opened.
type HostState struct {
	// Addr is the host's "host:port".
	Addr string
	// Answered says the host answered; Err says why it did not. Neither:
	// it was not tried, as an earlier host answered.
	Answered bool
	Err      error
	// Used says the run reads the server and the table through this host
	// (and, on one node, writes to it).
	Used bool
}

// targetNode is one node written.
type targetNode struct {
	addr           string
	shard, replica int
	node           Node
}

// Open connects to the target through d: the first host that answers, the
// server's version, the table (resolved through a Distributed table to its
// cluster's local tables), every replica of every shard, and one poll of
// their load; then the monitor polls in the background until Close. A
// replica that does not answer is left out (its shard is written through
// another); a shard with no replica answering fails Open before anything is
// written.
func Open(ctx context.Context, d Dialer, p OpenParams) (*Target, error) {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Target{params: p, log: log, byAddr: map[string]Node{}}
	if err := t.open(ctx, d); err != nil {
		t.Close()
		return nil, err
	}
	mctx, stop := context.WithCancel(context.Background())
	t.stop = stop
	t.stopped.Add(1)
	go func() {
		defer t.stopped.Done()
		t.monitor.Run(mctx)
	}()
	return t, nil
}

func (t *Target) open(ctx context.Context, d Dialer) error {
	p := t.params
	if err := t.discover(ctx, d); err != nil {
		return err
	}
	t.log.Info("connected", "server", t.server.Version, "timezone", t.server.Timezone, "host", t.addr)
	if err := t.connectNodes(ctx, d); err != nil {
		return err
	}
	t.readHostCores(ctx)
	if t.dest.Topology != nil {
		t.router = &Router{topo: t.dest.Topology, key: t.dest.ShardingKey}
	}
	lnodes := make([]loadmon.Node, len(t.nodes))
	db, table := t.dest.Table.Database, t.dest.Table.Name
	for i, n := range t.nodes {
		lnodes[i] = loadmon.Node{Addr: n.addr, Shard: n.shard, Replica: n.replica, Poll: func(ctx context.Context) (loadmon.NodeLoad, error) {
			return n.node.Load(ctx, db, table)
		}}
	}
	t.monitor = loadmon.NewLoadMonitor(lnodes, db, table, loadmon.LoadPolicy{
		Fixed: p.Concurrency, PerNodeCap: p.NodeConcurrency, GlobalCap: t.MaxInFlight(), MaxPause: p.MaxPause,
	}, t.log)
	return t.monitor.Poll(ctx)
}

// discover tries the job's hosts in order and reads the server and the
// destination (a cluster's topology included) through the first that
// answers. A host that does not answer, or whose connection fails while
// being read, is passed over for the next; a problem with the table itself
// (a *TargetError, or an exception the server raised) would be the same on
// every host and ends Open. With ProbeHosts, the hosts after the one used
// are dialled too, for HostStates.
func (t *Target) discover(ctx context.Context, d Dialer) error {
	var errs []error
	addrs := t.params.Conn.Addrs
	for i, addr := range addrs {
		st := HostState{Addr: addr}
		switch {
		case t.first == nil:
			var final bool
			final, st.Err = t.discoverThrough(ctx, d, addr)
			st.Answered, st.Used = t.first != nil, t.first != nil
			t.hosts = append(t.hosts, st)
			if final {
				return st.Err
			}
			if st.Err != nil {
				errs = append(errs, st.Err)
				if i < len(addrs)-1 {
					t.log.Warn("host does not answer; trying the next one", "host", addr, "error", st.Err)
				}
			}
			continue
		case t.params.ProbeHosts:
			var n Node
			if n, st.Err = d.Dial(ctx, t.connParams([]string{addr})); st.Err == nil {
				st.Answered = true
				n.Close()
			}
		}
		t.hosts = append(t.hosts, st)
	}
	switch {
	case t.first != nil:
		return nil
	case len(errs) == 1:
		return errs[0]
	}
	transient := true
	msgs := make([]string, len(errs))
	for i, err := range errs {
		var se *ServerError
		transient = transient && errors.As(err, &se) && se.Transient
		msgs[i] = err.Error()
	}
	return &ServerError{Op: "connect to target.clickhouse.hosts", Err: fmt.Errorf("no host answers: %s", strings.Join(msgs, "; ")), Transient: transient}
}

// discoverThrough connects to addr and reads the server and the
// destination through it, making it the target's first node. It reports
// final when the error would be the same through any host (the table is
// missing, say) or the context is done: then the node is kept (Close
// closes it) and Open ends.
func (t *Target) discoverThrough(ctx context.Context, d Dialer, addr string) (final bool, err error) {
	n, err := d.Dial(ctx, t.connParams([]string{addr}))
	if err != nil {
		return ctx.Err() != nil, err
	}
	server, err := n.Server(ctx)
	var dest *Destination
	if err == nil {
		dest, err = resolveDestination(ctx, n, t.params.Target)
	}
	var se *ServerError
	if err != nil && ctx.Err() == nil && errors.As(err, &se) && se.Transient {
		n.Close()
		return false, err
	}
	t.first, t.addr, t.server, t.dest = n, addr, server, dest
	return err != nil, err
}

// connParams are p.Conn for addrs, with room for the node's inserts.
func (t *Target) connParams(addrs []string) ConnParams {
	c := t.params.Conn
	c.Addrs = addrs
	if c.MaxConns == 0 {
		c.MaxConns = max(t.params.Concurrency, t.params.NodeConcurrency) + 2
	}
	return c
}

// connectNodes connects to every replica of every shard.
func (t *Target) connectNodes(ctx context.Context, d Dialer) error {
	topo := t.dest.Topology
	if topo == nil {
		addr := t.addr
		t.nodes = []targetNode{{addr: addr, shard: 1, replica: 1, node: t.first}}
		t.byAddr[addr] = t.first
		t.shards = [][]string{{addr}}
		return nil
	}
	var down []string
	for _, sh := range topo.Shards {
		var up []string
		var lastErr error
		for _, r := range sh.Replicas {
			n, err := d.Dial(ctx, t.connParams([]string{r.Addr}))
			if err == nil {
				_, err = n.Describe(ctx, t.dest.Table.Database, t.dest.Table.Name)
				if err != nil {
					n.Close()
					return fmt.Errorf("shard %d replica %s: %w", sh.Num, r.Addr, err)
				}
			}
			if err != nil {
				t.log.Warn("replica does not answer: its shard is written through another replica", "shard", sh.Num, "replica", r.Addr, "error", err)
				lastErr = err
				continue
			}
			t.nodes = append(t.nodes, targetNode{addr: r.Addr, shard: sh.Num, replica: r.Num, node: n})
			t.byAddr[r.Addr] = n
			up = append(up, r.Addr)
		}
		if len(up) == 0 {
			down = append(down, fmt.Sprintf("shard %d (%s): %v", sh.Num, strings.Join(sh.Addrs(), ", "), lastErr))
		}
		t.shards = append(t.shards, up)
	}
	if len(down) > 0 {
		return &ServerError{Op: "connect to cluster " + topo.Cluster, Err: fmt.Errorf("no replica answers for %s; nothing was written", strings.Join(down, "; "))}
	}
	t.log.Info("cluster", "cluster", topo.Cluster, "shards", len(topo.Shards), "nodes", len(t.nodes),
		"distributed", t.dest.Distributed, "local_table", t.dest.Table.Database+"."+t.dest.Table.Name,
		"internal_replication", t.dest.InternalReplication, "sharding_key", t.dest.ShardingKeyText())
	return nil
}

// readHostCores records, per host, the cores its server uses (max_threads),
// so that nodes sharing a host share its concurrency.
func (t *Target) readHostCores(ctx context.Context) {
	t.cores = map[string]int{}
	for _, n := range t.nodes {
		host := hostOf(n.addr)
		if _, done := t.cores[host]; done {
			continue
		}
		cores := t.params.NodeConcurrency
		if n.node == t.first {
			if t.server.Cores > 0 {
				cores = t.server.Cores
			}
		} else if info, err := n.node.Server(ctx); err == nil && info.Cores > 0 {
			cores = info.Cores
		}
		t.cores[host] = cores
	}
}

// hostOf is the host part of "host:port".
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// MaxInFlight is the most inserts in flight over all nodes:
// OpenParams.MaxConcurrency when set; else, under auto, each host's cores
// (the max_threads its server reports), shared by the nodes on that host,
// and at most NodeConcurrency per node; with a fixed concurrency, that
// number per node.
func (t *Target) MaxInFlight() int {
	p := t.params
	if p.MaxConcurrency > 0 {
		return p.MaxConcurrency
	}
	if p.Concurrency > 0 {
		return max(1, p.Concurrency*len(t.nodes))
	}
	nodesOnHost := map[string]int{}
	for _, n := range t.nodes {
		nodesOnHost[hostOf(n.addr)]++
	}
	total := 0
	for host, n := range nodesOnHost {
		total += min(t.cores[host], n*p.NodeConcurrency)
	}
	return max(1, total)
}

// Hosts says how each of the job's hosts answered, in the order listed.
func (t *Target) Hosts() []HostState { return t.hosts }

// Addr is the host the server and the table were read through: on one
// node, the node written.
func (t *Target) Addr() string { return t.addr }

// Server is the first host's version and capabilities.
func (t *Target) Server() ServerInfo { return t.server }

// Destination is what the target resolved to: the table rows go into, and
// a cluster's topology and sharding key.
func (t *Target) Destination() *Destination { return t.dest }

// Router routes rows to shards; nil on a single node.
func (t *Target) Router() *Router { return t.router }

// ShardNum is the shard_num of shard index i (0 on a single node).
func (t *Target) ShardNum(i int) int {
	if t.dest == nil || t.dest.Topology == nil {
		return 0
	}
	return t.dest.Topology.Shards[i].Num
}

// PartsCreated counts the parts the inserts created: one per batch, or one
// per replica written when batches go to every replica.
func (t *Target) PartsCreated() int { return int(t.parts.Load()) }

// Close stops the load monitor, waits for it, and closes every connection.
// Every Write must have returned.
func (t *Target) Close() error {
	if t.stop != nil {
		t.stop()
		t.stopped.Wait()
	}
	for _, n := range t.nodes {
		if n.node != t.first {
			n.node.Close()
		}
	}
	if t.first != nil {
		t.first.Close()
	}
	return nil
}
