package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/chload/chload/internal/testenv"
)

const typesColumns = `d Date, k String,
	i8 Int8, i16 Int16, i32 Int32, i64 Int64, u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64,
	f32 Float32, f64 Float64, dec32 Decimal32(2), dec64 Decimal64(4), dec128 Decimal128(10),
	fs FixedString(4), dt DateTime, dtz DateTime('Asia/Kolkata'), id UUID,
	e8 Enum8('a' = 1, 'b' = 2), e16 Enum16('x' = 1000, 'y' = -1000),
	ns Nullable(String), ni Nullable(Int32), lc LowCardinality(String), arr Array(Int32), arrs Array(Nullable(String))`

// TestRunEveryType loads a Parquet file holding every column type 18.16
// has, with NULLs, through chload, and compares the table row by row with
// the same values inserted directly through clickhouse-go.
func TestRunEveryType(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	ctx := clickhouse.Context(context.Background(), clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}))
	for _, tbl := range []string{"loaded", "reference"} {
		exec2(t, conn, ctx, fmt.Sprintf("CREATE TABLE %s.%s (%s) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY (k, i32)", db, tbl, typesColumns))
	}
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "d", Type: arrow.FixedWidthTypes.Date32}, {Name: "k", Type: arrow.BinaryTypes.String},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int64}, {Name: "i16", Type: arrow.PrimitiveTypes.Int16},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32}, {Name: "i64", Type: arrow.PrimitiveTypes.Int64},
		{Name: "u8", Type: arrow.PrimitiveTypes.Int32}, {Name: "u16", Type: arrow.PrimitiveTypes.Uint16},
		{Name: "u32", Type: arrow.PrimitiveTypes.Uint32}, {Name: "u64", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32}, {Name: "f64", Type: arrow.PrimitiveTypes.Float64},
		{Name: "dec32", Type: &arrow.Decimal128Type{Precision: 9, Scale: 2}},
		{Name: "dec64", Type: &arrow.Decimal128Type{Precision: 18, Scale: 4}},
		{Name: "dec128", Type: &arrow.Decimal128Type{Precision: 38, Scale: 10}},
		{Name: "fs", Type: arrow.BinaryTypes.String},
		{Name: "dt", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
		{Name: "dtz", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "e8", Type: arrow.BinaryTypes.String},
		{Name: "e16", Type: arrow.PrimitiveTypes.Int16},
		{Name: "ns", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "ni", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "lc", Type: arrow.BinaryTypes.String}, {Name: "arr", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
		{Name: "arrs", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	ref, err := conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.reference (d, k, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, dec32, dec64, dec128, fs, dt, dtz, id, e8, e16, ns, ni, lc, arr, arrs)", db))
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for r := 0; r < n; r++ {
		day := time.Date(2024, time.Month(1+r%3), 1+r%28, 0, 0, 0, 0, time.UTC)
		ts := time.Unix(1700000000+int64(r)*3607, 0).UTC()
		k := fmt.Sprintf("k%02d", (r*7)%31)
		i8, i16, i32, i64 := int8(r%256-128), int16(-r*100), int32(r*(1-2*(r%2))), int64(r)*-1_000_000_007
		u8, u16, u32, u64 := uint8(r%256), uint16(r*200), uint32(r)*4_000_000, uint64(r)<<50
		f32, f64 := float32(r)/4, float64(r)*1.5e-3
		d32, d64, d128 := int64(r*101-5000), int64(r)*123456789, int64(r)*-98765
		fs := fmt.Sprintf("%x", r%4096)
		id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(k+fmt.Sprint(r)))
		e8, e16 := []string{"a", "b"}[r%2], []int16{1000, -1000}[r%2]
		var ns *string
		var ni *int32
		if r%5 != 0 {
			s := fmt.Sprintf("n%d", r)
			v := int32(r)
			ns, ni = &s, &v
		}
		lc := []string{"red", "green", "blue"}[r%3]
		arr := []int32{}
		for j := 0; j < r%4; j++ {
			arr = append(arr, int32(r*j))
		}
		e1 := "x"
		arrs := []*string{&e1, nil}[:r%3%2+1]

		b.Field(0).(*array.Date32Builder).Append(arrow.Date32FromTime(day))
		b.Field(1).(*array.StringBuilder).Append(k)
		b.Field(2).(*array.Int64Builder).Append(int64(i8))
		b.Field(3).(*array.Int16Builder).Append(i16)
		b.Field(4).(*array.Int32Builder).Append(i32)
		b.Field(5).(*array.Int64Builder).Append(i64)
		b.Field(6).(*array.Int32Builder).Append(int32(u8))
		b.Field(7).(*array.Uint16Builder).Append(u16)
		b.Field(8).(*array.Uint32Builder).Append(u32)
		b.Field(9).(*array.Uint64Builder).Append(u64)
		b.Field(10).(*array.Float32Builder).Append(f32)
		b.Field(11).(*array.Float64Builder).Append(f64)
		b.Field(12).(*array.Decimal128Builder).Append(decimal128.FromI64(d32))
		b.Field(13).(*array.Decimal128Builder).Append(decimal128.FromI64(d64))
		b.Field(14).(*array.Decimal128Builder).Append(decimal128.FromI64(d128))
		b.Field(15).(*array.StringBuilder).Append(fs)
		b.Field(16).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMilli()))
		b.Field(17).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
		b.Field(18).(*array.StringBuilder).Append(id.String())
		b.Field(19).(*array.StringBuilder).Append(e8)
		b.Field(20).(*array.Int16Builder).Append(e16)
		if ns == nil {
			b.Field(21).AppendNull()
			b.Field(22).AppendNull()
		} else {
			b.Field(21).(*array.StringBuilder).Append(*ns)
			b.Field(22).(*array.Int32Builder).Append(*ni)
		}
		b.Field(23).(*array.StringBuilder).Append(lc)
		lb := b.Field(24).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Int32Builder).AppendValues(arr, nil)
		ls := b.Field(25).(*array.ListBuilder)
		ls.Append(true)
		for _, s := range arrs {
			if s == nil {
				ls.ValueBuilder().AppendNull()
			} else {
				ls.ValueBuilder().(*array.StringBuilder).Append(*s)
			}
		}
		err := ref.Append(day, k, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64,
			decimal.New(d32, -2), decimal.New(d64, -4), decimal.New(d128, -10),
			fs, ts, ts, id, e8, []string{"x", "y"}[r%2], ns, ni, lc, arr, arrs)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := ref.Send(); err != nil {
		t.Fatal(err)
	}
	rec := b.NewRecord()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "types.parquet")
	writeParquet(t, path, rec, 128)
	sum, err := Run(context.Background(), loadJob(t, path, db+".loaded", "  batch_rows: 50\n"), RunParams{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsWritten != n {
		t.Fatalf("wrote %d rows", sum.RowsWritten)
	}
	q := "SELECT * FROM %s.%s ORDER BY k, i32, i64"
	got, want := dumpRows(t, conn, fmt.Sprintf(q, db, "loaded")), dumpRows(t, conn, fmt.Sprintf(q, db, "reference"))
	if len(got) != n || len(want) != n {
		t.Fatalf("rows: loaded %d, reference %d, want %d", len(got), len(want), n)
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d differs:\nloaded    %v\nreference %v", i, got[i], want[i])
		}
	}
}

func exec2(t *testing.T, conn driver.Conn, ctx context.Context, q string) {
	t.Helper()
	if err := conn.Exec(ctx, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// dumpRows reads every row of q as Go values of the driver's scan types.
func dumpRows(t *testing.T, conn driver.Conn, q string) [][]any {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	var out [][]any
	for rows.Next() {
		ptrs := make([]any, len(types))
		for i, ct := range types {
			ptrs[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		vals := make([]any, len(ptrs))
		for i, p := range ptrs {
			vals[i] = deepString(reflect.ValueOf(p).Elem())
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// deepString prints a value with pointers followed, NULL for nil.
func deepString(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "NULL"
		}
		return deepString(v.Elem())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return fmt.Sprintf("%q", v.Bytes())
		}
		s := "["
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				s += " "
			}
			s += deepString(v.Index(i))
		}
		return s + "]"
	}
	return fmt.Sprintf("%v", v.Interface())
}
