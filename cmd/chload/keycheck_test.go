package main

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/chload/chload/internal/memch"
	"github.com/chload/chload/internal/testenv"
)

// unreadableDataDir writes keys.parquet with columns k UInt8, v Int64 and
// a list<uint8>, whose footer is intact but whose data pages are
// overwritten: chload can plan a load from it, and fails on any attempt to
// read its rows.
func unreadableDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.PrimitiveTypes.Uint8},
		{Name: "v", Type: arrow.PrimitiveTypes.Int64},
		{Name: "a", Type: arrow.ListOf(arrow.PrimitiveTypes.Uint8)},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < 100; i++ {
		b.Field(0).(*array.Uint8Builder).Append(uint8(i))
		b.Field(1).(*array.Int64Builder).Append(int64(i))
		lb := b.Field(2).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Uint8Builder).AppendValues([]uint8{uint8(i), 1}, nil)
	}
	rec := b.NewRecord()
	defer rec.Release()
	path := filepath.Join(dir, "keys.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tbl := array.NewTableFromRecords(schema, []arrow.Record{rec})
	defer tbl.Release()
	if err := pqarrow.WriteTable(tbl, f, 100, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	footer := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
	for i := 4; i < len(data)-8-footer; i++ {
		data[i] = 0xff
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// goIdentifier matches what a Go name looks like in a message: Type.Method
// or a CamelCase word with a dot.
var goIdentifier = regexp.MustCompile(`\b[A-Z][a-zA-Z]*\.[A-Z][a-zA-Z]*\b|\bIsRand\b`)

// TestKeyChloadCannotComputeIsRefusedAtPlanTime: a partition, sorting or
// sharding key chload cannot compute as the server does is refused before
// any row is read (the file's data pages are unreadable, so reading would
// fail otherwise), as a target problem (exit 4) whose message names the key
// and says why, in words without Go names.
func TestKeyChloadCannotComputeIsRefusedAtPlanTime(t *testing.T) {
	dir := unreadableDataDir(t)
	job := writeFile(t, t.TempDir(), "job.yaml", jobText)
	cols := []string{"k UInt8", "v Int64", "a Array(UInt8)"}
	for _, tc := range []struct {
		name            string
		partition, sort string
		want            []string
	}{
		{"partition by rand() % 4", "rand() % 4", "k", []string{"partition key", "rand()", "not a function of the row"}},
		{"partition by rand() alone", "rand()", "k", []string{"partition key rand()", "calls rand()"}},
		{"partition by an Array column", "a", "k", []string{"partition key a", "column a is Array(UInt8)", "cannot group rows"}},
		{"partition by a hash of an Array column", "cityHash64(a) % 4", "k", []string{"partition key", "cityHash64(a)"}},
		{"partition tuple with an Array element", "(k, a)", "k", []string{"partition key", "its element a", "Array(UInt8)"}},
		{"sort by an Array column", "", "k, a", []string{"sorting key", "its element a", "cannot sort rows"}},
		{"sort by rand()", "", "intHash32(k) + rand()", []string{"sorting key", "calls rand()"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cmd := range []string{"run", "dry-run"} {
				house := memch.NewHouse()
				srv := house.AddServer(memch.ServerParams{Addr: "ch1:9000"})
				srv.CreateTable(memch.Table("db.keys", "MergeTree", tc.partition, tc.sort, cols...))
				env := map[string]string{"DATA_DIR": dir, "CH_HOST": "ch1", "CH_PORT": "9000", "TABLE": "db.keys"}
				code, out, errs := runMem(t, context.Background(), house, env, cmd, job)
				if code != exitTarget {
					t.Fatalf("%s: exit %d, want %d (a refusal at plan time)\nstdout: %s\nstderr: %s", cmd, code, exitTarget, out, errs)
				}
				for _, w := range tc.want {
					if !strings.Contains(errs, w) {
						t.Errorf("%s: stderr lacks %q:\n%s", cmd, w, errs)
					}
				}
				if m := goIdentifier.FindString(errs); m != "" {
					t.Errorf("%s: stderr names Go code %q:\n%s", cmd, m, errs)
				}
				if n := len(house.Inserts()); n != 0 {
					t.Errorf("%s: %d inserts", cmd, n)
				}
			}
		})
	}
	// The same file loads under keys chload computes, so the refusals
	// above are the keys' doing; reading it then fails on its pages.
	house := memch.NewHouse()
	srv := house.AddServer(memch.ServerParams{Addr: "ch1:9000"})
	srv.CreateTable(memch.Table("db.keys", "MergeTree", "k % 4", "k, v", cols...))
	env := map[string]string{"DATA_DIR": dir, "CH_HOST": "ch1", "CH_PORT": "9000", "TABLE": "db.keys"}
	if code, _, errs := runMem(t, context.Background(), house, env, "run", job); code != exitSource {
		t.Fatalf("a computable key over the unreadable file: exit %d, want %d (the file cannot be read)\n%s", code, exitSource, errs)
	}
}

// TestKeyChloadCannotComputeAgainstServer: tables on the real server whose
// partition key is rand() % 4 or an Array column are refused before any row
// is read, with exit 4, and the tables stay empty.
func TestKeyChloadCannotComputeAgainstServer(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	dir := unreadableDataDir(t)
	job := writeFile(t, t.TempDir(), "job.yaml", jobText)
	host, port, _ := strings.Cut(testenv.ClickHouseAddr(t), ":")
	for _, tc := range []struct {
		table, partition string
		want             []string
	}{
		{"by_rand", "rand() % 4", []string{"partition key", "calls rand()"}},
		{"by_array", "a", []string{"partition key a", "column a is Array(UInt8)"}},
	} {
		ddl := "CREATE TABLE " + db + "." + tc.table + " (k UInt8, v Int64, a Array(UInt8)) ENGINE = MergeTree PARTITION BY " + tc.partition + " ORDER BY k"
		if err := conn.Exec(context.Background(), ddl); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
		env := map[string]string{"DATA_DIR": dir, "CH_HOST": host, "CH_PORT": port, "TABLE": db + "." + tc.table}
		code, out, errs := runCLI(t, env, "run", job)
		if code != exitTarget {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", tc.table, code, exitTarget, out, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", tc.table, w, errs)
			}
		}
		if m := goIdentifier.FindString(errs); m != "" {
			t.Errorf("%s: stderr names Go code %q:\n%s", tc.table, m, errs)
		}
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+db+"."+tc.table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: table holds %d rows (%v), want 0", tc.table, n, err)
		}
	}
}
