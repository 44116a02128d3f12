package chcol

import (
	"errors"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Float32 and Float64: canonical arrow Float32 and Float64, IEEE 754
// little-endian in the Native format.
func init() {
	register(&family{
		names: []string{"Float32", "Float64"},
		arrow: func(t *Type, _ string) (arrow.DataType, error) {
			if t.Base == "Float32" {
				return arrow.PrimitiveTypes.Float32, nil
			}
			return arrow.PrimitiveTypes.Float64, nil
		},
		kernel: func(c *Converter, _ string) (kernelFunc, error) {
			if c.target.Base == "Float32" {
				return floatKernel[float32](c)
			}
			return floatKernel[float64](c)
		},
		lowCardinality: true,
		encode: func(dst []byte, t *Type, chunks []arrow.Array, refs RowRefs) []byte {
			return appendFixed(dst, chunks, refs, floatWidth(t))
		},
		defaultWidth: floatWidth,
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, valid []bool) (any, error) {
			if t.Base == "Float32" {
				return fixedSlice[float32](t, chunks, perm, valid), nil
			}
			return fixedSlice[float64](t, chunks, perm, valid), nil
		},
	})
}

// floatWidth is the width in bytes of a float type.
func floatWidth(t *Type) int {
	if t.Base == "Float32" {
		return 4
	}
	return 8
}

// floatKernel converts into Float32 or Float64. Float16 converts exactly (every
// half-precision value, subnormals, infinities, NaN and -0 included, is a Float32).
// Floats, decimals and text round to the nearest D (Float64 -> Float32 rounds, but a finite value beyond the Float32
// range is refused rather than turned into an infinity); integers must be exactly
// representable.
func floatKernel[D float](c *Converter) (kernelFunc, error) {
	if arrow.TypeEqual(c.src, c.dst) {
		return identity, nil
	}
	dst := c.dst
	name := c.target.Base
	var z D
	bits := 64
	if any(z) == any(float32(0)) {
		bits = 32
	}
	inexact := func(src arrow.Array, i int) *ValueError {
		return valueErr(src, i, "cannot be represented exactly as "+name, "make the column Float64, Int64 or a Decimal, or round it in the data")
	}
	outOfRange := func(src arrow.Array, i int) *ValueError {
		return valueErr(src, i, "is beyond the range of "+name, "make the column Float64")
	}
	switch c.src.ID() {
	case arrow.FLOAT32, arrow.FLOAT64:
		return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			value := floatGetter(src)
			return mapFixed(dst, src, mem, func(i int) (D, bool) {
				f := value(i)
				d := D(f)
				return d, !math.IsInf(float64(d), 0) || math.IsInf(f, 0)
			}, func(i int) *ValueError { return outOfRange(src, i) })
		}, nil
	case arrow.FLOAT16:
		return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			vals := src.(*array.Float16).Values()
			return mapFixed(dst, src, mem, func(i int) (D, bool) {
				return D(halfToFloat32(vals[i].Uint16())), true
			}, nil)
		}, nil
	case arrow.INT8:
		return floatFromInts[int8, D](dst, inexact), nil
	case arrow.INT16:
		return floatFromInts[int16, D](dst, inexact), nil
	case arrow.INT32:
		return floatFromInts[int32, D](dst, inexact), nil
	case arrow.INT64:
		return floatFromInts[int64, D](dst, inexact), nil
	case arrow.UINT8:
		return floatFromInts[uint8, D](dst, inexact), nil
	case arrow.UINT16:
		return floatFromInts[uint16, D](dst, inexact), nil
	case arrow.UINT32:
		return floatFromInts[uint32, D](dst, inexact), nil
	case arrow.UINT64:
		return floatFromInts[uint64, D](dst, inexact), nil
	case arrow.DECIMAL128:
		scale := c.src.(*arrow.Decimal128Type).Scale
		return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			vals := fixedValues[decimal128.Num](src)
			return mapFixed(dst, src, mem, func(i int) (D, bool) {
				return D(vals[i].ToFloat64(scale)), true
			}, nil)
		}, nil
	}
	if isStringLike(c.src) {
		return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			get := stringGetter(src)
			return mapFixed(dst, src, mem, func(i int) (D, bool) {
				f, err := strconv.ParseFloat(get(i), bits)
				return D(f), err == nil
			}, func(i int) *ValueError {
				if _, err := strconv.ParseFloat(get(i), bits); errors.Is(err, strconv.ErrRange) {
					return outOfRange(src, i)
				}
				return valueErr(src, i, "is not a number, so it cannot go into "+name, "fix the data or make the column String")
			})
		}, nil
	}
	return nil, errNoConversion
}

func floatFromInts[S integer, D float](dst arrow.DataType, inexact func(arrow.Array, int) *ValueError) kernelFunc {
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		vals := fixedValues[S](src)
		return mapFixed(dst, src, mem, func(i int) (D, bool) {
			v := vals[i]
			d := D(v)
			back := float64(d)
			if v < 0 {
				return d, back >= -(1<<63) && int64(back) == int64(v)
			}
			return d, back < 1<<64 && uint64(back) == uint64(v)
		}, func(i int) *ValueError { return inexact(src, i) })
	}
}

// halfToFloat32 widens the IEEE 754 half-precision value with bits h exactly.
// (float16.Num.Float32 flushes subnormals to wrong values, so it is not used.)
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN, payload kept
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0: // signed zero
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac * 2^-24, a normal float32
		f := float32(math.Ldexp(float64(frac), -24))
		return math.Float32frombits(sign | math.Float32bits(f))
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}
