package pqmatrix

import (
	"math"
	"math/rand"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
)

// typesColumns are the matrix columns of FIXED_LEN_BYTE_ARRAY types: FLOAT16
// into Float32, and FIXED_LEN_BYTE_ARRAY(6) without a logical type into
// FixedString(6). (INT96 is not here: the matrix's dictionary and delta
// modes expect encodings arrow-go does not write for INT96; the source's
// INT96 tests are in sources/parquet.)
func typesColumns() []column {
	var out []column
	f16 := both("f16", arrow.FixedWidthTypes.Float16, "Float32", kindFloat, halfGen())
	for i := range f16 {
		f16[i].appendFn = func(b array.Builder, v any) {
			if v == nil {
				b.AppendNull()
				return
			}
			b.(*array.Float16Builder).Append(float16.FromBits(v.(halfBits).bits))
		}
		f16[i].canonFn = func(v any) any {
			if v == nil {
				return nil
			}
			return v.(halfBits).value()
		}
	}
	out = append(out, f16...)
	fsb := both("fsb", &arrow.FixedSizeBinaryType{ByteWidth: 6}, "FixedString(6)", kindBytes, fixedGen(6))
	for i := range fsb {
		fsb[i].appendFn = func(b array.Builder, v any) {
			if v == nil {
				b.AppendNull()
				return
			}
			b.(*array.FixedSizeBinaryBuilder).Append(v.([]byte))
		}
		fsb[i].canonFn = func(v any) any {
			if v == nil {
				return nil
			}
			return string(v.([]byte))
		}
	}
	return append(out, fsb...)
}

// halfBits is a FLOAT16 value of the matrix, by its bits.
type halfBits struct{ bits uint16 }

// value is the half's value by the format's definition.
func (h halfBits) value() float64 {
	sign := 1.0
	if h.bits&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h.bits>>10)&0x1f, float64(h.bits&0x3ff)
	switch exp {
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	case 0:
		return sign * math.Ldexp(frac, -24)
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

// halfGen: edge halves (zeros, subnormals, the largest, infinities, NaN),
// then random bit patterns.
func halfGen() func(*rand.Rand, int) any {
	var edges []any
	for _, b := range []uint16{0x7e00, 0x7c00, 0xfc00, 0x8000, 0x0000, 0x7bff, 0xfbff, 0x0001, 0x8001, 0x03ff, 0x0400, 0x3c00} {
		edges = append(edges, halfBits{b})
	}
	return func(rng *rand.Rand, row int) any {
		return edge(rng, row, edges, func() any { return halfBits{uint16(rng.Intn(1 << 16))} })
	}
}

// fixedGen: n-byte values with zero and 0xff bytes among random ones.
func fixedGen(n int) func(*rand.Rand, int) any {
	edges := []any{make([]byte, n), []byte("\xff\xfe\x00\x01ab")[:n]}
	return func(rng *rand.Rand, row int) any {
		return edge(rng, row, edges, func() any {
			b := make([]byte, n)
			rng.Read(b)
			return b
		})
	}
}
