package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/eventsgen"
	"github.com/chload/chload/internal/testenv"
	_ "github.com/chload/chload/sources/parquet"
)

// loadJob builds a job for table from parquet files matching glob.
func loadJob(t *testing.T, glob, table, write string) *Job {
	t.Helper()
	addr := testenv.ClickHouseAddr(t)
	text := fmt.Sprintf("version: 1\nname: test\nsource:\n  type: parquet\n  paths: [%q]\ntarget:\n  clickhouse:\n    hosts: [%q]\n  table: %s\nwrite:\n%s", glob, addr, table, write)
	job, err := Parse([]byte(text), LoadOptions{Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("job: %v\n%s", err, text)
	}
	return job
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func generate(t *testing.T, rows int64, files, rowGroup int) (string, *eventsgen.Checksum) {
	t.Helper()
	dir := t.TempDir()
	res, err := eventsgen.Dataset{Params: eventsgen.Params{Rows: rows, Seed: 7, Months: 6}, ParquetDir: dir, Files: files, RowGroupRows: rowGroup}.Write(context.Background(), memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "*.parquet"), res.Checksum
}

func exec(t *testing.T, conn driver.Conn, q string) {
	t.Helper()
	if err := conn.Exec(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// partRows lists, per partition, the row counts of its active parts, sorted.
func partRows(t *testing.T, conn driver.Conn, db, table string) map[string][]uint64 {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT partition, rows FROM system.parts WHERE database = ? AND table = ? AND active", db, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]uint64{}
	for rows.Next() {
		var p string
		var n uint64
		if err := rows.Scan(&p, &n); err != nil {
			t.Fatal(err)
		}
		out[p] = append(out[p], n)
	}
	for _, v := range out {
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	}
	return out
}

func checksumOf(t *testing.T, conn driver.Conn, table string) string {
	t.Helper()
	q, err := eventsgen.ChecksumQuery(table, eventsgen.Schema())
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]uint64, len(cols))
	for i := range vals {
		vals[i] = &ptrs[i]
	}
	if !rows.Next() {
		t.Fatal("no checksum row")
	}
	if err := rows.Scan(vals...); err != nil {
		t.Fatal(err)
	}
	parts := make([]string, len(ptrs))
	for i, v := range ptrs {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "\t")
}

// TestRunLoadsEveryRowOnePartPerBatch is the foundation's acceptance at a
// test's size: unsorted rows over 6 monthly partitions in several files and
// row groups, merges stopped; the table equals the source, and the new parts
// equal the batches, which equal sum over partitions of ceil(rows/batch_rows).
func TestRunLoadsEveryRowOnePartPerBatch(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	glob, want := generate(t, 120_000, 3, 15_000)
	for _, name := range []string{"events", "events2"} {
		exec(t, conn, eventsgen.TableDDL(db+"."+name))
		exec(t, conn, "SYSTEM STOP MERGES "+db+"."+name)
	}
	const batchRows = 7_000
	job := loadJob(t, glob, db+".events", fmt.Sprintf("  batch_rows: %d\n  concurrency: 3\n  readers: 3\n", batchRows))
	ctx := context.Background()

	dry, err := DryRun(ctx, job, RunParams{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(ctx, job, RunParams{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsRead != 120_000 || sum.RowsWritten != 120_000 {
		t.Fatalf("rows read %d written %d", sum.RowsRead, sum.RowsWritten)
	}
	if got := checksumOf(t, conn, db+".events"); got != want.String() {
		t.Fatalf("table checksum\n got %s\nwant %s", got, want)
	}
	parts := partRows(t, conn, db, "events")
	if len(parts) != 6 || len(sum.Partitions) != 6 {
		t.Fatalf("partitions on server %d, in summary %d, want 6", len(parts), len(sum.Partitions))
	}
	expected, nparts := 0, 0
	for _, p := range sum.Partitions {
		expected += int((p.Rows + batchRows - 1) / batchRows)
		if p.Batches != int((p.Rows+batchRows-1)/batchRows) {
			t.Errorf("partition %s: %d rows in %d batches", p.Partition, p.Rows, p.Batches)
		}
		got := parts[p.Partition]
		nparts += len(got)
		// Every part but one holds exactly batch_rows rows.
		short := 0
		for _, n := range got {
			if n != batchRows {
				short++
			}
		}
		if short > 1 {
			t.Errorf("partition %s parts %v: more than one part short of %d rows", p.Partition, got, batchRows)
		}
	}
	if sum.Batches != expected || sum.PartsCreated != expected || nparts != expected {
		t.Fatalf("batches %d, parts created %d, parts on server %d, want %d", sum.Batches, sum.PartsCreated, nparts, expected)
	}
	if dry.Batches != expected || dry.Rows != 120_000 || len(dry.Partitions) != 6 {
		t.Fatalf("dry run: batches %d rows %d partitions %d, want %d 120000 6", dry.Batches, dry.Rows, len(dry.Partitions), expected)
	}
	for i, p := range dry.Partitions {
		if p.Partition != sum.Partitions[i].Partition || p.Rows != sum.Partitions[i].Rows || p.Batches != sum.Partitions[i].Batches {
			t.Errorf("dry run partition %+v, run %+v", p, sum.Partitions[i])
		}
	}

	// Deterministic batching: a second run gives the same parts, and the
	// dry run now sees the first run's parts.
	job2 := loadJob(t, glob, db+".events2", fmt.Sprintf("  batch_rows: %d\n  concurrency: 1\n  readers: 1\n", batchRows))
	if _, err := Run(ctx, job2, RunParams{Logger: testLogger(t)}); err != nil {
		t.Fatal(err)
	}
	q := "SELECT _part, groupArray(event_id) FROM (SELECT _part, event_id FROM %s.%s) GROUP BY _part ORDER BY _part"
	a, b := partsContent(t, conn, fmt.Sprintf(q, db, "events")), partsContent(t, conn, fmt.Sprintf(q, db, "events2"))
	if len(a) != len(b) {
		t.Fatalf("parts differ: %d vs %d", len(a), len(b))
	}
	// Part names carry block numbers, which follow the order inserts
	// finished in; compare the parts' contents as sets.
	sort.Strings(a)
	sort.Strings(b)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("part %d differs between runs with different concurrency", i)
		}
	}
	dry2, err := DryRun(ctx, job, RunParams{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range dry2.Partitions {
		if p.CurrentParts != int64(len(parts[p.Partition])) || p.CurrentRows != p.Rows {
			t.Errorf("dry run after load: partition %s current parts %d rows %d", p.Partition, p.CurrentParts, p.CurrentRows)
		}
	}
}

// partsContent returns, per part in name order, its rows' ids in storage
// order (the order the part is sorted in), joined.
func partsContent(t *testing.T, conn driver.Conn, q string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var part string
		var ids []string
		if err := rows.Scan(&part, &ids); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join(ids, ","))
	}
	return out
}

// TestRunMemoryBudgetFlushesEarly: a budget smaller than the data forces
// early flushes; every row still lands once, each batch in one partition.
func TestRunMemoryBudgetFlushesEarly(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	glob, want := generate(t, 60_000, 2, 10_000)
	exec(t, conn, eventsgen.TableDDL(db+".events"))
	exec(t, conn, "SYSTEM STOP MERGES "+db+".events")
	job := loadJob(t, glob, db+".events", "  batch_rows: 1000000\n  max_buffer_bytes: 1MiB\n")
	sum, err := Run(context.Background(), job, RunParams{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if sum.ForcedBatches == 0 {
		t.Fatalf("no batch was flushed early with a 1MiB budget: %+v", sum)
	}
	if got := checksumOf(t, conn, db+".events"); got != want.String() {
		t.Fatalf("table checksum\n got %s\nwant %s", got, want)
	}
	var n int
	for _, p := range partRows(t, conn, db, "events") {
		n += len(p)
	}
	if n != sum.Batches {
		t.Fatalf("parts %d, batches %d", n, sum.Batches)
	}
}

func TestRunTargetErrors(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	glob, _ := generate(t, 1000, 1, 1000)
	exec(t, conn, "CREATE TABLE "+db+".narrow (event_id String, event_date Date) ENGINE = MergeTree PARTITION BY toYYYYMM(event_date) ORDER BY event_id")
	cases := []struct {
		table, write string
		want         []string
	}{
		{db + ".missing", "", []string{"does not exist"}},
		{db + ".narrow", "", []string{"source column event_time is not in the table", "ignore_extra_columns"}},
	}
	for _, c := range cases {
		_, err := Run(context.Background(), loadJob(t, glob, c.table, c.write), RunParams{Logger: testLogger(t)})
		if err == nil {
			t.Fatalf("%s: no error", c.table)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.table, err, w)
			}
		}
	}
	// ignore_extra_columns lets the narrow table load.
	dir := filepath.Dir(glob)
	text := fmt.Sprintf("version: 1\nname: t\nsource: {type: parquet, paths: [%q], ignore_extra_columns: true}\ntarget: {table: %s.narrow, clickhouse: {hosts: [%q]}}\n", filepath.Join(dir, "*.parquet"), db, testenv.ClickHouseAddr(t))
	job, err := Parse([]byte(text), LoadOptions{Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), job, RunParams{Logger: testLogger(t)})
	if err != nil || sum.RowsWritten != 1000 {
		t.Fatalf("narrow load: %v %+v", err, sum)
	}
}

func TestSourceErrorForMissingFiles(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	exec(t, conn, eventsgen.TableDDL(db+".events"))
	_, err := Run(context.Background(), loadJob(t, filepath.Join(t.TempDir(), "none-*.parquet"), db+".events", ""), RunParams{Logger: testLogger(t)})
	var se *SourceError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want *SourceError", err, err)
	}
}
