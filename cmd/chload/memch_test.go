package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/chload/chload/internal/eventsgen"
	"github.com/chload/chload/internal/memch"
	"github.com/chload/chload/writer/batch"
)

// These tests run chload's commands end to end against the in-memory
// ClickHouse of internal/memch, so every exit code is checked without a
// server (CHLOAD_E2E=0 included).

// runMem runs the command line against house with ctx.
func runMem(t *testing.T, ctx context.Context, house *memch.House, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(ctx, &state{
		args: args, stdout: &out, stderr: &errb,
		lookup:     func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		clickhouse: house.Dialer(),
	})
	return code, out.String(), errb.String()
}

// eventsHouse is one server at ch1:9000 holding db.events.
func eventsHouse() (*memch.House, *memch.Server) {
	cols := make([]string, len(eventsgen.Columns))
	for i, c := range eventsgen.Columns {
		cols[i] = c.Name + " " + c.Type
	}
	house := memch.NewHouse()
	srv := house.AddServer(memch.ServerParams{Addr: "ch1:9000"})
	srv.CreateTable(memch.Table("db.events", "MergeTree", "toYYYYMM(event_date)", "event_type, user_id, event_time", cols...))
	return house, srv
}

// eventsDir writes 4000 events over two months in two files.
func eventsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := (eventsgen.Dataset{Params: eventsgen.Params{Rows: 4_000, Seed: 3, Months: 2}, ParquetDir: dir, Files: 2, RowGroupRows: 1000}).Write(context.Background(), memory.DefaultAllocator); err != nil {
		t.Fatal(err)
	}
	return dir
}

// badValueDir writes bad.parquet with columns (k UInt8, v Int64) whose
// row 6 holds -5.
func badValueDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Uint8}, {Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Uint8Builder).AppendValues([]uint8{1, 2, 3, 4, 5, 6, 7, 8}, nil)
	b.Field(1).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4, 5, 6, -5, 8}, nil)
	rec := b.NewRecord()
	defer rec.Release()
	f, err := os.Create(filepath.Join(dir, "bad.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	tbl := array.NewTableFromRecords(schema, []arrow.Record{rec})
	defer tbl.Release()
	if err := pqarrow.WriteTable(tbl, f, 4, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(4)), pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestExitCodesAgainstMemoryServer: each exit code of exitcodes.go, from
// the command line through a run or dry run against an in-memory server.
func TestExitCodesAgainstMemoryServer(t *testing.T) {
	events := eventsDir(t)
	job := writeFile(t, t.TempDir(), "job.yaml", jobText)
	badSource := writeFile(t, t.TempDir(), "badsource.yaml", strings.Replace(jobText, "type: parquet", "type: nosuchsource", 1))
	env := func(kv ...string) map[string]string {
		m := map[string]string{"DATA_DIR": events, "CH_HOST": "ch1", "CH_PORT": "9000", "TABLE": "db.events"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	corrupt := t.TempDir()
	data, err := os.ReadFile(filepath.Join(events, firstParquet(t, events)))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, corrupt, "cut.parquet", string(data[:len(data)/3]))

	for _, tc := range []struct {
		name  string
		setup func(house *memch.House, srv *memch.Server, cancel context.CancelFunc)
		env   map[string]string
		args  []string
		code  int
		out   []string
		err   []string
		// rows the house must hold after the command
		rows int
	}{
		{name: "run succeeds", env: env(), args: []string{"run", job}, code: exitOK, out: []string{"rows read 4000, rows written 4000"}, rows: 4000},
		{name: "run json succeeds", env: env(), args: []string{"run", "-o", "json", job}, code: exitOK, out: []string{`"status": "ok"`}, rows: 4000},
		{name: "dry-run succeeds and writes nothing", env: env(), args: []string{"dry-run", job}, code: exitOK, out: []string{"batches (new parts)", "202401", "202402"}},
		{name: "validate succeeds", env: env(), args: []string{"validate", job}, code: exitOK, out: []string{"is valid"}},
		{name: "usage: no job file", env: env(), args: []string{"run"}, code: exitConfig, err: []string{"takes 1 argument"}},
		{name: "usage: two job files", env: env(), args: []string{"dry-run", job, job}, code: exitConfig, err: []string{"takes 1 argument"}},
		{name: "config: unknown source type", env: env(), args: []string{"run", badSource}, code: exitConfig, err: []string{"nosuchsource"}},
		{name: "config: missing variable", env: map[string]string{}, args: []string{"run", job}, code: exitConfig, err: []string{"DATA_DIR"}},
		{name: "data: negative into UInt8", setup: func(_ *memch.House, srv *memch.Server, _ context.CancelFunc) {
			srv.CreateTable(memch.Table("db.bad", "MergeTree", "", "k", "k UInt8", "v UInt8"))
		}, env: env("DATA_DIR", badValueDir(t), "TABLE", "db.bad"), args: []string{"run", job}, code: exitData, err: []string{"bad.parquet", "row group 1", "row 2", "column v"}},
		{name: "target: missing table", env: env("TABLE", "db.nope"), args: []string{"run", job}, code: exitTarget, err: []string{"db.nope", "does not exist"}},
		{name: "target: missing table in a dry run", env: env("TABLE", "db.nope"), args: []string{"dry-run", job}, code: exitTarget, err: []string{"does not exist"}},
		{name: "server: refusal", setup: func(_ *memch.House, srv *memch.Server, _ context.CancelFunc) {
			srv.FailNext(1, memch.Exception(53, "Type mismatch"))
		}, env: env(), args: []string{"run", job}, code: exitServer, err: []string{"Type mismatch"}},
		{name: "server: down", setup: func(_ *memch.House, srv *memch.Server, _ context.CancelFunc) { srv.SetDown(true) },
			env: env(), args: []string{"dry-run", job}, code: exitServer, err: []string{"ch1:9000"}},
		{name: "server: no writable replica", setup: readOnlyCluster,
			env: env("TABLE", "db.dist"), args: []string{"run", job}, code: exitServer, err: []string{"shard 1", "no replica is writable"}},
		{name: "internal: an error nothing classifies", setup: func(_ *memch.House, srv *memch.Server, _ context.CancelFunc) {
			srv.FailNext(1, errors.New("a failure no layer expects"))
		}, env: env(), args: []string{"run", job}, code: exitInternal, err: []string{"a failure no layer expects"}},
		{name: "source: corrupt file", env: env("DATA_DIR", corrupt), args: []string{"run", job}, code: exitSource, err: []string{"cut.parquet"}},
		{name: "source: no files", env: env("DATA_DIR", t.TempDir()), args: []string{"dry-run", job}, code: exitSource, err: []string{"matches no files"}},
		{name: "interrupted during an insert", setup: func(_ *memch.House, srv *memch.Server, cancel context.CancelFunc) {
			srv.BeforeInsert(func(*batch.Batch) { cancel() })
		}, env: env(), args: []string{"run", job}, code: exitInterrupted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			house, srv := eventsHouse()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.setup != nil {
				tc.setup(house, srv, cancel)
			}
			code, out, errs := runMem(t, ctx, house, tc.env, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errs)
			}
			for _, w := range tc.out {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.err {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			var rows int
			for _, in := range house.Inserts() {
				rows += in.Rows
			}
			if tc.code == exitOK && rows != tc.rows {
				t.Errorf("the table holds %d rows, want %d", rows, tc.rows)
			}
			if n := house.OpenConns(); n != 0 {
				t.Errorf("%d connections left open", n)
			}
		})
	}
}

// TestDryRunJSONAgainstMemoryServer: the dry run's JSON counts the rows and
// batches the run then makes.
func TestDryRunJSONAgainstMemoryServer(t *testing.T) {
	house, _ := eventsHouse()
	env := map[string]string{"DATA_DIR": eventsDir(t), "CH_HOST": "ch1", "CH_PORT": "9000", "TABLE": "db.events"}
	job := writeFile(t, t.TempDir(), "job.yaml", strings.Replace(jobText, "batch_rows: 1000000", "batch_rows: 700", 1))
	code, out, errs := runMem(t, context.Background(), house, env, "dry-run", "-o", "json", job)
	if code != exitOK {
		t.Fatalf("dry-run exit %d: %s", code, errs)
	}
	var rep struct {
		Rows    int64 `json:"rows"`
		Batches int   `json:"batches"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("dry-run json: %v\n%s", err, out)
	}
	if code, _, errs := runMem(t, context.Background(), house, env, "run", job); code != exitOK {
		t.Fatalf("run exit %d: %s", code, errs)
	}
	var rows int64
	for _, in := range house.Inserts() {
		rows += int64(in.Rows)
	}
	if rep.Rows != rows || rep.Batches != len(house.Inserts()) || rows != 4000 {
		t.Fatalf("dry run: %d rows in %d batches; the run inserted %d rows in %d inserts", rep.Rows, rep.Batches, rows, len(house.Inserts()))
	}
}

// readOnlyCluster makes ch1:9000 and ch2:9000 the two read-only replicas
// of the one shard of cluster c, with a replicated db.events and a
// Distributed db.dist over it.
func readOnlyCluster(house *memch.House, srv *memch.Server, _ context.CancelFunc) {
	ch2 := house.AddServer(memch.ServerParams{Addr: "ch2:9000"})
	house.AddCluster("c", memch.ClusterShard{Replicas: []string{"ch1:9000", "ch2:9000"}})
	for _, s := range []*memch.Server{srv, ch2} {
		s.SetReadOnly(true)
	}
	cols := make([]string, len(eventsgen.Columns))
	for i, c := range eventsgen.Columns {
		cols[i] = c.Name + " " + c.Type
	}
	if err := house.CreateOnCluster("c", memch.Table("db.events", "ReplicatedMergeTree", "toYYYYMM(event_date)", "event_type, user_id, event_time", cols...)); err != nil {
		panic(err)
	}
	if err := house.CreateDistributed("c", "db", "dist", "db", "events", ""); err != nil {
		panic(err)
	}
}

// firstParquet names the first Parquet file in dir.
func firstParquet(t *testing.T, dir string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no Parquet file in %s", dir)
	}
	return filepath.Base(m[0])
}
