package jobs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/testenv"
	"github.com/chload/chload/writer/chcol"
)

// tupleRow is one row of the Tuple test file: t Tuple(UInt32, String) and
// tn Tuple(Nullable(Int64), String, Nullable(Float64)).
type tupleRow struct {
	id  uint32
	t1  uint32
	t2  string
	tn1 *int64
	tn2 string
	tn3 *float64
	tl1 string
	tl2 uint8
}

func tupleRows(n int) []tupleRow {
	rows := make([]tupleRow, n)
	for r := range rows {
		row := tupleRow{
			id:  uint32(r),
			t1:  uint32(r) * 2654435761,
			t2:  fmt.Sprintf("s%d%s", r, strings.Repeat("é", r%5)),
			tn2: []string{"", "a", "bb", "\x00"}[r%4],
			tl1: []string{"red", "green", "blue"}[r%3],
			tl2: uint8(r),
		}
		if r%4 != 0 {
			v := int64(r) * -1_000_000_000_007
			row.tn1 = &v
		}
		if r%3 != 0 {
			v := float64(r) / 8
			row.tn3 = &v
		}
		rows[r] = row
	}
	return rows
}

// TestRunTuple loads Parquet struct columns, written by arrow-go's writer
// over several row groups, into Tuple columns of 18.16 (rows split over
// four partitions and sorted within each batch; one Tuple with Nullable
// elements), once through chload's Native encoder and once through
// clickhouse-go's (a LowCardinality element has no Native encoder), and
// compares every element of every row with what was written.
func TestRunTuple(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	ctx := clickhouse.Context(context.Background(), clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}))
	const cols = "id UInt32, t Tuple(UInt32, String), tn Tuple(Nullable(Int64), String, Nullable(Float64))"
	exec2(t, conn, ctx, fmt.Sprintf("CREATE TABLE %s.native (%s) ENGINE = MergeTree PARTITION BY id %% 4 ORDER BY id", db, cols))
	exec2(t, conn, ctx, fmt.Sprintf("CREATE TABLE %s.driver (%s, tl Tuple(LowCardinality(String), UInt8)) ENGINE = MergeTree PARTITION BY id %% 4 ORDER BY id", db, cols))

	// The inserter encodes a table itself only when every column has a
	// Native encoder; a LowCardinality element has none.
	for typ, native := range map[string]bool{"Tuple(UInt32, String)": true, "Tuple(Nullable(Int64), String, Nullable(Float64))": true, "Tuple(LowCardinality(String), UInt8)": false} {
		if parsed, err := chcol.ParseType(typ); err != nil || chcol.NativeSupported(parsed) != native {
			t.Fatalf("NativeSupported(%s) is not %v (%v): the test would not cover both insert paths", typ, native, err)
		}
	}
	const n = 1000
	rows := tupleRows(n)
	mem := memory.NewGoAllocator()
	tType := arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Uint32}, arrow.Field{Name: "y", Type: arrow.BinaryTypes.String})
	tnType := arrow.StructOf(
		arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		arrow.Field{Name: "b", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "c", Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	tlType := arrow.StructOf(arrow.Field{Name: "name", Type: arrow.BinaryTypes.String}, arrow.Field{Name: "n", Type: arrow.PrimitiveTypes.Int32})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "t", Type: tType}, {Name: "tn", Type: tnType}, {Name: "tl", Type: tlType},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(int64(r.id))
		tb := b.Field(1).(*array.StructBuilder)
		tb.Append(true)
		tb.FieldBuilder(0).(*array.Uint32Builder).Append(r.t1)
		tb.FieldBuilder(1).(*array.StringBuilder).Append(r.t2)
		nb := b.Field(2).(*array.StructBuilder)
		nb.Append(true)
		if r.tn1 == nil {
			nb.FieldBuilder(0).AppendNull()
		} else {
			nb.FieldBuilder(0).(*array.Int64Builder).Append(*r.tn1)
		}
		nb.FieldBuilder(1).(*array.StringBuilder).Append(r.tn2)
		if r.tn3 == nil {
			nb.FieldBuilder(2).AppendNull()
		} else {
			nb.FieldBuilder(2).(*array.Float64Builder).Append(*r.tn3)
		}
		lb := b.Field(3).(*array.StructBuilder)
		lb.Append(true)
		lb.FieldBuilder(0).(*array.StringBuilder).Append(r.tl1)
		lb.FieldBuilder(1).(*array.Int32Builder).Append(int32(r.tl2))
	}
	rec := b.NewRecord()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "tuples.parquet")
	writeParquet(t, path, rec, 300)

	for _, table := range []string{"native", "driver"} {
		t.Run(table, func(t *testing.T) {
			job := loadJob(t, path, db+"."+table, "  batch_rows: 250\n")
			job.Source.IgnoreExtraColumns = table == "native" // the native table has no tl
			sum, err := Run(context.Background(), job, RunParams{Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			if sum.RowsWritten != n {
				t.Fatalf("wrote %d rows, want %d", sum.RowsWritten, n)
			}
			q := fmt.Sprintf("SELECT id, tupleElement(t, 1), tupleElement(t, 2), tupleElement(tn, 1), tupleElement(tn, 2), tupleElement(tn, 3) FROM %s.%s ORDER BY id", db, table)
			if table == "driver" {
				q = fmt.Sprintf("SELECT id, tupleElement(t, 1), tupleElement(t, 2), tupleElement(tn, 1), tupleElement(tn, 2), tupleElement(tn, 3), tupleElement(tl, 1), tupleElement(tl, 2) FROM %s.%s ORDER BY id", db, table)
			}
			res, err := conn.Query(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Close()
			i := 0
			for ; res.Next(); i++ {
				var got tupleRow
				dest := []any{&got.id, &got.t1, &got.t2, &got.tn1, &got.tn2, &got.tn3}
				if table == "driver" {
					dest = append(dest, &got.tl1, &got.tl2)
				}
				if err := res.Scan(dest...); err != nil {
					t.Fatal(err)
				}
				want := rows[i]
				if table == "native" {
					want.tl1, want.tl2 = "", 0
				}
				if !sameTupleRow(got, want) {
					t.Fatalf("row %d: got %s, want %s", i, got, want)
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

func sameTupleRow(a, b tupleRow) bool {
	eqI := (a.tn1 == nil) == (b.tn1 == nil) && (a.tn1 == nil || *a.tn1 == *b.tn1)
	eqF := (a.tn3 == nil) == (b.tn3 == nil) && (a.tn3 == nil || *a.tn3 == *b.tn3)
	return eqI && eqF && a.id == b.id && a.t1 == b.t1 && a.t2 == b.t2 && a.tn2 == b.tn2 && a.tl1 == b.tl1 && a.tl2 == b.tl2
}

func (r tupleRow) String() string {
	show := func(p any) string {
		switch v := p.(type) {
		case *int64:
			if v != nil {
				return fmt.Sprint(*v)
			}
		case *float64:
			if v != nil {
				return fmt.Sprint(*v)
			}
		}
		return "NULL"
	}
	return fmt.Sprintf("{%d (%d, %q) (%s, %q, %s) (%q, %d)}", r.id, r.t1, r.t2, show(r.tn1), r.tn2, show(r.tn3), r.tl1, r.tl2)
}

// TestRunTupleNullStruct: a NULL struct cannot go into a Tuple column (a
// Tuple cannot be Nullable), and the run says where it is and what to do.
func TestRunTupleNullStruct(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	exec(t, conn, fmt.Sprintf("CREATE TABLE %s.t (id UInt32, t Tuple(UInt32, String)) ENGINE = MergeTree ORDER BY id", db))
	mem := memory.NewGoAllocator()
	tType := arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Uint32}, arrow.Field{Name: "y", Type: arrow.BinaryTypes.String})
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "t", Type: tType, Nullable: true}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for r := 0; r < 8; r++ {
		b.Field(0).(*array.Int64Builder).Append(int64(r))
		tb := b.Field(1).(*array.StructBuilder)
		if r == 6 {
			tb.AppendNull()
			continue
		}
		tb.Append(true)
		tb.FieldBuilder(0).(*array.Uint32Builder).Append(uint32(r))
		tb.FieldBuilder(1).(*array.StringBuilder).Append("v")
	}
	rec := b.NewRecord()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "null.parquet")
	writeParquet(t, path, rec, 4) // row 6 is row 2 of row group 1
	_, err := Run(context.Background(), loadJob(t, path, db+".t", ""), RunParams{Logger: testLogger(t)})
	var de *DataError
	if want := parquetSplit(t, path, 1); !errors.As(err, &de) || de.Split.ID != want.ID || de.Row != 2 || de.Column != "t" {
		t.Fatalf("error %v, want a *DataError at %s, row 2, column t", err, want)
	}
	if msg := err.Error(); !strings.Contains(msg, "NULL into non-Nullable column Tuple(UInt32, String)") || !strings.Contains(msg, "ClickHouse Tuple columns cannot be Nullable") {
		t.Errorf("message %q does not say a NULL cannot go into the Tuple and why", msg)
	}
}

// TestRunTupleNullAsDefault: with source.null_as_default a NULL struct
// loads as the Tuple's default, each element's (NULL for a Nullable one),
// and is counted.
func TestRunTupleNullAsDefault(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	exec(t, conn, fmt.Sprintf("CREATE TABLE %s.t (id UInt32, t Tuple(UInt32, Nullable(String), String)) ENGINE = MergeTree PARTITION BY intDiv(id, 3) ORDER BY id", db))
	tType := arrow.StructOf(
		arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Uint32},
		arrow.Field{Name: "y", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "z", Type: arrow.BinaryTypes.String})
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "t", Type: tType, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	for r := 0; r < 8; r++ {
		b.Field(0).(*array.Int64Builder).Append(int64(r))
		tb := b.Field(1).(*array.StructBuilder)
		if r%3 == 1 {
			tb.AppendNull()
			continue
		}
		tb.Append(true)
		tb.FieldBuilder(0).(*array.Uint32Builder).Append(uint32(r + 100))
		tb.FieldBuilder(1).(*array.StringBuilder).Append(fmt.Sprint("y", r))
		tb.FieldBuilder(2).(*array.StringBuilder).Append(fmt.Sprint("z", r))
	}
	rec := b.NewRecord()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "nulls.parquet")
	writeParquet(t, path, rec, 3)
	sum, err := Run(context.Background(), nullAsDefaultJob(t, path, db+".t"), RunParams{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"t": 3}; fmt.Sprint(sum.NullsDefaulted) != fmt.Sprint(want) {
		t.Errorf("summary counts %v NULLs stored as defaults, want %v", sum.NullsDefaulted, want)
	}
	res, err := conn.Query(context.Background(), fmt.Sprintf("SELECT id, tupleElement(t, 1), tupleElement(t, 2), tupleElement(t, 3) FROM %s.t ORDER BY id", db))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	var got []string
	for res.Next() {
		var id, x uint32
		var y *string
		var z string
		if err := res.Scan(&id, &x, &y, &z); err != nil {
			t.Fatal(err)
		}
		ys := "NULL"
		if y != nil {
			ys = *y
		}
		got = append(got, fmt.Sprintf("%d (%d, %s, %q)", id, x, ys, z))
	}
	want := []string{`0 (100, y0, "z0")`, `1 (0, NULL, "")`, `2 (102, y2, "z2")`, `3 (103, y3, "z3")`, `4 (0, NULL, "")`,
		`5 (105, y5, "z5")`, `6 (106, y6, "z6")`, `7 (0, NULL, "")`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("table holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
