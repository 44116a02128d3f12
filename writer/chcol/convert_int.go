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
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

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
		return func(i int) string { return bytesString(a.Value(i)) }
	case *array.LargeBinary:
		return func(i int) string { return bytesString(a.Value(i)) }
	}
	return nil
}

// bytesString views b as a string without copying; b must not change while the
// string is used.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
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
						"round it in a transform or make the column a Decimal")
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
					"fix the data or parse it in a transform")
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
					"round it in a transform or make the column Float64 or a Decimal")
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

// enumKernel converts names (text) or codes (integers) into Enum codes.
func enumKernel(c *Converter) (kernelFunc, error) {
	if c.target.Base == "Enum8" {
		return enumFrom[int8](c)
	}
	return enumFrom[int16](c)
}

func enumFrom[D int8 | int16](c *Converter) (kernelFunc, error) {
	var known [1 << 16 / 64]uint64
	byName := make(map[string]D, len(c.target.Enum))
	for _, v := range c.target.Enum {
		u := uint16(v.Code)
		known[u/64] |= 1 << (u % 64)
		byName[v.Name] = D(v.Code)
	}
	isKnown := func(v D) bool { u := uint16(v); return known[u/64]&(1<<(u%64)) != 0 }
	name := c.target.inner().String()
	if len(name) > 2*maxShownBytes {
		name = name[:2*maxShownBytes] + "...)"
	}
	unknown := func(src arrow.Array, i int) *ValueError {
		return valueErr(src, i, "is not a value of "+name, "add the value to the enum or map it in a transform")
	}
	dst := c.dst
	if isStringLike(c.src) {
		return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			get := stringGetter(src)
			return mapFixed(dst, src, mem, func(i int) (D, bool) {
				v, ok := byName[get(i)]
				return v, ok
			}, func(i int) *ValueError { return unknown(src, i) })
		}, nil
	}
	if arrow.TypeEqual(c.src, dst) {
		return checked(dst, func(src arrow.Array) func(int) bool {
			vals := fixedValues[D](src)
			return func(i int) bool { return isKnown(vals[i]) }
		}, unknown), nil
	}
	switch c.src.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
	default:
		return nil, errNoConversion
	}
	lo, hi := intBounds[D]()
	toCode, err := intFrom[D](c, lo, hi, c.target.Base)
	if err != nil {
		return nil, err
	}
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		out, err := toCode(src, mem)
		if err != nil {
			if ve, ok := err.(*ValueError); ok {
				return nil, unknown(src, ve.Row)
			}
			return nil, err
		}
		vals := fixedValues[D](out)
		if err := checkEach(out, func(i int) bool { return isKnown(vals[i]) }, func(i int) *ValueError { return unknown(src, i) }); err != nil {
			out.Release()
			return nil, err
		}
		return out, nil
	}, nil
}

// boolKernel converts Boolean (as is) or integers 0 and 1 into Bool.
func boolKernel(c *Converter) (kernelFunc, error) {
	dst := c.dst
	var conv func(src arrow.Array) func(i int) (bool, bool)
	switch c.src.ID() {
	case arrow.BOOL:
		return identity, nil
	case arrow.INT8:
		conv = boolFromInts[int8]
	case arrow.INT16:
		conv = boolFromInts[int16]
	case arrow.INT32:
		conv = boolFromInts[int32]
	case arrow.INT64:
		conv = boolFromInts[int64]
	case arrow.UINT8:
		conv = boolFromInts[uint8]
	case arrow.UINT16:
		conv = boolFromInts[uint16]
	case arrow.UINT32:
		conv = boolFromInts[uint32]
	case arrow.UINT64:
		conv = boolFromInts[uint64]
	default:
		return nil, errNoConversion
	}
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		return mapBool(dst, src, mem, conv(src), func(i int) *ValueError {
			return valueErr(src, i, "is neither 0 nor 1, so it is not a Bool", "fix the data or compare it in a transform")
		})
	}, nil
}

func boolFromInts[S integer](src arrow.Array) func(i int) (bool, bool) {
	vals := fixedValues[S](src)
	return func(i int) (bool, bool) {
		v := vals[i]
		return v == 1, v == 0 || v == 1
	}
}

// mapBool builds a Boolean array from src row by row, like mapFixed.
func mapBool(dst arrow.DataType, src arrow.Array, mem memory.Allocator, conv func(i int) (bool, bool), bad func(i int) *ValueError) (arrow.Array, error) {
	n := src.Len()
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	bits := buf.Bytes()
	clear(bits)
	nulls := src.NullN() > 0
	for i := 0; i < n; i++ {
		if nulls && src.IsNull(i) {
			continue
		}
		v, ok := conv(i)
		if !ok {
			return nil, bad(i)
		}
		if v {
			bitutil.SetBit(bits, i)
		}
	}
	return newArray(dst, n, buf, src, mem), nil
}
