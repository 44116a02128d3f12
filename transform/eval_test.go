package transform

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// day returns the day number of a YYYY-MM-DD date.
func day(t testing.TB, s string) arrow.Date32 {
	t.Helper()
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		t.Fatal(err)
	}
	return arrow.Date32(floorDiv(d.Unix(), secondsPerDay))
}

// unix returns the Unix second of a local time in zone.
func unix(t testing.TB, zone, s string) int64 {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v.Unix()
}

// testRecord builds a record with one column per field; values are given
// as []any per column, nil meaning null.
func testRecord(t testing.TB, mem memory.Allocator, fields []arrow.Field, cols [][]any) arrow.Record {
	t.Helper()
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	for c, vals := range cols {
		fb := b.Field(c)
		for _, v := range vals {
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.Date32Builder:
				fb.Append(v.(arrow.Date32))
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(v.(int64)))
			case *array.Int8Builder:
				fb.Append(int8(v.(int)))
			case *array.Int32Builder:
				fb.Append(int32(v.(int)))
			case *array.Int64Builder:
				fb.Append(int64(v.(int)))
			case *array.Uint8Builder:
				fb.Append(uint8(v.(int)))
			case *array.Uint64Builder:
				fb.Append(v.(uint64))
			case *array.StringBuilder:
				fb.Append(v.(string))
			default:
				t.Fatalf("no test builder for %T", fb)
			}
		}
	}
	return b.NewRecord()
}

func TestEval(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	ny := &arrow.TimestampType{Unit: arrow.Second, TimeZone: "America/New_York"}
	msk := &arrow.TimestampType{Unit: arrow.Second, TimeZone: "Europe/Moscow"}
	utcMs := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	fixed := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "+05:30"}
	fields := []arrow.Field{
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "ny", Type: ny},
		{Name: "msk", Type: msk},
		{Name: "ms", Type: utcMs},
		{Name: "fx", Type: fixed},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64},
		{Name: "u64", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8},
		{Name: "u8", Type: arrow.PrimitiveTypes.Uint8},
		{Name: "s", Type: arrow.BinaryTypes.String},
	}
	rec := testRecord(t, mem, fields, [][]any{
		{day(t, "2020-02-29"), day(t, "1970-01-01"), nil, day(t, "2105-12-31"), day(t, "1969-12-31")},
		{
			unix(t, "America/New_York", "2021-03-14 01:59:59"), unix(t, "America/New_York", "2021-03-14 03:00:00"),
			unix(t, "America/New_York", "2021-11-07 01:30:00"), unix(t, "America/New_York", "2021-12-31 23:59:59"),
			unix(t, "America/New_York", "2022-01-01 00:00:00"),
		},
		{
			unix(t, "Europe/Moscow", "2011-03-27 01:59:59"), unix(t, "Europe/Moscow", "2011-03-27 03:00:00"),
			unix(t, "Europe/Moscow", "2014-10-26 00:30:00"), unix(t, "Europe/Moscow", "2014-10-26 01:30:00"),
			int64(0),
		},
		{int64(-1), int64(0), int64(86_399_999), int64(86_400_000), int64(1_583_020_800_000)},
		{int64(-19_800_000_001), int64(-19_800_000_000), int64(0), int64(66_600_000_000), int64(66_599_999_999)},
		{-7, 7, -1, 0, math.MinInt32},
		{-7, 7, -1, 0, math.MinInt64 + 1},
		{uint64(math.MaxUint64), uint64(0), uint64(999), uint64(1000), uint64(1001)},
		{-128, 127, -1, 0, 1},
		{200, 255, 0, 1, 3},
		{"a", "b", "c", "d", "e"},
	})
	defer rec.Release()

	tests := []struct {
		expr     string
		wantType string
		want     string // FormatValue of every row, joined by " | "
	}{
		{"d", "date32", "'2020-02-29' | '1970-01-01' | NULL | '2105-12-31' | '1969-12-31'"},
		{"toYYYYMM(d)", "uint32", "202002 | 197001 | NULL | 210512 | 196912"},
		{"toYYYYMMDD(d)", "uint32", "20200229 | 19700101 | NULL | 21051231 | 19691231"},
		{"toDate(d)", "date32", "'2020-02-29' | '1970-01-01' | NULL | '2105-12-31' | '1969-12-31'"},
		{"toStartOfMonth(d)", "date32", "'2020-02-01' | '1970-01-01' | NULL | '2105-12-01' | '1969-12-01'"},
		// 1970-01-01 is a Thursday; ClickHouse's Date wraps its Monday to day 65533.
		{"toMonday(d)", "date32", "'2020-02-24' | '2149-06-04' | NULL | '2105-12-28' | '1969-12-29'"},
		{"toYYYYMMDD(ny)", "uint32", "20210314 | 20210314 | 20211107 | 20211231 | 20220101"},
		{"toDate(ny)", "date32", "'2021-03-14' | '2021-03-14' | '2021-11-07' | '2021-12-31' | '2022-01-01'"},
		{"toYYYYMMDD(msk)", "uint32", "20110327 | 20110327 | 20141026 | 20141026 | 19700101"},
		{"toYYYYMMDD(ms)", "uint32", "19691231 | 19700101 | 19700101 | 19700102 | 20200301"},
		{"toDate(ms)", "date32", "'1970-01-01' | '1970-01-01' | '1970-01-01' | '1970-01-02' | '2020-03-01'"},
		{"toYYYYMMDD(fx)", "uint32", "19691231 | 19700101 | 19700101 | 19700102 | 19700101"},
		{"toStartOfMonth(msk)", "date32", "'2011-03-01' | '2011-03-01' | '2014-10-01' | '2014-10-01' | '1970-01-01'"},
		{"toMonday(toDate(ny))", "date32", "'2021-03-08' | '2021-03-08' | '2021-11-01' | '2021-12-27' | '2021-12-27'"},
		{"intDiv(i32, 2)", "int32", "-3 | 3 | 0 | 0 | -1073741824"},
		{"intDiv(i32, -3)", "int32", "2 | -2 | 0 | 0 | 715827882"},
		{"intDiv(i64, 1000000)", "int64", "0 | 0 | 0 | 0 | -9223372036854"},
		{"intDiv(u64, 1000)", "uint64", "18446744073709551 | 0 | 0 | 1 | 1"},
		// Current ClickHouse takes UInt64 as Int64 when N is signed.
		{"intDiv(u64, -3)", "int64", "0 | 0 | -333 | -333 | -333"},
		{"intDiv(i8, 2)", "int8", "-64 | 63 | 0 | 0 | 0"},
		// N = 200 is UInt8, as wide as Int8, so current ClickHouse divides by Int8(200) = -56.
		{"intDiv(i8, 200)", "int8", "2 | -2 | 0 | 0 | 0"},
		{"intDiv(u8, 2)", "uint8", "100 | 127 | 0 | 0 | 1"},
		{"intDiv(u8, -2)", "int8", "28 | 0 | 0 | 0 | -1"},
		{"intDiv(intDiv(i64, 2), 3)", "int64", "-1 | 1 | 0 | 0 | -1537228672809129301"},
		{"s", "utf8", "'a' | 'b' | 'c' | 'd' | 'e'"},
		{"'x\\'y'", "utf8", `'x\'y' | 'x\'y' | 'x\'y' | 'x\'y' | 'x\'y'`},
		{"300", "uint16", "300 | 300 | 300 | 300 | 300"},
		{"-5", "int8", "-5 | -5 | -5 | -5 | -5"},
		{"tuple(s, toYYYYMM(d))", "struct<1: utf8 nullable, 2: uint32 nullable>", "('a', 202002) | ('b', 197001) | ('c', NULL) | ('d', 210512) | ('e', 196912)"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := Parse(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			rt, err := e.ResultType(rec.Schema())
			if err != nil {
				t.Fatal(err)
			}
			if rt.String() != tt.wantType {
				t.Errorf("ResultType = %s, want %s", rt, tt.wantType)
			}
			got, err := e.Eval(rec, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			if !arrow.TypeEqual(got.DataType(), rt) {
				t.Errorf("Eval type %s differs from ResultType %s", got.DataType(), rt)
			}
			if got.Len() != int(rec.NumRows()) {
				t.Fatalf("Eval gave %d rows, want %d", got.Len(), rec.NumRows())
			}
			vals := make([]string, got.Len())
			for i := range vals {
				vals[i] = FormatValue(got, i)
			}
			if s := strings.Join(vals, " | "); s != tt.want {
				t.Errorf("values\n got %s\nwant %s", s, tt.want)
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fields := []arrow.Field{
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "bad", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "No/Such_Zone"}},
	}
	rec := testRecord(t, mem, fields, [][]any{
		{math.MinInt64 + 1, nil},
		{-128, 1},
		{"a", "b"},
		{int64(0), int64(1)},
	})
	defer rec.Release()
	tests := []struct {
		expr, want string
	}{
		{"toYYYYMM(s)", "want a date or timestamp"},
		{"intDiv(s, 2)", "want an integer"},
		{"toYYYYMM(missing)", "not found"},
		{"intDiv(i8, -1)", "minimal signed number"},
		{"toDate(bad)", "No/Such_Zone"},
		{"tuple()", "empty tuple"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := Parse(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Eval(rec, mem)
			if err == nil {
				got.Release()
				t.Fatalf("Eval succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Eval error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// A null row holding the minimal value does not fail the division.
	e, err := Parse("intDiv(i64, -1)")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Eval(rec, mem)
	if err != nil {
		t.Fatal(err)
	}
	got.Release()
}

// TestEvalSliced checks records whose columns start at an offset.
func TestEvalSliced(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fields := []arrow.Field{
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "Europe/Moscow"}, Nullable: true},
	}
	rec := testRecord(t, mem, fields, [][]any{
		{day(t, "2020-01-31"), nil, day(t, "2020-03-01"), day(t, "2021-01-01")},
		{int64(0), int64(1e9), nil, int64(2e9)},
	})
	defer rec.Release()
	sl := rec.NewSlice(1, 4)
	defer sl.Release()
	for _, tt := range []struct{ expr, want string }{
		{"toYYYYMM(d)", "NULL 202003 202101"},
		{"toYYYYMMDD(ts)", "20010909 NULL 20330518"},
	} {
		e, err := Parse(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Eval(sl, mem)
		if err != nil {
			t.Fatal(err)
		}
		var vals []string
		for i := 0; i < got.Len(); i++ {
			vals = append(vals, FormatValue(got, i))
		}
		got.Release()
		if s := strings.Join(vals, " "); s != tt.want {
			t.Errorf("%s = %s, want %s", tt.expr, s, tt.want)
		}
	}
}

func TestCalendar(t *testing.T) {
	// Every day from year -1000 to 3000 against the time package.
	start := time.Date(-1000, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := floorDiv(start.Unix(), secondsPerDay); d < 376000; d += 1 {
		tm := time.Unix(d*secondsPerDay, 0).UTC()
		y, m, dd := civil(d)
		if y != int64(tm.Year()) || m != int(tm.Month()) || dd != tm.Day() {
			t.Fatalf("civil(%d) = %d-%d-%d, want %s", d, y, m, dd, tm.Format("2006-01-02"))
		}
		if back := daysFromCivil(y, m, dd); back != d {
			t.Fatalf("daysFromCivil(%d-%d-%d) = %d, want %d", y, m, dd, back, d)
		}
	}
}

func BenchmarkToYYYYMM(b *testing.B) {
	mem := memory.NewGoAllocator()
	const n = 1 << 20
	for _, tc := range []struct {
		name string
		typ  arrow.DataType
	}{
		{"Date", arrow.FixedWidthTypes.Date32},
		{"DateTimeUTC", &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}},
		{"DateTimeMoscow", &arrow.TimestampType{Unit: arrow.Second, TimeZone: "Europe/Moscow"}},
		{"DateTimeNewYork", &arrow.TimestampType{Unit: arrow.Second, TimeZone: "America/New_York"}},
	} {
		bld := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{{Name: "x", Type: tc.typ}}, nil))
		for i := 0; i < n; i++ {
			switch fb := bld.Field(0).(type) {
			case *array.Date32Builder:
				fb.Append(arrow.Date32(18000 + i%400))
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(1_577_836_800 + int64(i)*30))
			}
		}
		rec := bld.NewRecord()
		bld.Release()
		e, _ := Parse("toYYYYMM(x)")
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(n)
			for i := 0; i < b.N; i++ {
				out, err := e.Eval(rec, mem)
				if err != nil {
					b.Fatal(err)
				}
				out.Release()
			}
		})
		rec.Release()
	}
}
