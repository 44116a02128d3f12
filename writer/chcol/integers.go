package chcol

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/chload/chload/internal/arrowbuf"
)

// Int8..Int64 and UInt8..UInt64: canonical arrow integers of the same width
// and sign, little-endian in the Native format. Int128, Int256, UInt128 and
// UInt256 parse but are not carried yet.
func init() {
	register(&family{
		names: []string{"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
			"Int128", "Int256", "UInt128", "UInt256"},
		arrow: func(t *Type, _ string) (arrow.DataType, error) {
			if dt := intArrow[t.Base]; dt != nil {
				return dt, nil
			}
			return nil, unsupported(t)
		},
		kernel: func(c *Converter, _ string) (kernelFunc, error) {
			switch c.target.Base {
			case "Int8":
				return intKernel[int8](c)
			case "Int16":
				return intKernel[int16](c)
			case "Int32":
				return intKernel[int32](c)
			case "Int64":
				return intKernel[int64](c)
			case "UInt8":
				return intKernel[uint8](c)
			case "UInt16":
				return intKernel[uint16](c)
			case "UInt32":
				return intKernel[uint32](c)
			case "UInt64":
				return intKernel[uint64](c)
			}
			return nil, errNoConversion
		},
		native:         func(t *Type) bool { return intArrow[t.Base] != nil },
		lowCardinality: true,
		encode: func(dst []byte, t *Type, chunks []arrow.Array, refs RowRefs) []byte {
			return appendFixed(dst, chunks, refs, intWidth(t))
		},
		defaultWidth: intWidth,
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, valid []bool) (any, error) {
			switch t.Base {
			case "Int8":
				return fixedSlice[int8](t, chunks, perm, valid), nil
			case "Int16":
				return fixedSlice[int16](t, chunks, perm, valid), nil
			case "Int32":
				return fixedSlice[int32](t, chunks, perm, valid), nil
			case "Int64":
				return fixedSlice[int64](t, chunks, perm, valid), nil
			case "UInt8":
				return fixedSlice[uint8](t, chunks, perm, valid), nil
			case "UInt16":
				return fixedSlice[uint16](t, chunks, perm, valid), nil
			case "UInt32":
				return fixedSlice[uint32](t, chunks, perm, valid), nil
			case "UInt64":
				return fixedSlice[uint64](t, chunks, perm, valid), nil
			}
			return nil, fmt.Errorf("append column of type %s: not supported yet", t)
		},
	})
}

// intArrow is the canonical Arrow type of each integer type chload carries.
var intArrow = map[string]arrow.DataType{
	"Int8": arrow.PrimitiveTypes.Int8, "Int16": arrow.PrimitiveTypes.Int16,
	"Int32": arrow.PrimitiveTypes.Int32, "Int64": arrow.PrimitiveTypes.Int64,
	"UInt8": arrow.PrimitiveTypes.Uint8, "UInt16": arrow.PrimitiveTypes.Uint16,
	"UInt32": arrow.PrimitiveTypes.Uint32, "UInt64": arrow.PrimitiveTypes.Uint64,
}

// intWidth is the width in bytes of an integer type chload carries.
func intWidth(t *Type) int {
	return intArrow[t.Base].(arrow.FixedWidthDataType).BitWidth() / 8
}

// integer is the set of Go integer types behind Arrow's integer arrays.
type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// intBounds returns the smallest and largest value of D.
func intBounds[D integer]() (lo int64, hi uint64) {
	var z D
	bits := uint(unsafe.Sizeof(z)) * 8
	z--
	if z < 0 {
		return -1 << (bits - 1), 1<<(bits-1) - 1
	}
	if bits == 64 {
		return 0, math.MaxUint64
	}
	return 0, 1<<bits - 1
}

// fits reports whether v lies in lo..hi.
func fits[S integer](v S, lo int64, hi uint64) bool {
	if v < 0 {
		return int64(v) >= lo
	}
	return uint64(v) <= hi
}

// stringGetter returns a zero-copy accessor of the values of a string or binary
// array, or nil for other arrays.
func stringGetter(a arrow.Array) func(i int) string {
	switch a := a.(type) {
	case *array.String:
		return a.Value
	case *array.LargeString:
		return a.Value
	case *array.Binary:
		return func(i int) string { return arrowbuf.String(a.Value(i)) }
	case *array.LargeBinary:
		return func(i int) string { return arrowbuf.String(a.Value(i)) }
	}
	return nil
}

// isStringLike reports whether arrays of t are read through stringGetter.
func isStringLike(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return true
	}
	return false
}

func intKernel[D integer](c *Converter) (kernelFunc, error) {
	if arrow.TypeEqual(c.src, c.dst) {
		return identity, nil
	}
	lo, hi := intBounds[D]()
	return intFrom[D](c, lo, hi, c.target.Base)
}

// intFrom converts any integer, float, bool, decimal or numeric text source into D,
// refusing values outside lo..hi; name is the column type for messages.
func intFrom[D integer](c *Converter, lo int64, hi uint64, name string) (kernelFunc, error) {
	dst := c.dst
	rangeErr := func(src arrow.Array, i int) *ValueError {
		return valueErr(src, i, fmt.Sprintf("does not fit %s (range %d..%d)", name, lo, hi), "fix the data or widen the column")
	}
	switch c.src.ID() {
	case arrow.INT8:
		return intFromInts[int8, D](dst, lo, hi, rangeErr), nil
	case arrow.INT16:
		return intFromInts[int16, D](dst, lo, hi, rangeErr), nil
	case arrow.INT32:
		return intFromInts[int32, D](dst, lo, hi, rangeErr), nil
	case arrow.INT64:
		return intFromInts[int64, D](dst, lo, hi, rangeErr), nil
	case arrow.UINT8:
		return intFromInts[uint8, D](dst, lo, hi, rangeErr), nil
	case arrow.UINT16:
		return intFromInts[uint16, D](dst, lo, hi, rangeErr), nil
	case arrow.UINT32:
		return intFromInts[uint32, D](dst, lo, hi, rangeErr), nil
	case arrow.UINT64:
		return intFromInts[uint64, D](dst, lo, hi, rangeErr), nil
	case arrow.FLOAT32:
		return intFromFloats[float32, D](dst, lo, hi, name, rangeErr), nil
	case arrow.FLOAT64:
		return intFromFloats[float64, D](dst, lo, hi, name, rangeErr), nil
	case arrow.BOOL:
		return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			b := src.(*array.Boolean)
			return mapFixed(dst, src, mem, func(i int) (D, bool) {
				if b.Value(i) {
					return 1, true
				}
				return 0, true
			}, nil)
		}, nil
	case arrow.DECIMAL128:
		scale := c.src.(*arrow.Decimal128Type).Scale
		return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			vals := fixedValues[decimal128.Num](src)
			return mapFixed(dst, src, mem, func(i int) (D, bool) {
				n, ok := rescale(vals[i], scale, 0)
				if !ok {
					return 0, false
				}
				return decimalToInt[D](n, lo, hi)
			}, func(i int) *ValueError {
				if _, ok := rescale(vals[i], scale, 0); !ok {
					return valueErr(src, i, "has a fractional part, so it cannot go into "+name+" without rounding",
						"round it in the data or make the column a Decimal")
				}
				return rangeErr(src, i)
			})
		}, nil
	}
	if isStringLike(c.src) {
		return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			get := stringGetter(src)
			return mapFixed(dst, src, mem, func(i int) (D, bool) {
				return parseInt[D](get(i), lo, hi)
			}, func(i int) *ValueError {
				if _, ok := parseIntText(get(i)); ok {
					return rangeErr(src, i)
				}
				return valueErr(src, i, "is not an integer, so it cannot go into "+name,
					"fix the data or make the column String")
			})
		}, nil
	}
	return nil, errNoConversion
}

func intFromInts[S, D integer](dst arrow.DataType, lo int64, hi uint64, rangeErr func(arrow.Array, int) *ValueError) kernelFunc {
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		vals := fixedValues[S](src)
		return mapFixed(dst, src, mem, func(i int) (D, bool) {
			v := vals[i]
			return D(v), fits(v, lo, hi)
		}, func(i int) *ValueError { return rangeErr(src, i) })
	}
}

// float is the set of Go float types behind Arrow's float arrays.
type float interface{ ~float32 | ~float64 }

func intFromFloats[F float, D integer](dst arrow.DataType, lo int64, hi uint64, name string, rangeErr func(arrow.Array, int) *ValueError) kernelFunc {
	low, highExcl := float64(lo), float64(hi)+1
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		vals := fixedValues[F](src)
		return mapFixed(dst, src, mem, func(i int) (D, bool) {
			f := float64(vals[i])
			if f != math.Trunc(f) || f < low || f >= highExcl {
				return 0, false
			}
			if f < 0 {
				return D(int64(f)), true
			}
			return D(uint64(f)), true
		}, func(i int) *ValueError {
			f := float64(vals[i])
			if f != math.Trunc(f) && !math.IsInf(f, 0) {
				return valueErr(src, i, "is not a whole number, so it cannot go into "+name+" without rounding",
					"round it in the data or make the column Float64 or a Decimal")
			}
			return rangeErr(src, i)
		})
	}
}

// decimalToInt converts an integral decimal into D when it lies in lo..hi.
func decimalToInt[D integer](n decimal128.Num, lo int64, hi uint64) (D, bool) {
	switch {
	case n.HighBits() == 0:
		return D(n.LowBits()), n.LowBits() <= hi
	case n.HighBits() == -1 && n.LowBits() >= 1<<63:
		v := int64(n.LowBits())
		return D(v), v >= lo
	}
	return 0, false
}

// intText is an integer parsed from text: a magnitude and a sign.
type intText struct {
	neg  bool
	mag  uint64
	over bool // the magnitude exceeds uint64
}

// parseIntText parses a decimal integer with an optional sign and no spaces.
func parseIntText(s string) (intText, bool) {
	var t intText
	switch {
	case strings.HasPrefix(s, "-"):
		t.neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if s == "" || s[0] == '+' || s[0] == '-' {
		return t, false
	}
	m, err := strconv.ParseUint(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		t.over = true
		return t, true
	}
	if err != nil {
		return t, false
	}
	t.mag = m
	return t, true
}

// parseInt parses decimal integer text into D when it lies in lo..hi.
func parseInt[D integer](s string, lo int64, hi uint64) (D, bool) {
	t, ok := parseIntText(s)
	if !ok || t.over {
		return 0, false
	}
	if !t.neg || t.mag == 0 {
		return D(t.mag), t.mag <= hi
	}
	if t.mag > 1<<63 {
		return 0, false
	}
	v := -int64(t.mag)
	return D(v), v >= lo
}
