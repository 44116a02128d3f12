package chcol

import (
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// halfOracle decodes half-precision bits by the IEEE 754 definition with exact
// big-float arithmetic, independently of halfToFloat32. ok is false for NaN.
func halfOracle(h uint16) (v float64, ok bool) {
	sign := h>>15 == 1
	exp := int(h>>10) & 0x1f
	frac := int64(h) & 0x3ff
	var f big.Float
	switch {
	case exp == 0x1f && frac != 0:
		return 0, false
	case exp == 0x1f:
		return math.Copysign(math.Inf(1), map[bool]float64{true: -1, false: 1}[sign]), true
	case exp == 0:
		f.SetMantExp(big.NewFloat(float64(frac)), -24)
	default:
		f.SetMantExp(big.NewFloat(float64(1024+frac)), exp-25)
	}
	if sign {
		f.Neg(&f)
	}
	v, acc := f.Float64()
	if acc != big.Exact {
		panic("half value not exact in float64")
	}
	if sign && v == 0 {
		v = math.Copysign(0, -1)
	}
	return v, true
}

// TestFloat16Exact converts every one of the 65536 half-precision values into
// Float32 and Float64 columns and checks each against the definition: the value,
// the sign of zero, the infinities and NaN.
func TestFloat16Exact(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewFloat16Builder(mem)
	for h := 0; h < 1<<16; h++ {
		b.Append(float16.FromBits(uint16(h)))
	}
	b.AppendNull()
	src := b.NewArray()
	b.Release()
	defer src.Release()
	for _, target := range []string{"Float32", "Nullable(Float64)", "Nullable(Float32)", "Float64"} {
		typ, err := ParseType(target)
		if err != nil {
			t.Fatal(err)
		}
		conv, err := NewConverter(typ, "", src.DataType())
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		in := src
		if !typ.Nullable {
			in = array.NewSlice(src, 0, 1<<16)
		}
		out, err := conv.Convert(in, mem)
		if !typ.Nullable {
			in.Release()
		}
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		get := floatGetter(out)
		for h := 0; h < 1<<16; h++ {
			got := get(h)
			want, ok := halfOracle(uint16(h))
			switch {
			case !ok:
				if !math.IsNaN(got) {
					t.Fatalf("%s: %#04x: got %v, want NaN", target, h, got)
				}
			case got != want || math.Signbit(got) != math.Signbit(want):
				t.Fatalf("%s: %#04x: got %v, want %v", target, h, got, want)
			}
		}
		if typ.Nullable && !out.IsNull(1<<16) {
			t.Fatalf("%s: NULL lost", target)
		}
		out.Release()
	}
	// Anchors from the format's definition.
	for h, want := range map[uint16]float64{0x0001: 5.960464477539063e-08, 0x03ff: 6.097555160522461e-05, 0x0400: 6.103515625e-05, 0x3c00: 1, 0x7bff: 65504, 0xc000: -2} {
		if got := float64(halfToFloat32(h)); got != want {
			t.Errorf("%#04x: got %v, want %v", h, got, want)
		}
	}
}

// TestFloat16RefusedElsewhere: float16 goes only into Float32 and Float64;
// other targets are refused when the conversion is planned.
func TestFloat16RefusedElsewhere(t *testing.T) {
	for _, target := range []string{"Int32", "String", "Decimal(9, 2)", "UInt8", "DateTime", "FixedString(2)"} {
		typ, err := ParseType(target)
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewConverter(typ, "", arrow.FixedWidthTypes.Float16)
		if err == nil || !strings.Contains(err.Error(), "cannot load Arrow type float16 into column type "+target+": change") {
			t.Errorf("%s: got %v", target, err)
		}
	}
}

// TestFixedSizeBinaryIntoStrings: a FIXED_LEN_BYTE_ARRAY column (fixed-size
// binary) goes into String with its bytes as they are, into FixedString(N) of
// its width unchanged, into a wider FixedString padded with zero bytes, and is
// refused at plan time for a narrower one.
func TestFixedSizeBinaryIntoStrings(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fsb4 := &arrow.FixedSizeBinaryType{ByteWidth: 4}
	vals := []*string{str("ab\x00c"), nil, str("\x00\x00\x00\x00"), str("\xff\xfe\xfd\xfc")}
	for _, target := range []string{"String", "Nullable(String)", "FixedString(4)", "Nullable(FixedString(4))", "FixedString(6)", "Nullable(FixedString(7))"} {
		typ, err := ParseType(target)
		if err != nil {
			t.Fatal(err)
		}
		conv, err := NewConverter(typ, "", fsb4)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		src := binaryOf(mem, fsb4, vals...)
		for _, slice := range [][2]int{{0, 4}, {1, 4}, {2, 4}} {
			in := array.NewSlice(src, int64(slice[0]), int64(slice[1]))
			want := vals[slice[0]:slice[1]]
			out, err := conv.Convert(in, mem)
			switch {
			case !typ.Nullable && in.NullN() > 0:
				if err == nil {
					t.Fatalf("%s: NULL accepted", target)
				}
			case err != nil:
				t.Fatalf("%s: %v", target, err)
			default:
				if !arrow.TypeEqual(out.DataType(), conv.Type()) {
					t.Fatalf("%s: type %s, want %s", target, out.DataType(), conv.Type())
				}
				get := bytesGetter(out)
				for i, v := range want {
					if v == nil {
						if !out.IsNull(i) {
							t.Fatalf("%s: row %d: NULL lost", target, i)
						}
						continue
					}
					w := *v
					if typ.Base == "FixedString" {
						w += strings.Repeat("\x00", typ.Size-len(w))
					}
					if got := get(i); got != w {
						t.Fatalf("%s: row %d: got %q, want %q", target, i, got, w)
					}
				}
				if typ.Base == "String" && want[0] == nil && get(0) != "" {
					t.Fatalf("%s: NULL row holds %q", target, get(0))
				}
				out.Release()
			}
			in.Release()
		}
		src.Release()
	}
	for _, target := range []string{"FixedString(3)", "Nullable(FixedString(1))"} {
		typ, err := ParseType(target)
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewConverter(typ, "", fsb4)
		if err == nil || !strings.Contains(err.Error(), "every value is 4 bytes long") || !strings.Contains(err.Error(), "FixedString(4) or String") {
			t.Errorf("%s: got %v", target, err)
		}
	}
}

// TestFixedConversionsAppend: what the float16 and fixed-size binary
// conversions return goes through the clickhouse-go insert path unchanged
// (the native path is covered by the Parquet source's load tests).
func TestFixedConversionsAppend(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fsb4 := &arrow.FixedSizeBinaryType{ByteWidth: 4}
	half := func(mem memory.Allocator) arrow.Array {
		b := array.NewFloat16Builder(mem)
		defer b.Release()
		for _, h := range []uint16{0x0001, 0x8000, 0x7bff, 0xfc00} {
			b.Append(float16.FromBits(h))
		}
		b.AppendNull()
		return b.NewArray()
	}
	for _, c := range []struct {
		target string
		src    func(memory.Allocator) arrow.Array
		want   []string
	}{
		{"Nullable(String)", bin(fsb4, str("a\x00bc"), nil, str("wxyz")), []string{`"a\x00bc"`, "NULL", `"wxyz"`}},
		{"Nullable(FixedString(6))", bin(fsb4, str("a\x00bc"), nil), []string{`"a\x00bc\x00\x00"`, "NULL"}},
		{"Nullable(Float32)", half, []string{"5.9604645e-08", "-0", "65504", "-Inf", "NULL"}},
		{"Nullable(Float64)", half, []string{"5.960464477539063e-08", "-0", "65504", "-Inf", "NULL"}},
	} {
		typ, err := ParseType(c.target)
		if err != nil {
			t.Fatal(err)
		}
		src := c.src(mem)
		conv, err := NewConverter(typ, "", src.DataType())
		if err != nil {
			t.Fatal(err)
		}
		out, err := conv.Convert(src, mem)
		src.Release()
		if err != nil {
			t.Fatal(err)
		}
		col, err := column.Type(typ.String()).Column("c", &column.ServerContext{Timezone: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		err = Append(batchColumn{col}, typ, []arrow.Array{out}, nil)
		out.Release()
		if err != nil {
			t.Fatalf("%s: Append: %v", c.target, err)
		}
		var got []string
		for i := 0; i < col.Rows(); i++ {
			got = append(got, show(col.Row(i, false)))
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: got %v, want %v", c.target, got, c.want)
		}
	}
}
