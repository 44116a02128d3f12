package jobs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/testenv"
)

// writeNullsFile writes a Parquet file whose nullable columns hold NULLs.
func writeNullsFile(t *testing.T) string {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "n", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "xs", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
	}, nil)
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(`[
		{"id": 1, "n": 10, "s": "a", "d": "2024-01-02", "xs": [1, 2]},
		{"id": 2, "n": null, "s": null, "d": null, "xs": null},
		{"id": 3, "n": 30, "s": null, "d": "2024-03-04", "xs": []},
		{"id": 4, "n": null, "s": "d", "d": "2024-05-06", "xs": null}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "nulls.parquet")
	writeParquet(t, path, rec, 1<<20)
	return path
}

// TestNullAsDefault: by default a NULL for a non-Nullable column fails the
// run naming the file, row group, row and column; with
// source.null_as_default the table holds the columns' type defaults where
// the source had NULL, every other value as written, and the summary counts
// the replaced values per column.
func TestNullAsDefault(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	addr := testenv.ClickHouseAddr(t)
	path := writeNullsFile(t)
	ddl := " (id Int64, n Int32, s String, d Date, xs Array(Int32)) ENGINE = MergeTree ORDER BY id"
	job := func(table, extra string) *Job {
		text := fmt.Sprintf("version: 1\nname: nd\nsource:\n  type: parquet\n  paths: [%q]\n%starget:\n  clickhouse:\n    hosts: [%q]\n  table: %s\n", path, extra, addr, table)
		j, err := Parse([]byte(text), LoadOptions{Env: func(string) (string, bool) { return "", false }})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}

	strict := db + ".strict"
	exec(t, conn, "CREATE TABLE "+strict+ddl)
	_, err := Run(context.Background(), job(strict, ""), RunParams{Logger: testLogger(t)})
	var de *DataError
	if !errors.As(err, &de) {
		t.Fatalf("strict run: %v, want a bad-value error", err)
	}
	if de.Split.ID != parquetSplit(t, path, 0).ID || de.Row != 1 || de.Column != "n" || !strings.Contains(err.Error(), "NULL into non-Nullable column") {
		t.Fatalf("strict run error names %s, row %d, column %s: %v", de.Split, de.Row, de.Column, err)
	}

	lenient := db + ".lenient"
	exec(t, conn, "CREATE TABLE "+lenient+ddl)
	sum, err := Run(context.Background(), job(lenient, "  null_as_default: true\n"), RunParams{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("run with null_as_default: %v", err)
	}
	want := map[string]int64{"n": 2, "s": 2, "d": 1, "xs": 2}
	if fmt.Sprint(sum.NullsDefaulted) != fmt.Sprint(want) {
		t.Errorf("summary counts %v NULLs stored as defaults, want %v", sum.NullsDefaulted, want)
	}
	rows, err := conn.Query(context.Background(), "SELECT id, n, s, toString(d), xs FROM "+lenient+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var (
			id int64
			n  int32
			s  string
			d  string
			xs []int32
		)
		if err := rows.Scan(&id, &n, &s, &d, &xs); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %d %q %s %v", id, n, s, d, xs))
	}
	wantRows := []string{
		`1 10 "a" 2024-01-02 [1 2]`,
		`2 0 "" 0000-00-00 []`, // day 0, which 18.16 prints so
		`3 30 "" 2024-03-04 []`,
		`4 0 "d" 2024-05-06 []`,
	}
	if strings.Join(got, "\n") != strings.Join(wantRows, "\n") {
		t.Fatalf("table holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantRows, "\n"))
	}
}
