package chcol

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/chload/chload/internal/arrowbuf"
	"github.com/shopspring/decimal"
)

// Decimal(P, S) and Decimal32/64/128/256(S), normalised to Base "Decimal" with
// precision 9, 18, 38 or 76: canonical arrow Decimal128(P, S) up to 38
// digits; in the Native format an Int32, Int64 or Int128 by precision.
func init() {
	register(&family{
		names: []string{"Decimal", "Decimal32", "Decimal64", "Decimal128", "Decimal256"},
		parse: parseDecimalType,
		params: func(t *Type, b *strings.Builder) {
			fmt.Fprintf(b, "(%d, %d)", t.Precision, t.Scale)
		},
		arrow: func(t *Type, _ string) (arrow.DataType, error) {
			if t.Precision > 38 {
				return nil, fmt.Errorf("column type %s is not supported yet: decimals wider than 38 digits", t)
			}
			return &arrow.Decimal128Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}, nil
		},
		kernel: func(c *Converter, _ string) (kernelFunc, error) { return decimalKernel(c) },
		native: func(t *Type) bool { return t.Precision <= 38 },
		encode: appendDecimal,
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, valid []bool) (any, error) {
			scale := int32(t.Scale)
			return builtSlice(t, chunks, perm, valid, func(a arrow.Array) func(int) decimal.Decimal {
				vals := fixedValues[decimal128.Num](a)
				return func(i int) decimal.Decimal {
					if v, ok := numInt64(vals[i]); ok {
						return decimal.New(v, -scale)
					}
					return decimal.NewFromBigInt(vals[i].BigInt(), -scale)
				}
			}), nil
		},
	})
}

// parseDecimalType reads the parameters of Decimal(P[, S]) or DecimalN(S).
func parseDecimalType(p *typeParser, name string, _ int) (*Type, error) {
	if name != "Decimal" {
		scale, err := p.oneIntParam()
		if err != nil {
			return nil, err
		}
		prec := map[string]int64{"Decimal32": 9, "Decimal64": 18, "Decimal128": 38, "Decimal256": 76}[name]
		return decimalType(prec, scale)
	}
	if err := p.expect('('); err != nil {
		return nil, err
	}
	prec, err := p.integer()
	if err != nil {
		return nil, err
	}
	var scale int64
	if p.accept(',') {
		if scale, err = p.integer(); err != nil {
			return nil, err
		}
	}
	if err := p.expect(')'); err != nil {
		return nil, err
	}
	return decimalType(prec, scale)
}

// pow10 returns 10^d for d in 0..38.
func pow10(d int32) decimal128.Num { return decimal128.GetScaleMultiplier(int(d)) }

// numInt64 returns n as an int64 when it fits one.
func numInt64(n decimal128.Num) (int64, bool) {
	switch {
	case n.HighBits() == 0 && n.LowBits() < 1<<63:
		return int64(n.LowBits()), true
	case n.HighBits() == -1 && n.LowBits() >= 1<<63:
		return int64(n.LowBits()), true
	}
	return 0, false
}

// rescale changes the scale of n from from to to exactly: false when digits would
// be lost (scaling down a value that is not a multiple) or the result would not fit
// 38 digits.
func rescale(n decimal128.Num, from, to int32) (decimal128.Num, bool) {
	switch {
	case from == to:
		return n, true
	case to > from:
		d := to - from
		if d > 38 {
			return n, n.Sign() == 0
		}
		if !n.Abs().Less(pow10(38 - d)) {
			return n, false
		}
		return n.Mul(pow10(d)), true
	}
	d := from - to
	if d > 38 {
		return decimal128.Num{}, n.Sign() == 0
	}
	if v, ok := numInt64(n); ok && d <= 18 {
		p := int64(math.Pow10(int(d)))
		return decimal128.FromI64(v / p), v%p == 0
	}
	q, r := n.Div(pow10(d))
	return q, r.Sign() == 0
}

// decimalProblem is why a value does not fit a Decimal column.
type decimalProblem int

const (
	decimalOK decimalProblem = iota
	decimalSyntax
	decimalTooPrecise
	decimalTooLarge
)

// parseDecimal parses decimal text ([+-]digits[.digits][e[+-]digits]) into the
// unscaled value of a Decimal(prec, scale).
func parseDecimal(s string, prec, scale int32) (decimal128.Num, decimalProblem) {
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	exp := 0
	if k := strings.IndexAny(s, "eE"); k >= 0 {
		e, err := strconv.Atoi(s[k+1:])
		if err != nil || e > 1000 || e < -1000 {
			return decimal128.Num{}, decimalSyntax
		}
		exp, s = e, s[:k]
	}
	whole, frac := s, ""
	if k := strings.IndexByte(s, '.'); k >= 0 {
		whole, frac = s[:k], s[k+1:]
	}
	if whole == "" && frac == "" {
		return decimal128.Num{}, decimalSyntax
	}
	if !allDigits(whole) || !allDigits(frac) {
		return decimal128.Num{}, decimalSyntax
	}
	var tmp [96]byte
	ds := append(append(tmp[:0], whole...), frac...)
	for len(ds) > 0 && ds[0] == '0' {
		ds = ds[1:]
	}
	shift := exp - len(frac) + int(scale)
	for shift < 0 && len(ds) > 0 && ds[len(ds)-1] == '0' {
		ds = ds[:len(ds)-1]
		shift++
	}
	if len(ds) == 0 {
		return decimal128.Num{}, decimalOK
	}
	if shift < 0 {
		return decimal128.Num{}, decimalTooPrecise
	}
	if len(ds)+shift > int(prec) {
		return decimal128.Num{}, decimalTooLarge
	}
	var n decimal128.Num
	ten := decimal128.FromU64(10)
	for _, c := range ds {
		n = n.Mul(ten).Add(decimal128.FromU64(uint64(c - '0')))
	}
	n = n.Mul(pow10(int32(shift)))
	if neg {
		n = n.Negate()
	}
	return n, decimalOK
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// decimalKernel converts decimals, integers, floats and decimal text into
// Decimal128(P, S).
func decimalKernel(c *Converter) (kernelFunc, error) {
	prec, scale := int32(c.target.Precision), int32(c.target.Scale)
	dst := c.dst
	name := c.target.inner().String()
	fitsPrec := func(n decimal128.Num) bool { return n.FitsInPrecision(prec) }
	tooLarge := func(src arrow.Array, i int) *ValueError {
		return valueErr(src, i, fmt.Sprintf("has more digits than %s holds (at most %d before the point)", name, prec-scale),
			"fix the data or widen the column's precision")
	}
	tooPrecise := func(src arrow.Array, i int) *ValueError {
		return valueErr(src, i, fmt.Sprintf("has more than %d digits after the point, which %s cannot hold", scale, name),
			"round it in the data or raise the column's scale")
	}
	switch s := c.src.(type) {
	case *arrow.Decimal128Type:
		if arrow.TypeEqual(c.src, dst) {
			return checked(dst, func(src arrow.Array) func(int) bool {
				vals := fixedValues[decimal128.Num](src)
				return func(i int) bool { return fitsPrec(vals[i]) }
			}, tooLarge), nil
		}
		from := s.Scale
		return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			vals := fixedValues[decimal128.Num](src)
			return mapFixed(dst, src, mem, func(i int) (decimal128.Num, bool) {
				n, ok := rescale(vals[i], from, scale)
				return n, ok && fitsPrec(n)
			}, func(i int) *ValueError {
				if from > scale {
					if _, ok := rescale(vals[i], from, scale); !ok {
						return tooPrecise(src, i)
					}
				}
				return tooLarge(src, i)
			})
		}, nil
	}
	switch c.src.ID() {
	case arrow.INT8:
		return decimalFromInts[int8](dst, scale, fitsPrec, tooLarge), nil
	case arrow.INT16:
		return decimalFromInts[int16](dst, scale, fitsPrec, tooLarge), nil
	case arrow.INT32:
		return decimalFromInts[int32](dst, scale, fitsPrec, tooLarge), nil
	case arrow.INT64:
		return decimalFromInts[int64](dst, scale, fitsPrec, tooLarge), nil
	case arrow.UINT8:
		return decimalFromInts[uint8](dst, scale, fitsPrec, tooLarge), nil
	case arrow.UINT16:
		return decimalFromInts[uint16](dst, scale, fitsPrec, tooLarge), nil
	case arrow.UINT32:
		return decimalFromInts[uint32](dst, scale, fitsPrec, tooLarge), nil
	case arrow.UINT64:
		return decimalFromInts[uint64](dst, scale, fitsPrec, tooLarge), nil
	case arrow.FLOAT32, arrow.FLOAT64:
		bits := 64
		if c.src.ID() == arrow.FLOAT32 {
			bits = 32
		}
		return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			var text []byte
			value := floatGetter(src)
			toText := func(i int) string {
				text = strconv.AppendFloat(text[:0], value(i), 'g', -1, bits)
				return arrowbuf.String(text)
			}
			return mapFixed(dst, src, mem, func(i int) (decimal128.Num, bool) {
				f := value(i)
				if math.IsNaN(f) || math.IsInf(f, 0) {
					return decimal128.Num{}, false
				}
				n, p := parseDecimal(toText(i), prec, scale)
				return n, p == decimalOK
			}, func(i int) *ValueError {
				if f := value(i); math.IsNaN(f) || math.IsInf(f, 0) {
					return valueErr(src, i, "is not a finite number, which "+name+" cannot hold", "fix the data or make the column Float64")
				}
				return decimalErr(src, i, toText(i), prec, scale, tooLarge, tooPrecise)
			})
		}, nil
	}
	if isStringLike(c.src) {
		return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			get := stringGetter(src)
			return mapFixed(dst, src, mem, func(i int) (decimal128.Num, bool) {
				n, p := parseDecimal(get(i), prec, scale)
				return n, p == decimalOK
			}, func(i int) *ValueError {
				return decimalErr(src, i, get(i), prec, scale, tooLarge, tooPrecise)
			})
		}, nil
	}
	return nil, errNoConversion
}

// decimalErr explains why text does not fit Decimal(prec, scale).
func decimalErr(src arrow.Array, i int, text string, prec, scale int32, tooLarge, tooPrecise func(arrow.Array, int) *ValueError) *ValueError {
	switch _, p := parseDecimal(text, prec, scale); p {
	case decimalTooPrecise:
		return tooPrecise(src, i)
	case decimalTooLarge:
		return tooLarge(src, i)
	}
	return valueErr(src, i, "is not a decimal number", "fix the data or make the column String")
}

func decimalFromInts[S integer](dst arrow.DataType, scale int32, fitsPrec func(decimal128.Num) bool, tooLarge func(arrow.Array, int) *ValueError) kernelFunc {
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		vals := fixedValues[S](src)
		return mapFixed(dst, src, mem, func(i int) (decimal128.Num, bool) {
			v := vals[i]
			var n decimal128.Num
			if v < 0 {
				n = decimal128.FromI64(int64(v))
			} else {
				n = decimal128.FromU64(uint64(v))
			}
			n, ok := rescale(n, 0, scale)
			return n, ok && fitsPrec(n)
		}, func(i int) *ValueError { return tooLarge(src, i) })
	}
}

// floatGetter returns an accessor of a Float32 or Float64 array's values as float64.
func floatGetter(a arrow.Array) func(i int) float64 {
	switch a := a.(type) {
	case *array.Float32:
		vals := a.Float32Values()
		return func(i int) float64 { return float64(vals[i]) }
	case *array.Float64:
		vals := a.Float64Values()
		return func(i int) float64 { return vals[i] }
	}
	return nil
}

func decimalType(prec, scale int64) (*Type, error) {
	if prec < 1 || prec > 76 {
		return nil, fmt.Errorf("decimal precision %d out of range 1..76", prec)
	}
	if scale < 0 || scale > prec {
		return nil, fmt.Errorf("decimal scale %d out of range 0..%d", scale, prec)
	}
	return &Type{Base: "Decimal", Precision: int(prec), Scale: int(scale)}, nil
}

// appendDecimal writes Decimal values as Int32, Int64 or Int128 by
// precision; conversion checked that each value fits its precision.
func appendDecimal(dst []byte, t *Type, chunks []arrow.Array, refs RowRefs) []byte {
	nulls := anyNulls(chunks)
	width := 16
	switch {
	case t.Precision <= 9:
		width = 4
	case t.Precision <= 18:
		width = 8
	}
	dst, out := grow(dst, refs.Len()*width)
	for j := range refs.Row {
		k, i := refs.Chunk[j], int(refs.Row[j])
		var v decimal128.Num
		if !(nulls && chunks[k].IsNull(i)) {
			v = chunks[k].(*array.Decimal128).Value(i)
		}
		o := out[j*width:]
		switch width {
		case 4:
			binary.LittleEndian.PutUint32(o, uint32(v.LowBits()))
		case 8:
			binary.LittleEndian.PutUint64(o, v.LowBits())
		default:
			binary.LittleEndian.PutUint64(o, v.LowBits())
			binary.LittleEndian.PutUint64(o[8:], uint64(v.HighBits()))
		}
	}
	return dst
}
