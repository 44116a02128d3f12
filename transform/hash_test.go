package transform

import (
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// shardingRecord is one row of every input kind, the values of the server
// query that produced the vectors in TestShardingFunctions.
func shardingRecord(t *testing.T, mem memory.Allocator) arrow.Record {
	t.Helper()
	b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
		{Name: "u8", Type: arrow.PrimitiveTypes.Uint8},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
		{Name: "fs", Type: &arrow.FixedSizeBinaryType{ByteWidth: 3}},
		{Name: "d32", Type: arrow.FixedWidthTypes.Date32, Metadata: arrow.NewMetadata([]string{ClickHouseTypeKey}, []string{"Date32"})},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32},
		{Name: "u64", Type: arrow.PrimitiveTypes.Uint64},
	}, nil))
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append("Hello, world!")
	b.Field(1).(*array.Int64Builder).Append(-5)
	b.Field(2).(*array.Uint8Builder).Append(200)
	b.Field(3).(*array.Int8Builder).Append(-1)
	b.Field(4).(*array.Date32Builder).Append(18000)
	b.Field(5).(*array.TimestampBuilder).Append(1600000000)
	b.Field(6).(*array.Float64Builder).Append(1.5)
	b.Field(7).(*array.Float32Builder).Append(1.5)
	b.Field(8).(*array.FixedSizeBinaryBuilder).Append([]byte("abc"))
	b.Field(9).(*array.Date32Builder).Append(-1)
	b.Field(10).(*array.Int32Builder).Append(math.MinInt32)
	b.Field(11).(*array.Uint64Builder).Append(math.MaxUint64)
	return b.NewRecord()
}

// TestShardingFunctions checks hashes and arithmetic against values
// ClickHouse 18.16 returned for the same row (javaHash and xxHash64, which
// 18.16 lacks, against Java's and xxHash's published values).
func TestShardingFunctions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := shardingRecord(t, mem)
	defer rec.Release()

	tests := []struct {
		expr, wantType, want string
	}{
		{"cityHash64(s)", "uint64", "2359500134450972198"},
		{"cityHash64(s, n)", "uint64", "15979969947668002080"},
		{"cityHash64(n)", "uint64", "13263830642547698461"},
		{"cityHash64(i8)", "uint64", "8055013221972926055"},
		{"cityHash64(u8, f32, f64)", "uint64", "570010598657697198"},
		{"cityHash64(d, ts)", "uint64", "13339968171553699990"},
		{"cityHash64(fs)", "uint64", "4220206313085259313"},
		{"cityHash64(tuple(s, n), u8)", "uint64", "17841552713449879366"},
		{"cityHash64((s, n), u8)", "uint64", "17841552713449879366"},
		{"sipHash64(s)", "uint64", "12560575472004092239"},
		{"sipHash64(s, n)", "uint64", "1259581678711304517"},
		{"sipHash64(n)", "uint64", "3332004721919032182"},
		{"sipHash64(d, s)", "uint64", "7750525583326721138"},
		{"sipHash64(ts)", "uint64", "2328646152544175927"},
		{"sipHash64(f32, f64)", "uint64", "13427840794136140149"},
		{"sipHash64(fs, i8)", "uint64", "6566716617921484529"},
		{"sipHash64('a')", "uint64", "10863254463029944905"},
		{"murmurHash3_64(s)", "uint64", "15952677324548579515"},
		{"murmurHash3_64(n)", "uint64", "11458736996174576511"},
		{"murmurHash3_64(s, d, ts)", "uint64", "6837489211730237613"},
		{"murmurHash3_64(f64)", "uint64", "7510990209515860999"},
		{"murmurHash3_64('a')", "uint64", "7196874446409822675"},
		{"intHash32(n)", "uint32", "2590892250"},
		{"intHash32(u8)", "uint32", "1366871696"},
		{"intHash32(d)", "uint32", "4110865784"},
		{"intHash64(n)", "uint64", "13263830642547698461"},
		{"intHash64(i8)", "uint64", "14600443904207254319"},
		{"intHash64(ts)", "uint64", "15893914571752069892"},
		// XXH64 of the empty string with seed 0 (xxHash's reference value).
		{"xxHash64('')", "uint64", "17241709254077376921"},
		{"xxHash64('a')", "uint64", "15154266338359012955"},
		{"javaHash('hello')", "int32", "99162322"},
		{"javaHash(s)", "int32", "-1880044555"},
		{"javaHash(i8)", "int32", "-1"},
		{"javaHash(i32)", "int32", "-2147483648"},
		// Java's Long.hashCode(-5) = (int)(-5 ^ (-5 >>> 32)) = 4.
		{"javaHash(n)", "int32", "4"},
		{"javaHash(d32)", "int32", "-1"},
		{"n + u8", "int64", "195"},
		{"n - u8", "int64", "-205"},
		{"u8 * u8", "uint16", "40000"},
		{"n % 7", "int16", "-5"},
		{"n % -3", "int16", "-2"},
		{"u8 % 7", "uint8", "4"},
		{"n % 7 + 3", "int32", "-2"},
		{"abs(n)", "uint64", "5"},
		{"abs(i8)", "uint8", "1"},
		{"abs(i32)", "uint32", "2147483648"},
		{"negate(u8)", "int16", "-200"},
		{"-n", "int64", "5"},
		{"i8 * n", "int64", "5"},
		{"f64 + n", "float64", "-3.5"},
		{"f32 * f32", "float64", "2.25"},
		{"u64 + 1", "uint64", "0"},
		{"u64 * u8", "uint64", "18446744073709551416"},
		{"i32 - 1", "int64", "-2147483649"},
		// C++ converts Int32 -2147483648 to UInt32 2147483648 for % UInt32
		// (ClickHouse 18.16 then wraps it into its Int32 result type).
		{"i32 % 4294967295", "int64", "2147483648"},
		{"i32 % 7", "int16", "-2"},
		// UInt64 % Int8(-3) is computed as UInt64 % 18446744073709551613.
		{"u64 % -3", "uint8", "2"},
		{"i8 % 200", "int16", "-1"},
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
			if v := FormatValue(got, 0); v != tt.want {
				t.Errorf("got %s, want %s", v, tt.want)
			}
		})
	}
}

func TestShardingFunctionErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := shardingRecord(t, mem)
	defer rec.Release()
	tests := []struct{ expr, want string }{
		{"rand()", "assigns rows to shards itself"},
		{"javaHash(u8)", "javaHash of unsigned type UInt8"},
		{"javaHash(d)", "javaHash of unsigned type Date"},
		{"intHash64(s)", "want an integer, date or datetime"},
		{"intHash32(f64)", "want an integer, date or datetime"},
		{"n % 0", "division by zero (row 0)"},
		{"i32 % -1", "division of minimal signed number -2147483648 by minus one"},
		{"f64 % 2", "modulo of floating-point numbers is not supported"},
		{"s + 1", "want a number"},
		{"abs(s)", "want a number"},
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
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Eval(%s) error = %v, want it to contain %q", tt.expr, err, tt.want)
			}
		})
	}
}

func TestIsRand(t *testing.T) {
	for _, tt := range []struct {
		expr string
		want bool
	}{
		{"rand()", true}, {"rand(1)", true}, {"rand(a, b)", true},
		{"rand() % 2", false}, {"cityHash64(rand)", false}, {"rand", false},
	} {
		e, err := Parse(tt.expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.expr, err)
		}
		if got := e.IsRand(); got != tt.want {
			t.Errorf("Parse(%q).IsRand() = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func TestHashNulls(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := testRecord(t, mem, []arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	}, [][]any{{1, nil, 3, 4}, {"x", "y", nil, "z"}})
	defer rec.Release()
	tests := []struct{ expr, nulls string }{
		{"cityHash64(a, s)", "0110"},
		{"sipHash64(s, a)", "0110"},
		{"javaHash(s)", "0010"},
		{"a % 3 + a", "0100"},
		{"abs(a)", "0100"},
		{"intHash32(a)", "0100"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Eval(rec, mem)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i := 0; i < got.Len(); i++ {
			if got.IsNull(i) {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		}
		got.Release()
		if b.String() != tt.nulls {
			t.Errorf("%s: null rows %s, want %s", tt.expr, b.String(), tt.nulls)
		}
	}
}

func TestShardKeyUint64(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := testRecord(t, mem, []arrow.Field{
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64},
		{Name: "u8", Type: arrow.PrimitiveTypes.Uint8},
		{Name: "u64", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "s", Type: arrow.BinaryTypes.String},
	}, [][]any{{-1, 5}, {-1, 5}, {-1, 5}, {255, 5}, {uint64(math.MaxUint64), uint64(5)}, {"a", "b"}})
	defer rec.Release()
	tests := []struct {
		col  int
		want []uint64
	}{
		{0, []uint64{math.MaxUint32, 5}},
		{1, []uint64{math.MaxUint32, 5}},
		{2, []uint64{math.MaxUint64, 5}},
		{3, []uint64{255, 5}},
		{4, []uint64{math.MaxUint64, 5}},
	}
	for _, tt := range tests {
		got, err := ShardKeyUint64(rec.Column(tt.col))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != tt.want[0] || got[1] != tt.want[1] {
			t.Errorf("column %s: got %v, want %v", rec.ColumnName(tt.col), got, tt.want)
		}
	}
	if _, err := ShardKeyUint64(rec.Column(5)); err == nil || !strings.Contains(err.Error(), "requires an integer sharding key") {
		t.Errorf("string key: error %v", err)
	}
	nulls := testRecord(t, mem, []arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, [][]any{{1, nil}})
	defer nulls.Release()
	if _, err := ShardKeyUint64(nulls.Column(0)); err == nil || !strings.Contains(err.Error(), "NULL in row 1") {
		t.Errorf("null key: error %v", err)
	}
}

func TestShardingFunctionsEmpty(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	full := shardingRecord(t, mem)
	defer full.Release()
	rec := full.NewSlice(0, 0)
	defer rec.Release()
	for _, text := range []string{"cityHash64(s, n, d32)", "sipHash64(d32, fs)", "javaHash(d32)", "intHash32(n) % 3", "abs(n) - u8"} {
		e, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Eval(rec, mem)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if got.Len() != 0 {
			t.Errorf("%s: %d rows, want 0", text, got.Len())
		}
		got.Release()
	}
}
