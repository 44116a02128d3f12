package jobs

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/eventsgen"
	"github.com/chload/chload/internal/memch"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/loadmon"
)

// generateOneMonth writes rows events of one month (one partition) and
// returns their glob.
func generateOneMonth(t *testing.T, rows int64) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := (eventsgen.Dataset{Params: eventsgen.Params{Rows: rows, Seed: 11, Months: 1}, ParquetDir: dir, Files: 1, RowGroupRows: 1000}).Write(context.Background(), memory.DefaultAllocator); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "*.parquet")
}

// rowsPerShard counts the rows of glob each of two equal shards takes under
// the sharding key intHash64(user_id).
func rowsPerShard(t *testing.T, glob string) [2]int64 {
	t.Helper()
	var out [2]int64
	for _, u := range parquetColumn(t, glob, "user_id") {
		out[shardOfKey(eventsgen.IntHash64(u.(uint64)), []uint64{1, 1})]++
	}
	return out
}

// pausedByParts is a load that pauses a node: its fullest partition is near
// parts_to_throw_insert.
var pausedByParts = loadmon.NodeLoad{MaxParts: 290, PartsToDelay: 150, PartsToThrow: 300}

// pauseEnv is a 2x2 in-memory cluster with a one-partition ReplicatedMergeTree
// table behind a Distributed table keyed by intHash64(user_id), and a job
// that cuts each shard's rows into two or three batches with two insert
// slots in all (as on the 2-core test cluster).
func pauseEnv(t *testing.T, write string) (*memch.House, [][]*memch.Server, string, *Job) {
	t.Helper()
	glob := generateOneMonth(t, 6_000)
	house := memch.NewHouse()
	servers := newMemCluster(house, "c", []uint64{1, 1}, 2)
	if err := house.CreateOnCluster("c", eventsTable("db.events_local", "ReplicatedMergeTree")); err != nil {
		t.Fatal(err)
	}
	if err := house.CreateDistributed("c", "db", "events", "db", "events_local", "intHash64(user_id)"); err != nil {
		t.Fatal(err)
	}
	job := clusterJob(t, glob, "db.events", "", "  batch_rows: 1500\n  max_concurrency: 2\n"+write, "s1r1:9000")
	return house, servers, glob, job
}

// TestMemPausedShardDoesNotBlockTheOther: with both replicas of shard 1
// paused, every batch of shard 2 is inserted; then with only shard 1's
// second replica resumed, every batch of shard 1 goes to it while the first
// stays paused, and the run completes.
func TestMemPausedShardDoesNotBlockTheOther(t *testing.T) {
	house, servers, glob, job := pauseEnv(t, "")
	want := rowsPerShard(t, glob)
	for _, s := range servers[0] {
		s.SetLoad(pausedByParts)
	}
	var (
		mu           sync.Mutex
		shard2Rows   int64
		shard1Before int // shard-1 inserts seen when shard 2's last batch came
		done         = make(chan struct{})
	)
	for _, s := range servers[1] {
		s.BeforeInsert(func(b *batch.Batch) {
			mu.Lock()
			defer mu.Unlock()
			shard2Rows += b.Rows
			if shard2Rows == want[1] {
				shard1Before = len(servers[0][0].Inserts()) + len(servers[0][1].Inserts())
				close(done)
			}
		})
	}
	// A bound so that a run that waits forever fails the test rather than
	// hanging it; nothing is asserted on how long anything takes.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	result := make(chan error, 1)
	go func() {
		_, err := Run(ctx, job, RunParams{Logger: testLogger(t), ClickHouse: house.Dialer(), Mem: mem})
		result <- err
	}()
	select {
	case <-done:
	case err := <-result:
		t.Fatalf("the run ended (%v) before shard 2's rows were all inserted", err)
	}
	mu.Lock()
	if shard1Before != 0 {
		t.Fatalf("%d inserts on paused shard 1", shard1Before)
	}
	mu.Unlock()

	servers[0][1].SetLoad(loadmon.NodeLoad{})
	if err := <-result; err != nil {
		t.Fatalf("run: %v (shard 1 had its second replica back)", err)
	}
	mem.AssertSize(t, 0)
	checkEveryRowOnce(t, glob, house.Inserts())
	if n := len(servers[0][0].Inserts()); n != 0 {
		t.Fatalf("the replica that stayed paused took %d inserts", n)
	}
	var onSecond int64
	for _, in := range servers[0][1].Inserts() {
		onSecond += int64(in.Rows)
	}
	if onSecond != want[0] {
		t.Fatalf("shard 1's second replica took %d rows, want all %d of shard 1", onSecond, want[0])
	}
}

// TestMemMaxPause: a shard whose replicas stay paused ends the run after
// write.max_pause with a server error (exit code 5) that names the shard,
// both replicas and why each is paused, and says which key to raise.
func TestMemMaxPause(t *testing.T) {
	house, servers, _, job := pauseEnv(t, "  max_pause: 1ms\n")
	servers[0][0].SetLoad(pausedByParts)
	servers[0][1].SetReadOnly(true)
	servers[0][1].SetLoad(loadmon.NodeLoad{ReadOnly: true})
	_, err := memRun(t, house, job)
	var se *writer.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want a server error", err, err)
	}
	msg := err.Error()
	for _, want := range []string{"shard 1", "s1r1:9000 (replica 1) 290 active parts in one partition", "write.max_pause"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if n := len(servers[0][0].Inserts()) + len(servers[0][1].Inserts()); n != 0 {
		t.Fatalf("%d inserts on the paused shard", n)
	}
}

// TestMaxPauseKey: write.max_pause defaults to 30 minutes, 0s waits forever
// and a negative duration is refused naming the key.
func TestMaxPauseKey(t *testing.T) {
	parse := func(write string) (*Job, error) {
		text := "version: 1\nname: t\nsource:\n  type: parquet\n  paths: [x.parquet]\ntarget:\n  table: db.t\nwrite:\n" + write
		return Parse([]byte(text), LoadOptions{Env: func(string) (string, bool) { return "", false }})
	}
	for _, tc := range []struct {
		write string
		want  time.Duration
	}{
		{"  readers: 2\n", DefaultMaxPause},
		{"  max_pause: 0s\n", 0},
		{"  max_pause: 90s\n", 90 * time.Second},
	} {
		job, err := parse(tc.write)
		if err != nil {
			t.Fatalf("%q: %v", tc.write, err)
		}
		if got := job.Write.PauseLimit(); got != tc.want {
			t.Errorf("%q: max pause %s, want %s", tc.write, got, tc.want)
		}
	}
	if _, err := parse("  max_pause: -1s\n"); err == nil || !strings.Contains(err.Error(), "write.max_pause") {
		t.Fatalf("negative max_pause: %v, want an error naming write.max_pause", err)
	}
}
