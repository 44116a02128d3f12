package transform

import (
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestFormatFloat(t *testing.T) {
	// Expected texts as ClickHouse 18.16 prints them.
	tests := []struct {
		f    float64
		want string
	}{
		{1e21, "1e21"}, {1e-7, "1e-7"}, {0.1, "0.1"}, {123456.789, "123456.789"},
		{1e15, "1000000000000000"}, {1e16, "10000000000000000"},
		{123456789012345680000, "123456789012345680000"}, {math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"}, {math.NaN(), "nan"}, {math.Copysign(0, -1), "-0"},
		{1.5e300, "1.5e300"}, {12345678901234567, "12345678901234568"}, {-2.5, "-2.5"},
		{0.000001, "0.000001"},
	}
	for _, tt := range tests {
		if got := formatFloat(tt.f, 64); got != tt.want {
			t.Errorf("formatFloat(%v) = %s, want %s", tt.f, got, tt.want)
		}
	}
	if got := formatFloat(float64(float32(0.1)), 32); got != "0.1" {
		t.Errorf("Float32 0.1 = %s", got)
	}
}

func TestFormatValue(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	build := func(dt arrow.DataType, fill func(b array.Builder)) arrow.Array {
		b := array.NewBuilder(mem, dt)
		defer b.Release()
		fill(b)
		return b.NewArray()
	}
	dec := &arrow.Decimal128Type{Precision: 10, Scale: 3}
	arrs := []arrow.Array{
		build(dec, func(b array.Builder) {
			b.(*array.Decimal128Builder).Append(decimal128.FromI64(3250))
			b.(*array.Decimal128Builder).Append(decimal128.FromI64(-50))
			b.AppendNull()
		}),
		build(arrow.FixedWidthTypes.Boolean, func(b array.Builder) {
			b.(*array.BooleanBuilder).AppendValues([]bool{true, false, true}, nil)
		}),
		build(&arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "Europe/Moscow"}, func(b array.Builder) {
			b.(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{0, -1, 1_600_000_000_123}, nil)
		}),
		build(arrow.BinaryTypes.String, func(b array.Builder) {
			b.(*array.StringBuilder).AppendValues([]string{"a'b\\c", "\n\t\x00\r\b\f", "ü"}, nil)
		}),
		build(&arrow.FixedSizeBinaryType{ByteWidth: 3}, func(b array.Builder) {
			b.(*array.FixedSizeBinaryBuilder).AppendValues([][]byte{[]byte("ab\x00"), []byte("xyz"), []byte("'''")}, nil)
		}),
		build(arrow.PrimitiveTypes.Float32, func(b array.Builder) {
			b.(*array.Float32Builder).AppendValues([]float32{0.1, 1e10, float32(math.Inf(1))}, nil)
		}),
		build(arrow.FixedWidthTypes.Date32, func(b array.Builder) {
			b.(*array.Date32Builder).AppendValues([]arrow.Date32{0, -719528, 65535}, nil)
		}),
	}
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
	}()
	want := [][]string{
		{"3.250", "-0.050", "NULL"},
		{"true", "false", "true"},
		{"'1970-01-01 03:00:00.000'", "'1970-01-01 02:59:59.999'", "'2020-09-13 15:26:40.123'"},
		{`'a\'b\\c'`, `'\n\t\0\r\b\f'`, "'ü'"},
		{`'ab\0'`, "'xyz'", `'\'\'\''`},
		{"0.1", "10000000000", "inf"},
		{"'1970-01-01'", "'0000-01-01'", "'2149-06-06'"},
	}
	for k, a := range arrs {
		for i, w := range want[k] {
			if got := FormatValue(a, i); got != w {
				t.Errorf("FormatValue(%s, %d) = %s, want %s", a.DataType(), i, got, w)
			}
		}
	}
	tests := []struct {
		arrs   []arrow.Array
		server string
	}{
		{nil, "tuple()"},
		{arrs[3:4], `a'b\c`},
		{arrs[6:7], "1970-01-01"},
		{arrs[:2], "(3.250,true)"},
		{arrs[2:5], `('1970-01-01 03:00:00.000','a\'b\\c','ab\0')`},
	}
	for _, tt := range tests {
		if got := PartitionText(tt.arrs, 0); got != tt.server {
			t.Errorf("PartitionText = %s, want %s", got, tt.server)
		}
	}
}
