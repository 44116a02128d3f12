package chcol

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// convertOne converts a one-row array into target; ok is false when the value was
// refused, and any other failure stops the test.
func convertOne(t *testing.T, mem memory.Allocator, target string, src arrow.Array) (arrow.Array, bool) {
	t.Helper()
	typ, err := ParseType(target)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewConverter(typ, "UTC", src.DataType())
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Convert(src, mem)
	if err != nil {
		var ve *ValueError
		if !errors.As(err, &ve) || ve.Row != 0 || ve.Reason == "" || ve.Fix == "" || ve.Value == "" {
			t.Fatalf("%s: error %#v is not a complete *ValueError for row 0", target, err)
		}
		return nil, false
	}
	if out.Len() != 1 {
		t.Fatalf("%s: %d rows out of 1", target, out.Len())
	}
	return out, true
}

func FuzzConvertText(f *testing.F) {
	for _, s := range []string{"0", "-1", "+7", "9223372036854775808", "1.5", "-0.0001", "1e3", ".5", "5.",
		"2024-02-29", "2023-02-29", "2024-01-01 10:00:00", "2024-01-01 10:00:00.123", "123e4567-e89b-12d3-a456-426614174000",
		"1.2.3.4", "::ffff:1.2.3.4", "abcd", "", "NaN", "-Inf", "1e400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		src := binaryOf(mem, arrow.BinaryTypes.String, &s)
		defer src.Release()

		want, werr := strconv.ParseInt(s, 10, 64)
		out, ok := convertOne(t, mem, "Int64", src)
		if ok != (werr == nil) {
			t.Fatalf("Int64 from %q: converted %v, strconv says %v", s, ok, werr)
		}
		if ok {
			if got := out.(*array.Int64).Value(0); got != want {
				t.Fatalf("Int64 from %q: got %d, want %d", s, got, want)
			}
			out.Release()
		}

		for _, target := range []string{"Decimal(18, 4)", "Decimal(38, 10)", "Decimal(9, 0)"} {
			out, ok := convertOne(t, mem, target, src)
			if !ok {
				continue
			}
			typ := out.DataType().(*arrow.Decimal128Type)
			got := out.(*array.Decimal128).Value(0)
			out.Release()
			r, rok := new(big.Rat).SetString(s)
			if !rok {
				t.Fatalf("%s took %q, which is not a number", target, s)
			}
			scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(typ.Scale)), nil)))
			if !scaled.IsInt() || scaled.Num().Cmp(got.BigInt()) != 0 {
				t.Fatalf("%s from %q: got %s", target, s, got.ToString(typ.Scale))
			}
			if !got.FitsInPrecision(typ.Precision) {
				t.Fatalf("%s from %q: %s exceeds the precision", target, s, got.ToString(typ.Scale))
			}
		}

		if out, ok := convertOne(t, mem, "Date32", src); ok {
			if got := formatDays(int64(out.(*array.Date32).Value(0))); got != s {
				t.Fatalf("Date32 from %q: got %s", s, got)
			}
			out.Release()
		}
		if out, ok := convertOne(t, mem, "DateTime64(3, 'Asia/Kolkata')", src); ok {
			v := int64(out.(*array.Timestamp).Value(0))
			out.Release()
			loc, _ := time.LoadLocation("Asia/Kolkata")
			want, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", strings.Replace(s, "T", " ", 1), loc)
			if err != nil || want.UnixMilli() != v || want.Nanosecond()%1e6 != 0 {
				t.Fatalf("DateTime64(3) from %q: got %d ms, time package says %v (%v)", s, v, want, err)
			}
		}
		if out, ok := convertOne(t, mem, "UUID", src); ok {
			b := out.(*array.FixedSizeBinary).Value(0)
			var u [16]byte
			copy(u[:], b)
			out.Release()
			if !strings.EqualFold(formatUUID(u), s) {
				t.Fatalf("UUID from %q: got %s", s, formatUUID(u))
			}
		}
		for _, target := range []string{"Float32", "Float64", "FixedString(4)", "Enum8('a' = 1, '' = 2)", "UInt8", "DateTime('Europe/Moscow')", "Date"} {
			if out, ok := convertOne(t, mem, target, src); ok {
				out.Release()
			}
		}
	})
}

func formatUUID(u [16]byte) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b.WriteByte('-')
		}
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func FuzzConvertInt(f *testing.F) {
	for _, v := range []int64{0, -1, 127, 128, -129, 255, 256, 65535, 1 << 31, 1<<53 + 1, math.MaxInt64, math.MinInt64} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v int64) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		src := int64s(v)(mem)
		defer src.Release()
		ranges := map[string][2]*big.Int{
			"Int8": {big.NewInt(-128), big.NewInt(127)}, "UInt8": {big.NewInt(0), big.NewInt(255)},
			"Int16": {big.NewInt(-32768), big.NewInt(32767)}, "UInt16": {big.NewInt(0), big.NewInt(65535)},
			"Int32": {big.NewInt(math.MinInt32), big.NewInt(math.MaxInt32)}, "UInt32": {big.NewInt(0), big.NewInt(math.MaxUint32)},
			"UInt64": {big.NewInt(0), new(big.Int).SetUint64(math.MaxUint64)},
		}
		for target, r := range ranges {
			out, ok := convertOne(t, mem, target, src)
			b := big.NewInt(v)
			if in := b.Cmp(r[0]) >= 0 && b.Cmp(r[1]) <= 0; ok != in {
				t.Fatalf("%s from %d: converted %v, in range %v", target, v, ok, in)
			}
			if ok {
				if got := out.ValueStr(0); got != strconv.FormatInt(v, 10) {
					t.Fatalf("%s from %d: got %s", target, v, got)
				}
				out.Release()
			}
		}
		out, ok := convertOne(t, mem, "Float64", src)
		if exact := int64(float64(v)) == v && float64(v) != 1<<63; ok != exact {
			t.Fatalf("Float64 from %d: converted %v, exact %v", v, ok, exact)
		}
		if ok {
			out.Release()
		}
		out, ok = convertOne(t, mem, "Decimal(9, 2)", src)
		if fitsDec := v > -10000000 && v < 10000000; ok != fitsDec {
			t.Fatalf("Decimal(9, 2) from %d: converted %v, fits %v", v, ok, fitsDec)
		}
		if ok {
			if got := out.(*array.Decimal128).Value(0); got != decimal128.FromI64(v).Mul(decimal128.FromI64(100)) {
				t.Fatalf("Decimal(9, 2) from %d: got %s", v, got.ToString(2))
			}
			out.Release()
		}
		for _, target := range []string{"DateTime", "DateTime64(9)", "Enum16('a' = 1)", "Bool"} {
			if out, ok := convertOne(t, mem, target, src); ok {
				out.Release()
			}
		}
	})
}

func FuzzConvertFloat(f *testing.F) {
	for _, v := range []float64{0, -0.5, 1.5, 0.1, 1e-7, 2147483647, 2147483648, 1e300, math.Inf(1), math.NaN(), 3.4e38, 3.5e38} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		b := array.NewFloat64Builder(mem)
		b.Append(v)
		one := b.NewArray()
		b.Release()
		defer one.Release()

		out, ok := convertOne(t, mem, "Int32", one)
		if want := v == math.Trunc(v) && v >= math.MinInt32 && v <= math.MaxInt32; ok != want {
			t.Fatalf("Int32 from %v: converted %v, want %v", v, ok, want)
		}
		if ok {
			if got := out.(*array.Int32).Value(0); float64(got) != v {
				t.Fatalf("Int32 from %v: got %d", v, got)
			}
			out.Release()
		}
		out, ok = convertOne(t, mem, "Float32", one)
		if want := math.IsNaN(v) || math.IsInf(v, 0) || !math.IsInf(float64(float32(v)), 0); ok != want {
			t.Fatalf("Float32 from %v: converted %v, want %v", v, ok, want)
		}
		if ok {
			out.Release()
		}
		out, ok = convertOne(t, mem, "Decimal(38, 6)", one)
		if ok {
			got := out.(*array.Decimal128).Value(0)
			out.Release()
			back, err := strconv.ParseFloat(got.ToString(6), 64)
			if err != nil || back != v {
				t.Fatalf("Decimal(38, 6) from %v: got %s", v, got.ToString(6))
			}
		} else if text := strconv.FormatFloat(v, 'f', -1, 64); !math.IsNaN(v) && !math.IsInf(v, 0) && math.Abs(v) < 1e31 && len(text)-strings.IndexByte(text+".", '.')-1 <= 6 {
			t.Fatalf("Decimal(38, 6) refused %v (%s)", v, text)
		}
	})
}
