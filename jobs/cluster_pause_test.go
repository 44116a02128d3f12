package jobs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/eventsgen"
	"github.com/chload/chload/internal/testenv"
	"github.com/chload/chload/writer"
)

// pauseParts is parts_to_delay_insert of the pause tests' table: the load
// monitor pauses a node at 3/4 of it (15 active parts in one partition).
const pauseParts = 20

// pausedClusterTable creates on every node a plain MergeTree events table,
// so that each replica's parts are its own, with parts_to_delay_insert =
// pauseParts, and pauses the replicas at nodes: merges stopped and 15
// one-row parts in partition 200001, which the loads never touch.
func pausedClusterTable(t *testing.T, e *clusterEnv, name string, nodes ...int) {
	t.Helper()
	cols := make([]string, len(eventsgen.Columns))
	for i, c := range eventsgen.Columns {
		cols[i] = c.Name + " " + c.Type
	}
	exec(t, e.conns[0], fmt.Sprintf("CREATE TABLE %s.%s ON CLUSTER %s (%s) ENGINE = MergeTree PARTITION BY toYYYYMM(event_date) ORDER BY (event_type, user_id, event_time) SETTINGS parts_to_delay_insert = %d",
		e.db, name, testenv.ClusterName, strings.Join(cols, ", "), pauseParts))
	for _, n := range nodes {
		c := e.conns[n]
		exec(t, c, fmt.Sprintf("SYSTEM STOP MERGES %s.%s", e.db, name))
		t.Cleanup(func() { _ = c.Exec(context.Background(), fmt.Sprintf("SYSTEM START MERGES %s.%s", e.db, name)) })
		for k := range pauseParts * 3 / 4 {
			// One INSERT, one part.
			b, err := c.PrepareBatch(context.Background(), fmt.Sprintf("INSERT INTO %s.%s (event_id, event_date)", e.db, name))
			if err != nil {
				t.Fatalf("prepare pausing insert %d: %v", k, err)
			}
			if err := b.Append("pause", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
				t.Fatalf("append pausing row %d: %v", k, err)
			}
			if err := b.Send(); err != nil {
				t.Fatalf("pausing insert %d: %v", k, err)
			}
		}
	}
}

// loadedRows counts the rows a load wrote into name on conn (the pausing
// rows left out).
func loadedRows(t *testing.T, conn driver.Conn, db, name string) int64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), fmt.Sprintf("SELECT count() FROM %s.%s WHERE event_date > '2000-12-31'", db, name)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return int64(n)
}

// pauseJob loads glob into name through the cluster, one replica per batch,
// with two insert slots in all.
func pauseJob(t *testing.T, e *clusterEnv, glob, name, write string) *Job {
	t.Helper()
	target := fmt.Sprintf("  cluster: %s\n  sharding_key: intHash64(user_id)\n  internal_replication: true\n", testenv.ClusterName)
	return clusterJob(t, glob, e.db+"."+name, target, "  batch_rows: 1500\n  max_concurrency: 2\n"+write, e.addrs[0])
}

// TestClusterPausedShard, on the real cluster: with both replicas of shard 1
// paused (parts near parts_to_delay_insert), shard 2 gets every one of its
// batches; then with shard 1's second replica relieved, every batch of
// shard 1 goes to it while the first stays paused, and the run completes
// with every row once.
func TestClusterPausedShard(t *testing.T) {
	e := newClusterEnv(t)
	glob := generateOneMonth(t, 6_000)
	want := rowsPerShard(t, glob)
	pausedClusterTable(t, e, "events", 0, 1)

	// A bound so that a run that waits forever fails the test rather than
	// hanging it; nothing is asserted on how long anything takes.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	result := make(chan error, 1)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	go func() {
		_, err := Run(ctx, pauseJob(t, e, glob, "events", ""), RunParams{Logger: testLogger(t), Mem: mem})
		result <- err
	}()
	for loadedRows(t, e.conns[2], e.db, "events")+loadedRows(t, e.conns[3], e.db, "events") != want[1] {
		select {
		case err := <-result:
			t.Fatalf("the run ended (%v) before shard 2 had its %d rows", err, want[1])
		case <-time.After(100 * time.Millisecond):
		}
	}
	for _, n := range []int{0, 1} {
		if got := loadedRows(t, e.conns[n], e.db, "events"); got != 0 {
			t.Fatalf("paused node %s took %d rows", e.addrs[n], got)
		}
	}

	// Relieve shard 1's second replica only.
	exec(t, e.conns[1], fmt.Sprintf("ALTER TABLE %s.events DROP PARTITION 200001", e.db))
	if err := <-result; err != nil {
		t.Fatalf("run: %v (shard 1 had its second replica back)", err)
	}
	mem.AssertSize(t, 0)
	if got := loadedRows(t, e.conns[0], e.db, "events"); got != 0 {
		t.Fatalf("the replica that stayed paused took %d rows", got)
	}
	if got := loadedRows(t, e.conns[1], e.db, "events"); got != want[0] {
		t.Fatalf("shard 1's second replica took %d rows, want all %d of shard 1", got, want[0])
	}
	// Every row once over the four nodes.
	exec(t, e.conns[0], fmt.Sprintf("ALTER TABLE %s.events DROP PARTITION 200001", e.db))
	all := fmt.Sprintf("remote('%s', %s, events)", strings.Join(e.addrs, ","), e.db)
	paths, err := filepath.Glob(glob)
	if err != nil {
		t.Fatal(err)
	}
	wantSum, err := eventsgen.ReadParquetChecksum(context.Background(), paths, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	if got := checksumOf(t, e.conns[0], all); got != wantSum.String() {
		t.Fatalf("rows over the cluster differ from the source:\n got %s\nwant %s", got, wantSum)
	}
}

// TestClusterMaxPause, on the real cluster: a shard whose replicas stay
// paused ends the run after write.max_pause with a server error naming the
// shard, both replicas and why each is paused.
func TestClusterMaxPause(t *testing.T) {
	e := newClusterEnv(t)
	glob := generateOneMonth(t, 6_000)
	pausedClusterTable(t, e, "events", 0, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, err := Run(ctx, pauseJob(t, e, glob, "events", "  max_pause: 3s\n"), RunParams{Logger: testLogger(t)})
	var se *writer.ServerError
	if !errors.As(err, &se) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v (%T), want a server error", err, err)
	}
	msg := err.Error()
	for _, want := range []string{"shard 1", e.addrs[0] + " (replica 1) 15 active parts in one partition", e.addrs[1] + " (replica 2) 15 active parts in one partition", "write.max_pause"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	for _, n := range []int{0, 1} {
		if got := loadedRows(t, e.conns[n], e.db, "events"); got != 0 {
			t.Fatalf("paused node %s took %d rows", e.addrs[n], got)
		}
	}
}
