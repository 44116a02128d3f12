package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/chload/chload/internal/eventsgen"
	"github.com/chload/chload/internal/testenv"
)

// clusterEnv is a scratch database on the 2x2 cluster with a connection to
// every node (in the order s1r1, s1r2, s2r1, s2r2).
type clusterEnv struct {
	addrs []string
	conns []driver.Conn
	db    string
}

func newClusterEnv(t *testing.T) *clusterEnv {
	t.Helper()
	e := &clusterEnv{addrs: testenv.ClusterAddrs(t)}
	for _, a := range e.addrs {
		e.conns = append(e.conns, testenv.ConnTo(t, a))
	}
	e.db = testenv.ClusterScratchDB(t, e.conns[0], testenv.ClusterName)
	return e
}

// localTable creates a ReplicatedMergeTree events table on every node.
func (e *clusterEnv) localTable(t *testing.T, cluster, name string) {
	t.Helper()
	cols := make([]string, len(eventsgen.Columns))
	for i, c := range eventsgen.Columns {
		cols[i] = c.Name + " " + c.Type
	}
	exec(t, e.conns[0], fmt.Sprintf("CREATE TABLE %s.%s ON CLUSTER %s (%s) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/%s.%s', '{replica}') PARTITION BY toYYYYMM(event_date) ORDER BY (event_type, user_id, event_time)",
		e.db, name, cluster, strings.Join(cols, ", "), e.db, name))
}

func (e *clusterEnv) distributed(t *testing.T, cluster, name, local, key string) {
	t.Helper()
	exec(t, e.conns[0], fmt.Sprintf("CREATE TABLE %s.%s ON CLUSTER %s AS %s.%s ENGINE = Distributed(%s, %s, %s, %s)", e.db, name, cluster, e.db, local, cluster, e.db, local, key))
}

// syncReplicas waits until every replica has fetched what its shard holds.
func (e *clusterEnv) syncReplicas(t *testing.T, table string) {
	t.Helper()
	for _, c := range e.conns {
		exec(t, c, "SYSTEM SYNC REPLICA "+e.db+"."+table)
	}
}

// shardChecksums returns, per node, the checksum of its local table.
func (e *clusterEnv) shardChecksums(t *testing.T, table string) []string {
	t.Helper()
	out := make([]string, len(e.conns))
	for i, c := range e.conns {
		out[i] = checksumOf(t, c, e.db+"."+table)
	}
	return out
}

func clusterJob(t *testing.T, glob, table, extraTarget, write string, hosts ...string) *Job {
	t.Helper()
	text := fmt.Sprintf("version: 1\nname: cluster-test\nsource:\n  type: parquet\n  paths: [%q]\ntarget:\n  clickhouse:\n    hosts: [%s]\n  table: %s\n%swrite:\n%s",
		glob, `"`+strings.Join(hosts, `", "`)+`"`, table, extraTarget, write)
	job, err := Parse([]byte(text), LoadOptions{Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("job: %v\n%s", err, text)
	}
	return job
}

// TestClusterDistributedTarget: a load into a Distributed table lands every
// row once, straight in the local tables, each row on the shard the server
// itself chooses, both replicas of each shard equal, and nothing queued in
// the Distributed table.
func TestClusterDistributedTarget(t *testing.T) {
	e := newClusterEnv(t)
	glob, want := generate(t, 60_000, 2, 10_000)
	e.localTable(t, testenv.ClusterName, "events_local")
	e.localTable(t, testenv.ClusterName, "ref_local")
	e.distributed(t, testenv.ClusterName, "events", "events_local", "cityHash64(user_id)")
	e.distributed(t, testenv.ClusterName, "ref", "ref_local", "cityHash64(user_id)")

	job := clusterJob(t, glob, e.db+".events", "", "  batch_rows: 4000\n", e.addrs[2])
	sum, err := Run(context.Background(), job, RunParams{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsWritten != 60_000 {
		t.Fatalf("wrote %d rows", sum.RowsWritten)
	}
	e.syncReplicas(t, "events_local")
	// Every row once, over the shards.
	if got := checksumOf(t, e.conns[0], e.db+".events"); got != want.String() {
		t.Fatalf("rows over the cluster differ from the source:\n got %s\nwant %s", got, want)
	}
	// The server's own routing of the same rows, for comparison.
	ctx := clickhouse.Context(context.Background(), clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
	if err := e.conns[0].Exec(ctx, fmt.Sprintf("INSERT INTO %s.ref SELECT * FROM %s.events", e.db, e.db)); err != nil {
		t.Fatal(err)
	}
	e.syncReplicas(t, "ref_local")
	got, ref := e.shardChecksums(t, "events_local"), e.shardChecksums(t, "ref_local")
	for i := range got {
		if got[i] != ref[i] {
			t.Errorf("node %s: chload's rows differ from where the server routes them:\n chload %s\n server %s", e.addrs[i], got[i], ref[i])
		}
	}
	if got[0] != got[1] || got[2] != got[3] {
		t.Errorf("replicas differ: %v", got)
	}
	if got[0] == got[2] {
		t.Errorf("both shards hold the same rows: %v", got)
	}
	// Nothing went through the Distributed table's send queue: its data
	// directory on every node holds no files queued for shards.
	for i, c := range e.conns {
		var dir string
		if err := c.QueryRow(context.Background(), "SELECT data_path FROM system.tables WHERE database = ? AND name = 'events'", e.db).Scan(&dir); err != nil {
			t.Fatal(err)
		}
		var queued []string
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				queued = append(queued, p)
			}
			return nil
		})
		if len(queued) > 0 {
			t.Errorf("node %s: files queued in the Distributed table: %v", e.addrs[i], queued)
		}
	}
	// Batches are per shard and partition: each shard's parts equal its batches.
	perShard := map[int]int{}
	for _, p := range sum.Partitions {
		perShard[p.Shard] += p.Batches
	}
	for i, shard := range []int{1, 2} {
		var parts uint64
		if err := e.conns[2*i].QueryRow(context.Background(), "SELECT count() FROM system.parts WHERE database = ? AND table = 'events_local' AND active", e.db).Scan(&parts); err != nil {
			t.Fatal(err)
		}
		if int(parts) < perShard[shard] || perShard[shard] == 0 {
			t.Errorf("shard %d: %d parts for %d batches", shard, parts, perShard[shard])
		}
	}
}

// TestClusterWeightedShardingKey: a local table named with a cluster whose
// shards weigh 1 and 3, and a sharding key given in the job, routes rows as a
// Distributed table with that key would.
func TestClusterWeightedShardingKey(t *testing.T) {
	e := newClusterEnv(t)
	glob, _ := generate(t, 30_000, 1, 10_000)
	e.localTable(t, testenv.ClusterName, "events_local")
	e.localTable(t, testenv.ClusterName, "ref_local")
	e.distributed(t, testenv.WeightedClusterName, "events", "events_local", "intHash64(user_id)")
	e.distributed(t, testenv.WeightedClusterName, "ref", "ref_local", "intHash64(user_id)")
	job := clusterJob(t, glob, e.db+".events_local", fmt.Sprintf("  cluster: %s\n  sharding_key: intHash64(user_id)\n", testenv.WeightedClusterName), "  concurrency: 1\n", e.addrs[0])
	if _, err := Run(context.Background(), job, RunParams{Logger: testLogger(t)}); err != nil {
		t.Fatal(err)
	}
	e.syncReplicas(t, "events_local") // before reading it back through a Distributed table
	ctx := clickhouse.Context(context.Background(), clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
	if err := e.conns[0].Exec(ctx, fmt.Sprintf("INSERT INTO %s.ref SELECT * FROM %s.events", e.db, e.db)); err != nil {
		t.Fatal(err)
	}
	e.syncReplicas(t, "ref_local")
	got, ref := e.shardChecksums(t, "events_local"), e.shardChecksums(t, "ref_local")
	for i := range got {
		if got[i] != ref[i] {
			t.Errorf("node %s: chload %s, server %s", e.addrs[i], got[i], ref[i])
		}
	}
	var n1, n2 uint64
	e.conns[0].QueryRow(context.Background(), "SELECT count() FROM "+e.db+".events_local").Scan(&n1)
	e.conns[2].QueryRow(context.Background(), "SELECT count() FROM "+e.db+".events_local").Scan(&n2)
	if n1+n2 != 30_000 || n2 < 2*n1 {
		t.Errorf("rows per shard %d and %d: want 30000 in all, about 1:3", n1, n2)
	}
}

// TestClusterReplicaKilledMidLoad: the replica being written dies during the
// load; its batches go to the other replica and every row lands once.
func TestClusterReplicaKilledMidLoad(t *testing.T) {
	e := newClusterEnv(t)
	glob, want := generate(t, 60_000, 2, 5_000)
	e.localTable(t, testenv.ClusterName, "events_local")
	e.distributed(t, testenv.ClusterName, "events", "events_local", "cityHash64(event_id)")
	job := clusterJob(t, glob, e.db+".events", "", "  batch_rows: 2000\n  concurrency: 1\n", e.addrs[2])
	progress := &Progress{}
	t.Cleanup(func() { testenv.StartCluster(t) })
	done := make(chan struct{})
	killErr := make(chan error, 1)
	go func() {
		// Kill s1r1 (the replica chosen first for shard 1) once batches flow.
		for progress.Batches.Load() < 3 {
			select {
			case <-done:
				killErr <- fmt.Errorf("the run ended before 3 batches were written")
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		killErr <- testenv.Kill("s1r1")
	}()
	sum, err := Run(context.Background(), job, RunParams{Logger: testLogger(t), Progress: progress})
	close(done)
	if kerr := <-killErr; kerr != nil {
		t.Fatal(kerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsWritten != 60_000 {
		t.Fatalf("wrote %d rows", sum.RowsWritten)
	}
	testenv.StartCluster(t)
	c := testenv.ConnTo(t, e.addrs[0])
	e.conns[0] = c
	e.syncReplicas(t, "events_local")
	if got := checksumOf(t, e.conns[1], e.db+".events"); got != want.String() {
		t.Fatalf("rows over the cluster differ from the source:\n got %s\nwant %s", got, want)
	}
	// The restarted replica catches up by fetching what its peer got while
	// it was down; on 18.16 SYNC REPLICA can return before it has loaded
	// the replication log, so wait until the replicas agree (bounded).
	var got []string
	for try := 0; try < 120; try++ {
		e.syncReplicas(t, "events_local")
		if got = e.shardChecksums(t, "events_local"); got[0] == got[1] && got[2] == got[3] {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("replicas still differ a minute after the failover: %v", got)
}

// TestClusterReplicaDownAtStart and a whole shard down.
func TestClusterNodesDownAtStart(t *testing.T) {
	e := newClusterEnv(t)
	glob, want := generate(t, 20_000, 1, 10_000)
	e.localTable(t, testenv.ClusterName, "events_local")
	e.distributed(t, testenv.ClusterName, "events", "events_local", "cityHash64(event_id)")
	job := clusterJob(t, glob, e.db+".events", "", "", e.addrs[0])

	testenv.KillClusterNode(t, "s2r2")
	if _, err := Run(context.Background(), job, RunParams{Logger: testLogger(t)}); err != nil {
		t.Fatalf("one replica down: %v", err)
	}
	for _, c := range e.conns[:3] { // s2r2 is down
		exec(t, c, "SYSTEM SYNC REPLICA "+e.db+".events_local")
	}
	if got := checksumOf(t, e.conns[0], e.db+".events"); got != want.String() {
		t.Fatalf("rows differ from the source:\n got %s\nwant %s", got, want)
	}

	count := func() uint64 {
		var n uint64
		if err := e.conns[0].QueryRow(context.Background(), "SELECT count() FROM "+e.db+".events_local").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	testenv.KillClusterNode(t, "s2r1") // shard 2 has no replica left
	_, err := Run(context.Background(), job, RunParams{Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "shard 2") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("whole shard down: error %v, want one naming shard 2", err)
	}
	if after := count(); after != before {
		t.Fatalf("shard 1 got rows from the run that failed: %d before, %d after", before, after)
	}
}

// recorder keeps every log record for inspection.
type recorder struct {
	mu   *sync.Mutex
	recs *[]slog.Record
	next slog.Handler
}

func (r recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r recorder) Handle(ctx context.Context, rec slog.Record) error {
	r.mu.Lock()
	*r.recs = append(*r.recs, rec.Clone())
	r.mu.Unlock()
	if r.next.Enabled(ctx, rec.Level) {
		return r.next.Handle(ctx, rec)
	}
	return nil
}
func (r recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return recorder{r.mu, r.recs, r.next.WithAttrs(as)}
}
func (r recorder) WithGroup(g string) slog.Handler {
	return recorder{r.mu, r.recs, r.next.WithGroup(g)}
}

// TestClusterBusyNodeGetsFewerInserts: with heavy queries running on one
// node, chload gives it fewer concurrent inserts than the others, says so in
// the log, and still finishes.
func TestClusterBusyNodeGetsFewerInserts(t *testing.T) {
	e := newClusterEnv(t)
	glob, want := generate(t, 30_000, 1, 10_000)
	e.localTable(t, testenv.ClusterName, "events_local")
	e.distributed(t, testenv.ClusterName, "events", "events_local", "cityHash64(event_id)")
	busy, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	started := make(chan struct{}, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := testenv.ConnTo(t, e.addrs[0])
			started <- struct{}{}
			var n uint64
			_ = c.QueryRow(busy, "SELECT count() FROM numbers(100000000000) WHERE rand() % 7 = 8").Scan(&n)
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	<-started
	<-started
	// Wait until the server runs both queries.
	for {
		var n uint64
		if err := e.conns[0].QueryRow(context.Background(), "SELECT count() FROM system.processes WHERE query LIKE 'SELECT count() FROM numbers(100000000000)%'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var mu sync.Mutex
	var recs []slog.Record
	log := slog.New(recorder{&mu, &recs, testLogger(t).Handler()})
	job := clusterJob(t, glob, e.db+".events", "", "  batch_rows: 3000\n", e.addrs[2])
	if _, err := Run(context.Background(), job, RunParams{Logger: log}); err != nil {
		t.Fatal(err)
	}
	e.syncReplicas(t, "events_local")
	if got := checksumOf(t, e.conns[1], e.db+".events"); got != want.String() {
		t.Fatalf("rows differ from the source:\n got %s\nwant %s", got, want)
	}
	limits := map[string]int64{}
	reasons := map[string]string{}
	mu.Lock()
	for _, r := range recs {
		if r.Message != "insert limit changed" {
			continue
		}
		var node, reason string
		var limit int64
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "node":
				node = a.Value.String()
			case "limit":
				limit = a.Value.Int64()
			case "reason":
				reason = a.Value.String()
			}
			return true
		})
		if _, seen := limits[node]; !seen {
			limits[node], reasons[node] = limit, reason
		}
	}
	mu.Unlock()
	busyNode, calm := limits[e.addrs[0]], limits[e.addrs[1]]
	if busyNode >= calm || !strings.Contains(reasons[e.addrs[0]], "quer") {
		t.Fatalf("busy node %s got %d inserts (%q), calm node %s got %d: want fewer for the busy one, with the reason", e.addrs[0], busyNode, reasons[e.addrs[0]], e.addrs[1], calm)
	}
}
