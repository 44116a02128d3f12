package jobs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/testenv"
)

// nestedRow is one row of a Nested(a UInt32, b String) column.
type nestedRow struct {
	a []uint32
	b []string
}

func nestedRows(n int) []nestedRow {
	rows := make([]nestedRow, n)
	for r := range rows {
		k := r % 5 // 0..4 elements, empty arrays included
		row := nestedRow{a: []uint32{}, b: []string{}}
		for j := 0; j < k; j++ {
			row.a = append(row.a, uint32(r*7+j)*2654435761)
			row.b = append(row.b, fmt.Sprintf("%d.%d%s", r, j, strings.Repeat("ü", j)))
		}
		rows[r] = row
	}
	return rows
}

var nestedElem = arrow.StructOf(
	arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64},
	arrow.Field{Name: "b", Type: arrow.BinaryTypes.String})

// listOfStructsRecord builds id and n list<struct<a, b>>; a row listed in
// nulls is a NULL list.
func listOfStructsRecord(rows []nestedRow, nulls map[int]bool) arrow.Record {
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "n", Type: arrow.ListOf(nestedElem), Nullable: len(nulls) > 0}}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	for r, row := range rows {
		b.Field(0).(*array.Int64Builder).Append(int64(r))
		lb := b.Field(1).(*array.ListBuilder)
		if nulls[r] {
			lb.AppendNull()
			continue
		}
		lb.Append(true)
		sb := lb.ValueBuilder().(*array.StructBuilder)
		for j := range row.a {
			sb.Append(true)
			sb.FieldBuilder(0).(*array.Int64Builder).Append(int64(row.a[j]))
			sb.FieldBuilder(1).(*array.StringBuilder).Append(row.b[j])
		}
	}
	return b.NewRecord()
}

// structOfListsRecord builds id and n struct<a: list<int64>, b: list<string>>.
func structOfListsRecord(rows []nestedRow) arrow.Record {
	nType := arrow.StructOf(
		arrow.Field{Name: "a", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)},
		arrow.Field{Name: "b", Type: arrow.ListOf(arrow.BinaryTypes.String)})
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "n", Type: nType}}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	for r, row := range rows {
		b.Field(0).(*array.Int64Builder).Append(int64(r))
		sb := b.Field(1).(*array.StructBuilder)
		sb.Append(true)
		la, lb := sb.FieldBuilder(0).(*array.ListBuilder), sb.FieldBuilder(1).(*array.ListBuilder)
		la.Append(true)
		for _, v := range row.a {
			la.ValueBuilder().(*array.Int64Builder).Append(int64(v))
		}
		lb.Append(true)
		for _, v := range row.b {
			lb.ValueBuilder().(*array.StringBuilder).Append(v)
		}
	}
	return b.NewRecord()
}

// TestRunNested loads a Parquet list of structs (as Spark and Hive write an
// array of structs) and a struct of lists, written by arrow-go over several
// row groups, into the n.a and n.b columns of a Nested table on 18.16 (rows
// split over four partitions and sorted within each batch), and
// compares every element with what was written. The table's n.c, which the
// files lack, is left to the server: arrays of zeros as long as n.a.
func TestRunNested(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	const n = 1000
	rows := nestedRows(n)
	for _, shape := range []string{"list_of_structs", "struct_of_lists"} {
		t.Run(shape, func(t *testing.T) {
			table := db + "." + shape
			exec(t, conn, fmt.Sprintf("CREATE TABLE %s (id UInt32, n Nested(a UInt32, b String, c UInt8)) ENGINE = MergeTree PARTITION BY id %% 4 ORDER BY id", table))
			rec := listOfStructsRecord(rows, nil)
			if shape == "struct_of_lists" {
				rec.Release()
				rec = structOfListsRecord(rows)
			}
			defer rec.Release()
			path := filepath.Join(t.TempDir(), shape+".parquet")
			writeParquet(t, path, rec, 300)
			sum, err := Run(context.Background(), loadJob(t, path, table, "  batch_rows: 250\n"), RunParams{Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			if sum.RowsWritten != n {
				t.Fatalf("wrote %d rows, want %d", sum.RowsWritten, n)
			}
			res, err := conn.Query(context.Background(), fmt.Sprintf("SELECT id, n.a, n.b, n.c FROM %s ORDER BY id", table))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Close()
			i := 0
			for ; res.Next(); i++ {
				var id uint32
				var got nestedRow
				var c []uint8
				if err := res.Scan(&id, &got.a, &got.b, &c); err != nil {
					t.Fatal(err)
				}
				if id != uint32(i) || !reflect.DeepEqual(got, rows[i]) {
					t.Fatalf("row %d: id %d, n.a %v, n.b %q; want n.a %v, n.b %q", i, id, got.a, got.b, rows[i].a, rows[i].b)
				}
				if len(c) != len(rows[i].a) || strings.Trim(string(c), "\x00") != "" {
					t.Fatalf("row %d: n.c %v, want %d zeros", i, c, len(rows[i].a))
				}
			}
			if err := res.Err(); err != nil {
				t.Fatal(err)
			}
			if i != n {
				t.Fatalf("read %d rows back, want %d", i, n)
			}
		})
	}
}

// TestRunTupleArray: 18.16 stores an Array(Tuple(UInt32, String)) column
// as the columns at.1 and at.2, which a Parquet list of structs fills by
// position.
func TestRunTupleArray(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	rows := nestedRows(500)
	rec := listOfStructsRecord(rows, nil)
	defer rec.Release()
	schema := arrow.NewSchema([]arrow.Field{rec.Schema().Field(0), {Name: "at", Type: rec.Schema().Field(1).Type}}, nil)
	renamed := array.NewRecord(schema, rec.Columns(), rec.NumRows())
	defer renamed.Release()
	path := filepath.Join(t.TempDir(), "at.parquet")
	writeParquet(t, path, renamed, 200)
	table := db + ".t"
	exec(t, conn, fmt.Sprintf("CREATE TABLE %s (id UInt32, at Array(Tuple(UInt32, String))) ENGINE = MergeTree ORDER BY id", table))
	if _, err := Run(context.Background(), loadJob(t, path, table, ""), RunParams{Logger: testLogger(t)}); err != nil {
		t.Fatal(err)
	}
	res, err := conn.Query(context.Background(), fmt.Sprintf("SELECT id, `at.1`, `at.2` FROM %s ORDER BY id", table))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	i := 0
	for ; res.Next(); i++ {
		var id uint32
		var got nestedRow
		if err := res.Scan(&id, &got.a, &got.b); err != nil {
			t.Fatal(err)
		}
		if id != uint32(i) || !reflect.DeepEqual(got, rows[i]) {
			t.Fatalf("row %d: id %d, at.1 %v, at.2 %q; want %v, %q", i, id, got.a, got.b, rows[i].a, rows[i].b)
		}
	}
	if i != len(rows) {
		t.Fatalf("read %d rows back, want %d", i, len(rows))
	}
}

// TestRunNestedRefusals: a NULL list cannot go into the Array columns of a
// Nested column, and a struct of lists whose lists differ in length in a
// row cannot be one Nested row; each run fails naming the place, the
// column and, for lengths, both of them.
func TestRunNestedRefusals(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	rows := nestedRows(8)
	tests := []struct {
		name   string
		rec    func() arrow.Record
		column string
		text   []string
	}{
		{name: "null_list", rec: func() arrow.Record { return listOfStructsRecord(rows, map[int]bool{6: true}) }, column: "n.a",
			text: []string{"NULL into non-Nullable column Array(UInt32)"}},
		{name: "unequal_lengths", rec: func() arrow.Record {
			bad := append([]nestedRow(nil), rows...)
			bad[6] = nestedRow{a: []uint32{1, 2, 3}, b: []string{"x"}}
			return structOfListsRecord(bad)
		}, column: "n.b", text: []string{`value ["x"] has 1 elements where column n.a has 3 in the same row`, "Nested column n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := db + "." + tt.name
			exec(t, conn, fmt.Sprintf("CREATE TABLE %s (id UInt32, n Nested(a UInt32, b String)) ENGINE = MergeTree ORDER BY id", table))
			rec := tt.rec()
			defer rec.Release()
			path := filepath.Join(t.TempDir(), "bad.parquet")
			writeParquet(t, path, rec, 4) // row 6 is row 2 of row group 1
			_, err := Run(context.Background(), loadJob(t, path, table, ""), RunParams{Logger: testLogger(t)})
			var de *DataError
			if want := parquetSplit(t, path, 1); !errors.As(err, &de) || de.Split.ID != want.ID || de.Row != 2 || de.Column != tt.column {
				t.Fatalf("error %v, want a *DataError at %s, row 2, column %s", err, want, tt.column)
			}
			for _, w := range tt.text {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
		})
	}
}

// nullAsDefaultJob is loadJob with source.null_as_default: true.
func nullAsDefaultJob(t *testing.T, path, table string) *Job {
	t.Helper()
	text := fmt.Sprintf("version: 1\nname: test\nsource:\n  type: parquet\n  paths: [%q]\n  null_as_default: true\ntarget:\n  clickhouse:\n    hosts: [%q]\n  table: %s\n", path, testenv.ClickHouseAddr(t), table)
	job, err := Parse([]byte(text), LoadOptions{Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("job: %v\n%s", err, text)
	}
	return job
}

// TestRunNestedNullAsDefault: with source.null_as_default a NULL list of
// structs loads as an empty array into every child of the Nested column,
// counted per child; the other rows keep their values.
func TestRunNestedNullAsDefault(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	rows := nestedRows(8)
	rec := listOfStructsRecord(rows, map[int]bool{3: true, 6: true})
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "nulls.parquet")
	writeParquet(t, path, rec, 4)
	table := db + ".t"
	exec(t, conn, fmt.Sprintf("CREATE TABLE %s (id UInt32, n Nested(a UInt32, b String)) ENGINE = MergeTree PARTITION BY intDiv(id, 3) ORDER BY id", table))
	sum, err := Run(context.Background(), nullAsDefaultJob(t, path, table), RunParams{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"n.a": 2, "n.b": 2}; fmt.Sprint(sum.NullsDefaulted) != fmt.Sprint(want) {
		t.Errorf("summary counts %v NULLs stored as defaults, want %v", sum.NullsDefaulted, want)
	}
	res, err := conn.Query(context.Background(), fmt.Sprintf("SELECT id, n.a, n.b FROM %s ORDER BY id", table))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	i := 0
	for ; res.Next(); i++ {
		var id uint32
		var got nestedRow
		if err := res.Scan(&id, &got.a, &got.b); err != nil {
			t.Fatal(err)
		}
		want := rows[i]
		if i == 3 || i == 6 {
			want = nestedRow{a: []uint32{}, b: []string{}}
		}
		if id != uint32(i) || !reflect.DeepEqual(got, want) {
			t.Fatalf("row %d: id %d, n.a %v, n.b %q; want n.a %v, n.b %q", i, id, got.a, got.b, want.a, want.b)
		}
	}
	if i != len(rows) {
		t.Fatalf("read %d rows back, want %d", i, len(rows))
	}
}
