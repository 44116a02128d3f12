package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/chload/chload/internal/eventsgen"
	"github.com/chload/chload/internal/memch"
	"github.com/chload/chload/writer"
)

// These tests run the whole pipeline (Parquet files, plan, batches,
// routing, failover, errors) against the in-memory ClickHouse of
// internal/memch: they need no server and run under CHLOAD_E2E=0.

// eventsTable describes the events table (eventsgen.TableDDL) named
// "db.table" with engine.
func eventsTable(name, engine string) writer.TableDesc {
	cols := make([]string, len(eventsgen.Columns))
	for i, c := range eventsgen.Columns {
		cols[i] = c.Name + " " + c.Type
	}
	return memch.Table(name, engine, "toYYYYMM(event_date)", "event_type, user_id, event_time", cols...)
}

// memRun runs job against house with a checked allocator that must hold
// nothing at the end, and checks every connection was closed.
func memRun(t *testing.T, house *memch.House, job *Job) (*Summary, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	sum, err := Run(context.Background(), job, RunParams{Logger: testLogger(t), ClickHouse: house.Dialer(), Mem: mem})
	mem.AssertSize(t, 0)
	if n := house.OpenConns(); n != 0 {
		t.Errorf("%d connections left open after the run", n)
	}
	return sum, err
}

// memDryRun is memRun for a dry run.
func memDryRun(t *testing.T, house *memch.House, job *Job) (*DryRunReport, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	rep, err := DryRun(context.Background(), job, RunParams{Logger: testLogger(t), ClickHouse: house.Dialer(), Mem: mem})
	mem.AssertSize(t, 0)
	if n := house.OpenConns(); n != 0 {
		t.Errorf("%d connections left open after the dry run", n)
	}
	return rep, err
}

// parquetColumn reads one column of every Parquet file matching glob,
// boxed as memch boxes inserted values.
func parquetColumn(t *testing.T, glob, column string) []any {
	t.Helper()
	paths, err := filepath.Glob(glob)
	if err != nil || len(paths) == 0 {
		t.Fatalf("glob %s: %v (%d files)", glob, err, len(paths))
	}
	var out []any
	for _, p := range paths {
		f, err := file.OpenParquetFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pqarrow.NewFileReader(f, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := r.ReadTable(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		idx := tbl.Schema().FieldIndices(column)
		if len(idx) != 1 {
			t.Fatalf("%s has no column %s", p, column)
		}
		for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				out = append(out, memch.Value(chunk, i))
			}
		}
		tbl.Release()
		f.Close()
	}
	return out
}

// monthOf is toYYYYMM of a Date's days since the epoch, as text.
func monthOf(days int32) string {
	d := time.Unix(int64(days)*86400, 0).UTC()
	return fmt.Sprintf("%d%02d", d.Year(), int(d.Month()))
}

// compareEvents orders two rows of an insert by the events table's
// sorting key (event_type, user_id, event_time).
func compareEvents(in memch.Insert, a, b int) int {
	typ, user, tm := in.Column("event_type"), in.Column("user_id"), in.Column("event_time")
	if c := strings.Compare(typ[a].(string), typ[b].(string)); c != 0 {
		return c
	}
	if x, y := user[a].(uint64), user[b].(uint64); x != y {
		if x < y {
			return -1
		}
		return 1
	}
	x, y := tm[a].(int64), tm[b].(int64)
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// checkEveryRowOnce checks that the inserts hold every event_id of the
// source exactly once.
func checkEveryRowOnce(t *testing.T, glob string, inserts []memch.Insert) {
	t.Helper()
	want := map[string]int{}
	for _, id := range parquetColumn(t, glob, "event_id") {
		want[id.(string)]++
	}
	got := map[string]int{}
	for _, in := range inserts {
		for _, id := range in.Column("event_id") {
			got[id.(string)]++
		}
	}
	if len(got) != len(want) {
		t.Errorf("the table holds %d distinct rows, the source %d", len(got), len(want))
	}
	for id, n := range want {
		if got[id] != n {
			t.Errorf("row %s: %d times in the source, %d in the table", id, n, got[id])
			return
		}
	}
}

// TestMemRunEveryRowOnceOnePartitionPerInsertSorted: a run over several
// files and row groups makes inserts of one partition each, of at most
// batch_rows rows, sorted by the sorting key, holding every source row once;
// the summary's counts are what the server recorded.
func TestMemRunEveryRowOnceOnePartitionPerInsertSorted(t *testing.T) {
	house := memch.NewHouse()
	srv := house.AddServer(memch.ServerParams{Addr: "ch1:9000"})
	srv.CreateTable(eventsTable("db.events", "MergeTree"))
	glob, _ := generate(t, 30_000, 3, 4_000)
	const batchRows = 2_000
	job := clusterJob(t, glob, "db.events", "", fmt.Sprintf("  batch_rows: %d\n  concurrency: 3\n  readers: 3\n", batchRows), "ch1:9000")
	sum, err := memRun(t, house, job)
	if err != nil {
		t.Fatal(err)
	}
	inserts := house.Inserts()
	checkEveryRowOnce(t, glob, inserts)
	if f := house.Failed(); len(f) > 0 {
		t.Fatalf("failed inserts: %+v", f[0].Err)
	}
	perPartition := map[string][2]int64{} // rows, inserts
	var rows int64
	for _, in := range inserts {
		if in.Rows > batchRows || in.Rows == 0 {
			t.Errorf("insert %d of partition %s has %d rows, batch_rows is %d", in.Seq, in.Partition, in.Rows, batchRows)
		}
		for _, d := range in.Column("event_date") {
			if m := monthOf(d.(int32)); m != in.Partition {
				t.Fatalf("insert %d of partition %s holds a row of month %s", in.Seq, in.Partition, m)
			}
		}
		for i := 1; i < in.Rows; i++ {
			if compareEvents(in, i-1, i) > 0 {
				t.Fatalf("insert %d of partition %s: row %d sorts before row %d", in.Seq, in.Partition, i, i-1)
			}
		}
		c := perPartition[in.Partition]
		perPartition[in.Partition] = [2]int64{c[0] + int64(in.Rows), c[1] + 1}
		rows += int64(in.Rows)
	}
	if len(perPartition) != 6 {
		t.Errorf("%d partitions, want the 6 months generated", len(perPartition))
	}
	if sum.RowsRead != 30_000 || sum.RowsWritten != rows || rows != 30_000 {
		t.Errorf("summary: read %d, written %d; the server holds %d; the source 30000", sum.RowsRead, sum.RowsWritten, rows)
	}
	if sum.Batches != len(inserts) || sum.PartsCreated != len(inserts) {
		t.Errorf("summary: %d batches, %d parts; the server took %d inserts", sum.Batches, sum.PartsCreated, len(inserts))
	}
	if len(sum.Partitions) != len(perPartition) {
		t.Errorf("summary lists %d partitions, the server holds %d", len(sum.Partitions), len(perPartition))
	}
	parts := srv.Partitions("db", "events")
	for _, p := range sum.Partitions {
		c := perPartition[p.Partition]
		if p.Rows != c[0] || int64(p.Batches) != c[1] {
			t.Errorf("partition %s: summary %d rows in %d batches, server %d rows in %d inserts", p.Partition, p.Rows, p.Batches, c[0], c[1])
		}
		if p.Batches != int((p.Rows+batchRows-1)/batchRows) {
			t.Errorf("partition %s: %d rows in %d batches of at most %d", p.Partition, p.Rows, p.Batches, batchRows)
		}
		if st := parts[p.Partition]; st.Rows != p.Rows || st.Parts != int64(p.Batches) {
			t.Errorf("partition %s: server parts %+v, summary %+v", p.Partition, st, p)
		}
	}
}

// batchKey names a batch across runs: its shard, partition and number.
type batchKey struct {
	shard     int
	partition string
	seq       int
}

// batchContents maps each committed insert into database.table to its
// rows' event_ids in inserted order; a batch inserted twice is an error.
func batchContents(t *testing.T, inserts []memch.Insert, table string) map[batchKey]string {
	t.Helper()
	out := map[batchKey]string{}
	for _, in := range inserts {
		if in.Database+"."+in.Table != table {
			continue
		}
		k := batchKey{in.Shard, in.Partition, in.Seq}
		ids := make([]string, in.Rows)
		for i, v := range in.Column("event_id") {
			ids[i] = v.(string)
		}
		if _, dup := out[k]; dup {
			t.Fatalf("batch %+v inserted twice", k)
		}
		out[k] = strings.Join(ids, ",")
	}
	return out
}

// TestMemDeterministicBatches: two runs over the same files, with
// different numbers of readers and concurrent inserts, make the same
// batches (shard, partition, number, rows in order), so the same rows go to
// the same shard, also with rand() as the sharding key.
func TestMemDeterministicBatches(t *testing.T) {
	glob, _ := generate(t, 20_000, 2, 3_000)
	for _, tc := range []struct {
		name    string
		cluster bool
	}{{"single node", false}, {"cluster with rand()", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var runs []map[batchKey]string
			for _, write := range []string{"  batch_rows: 1500\n  concurrency: 1\n  readers: 1\n", "  batch_rows: 1500\n  concurrency: 4\n  readers: 3\n"} {
				house := memch.NewHouse()
				var job *Job
				if tc.cluster {
					newMemCluster(house, "c", []uint64{1, 1}, 1)
					if err := house.CreateOnCluster("c", eventsTable("db.events", "MergeTree")); err != nil {
						t.Fatal(err)
					}
					job = clusterJob(t, glob, "db.events", "  cluster: c\n", write, "s1r1:9000")
				} else {
					house.AddServer(memch.ServerParams{Addr: "ch1:9000"}).CreateTable(eventsTable("db.events", "MergeTree"))
					job = clusterJob(t, glob, "db.events", "", write, "ch1:9000")
				}
				if _, err := memRun(t, house, job); err != nil {
					t.Fatal(err)
				}
				runs = append(runs, batchContents(t, house.Inserts(), "db.events"))
			}
			a, b := runs[0], runs[1]
			if len(a) != len(b) || len(a) == 0 {
				t.Fatalf("%d batches, then %d", len(a), len(b))
			}
			shards := map[int]bool{}
			for k, rows := range a {
				if b[k] != rows {
					t.Fatalf("batch %+v differs between the runs", k)
				}
				shards[k.shard] = true
			}
			if tc.cluster && len(shards) != 2 {
				t.Errorf("rand() put rows on %d of 2 shards", len(shards))
			}
		})
	}
}

// TestMemDryRunMatchesRun: a dry run inserts nothing and counts, per
// partition, the rows and batches the run then inserts; a dry run after it
// reports the parts the table now holds.
func TestMemDryRunMatchesRun(t *testing.T) {
	house := memch.NewHouse()
	srv := house.AddServer(memch.ServerParams{Addr: "ch1:9000"})
	srv.CreateTable(eventsTable("db.events", "MergeTree"))
	glob, _ := generate(t, 25_000, 2, 5_000)
	job := clusterJob(t, glob, "db.events", "", "  batch_rows: 1800\n", "ch1:9000")
	dry, err := memDryRun(t, house, job)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(house.Inserts()) + len(house.Failed()); n != 0 {
		t.Fatalf("the dry run made %d inserts", n)
	}
	for _, p := range dry.Partitions {
		if p.CurrentParts != 0 || p.CurrentRows != 0 {
			t.Errorf("empty table: dry run reports partition %s with %d parts, %d rows", p.Partition, p.CurrentParts, p.CurrentRows)
		}
		if p.Replica != "ch1:9000" {
			t.Errorf("partition %s would go to %q", p.Partition, p.Replica)
		}
	}
	if _, err := memRun(t, house, job); err != nil {
		t.Fatal(err)
	}
	type counts struct{ rows, batches int64 }
	inserted := map[string]counts{}
	for _, in := range house.Inserts() {
		c := inserted[in.Partition]
		inserted[in.Partition] = counts{c.rows + int64(in.Rows), c.batches + 1}
	}
	var total int64
	for _, p := range dry.Partitions {
		if c := inserted[p.Partition]; c.rows != p.Rows || c.batches != int64(p.Batches) {
			t.Errorf("partition %s: dry run %d rows in %d batches, the run inserted %d in %d", p.Partition, p.Rows, p.Batches, c.rows, c.batches)
		}
		total += int64(p.Batches)
	}
	if len(dry.Partitions) != len(inserted) || dry.Batches != len(house.Inserts()) || int64(dry.Batches) != total || dry.Rows != 25_000 {
		t.Errorf("dry run: %d partitions, %d batches, %d rows; the run inserted %d partitions in %d inserts", len(dry.Partitions), dry.Batches, dry.Rows, len(inserted), len(house.Inserts()))
	}
	before := len(house.Inserts())
	again, err := memDryRun(t, house, job)
	if err != nil {
		t.Fatal(err)
	}
	if len(house.Inserts()) != before || len(house.Failed()) != 0 {
		t.Fatalf("the second dry run inserted")
	}
	parts := srv.Partitions("db", "events")
	for _, p := range again.Partitions {
		st := parts[p.Partition]
		if p.CurrentParts != st.Parts || p.CurrentRows != st.Rows || st.Parts == 0 {
			t.Errorf("partition %s: dry run reports %d parts, %d rows; the table holds %+v", p.Partition, p.CurrentParts, p.CurrentRows, st)
		}
	}
}

// newMemCluster adds a cluster of len(weights) shards with the given
// weights and replicas servers each, at "s<shard>r<replica>:9000".
func newMemCluster(house *memch.House, name string, weights []uint64, replicas int) [][]*memch.Server {
	var shards []memch.ClusterShard
	var servers [][]*memch.Server
	for i, w := range weights {
		sh := memch.ClusterShard{Weight: w}
		var row []*memch.Server
		for r := 1; r <= replicas; r++ {
			addr := fmt.Sprintf("s%dr%d:9000", i+1, r)
			sh.Replicas = append(sh.Replicas, addr)
			row = append(row, house.AddServer(memch.ServerParams{Addr: addr}))
		}
		shards = append(shards, sh)
		servers = append(servers, row)
	}
	house.AddCluster(name, shards...)
	return servers
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var _ = array.NewInt64Builder
