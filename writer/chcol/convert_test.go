package chcol

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// arrayOf builds an array from Arrow's JSON form.
func arrayOf(t testing.TB, mem memory.Allocator, dt arrow.DataType, js string) arrow.Array {
	t.Helper()
	a, _, err := array.FromJSON(mem, dt, strings.NewReader(js))
	if err != nil {
		t.Fatalf("build %s from %s: %v", dt, js, err)
	}
	return a
}

// binaryOf builds a Binary, String or FixedSizeBinary array; nil entries are nulls.
func binaryOf(mem memory.Allocator, dt arrow.DataType, vals ...*string) arrow.Array {
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	for _, v := range vals {
		switch {
		case v == nil:
			b.AppendNull()
		default:
			switch bb := b.(type) {
			case *array.FixedSizeBinaryBuilder:
				bb.Append([]byte(*v))
			case interface{ AppendString(string) }:
				bb.AppendString(*v)
			default:
				panic("binaryOf: unsupported type " + dt.String())
			}
		}
	}
	return b.NewArray()
}

func str(s string) *string { return &s }

var (
	tsS   = &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}
	tsMs  = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	tsNs  = &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	tsSK  = &arrow.TimestampType{Unit: arrow.Second, TimeZone: "Asia/Kolkata"}
	naive = &arrow.TimestampType{Unit: arrow.Second}
	fsb16 = &arrow.FixedSizeBinaryType{ByteWidth: 16}
)

type convCase struct {
	name     string
	target   string
	tz       string // server zone; "" means UTC
	src      func(memory.Allocator) arrow.Array
	want     func(memory.Allocator) arrow.Array // nil when an error is expected
	same     bool                               // the source itself must come back
	errRow   int
	errText  string // the full Error() text, or a part of it when partial is set
	partial  bool
	buildErr string // NewConverter must fail with this text
}

// zoneless matches a JSON timestamp without a zone, which arrow-go v18
// refuses for a zoned timestamp type.
var zoneless = regexp.MustCompile(`"(\d{4}-\d\d-\d\dT[0-9:.]+)"`)

func js(dt arrow.DataType, s string) func(memory.Allocator) arrow.Array {
	if ts, ok := dt.(*arrow.TimestampType); ok && ts.TimeZone != "" {
		s = zoneless.ReplaceAllString(s, `"${1}Z"`)
	}
	return func(mem memory.Allocator) arrow.Array {
		a, _, err := array.FromJSON(mem, dt, strings.NewReader(s))
		if err != nil {
			panic(err)
		}
		return a
	}
}

func bin(dt arrow.DataType, vals ...*string) func(memory.Allocator) arrow.Array {
	return func(mem memory.Allocator) arrow.Array { return binaryOf(mem, dt, vals...) }
}

func int64s(vals ...int64) func(memory.Allocator) arrow.Array {
	return func(mem memory.Allocator) arrow.Array {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.AppendValues(vals, nil)
		return b.NewArray()
	}
}

func uint64s(vals ...uint64) func(memory.Allocator) arrow.Array {
	return func(mem memory.Allocator) arrow.Array {
		b := array.NewUint64Builder(mem)
		defer b.Release()
		b.AppendValues(vals, nil)
		return b.NewArray()
	}
}

func decimals(p, s int32, vals ...int64) func(memory.Allocator) arrow.Array {
	return func(mem memory.Allocator) arrow.Array {
		b := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: p, Scale: s})
		defer b.Release()
		for _, v := range vals {
			b.Append(decimal128.FromI64(v))
		}
		return b.NewArray()
	}
}

var i64, i32, i8, u64, f64, f32 = arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int8,
	arrow.PrimitiveTypes.Uint64, arrow.PrimitiveTypes.Float64, arrow.PrimitiveTypes.Float32

var convCases = []convCase{
	// integers
	{name: "int32 as is", target: "Nullable(Int32)", src: js(i32, `[1, null, 3]`), same: true},
	{name: "int64 to UInt8", target: "UInt8", src: js(i64, `[0, 255, 7]`), want: js(arrow.PrimitiveTypes.Uint8, `[0, 255, 7]`)},
	{name: "int64 too big for UInt8", target: "UInt8", src: js(i64, `[1, 300]`), errRow: 1,
		errText: "value 300 does not fit UInt8 (range 0..255): fix the data or widen the column"},
	{name: "negative to UInt64", target: "UInt64", src: js(i8, `[-1]`), errText: "value -1 does not fit UInt64 (range 0..18446744073709551615)", partial: true},
	{name: "uint64 max to Int64", target: "Int64", src: uint64s(18446744073709551615), errText: "value 18446744073709551615 does not fit Int64", partial: true},
	{name: "null into Int32", target: "Int32", src: js(i32, `[1, null]`), errRow: 1,
		errText: "NULL into non-Nullable column Int32: make the column Nullable(Int32), set source.null_as_default: true to store the column's default instead, or fill the value in the source"},
	{name: "null into LowCardinality", target: "LowCardinality(String)", src: bin(arrow.BinaryTypes.String, nil), errText: "make the column LowCardinality(Nullable(String))", partial: true},
	{name: "float to Int32", target: "Int32", src: js(f64, `[1.0, -3, 2.5]`), errRow: 2,
		errText: "value 2.5 is not a whole number, so it cannot go into Int32 without rounding: round it in the data or make the column Float64 or a Decimal"},
	{name: "whole floats to Int16", target: "Int16", src: js(f64, `[1.0, -32768, 32767]`), want: js(arrow.PrimitiveTypes.Int16, `[1, -32768, 32767]`)},
	{name: "float too big", target: "Int64", src: js(f64, `[9223372036854775808]`), errText: "value 9.223372036854776e+18 does not fit Int64", partial: true},
	{name: "float 2^63 into UInt64", target: "UInt64", src: js(f64, `[9223372036854775808]`), want: uint64s(9223372036854775808)},
	{name: "nan to int", target: "Int64", src: js(f32, `["NaN"]`), errText: "value NaN is not a whole number", partial: true},
	{name: "bool to UInt8", target: "UInt8", src: js(arrow.FixedWidthTypes.Boolean, `[true, false, null]`), errRow: 2, errText: "NULL into", partial: true},
	{name: "bool to Nullable(UInt8)", target: "Nullable(UInt8)", src: js(arrow.FixedWidthTypes.Boolean, `[true, false, null]`), want: js(arrow.PrimitiveTypes.Uint8, `[1, 0, null]`)},
	{name: "decimal to Int16", target: "Int16", src: decimals(10, 2, 1200, -300), want: js(arrow.PrimitiveTypes.Int16, `[12, -3]`)},
	{name: "decimal with fraction to Int16", target: "Int16", src: decimals(10, 2, 1250), errText: "value 12.50 has a fractional part", partial: true},
	{name: "decimal too big for Int8", target: "Int8", src: decimals(10, 0, 128), errText: "value 128 does not fit Int8 (range -128..127)", partial: true},
	{name: "text to Int32", target: "Int32", src: bin(arrow.BinaryTypes.String, str("42"), str("-7"), str("+3")), want: js(i32, `[42, -7, 3]`)},
	{name: "bad text to Int32", target: "Int32", src: bin(arrow.BinaryTypes.String, str("4x")),
		errText: `value "4x" is not an integer, so it cannot go into Int32: fix the data or make the column String`},
	{name: "negative text to UInt8", target: "UInt8", src: bin(arrow.BinaryTypes.String, str("-1")), errText: `value "-1" does not fit UInt8`, partial: true},
	{name: "huge text to UInt64", target: "UInt64", src: bin(arrow.BinaryTypes.Binary, str("18446744073709551616")), errText: "does not fit UInt64", partial: true},
	{name: "min int64 text", target: "Int64", src: bin(arrow.BinaryTypes.LargeString, str("-9223372036854775808")), want: int64s(-9223372036854775808)},

	// floats
	{name: "int64 exact to Float64", target: "Float64", src: int64s(9007199254740992, -5), want: js(f64, `[9007199254740992, -5]`)},
	{name: "int64 inexact to Float64", target: "Float64", src: int64s(9007199254740993),
		errText: "value 9007199254740993 cannot be represented exactly as Float64: make the column Float64, Int64 or a Decimal, or round it in the data"},
	{name: "int32 inexact to Float32", target: "Float32", src: js(i32, `[16777217]`), errText: "cannot be represented exactly as Float32", partial: true},
	{name: "uint64 max to Float64", target: "Float64", src: uint64s(18446744073709551615), errText: "cannot be represented exactly", partial: true},
	{name: "float64 to Float32 rounds", target: "Float32", src: js(f64, `[0.1, 3.4e38, "-Inf"]`), want: js(f32, `[0.1, 3.4e38, "-Inf"]`)},
	{name: "float64 beyond Float32", target: "Float32", src: js(f64, `[1, 1e39]`), errRow: 1,
		errText: "value 1e+39 is beyond the range of Float32: make the column Float64"},
	{name: "float32 to Float64", target: "Float64", src: js(f32, `[0.5]`), want: js(f64, `[0.5]`)},
	{name: "text to Float64", target: "Float64", src: bin(arrow.BinaryTypes.String, str("1.5"), str("-2e3")), want: js(f64, `[1.5, -2000]`)},
	{name: "bad text to Float64", target: "Float64", src: bin(arrow.BinaryTypes.String, str("one")), errText: "is not a number", partial: true},
	{name: "decimal to Float64", target: "Float64", src: decimals(5, 2, 125), want: js(f64, `[1.25]`)},

	// decimals
	{name: "decimal rescaled up", target: "Decimal(18, 4)", src: decimals(10, 2, 125, -1), want: decimals(18, 4, 12500, -100)},
	{name: "decimal as is", target: "Decimal(10, 2)", src: decimals(10, 2, 125), same: true},
	{name: "decimal over its precision", target: "Decimal(3, 1)", src: decimals(3, 1, 999, 1234), errRow: 1,
		errText: "value 123.4 has more digits than Decimal(3, 1) holds (at most 2 before the point): fix the data or widen the column's precision"},
	{name: "decimal rescaled down exactly", target: "Decimal(9, 2)", src: decimals(10, 4, 12500, -100), want: decimals(9, 2, 125, -1)},
	{name: "decimal losing digits", target: "Decimal(9, 2)", src: decimals(10, 4, 12500, 12345), errRow: 1,
		errText: "value 1.2345 has more than 2 digits after the point, which Decimal(9, 2) cannot hold: round it in the data or raise the column's scale"},
	{name: "decimal too wide", target: "Decimal(9, 0)", src: decimals(20, 0, 12345678901), errText: "has more digits than Decimal(9, 0) holds", partial: true},
	{name: "ints to decimal", target: "Decimal(9, 2)", src: js(i64, `[123, -5]`), want: decimals(9, 2, 12300, -500)},
	{name: "int too big for decimal", target: "Decimal(9, 2)", src: js(i32, `[10000000]`), errText: "value 10000000 has more digits than Decimal(9, 2) holds (at most 7 before the point)", partial: true},
	{name: "floats to decimal", target: "Decimal(9, 2)", src: js(f64, `[0.1, 2.5, -1e2]`), want: decimals(9, 2, 10, 250, -10000)},
	{name: "float32 to decimal", target: "Decimal(9, 2)", src: js(f32, `[0.1]`), want: decimals(9, 2, 10)},
	{name: "float too precise for decimal", target: "Decimal(9, 2)", src: js(f64, `[1e-7]`), errText: "value 1e-07 has more than 2 digits after the point", partial: true},
	{name: "nan to decimal", target: "Decimal(9, 2)", src: js(f64, `["NaN"]`), errText: "value NaN is not a finite number", partial: true},
	{name: "text to decimal", target: "Nullable(Decimal(9, 2))", src: bin(arrow.BinaryTypes.String, str("1.5"), str("-0.25"), str("1e2"), str(".5"), nil, str("0.10000")),
		want: func(mem memory.Allocator) arrow.Array {
			b := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 9, Scale: 2})
			defer b.Release()
			for _, v := range []int64{150, -25, 10000, 50} {
				b.Append(decimal128.FromI64(v))
			}
			b.AppendNull()
			b.Append(decimal128.FromI64(10))
			return b.NewArray()
		}},
	{name: "bad text to decimal", target: "Decimal(9, 2)", src: bin(arrow.BinaryTypes.String, str("1.2.3")), errText: `value "1.2.3" is not a decimal number`, partial: true},
	{name: "long text to Decimal128", target: "Decimal(38, 0)", src: bin(arrow.BinaryTypes.String, str(strings.Repeat("9", 39))), errText: "has more digits", partial: true},

	// strings
	{name: "string as is", target: "Nullable(String)", src: bin(arrow.BinaryTypes.String, str("a"), nil), same: true},
	{name: "binary to String", target: "String", src: bin(arrow.BinaryTypes.Binary, str("a"), str("\xff")), want: bin(arrow.BinaryTypes.String, str("a"), str("\xff"))},
	{name: "large string to String", target: "Nullable(String)", src: bin(arrow.BinaryTypes.LargeString, str("a"), nil, str("bc")), want: bin(arrow.BinaryTypes.String, str("a"), nil, str("bc"))},
	{name: "dictionary to String", target: "LowCardinality(String)", src: func(mem memory.Allocator) arrow.Array {
		dict := binaryOf(mem, arrow.BinaryTypes.String, str("x"), str("y"))
		defer dict.Release()
		idx := js(i8, `[1, 0, 1]`)(mem)
		defer idx.Release()
		return array.NewDictionaryArray(&arrow.DictionaryType{IndexType: i8, ValueType: arrow.BinaryTypes.String}, idx, dict)
	}, want: bin(arrow.BinaryTypes.String, str("y"), str("x"), str("y"))},
	{name: "int to String", target: "String", src: js(i32, `[1]`), buildErr: "cannot load Arrow type int32 into column type String: change the column type to one that takes int32, or change the source column's type in the data"},
	{name: "text to FixedString", target: "FixedString(3)", src: bin(arrow.BinaryTypes.String, str("ab"), str("abc")), want: bin(&arrow.FixedSizeBinaryType{ByteWidth: 3}, str("ab\x00"), str("abc"))},
	{name: "long text to FixedString", target: "FixedString(3)", src: bin(arrow.BinaryTypes.String, str("ab"), str("abcd")), errRow: 1,
		errText: `value "abcd" is 4 bytes long, longer than FixedString(3): shorten it in the data or widen the column`},
	{name: "narrow fixed to FixedString", target: "FixedString(3)", src: bin(&arrow.FixedSizeBinaryType{ByteWidth: 2}, str("ab"), nil), errRow: 1, errText: "NULL into", partial: true},
	{name: "narrow fixed to Nullable(FixedString)", target: "Nullable(FixedString(3))", src: bin(&arrow.FixedSizeBinaryType{ByteWidth: 2}, str("ab"), nil), want: bin(&arrow.FixedSizeBinaryType{ByteWidth: 3}, str("ab\x00"), nil)},

	// UUID, enums, Bool, IPs
	{name: "text to UUID", target: "UUID", src: bin(arrow.BinaryTypes.String, str("123e4567-E89B-12d3-a456-426614174000")),
		want: bin(fsb16, str("\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00"))},
	{name: "bad text to UUID", target: "UUID", src: bin(arrow.BinaryTypes.String, str("123e4567e89b12d3a456426614174000")), errText: "is not a UUID (expected 36 characters", partial: true},
	{name: "bytes to UUID", target: "UUID", src: bin(arrow.BinaryTypes.Binary, str("0123456789abcdef")), want: bin(fsb16, str("0123456789abcdef"))},
	{name: "fixed to UUID", target: "UUID", src: bin(fsb16, str("0123456789abcdef")), same: true},
	{name: "names to Enum8", target: "Enum8('a' = 1, 'b' = -2)", src: bin(arrow.BinaryTypes.String, str("a"), str("b")), want: js(i8, `[1, -2]`)},
	{name: "unknown name", target: "Enum8('a' = 1, 'b' = -2)", src: bin(arrow.BinaryTypes.String, str("a"), str("c")), errRow: 1,
		errText: `value "c" is not a value of Enum8('a' = 1, 'b' = -2): add the value to the enum or fix the data`},
	{name: "codes to Enum16", target: "Enum16('a' = 1, 'b' = 1000)", src: js(i64, `[1000, 1]`), want: js(arrow.PrimitiveTypes.Int16, `[1000, 1]`)},
	{name: "unknown code", target: "Enum8('a' = 1, 'b' = -2)", src: js(i64, `[1, 3]`), errRow: 1, errText: "value 3 is not a value of", partial: true},
	{name: "code out of Enum8", target: "Enum8('a' = 1)", src: js(i64, `[1000]`), errText: "value 1000 is not a value of", partial: true},
	{name: "Enum8 codes checked", target: "Enum8('a' = 1, 'b' = -2)", src: js(i8, `[1, -2]`), same: true},
	{name: "Enum8 bad code", target: "Enum8('a' = 1, 'b' = -2)", src: js(i8, `[1, 5]`), errRow: 1, errText: "value 5 is not a value of", partial: true},
	{name: "ints to Bool", target: "Bool", src: js(i32, `[0, 1]`), want: js(arrow.FixedWidthTypes.Boolean, `[false, true]`)},
	{name: "2 to Bool", target: "Bool", src: js(i32, `[0, 2]`), errRow: 1, errText: "value 2 is neither 0 nor 1, so it is not a Bool", partial: true},

	// dates
	{name: "Date32 to Date", target: "Date", src: js(arrow.FixedWidthTypes.Date32, `["1970-01-01", "2149-06-06"]`), same: true},
	{name: "Date32 before Date", target: "Date", src: js(arrow.FixedWidthTypes.Date32, `["1969-12-31"]`),
		errText: "value 1969-12-31 is outside the range of Date (1970-01-01..2149-06-06): fix the data or make the column Date32"},
	{name: "Date32 to Date32", target: "Date32", src: js(arrow.FixedWidthTypes.Date32, `["1900-01-01", "2299-12-31"]`), same: true},
	{name: "Date32 beyond Date32", target: "Date32", src: js(arrow.FixedWidthTypes.Date32, `["2300-01-01"]`), errText: "outside the range of Date32", partial: true},
	{name: "text to Date", target: "Date", src: bin(arrow.BinaryTypes.String, str("2024-02-29")), want: js(arrow.FixedWidthTypes.Date32, `["2024-02-29"]`)},
	{name: "bad text to Date", target: "Date", src: bin(arrow.BinaryTypes.String, str("2023-02-29")), errText: `value "2023-02-29" is not a date in the form YYYY-MM-DD`, partial: true},
	{name: "midnight to Date", target: "Date", src: js(tsMs, `["2024-01-02T00:00:00"]`), want: js(arrow.FixedWidthTypes.Date32, `["2024-01-02"]`)},
	{name: "not midnight to Date", target: "Date", src: js(tsMs, `["2024-01-02T00:00:00.001"]`),
		errText: "value 2024-01-02 00:00:00.001 UTC is not midnight in UTC, so it is not a whole day: truncate it to the day in the data or make the column DateTime"},
	{name: "Kolkata midnight to Date", target: "Date", tz: "Asia/Kolkata", src: js(tsS, `["2024-01-01T18:30:00"]`), want: js(arrow.FixedWidthTypes.Date32, `["2024-01-02"]`)},
	{name: "Date64 to Date", target: "Date", src: js(arrow.FixedWidthTypes.Date64, `[86400000]`), want: js(arrow.FixedWidthTypes.Date32, `[1]`)},

	// DateTime and DateTime64
	{name: "seconds as is", target: "DateTime", src: js(tsS, `["2024-01-01T00:00:00", null]`), errRow: 1, errText: "NULL into", partial: true},
	{name: "seconds as is, nullable", target: "Nullable(DateTime)", src: js(tsS, `["2024-01-01T00:00:00", null]`), same: true},
	{name: "seconds retagged", target: "DateTime('Asia/Kolkata')", src: js(tsS, `[1700000000]`), want: js(tsSK, `[1700000000]`)},
	{name: "millis to DateTime", target: "DateTime", src: js(tsMs, `[1700000000000]`), want: js(tsS, `[1700000000]`)},
	{name: "millis with fraction", target: "DateTime", src: js(tsMs, `[1700000000500]`),
		errText: "value 2023-11-14 22:13:20.5 UTC has a finer fraction of a second than DateTime holds: truncate it in the data or make the column DateTime64(3)"},
	{name: "nanos to DateTime", target: "DateTime", src: js(tsNs, `[1700000000000000000]`), want: js(tsS, `[1700000000]`)},
	{name: "before 1970", target: "DateTime", src: js(tsS, `[-1]`),
		errText: "value 1969-12-31 23:59:59 UTC is outside the range of DateTime (1970-01-01 00:00:00..2106-02-07 06:28:15 UTC): fix the data or make the column DateTime64"},
	{name: "after 2106", target: "DateTime", src: js(tsMs, `[4294967296000]`), errText: "outside the range of DateTime", partial: true},
	{name: "naive in Kolkata", target: "DateTime('Asia/Kolkata')", src: js(naive, `["2024-01-01T10:00:00"]`), want: js(tsSK, `[1704083400]`)},
	{name: "date at Kolkata midnight", target: "DateTime('Asia/Kolkata')", src: js(arrow.FixedWidthTypes.Date32, `["2024-01-01"]`), want: js(tsSK, `[1704047400]`)},
	{name: "unix seconds", target: "DateTime", src: js(i64, `[0, 1700000000]`), want: js(tsS, `[0, 1700000000]`)},
	{name: "negative unix seconds", target: "DateTime", src: js(i64, `[-1]`), errText: "value -1 is outside the range of DateTime", partial: true},
	{name: "text in Kolkata", target: "DateTime('Asia/Kolkata')", src: bin(arrow.BinaryTypes.String, str("2024-01-01 10:00:00")), want: js(tsSK, `[1704083400]`)},
	{name: "text with fraction", target: "DateTime", src: bin(arrow.BinaryTypes.String, str("2024-01-01 10:00:00.5")), errText: "finer fraction", partial: true},
	{name: "bad text", target: "DateTime", src: bin(arrow.BinaryTypes.String, str("yesterday")), errText: `value "yesterday" is not a date and time in the form YYYY-MM-DD hh:mm:ss`, partial: true},
	{name: "nanos to DateTime64(3)", target: "DateTime64(3)", src: js(tsNs, `["2023-11-14T22:13:20.123"]`), want: js(tsMs, `[1700000000123]`)},
	{name: "nanos too fine for DateTime64(3)", target: "DateTime64(3)", src: js(tsNs, `["2023-11-14T22:13:20.1234"]`), errText: "raise the column's precision", partial: true},
	{name: "text to DateTime64(3)", target: "DateTime64(3, 'UTC')", src: bin(arrow.BinaryTypes.String, str("2023-11-14 22:13:20.123")), want: js(tsMs, `[1700000000123]`)},
	{name: "before 1900", target: "DateTime64(0)", src: js(tsS, `["1899-12-31T23:59:59"]`), errText: "outside the range of DateTime64(0) (1900-01-01 00:00:00..2262-04-11 23:47:16 UTC)", partial: true},
	{name: "DateTime64(2)", target: "DateTime64(2)", src: js(tsS, `[1]`), buildErr: "not supported yet"},
	{name: "float to Date", target: "Date", src: js(f64, `[1]`), buildErr: "cannot load Arrow type float64 into column type Date"},

	// arrays and maps
	{name: "list to Array(UInt8)", target: "Array(UInt8)", src: js(arrow.ListOf(i64), `[[1, 2], [], [3]]`), want: js(arrow.ListOf(arrow.PrimitiveTypes.Uint8), `[[1, 2], [], [3]]`)},
	{name: "list element too big", target: "Array(UInt8)", src: js(arrow.ListOf(i64), `[[1, 2], [], [4, 300]]`), errRow: 2,
		errText: "value 300 at array position 2 does not fit UInt8 (range 0..255): fix the data or widen the column"},
	{name: "list as is", target: "Array(Int32)", src: js(arrow.ListOf(i32), `[[1, 2], [3]]`), same: true},
	{name: "null list element", target: "Array(Int32)", src: js(arrow.ListOf(i32), `[[1], [1, null]]`), errRow: 1,
		errText: "NULL at array position 2 into non-Nullable Int32: make the column Array(Nullable(Int32)) or fill the value in the source"},
	{name: "null list", target: "Array(String)", src: js(arrow.ListOf(arrow.BinaryTypes.String), `[["a"], null]`), errRow: 1,
		errText: "NULL into non-Nullable column Array(String): fill the value in the source (an empty list will do); ClickHouse Array columns cannot be Nullable"},
	{name: "large list to Array(Nullable(String))", target: "Array(Nullable(String))", src: js(arrow.LargeListOf(arrow.BinaryTypes.LargeString), `[["a", null], ["c"]]`),
		want: js(arrow.ListOf(arrow.BinaryTypes.String), `[["a", null], ["c"]]`)},
	{name: "nested arrays", target: "Array(Array(Int16))", src: js(arrow.ListOf(arrow.ListOf(i64)), `[[[1], [2, 3]], [[]]]`),
		want: js(arrow.ListOf(arrow.ListOf(arrow.PrimitiveTypes.Int16)), `[[[1], [2, 3]], [[]]]`)},
	{name: "nested array error", target: "Array(Array(Int8))", src: js(arrow.ListOf(arrow.ListOf(i64)), `[[[1]], [[2], [3, 1000]]]`), errRow: 1,
		errText: "value 1000 at array position 2 at array position 2 does not fit Int8", partial: true},
	{name: "map", target: "Map(String, UInt8)", src: js(arrow.MapOf(arrow.BinaryTypes.String, i64), `[[{"key": "a", "value": 1}], [], [{"key": "b", "value": 2}, {"key": "c", "value": 3}]]`),
		want: js(arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Uint8), `[[{"key": "a", "value": 1}], [], [{"key": "b", "value": 2}, {"key": "c", "value": 3}]]`)},
	{name: "map value too big", target: "Map(String, UInt8)", src: js(arrow.MapOf(arrow.BinaryTypes.String, i64), `[[{"key": "a", "value": 1}], [{"key": "b", "value": 2}, {"key": "c", "value": 300}]]`), errRow: 1,
		errText: "value 300 at value of map entry 2 does not fit UInt8", partial: true},
	{name: "map null value", target: "Map(String, UInt8)", src: js(arrow.MapOf(arrow.BinaryTypes.String, i64), `[[{"key": "a", "value": null}]]`),
		errText: "NULL at value of map entry 1 into non-Nullable UInt8: make the column Map(String, Nullable(UInt8)) or fill the value in the source"},

	// all-null arrays
	{name: "nulls to Nullable", target: "Nullable(Int32)", src: func(mem memory.Allocator) arrow.Array { return array.NewNull(2) }, want: js(i32, `[null, null]`)},
	{name: "nulls to Int32", target: "Int32", src: func(mem memory.Allocator) arrow.Array { return array.NewNull(2) }, errText: "NULL into non-Nullable column Int32", partial: true},
}

func TestConvert(t *testing.T) {
	for _, tt := range convCases {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			runConvCase(t, mem, tt)
		})
	}
}

func runConvCase(t *testing.T, mem memory.Allocator, tt convCase) {
	typ, err := ParseType(tt.target)
	if err != nil {
		t.Fatal(err)
	}
	src := tt.src(mem)
	defer src.Release()
	tz := tt.tz
	if tz == "" {
		tz = "UTC"
	}
	c, err := NewConverter(typ, tz, src.DataType())
	if tt.buildErr != "" {
		if err == nil || !strings.Contains(err.Error(), tt.buildErr) {
			t.Fatalf("NewConverter error %v, want %q", err, tt.buildErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("NewConverter: %v", err)
	}
	got, err := c.Convert(src, mem)
	if tt.errText != "" {
		if err == nil {
			got.Release()
			t.Fatalf("Convert succeeded, want error %q", tt.errText)
		}
		var ve *ValueError
		if !errors.As(err, &ve) {
			t.Fatalf("error %v is not a *ValueError", err)
		}
		if ve.Row != tt.errRow {
			t.Errorf("error row %d, want %d (%v)", ve.Row, tt.errRow, err)
		}
		if tt.partial && !strings.Contains(err.Error(), tt.errText) || !tt.partial && err.Error() != tt.errText {
			t.Errorf("error\n %q\nwant\n %q", err, tt.errText)
		}
		return
	}
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	defer got.Release()
	want, _ := typ.Arrow(tz)
	if !arrow.TypeEqual(got.DataType(), want) {
		t.Errorf("result type %s, want canonical %s", got.DataType(), want)
	}
	if !arrow.TypeEqual(c.Type(), want) {
		t.Errorf("Converter.Type() %s, want %s", c.Type(), want)
	}
	if tt.same {
		if got != src {
			t.Errorf("got a new array, want the source returned as is")
		}
		return
	}
	w := tt.want(mem)
	defer w.Release()
	if !array.Equal(got, w) {
		t.Errorf("got %v\nwant %v", got, w)
	}
}

// TestConvertSliced converts arrays that are slices of larger ones: offsets into the
// buffers, validity bitmaps at a bit offset and rows of errors relative to the slice.
func TestConvertSliced(t *testing.T) {
	tests := []struct {
		name, target string
		src          func(memory.Allocator) arrow.Array
		want         func(memory.Allocator) arrow.Array
		errRow       int
	}{
		{name: "ints", target: "Nullable(UInt8)", src: js(i64, `[1000, 1, null, 3, 1000]`), want: js(arrow.PrimitiveTypes.Uint8, `[1, null, 3]`)},
		{name: "ints error", target: "Nullable(UInt8)", src: js(i64, `[1000, 1, null, 1000, 5]`), errRow: 2},
		{name: "strings", target: "Nullable(String)", src: bin(arrow.BinaryTypes.LargeString, str("x"), str("a"), nil, str("bc"), str("y")), want: bin(arrow.BinaryTypes.String, str("a"), nil, str("bc"))},
		{name: "lists", target: "Array(UInt8)", src: js(arrow.ListOf(i64), `[[1000], [1], [], [2, 3], [1000]]`), want: js(arrow.ListOf(arrow.PrimitiveTypes.Uint8), `[[1], [], [2, 3]]`)},
		{name: "lists error", target: "Array(UInt8)", src: js(arrow.ListOf(i64), `[[1000], [1], [], [2, 1000], [1000]]`), errRow: 2},
		{name: "fixed strings", target: "Nullable(FixedString(2))", src: bin(arrow.BinaryTypes.String, str("toolong"), str("a"), nil, str("bc"), str("toolong")), want: bin(&arrow.FixedSizeBinaryType{ByteWidth: 2}, str("a\x00"), nil, str("bc"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			typ, err := ParseType(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			full := tt.src(mem)
			defer full.Release()
			src := array.NewSlice(full, 1, 4)
			defer src.Release()
			c, err := NewConverter(typ, "UTC", src.DataType())
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Convert(src, mem)
			if tt.want == nil {
				var ve *ValueError
				if !errors.As(err, &ve) || ve.Row != tt.errRow {
					t.Fatalf("error %v, want a *ValueError at row %d", err, tt.errRow)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			w := tt.want(mem)
			defer w.Release()
			if !array.Equal(got, w) {
				t.Errorf("got %v, want %v", got, w)
			}
		})
	}
}

func TestConvertWrongArrayType(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	typ, _ := ParseType("Int32")
	c, err := NewConverter(typ, "UTC", i64)
	if err != nil {
		t.Fatal(err)
	}
	a := arrayOf(t, mem, i32, `[1]`)
	defer a.Release()
	if _, err := c.Convert(a, mem); err == nil || !strings.Contains(err.Error(), "was made for int64") {
		t.Fatalf("error %v, want a type mismatch", err)
	}
}

// TestConvertEmpty converts empty slices of every source in convCases.
func TestConvertEmpty(t *testing.T) {
	for _, tt := range convCases {
		if tt.buildErr != "" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			typ, err := ParseType(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			full := tt.src(mem)
			defer full.Release()
			src := array.NewSlice(full, 0, 0)
			defer src.Release()
			c, err := NewConverter(typ, "UTC", src.DataType())
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Convert(src, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			if got.Len() != 0 {
				t.Errorf("%d rows out of 0", got.Len())
			}
		})
	}
}
