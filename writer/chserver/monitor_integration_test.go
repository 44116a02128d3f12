package chserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/chload/chload/internal/testenv"
	"github.com/chload/chload/writer/loadmon"
)

// clusterNodes connects to the four test cluster nodes and creates, in a
// scratch database on every node, a plain MergeTree table t with
// parts_to_delay_insert = 8 and a ReplicatedMergeTree table r.
func clusterNodes(t *testing.T) ([]clusterNode, string) {
	t.Helper()
	addrs := testenv.ClusterAddrs(t)
	nodes := make([]clusterNode, len(addrs))
	for i, a := range addrs {
		nodes[i] = clusterNode{Addr: a, Shard: i/2 + 1, Replica: i%2 + 1, Conn: testenv.ConnTo(t, a)}
	}
	db := testenv.ClusterScratchDB(t, nodes[0].Conn, testenv.ClusterName)
	ctx := context.Background()
	for _, ddl := range []string{
		"CREATE TABLE %[1]s.t ON CLUSTER %[2]s (d Date, k UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY k SETTINGS parts_to_delay_insert = 8, index_granularity = 8192",
		"CREATE TABLE %[1]s.r ON CLUSTER %[2]s (d Date, k UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/%[1]s.r', '{replica}') PARTITION BY toYYYYMM(d) ORDER BY k",
	} {
		if err := nodes[0].Conn.Exec(ctx, fmt.Sprintf(ddl, db, testenv.ClusterName)); err != nil {
			t.Fatalf("create table: %v", err)
		}
	}
	return nodes, db
}

// clusterNode is a test cluster node and a connection to it.
type clusterNode struct {
	Addr           string
	Shard, Replica int
	Conn           driver.Conn
}

// monitored are nodes as the load monitor sees them, polled for
// database.table through their connections.
func monitored(nodes []clusterNode, database, table string) []loadmon.Node {
	out := make([]loadmon.Node, len(nodes))
	for i, n := range nodes {
		out[i] = loadmon.Node{Addr: n.Addr, Shard: n.Shard, Replica: n.Replica, Poll: func(ctx context.Context) (loadmon.NodeLoad, error) {
			return pollNode(ctx, n.Conn, database, table)
		}}
	}
	return out
}

// loadOf is the last load of the node at addr.
func loadOf(m *loadmon.LoadMonitor, addr string) loadmon.NodeLoad {
	for _, l := range m.Loads() {
		if l.Addr == addr {
			return l
		}
	}
	return loadmon.NodeLoad{}
}

func TestLoadMonitorCluster(t *testing.T) {
	nodes, db := clusterNodes(t)
	// A bound so that a server that stops answering fails the test rather
	// than hanging it; no assertion depends on it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	t.Run("heavy queries lower the limit", func(t *testing.T) {
		m := loadmon.NewLoadMonitor(monitored(nodes, db, "t"), db, "t", loadmon.LoadPolicy{PerNodeCap: 2}, nil)
		busy := nodes[2]
		qctx, cancel := context.WithCancel(ctx)
		defer cancel()
		tag := "chload_monitor_test_" + db
		var wg sync.WaitGroup
		for k := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				qc := clickhouse.Context(qctx, clickhouse.WithQueryID(fmt.Sprintf("%s_%d", tag, k)))
				var n uint64
				// Runs for tens of seconds on 18.16 unless cancelled.
				_ = busy.Conn.QueryRow(qc, "SELECT count() FROM numbers(100000000000) WHERE rand() % 7 = 8").Scan(&n)
			}()
		}
		t.Cleanup(func() {
			_ = busy.Conn.Exec(context.Background(), fmt.Sprintf("KILL QUERY WHERE query_id LIKE '%s%%' SYNC", tag))
		})
		waitRunning(t, busy.Conn, tag, 2)

		if err := m.Poll(ctx); err != nil {
			t.Fatalf("poll: %v", err)
		}
		l := loadOf(m, busy.Addr)
		if l.Err != nil || l.Queries < 2 || l.Limit != 1 || !strings.Contains(l.Reason, "heavy queries") {
			t.Fatalf("busy node %s: %+v; want 2+ queries, limit 1 and a reason naming the heavy queries", busy.Addr, l)
		}
		others := 0
		for _, o := range m.Loads() {
			if o.Addr != busy.Addr && o.Err == nil && o.Limit == 2 {
				others++
			}
		}
		if others == 0 {
			t.Fatalf("no other node kept limit 2: %+v", m.Loads())
		}

		cancel()
		wg.Wait()
		waitRunning(t, busy.Conn, tag, 0)
		if err := m.Poll(ctx); err != nil {
			t.Fatalf("poll after cancelling: %v", err)
		}
		if l := loadOf(m, busy.Addr); l.Limit != 2 {
			t.Fatalf("busy node after its queries ended: %+v; want limit 2", l)
		}
	})

	t.Run("too many parts pause the node", func(t *testing.T) {
		m := loadmon.NewLoadMonitor(monitored(nodes, db, "t"), db, "t", loadmon.LoadPolicy{}, nil)
		full := nodes[0]
		table := db + ".t"
		if err := full.Conn.Exec(ctx, "SYSTEM STOP MERGES "+table); err != nil {
			t.Fatalf("stop merges: %v", err)
		}
		t.Cleanup(func() { _ = full.Conn.Exec(context.Background(), "SYSTEM START MERGES "+table) })
		day := time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
		for k := range 6 {
			// One INSERT, one part: all in partition 202401.
			b, err := full.Conn.PrepareBatch(ctx, "INSERT INTO "+table+" (d, k)")
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
		if err := m.Poll(ctx); err != nil {
			t.Fatalf("poll: %v", err)
		}
		l := loadOf(m, full.Addr)
		if l.MaxParts != 6 || l.PartsToDelay != 8 || l.PartsToThrow <= 0 || l.Limit != 0 || !strings.Contains(l.Reason, "6 active parts in one partition") {
			t.Fatalf("node with 6 parts: %+v; want 6 parts, parts_to_delay_insert 8 and a pause", l)
		}
		other := loadOf(m, nodes[1].Addr)
		if other.PartsToDelay != 8 || other.MaxParts != 0 || other.Limit == 0 {
			t.Fatalf("other node: %+v; want parts_to_delay_insert 8, no parts, not paused", other)
		}
		if got, ok := m.Choose([]string{full.Addr, nodes[1].Addr}, nil); got != nodes[1].Addr || !ok {
			t.Fatalf("Choose = %q, %v; want the replica that is not paused", got, ok)
		}

		if err := full.Conn.Exec(ctx, "SYSTEM START MERGES "+table); err != nil {
			t.Fatalf("start merges: %v", err)
		}
		if err := full.Conn.Exec(ctx, "OPTIMIZE TABLE "+table+" FINAL"); err != nil {
			t.Fatalf("optimize: %v", err)
		}
		if err := m.Poll(ctx); err != nil {
			t.Fatalf("poll after merging: %v", err)
		}
		if l := loadOf(m, full.Addr); l.MaxParts != 1 || l.Limit == 0 {
			t.Fatalf("node after merging: %+v; want 1 part and not paused", l)
		}
	})

	t.Run("replicated table state", func(t *testing.T) {
		m := loadmon.NewLoadMonitor(monitored(nodes, db, "r"), db, "r", loadmon.LoadPolicy{Fixed: 3}, nil)
		if err := m.Poll(ctx); err != nil {
			t.Fatalf("poll: %v", err)
		}
		for _, l := range m.Loads() {
			if l.Err != nil || l.ReadOnly || l.Limit != 3 || l.PartsToDelay <= 0 || l.At.IsZero() {
				t.Errorf("node %s: %+v; want writable, limit 3, thresholds read", l.Addr, l)
			}
		}
	})

	t.Run("down nodes and failed writes", func(t *testing.T) {
		down := clusterNode{Addr: closedAddr(t), Shard: 3, Replica: 1, Conn: openUnreachable(t)}
		all := append(append([]clusterNode(nil), nodes...), down)
		m := loadmon.NewLoadMonitor(monitored(all, db, "t"), db, "t", loadmon.LoadPolicy{}, nil)
		if err := m.Poll(ctx); err != nil {
			t.Fatalf("poll with one node down: %v", err)
		}
		if l := loadOf(m, down.Addr); l.Err == nil || l.Limit != 0 || !strings.HasPrefix(l.Reason, "node down") {
			t.Fatalf("down node: %+v; want an error and limit 0", l)
		}
		if got, _ := m.Choose([]string{down.Addr, nodes[3].Addr}, nil); got != nodes[3].Addr {
			t.Fatalf("Choose = %q, want %s over the down node", got, nodes[3].Addr)
		}

		s2 := []string{nodes[2].Addr, nodes[3].Addr}
		m.MarkFailed(nodes[2].Addr, errors.New("connection reset by peer"))
		if got, ok := m.Choose(s2, nil); got != nodes[3].Addr || !ok {
			t.Fatalf("Choose after MarkFailed = %q, %v; want %s", got, ok, nodes[3].Addr)
		}
		if _, ok := m.Choose(s2, map[string]bool{nodes[3].Addr: true}); ok {
			t.Fatal("Choose found a replica with one failed and the other excluded")
		}
		if err := m.Poll(ctx); err != nil {
			t.Fatalf("poll: %v", err)
		}
		if l := loadOf(m, nodes[2].Addr); l.Err != nil || l.Limit == 0 {
			t.Fatalf("failed node after a later poll: %+v; want it back", l)
		}

		// The less loaded replica wins.
		release, err := m.Acquire(ctx, nodes[2].Addr)
		if err != nil {
			t.Fatalf("acquire: %v", err)
		}
		defer release()
		if got, _ := m.Choose(s2, nil); got != nodes[3].Addr {
			t.Fatalf("Choose with an insert on %s = %q, want %s", nodes[2].Addr, got, nodes[3].Addr)
		}

		only := loadmon.NewLoadMonitor(monitored([]clusterNode{down}, db, "t"), db, "t", loadmon.LoadPolicy{}, nil)
		if err := only.Poll(ctx); err == nil || !strings.Contains(err.Error(), "every node failed") {
			t.Fatalf("poll with every node down: err = %v", err)
		}
	})

	t.Run("run polls until cancelled", func(t *testing.T) {
		m := loadmon.NewLoadMonitor(monitored(nodes, db, "t"), db, "t", loadmon.LoadPolicy{PollEvery: 10 * time.Millisecond}, nil)
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			m.Run(rctx)
		}()
		// The first poll resumes every node from "not polled yet".
		release, err := m.Acquire(ctx, nodes[3].Addr)
		if err != nil {
			t.Fatalf("acquire: %v", err)
		}
		release()
		cancel()
		<-done
	})
}

// waitRunning waits until n queries whose id starts with tag run on the
// node (the test's own deadline bounds it).
func waitRunning(t *testing.T, conn driver.Conn, tag string, n uint64) {
	t.Helper()
	for {
		var got uint64
		q := fmt.Sprintf("SELECT count() FROM system.processes WHERE query_id LIKE '%s%%'", tag)
		if err := conn.QueryRow(context.Background(), q).Scan(&got); err != nil {
			t.Fatalf("count running queries: %v", err)
		}
		if got == n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closedAddr returns a 127.0.0.1 address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("close listener: %v", err)
	}
	return addr
}

// openUnreachable opens (without dialing) a connection to an address
// nothing listens on.
func openUnreachable(t *testing.T) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{closedAddr(t)}, DialTimeout: time.Second})
	if err != nil {
		t.Fatalf("open connection: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
