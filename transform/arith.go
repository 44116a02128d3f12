package transform

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/arrowbuf"
)

// The arithmetic functions follow ClickHouse's NumberTraits result types and
// compute like its C++ implementation on two's complement integers: sums,
// differences and products wrap around in the result type, and a remainder
// is computed in the C++ common type of the operands (after integer
// promotion) with the sign of the dividend, then cast to the result type.

func init() {
	for _, f := range []struct {
		name string
		rule func(a, b numType) (numType, error)
		iop  func(a, b uint64) uint64
		fop  func(a, b float64) float64
	}{
		{"plus", plusType, func(a, b uint64) uint64 { return a + b }, func(a, b float64) float64 { return a + b }},
		{"minus", minusType, func(a, b uint64) uint64 { return a - b }, func(a, b float64) float64 { return a - b }},
		{"multiply", plusType, func(a, b uint64) uint64 { return a * b }, func(a, b float64) float64 { return a * b }},
	} {
		f := f
		register(&function{
			name: f.name, signature: f.name + "(a, b)", values: 2, check: arity(2),
			result: binaryResult(f.rule),
			eval: func(c *Expr, in []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
				return evalBinary(c, in, mem, f.rule, f.iop, f.fop)
			},
		})
	}
	register(&function{
		name: "modulo", signature: "modulo(a, b) of integers", values: 2, check: arity(2),
		result: binaryResult(moduloType), eval: evalModulo,
	})
	register(&function{
		name: "abs", signature: "abs(x)", values: 1, check: arity(1),
		result: unaryResult(absType),
		eval: func(c *Expr, in []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			return evalUnary(c, in[0], mem, absType, func(v uint64, signed bool) uint64 {
				if signed && int64(v) < 0 {
					return -v
				}
				return v
			}, math.Abs)
		},
	})
	register(&function{
		name: "negate", signature: "negate(x)", values: 1, check: arity(1),
		result: unaryResult(negateType),
		eval: func(c *Expr, in []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			return evalUnary(c, in[0], mem, negateType, func(v uint64, _ bool) uint64 { return -v },
				func(f float64) float64 { return -f })
		},
	})
}

// numType is a ClickHouse number type: an integer of width bytes, signed or
// not, or a float of width 4 or 8.
type numType struct {
	width  int
	signed bool
	float  bool
}

func numTypeOf(dt arrow.DataType) (numType, bool) {
	if w, s, ok := intInfo(dt); ok {
		return numType{width: w, signed: s}, true
	}
	switch dt.ID() {
	case arrow.FLOAT32:
		return numType{width: 4, signed: true, float: true}, true
	case arrow.FLOAT64:
		return numType{width: 8, signed: true, float: true}, true
	}
	return numType{}, false
}

func (t numType) arrow() arrow.DataType {
	switch {
	case t.float && t.width == 4:
		return arrow.PrimitiveTypes.Float32
	case t.float:
		return arrow.PrimitiveTypes.Float64
	}
	return intType(t.width, t.signed)
}

// nextSize is NumberTraits::nextSize: twice the width, at most 8 bytes.
func nextSize(w int) int {
	if w < 8 {
		return 2 * w
	}
	return w
}

// plusType is ResultOfAdditionMultiplication: signed if either is, float if
// either is, twice the wider width (at most 8 bytes).
func plusType(a, b numType) (numType, error) {
	return numType{width: nextSize(max(a.width, b.width)), signed: a.signed || b.signed, float: a.float || b.float}, nil
}

// minusType is ResultOfSubtraction: like plusType but always signed.
func minusType(a, b numType) (numType, error) {
	t, _ := plusType(a, b)
	t.signed = true
	return t, nil
}

// moduloType is ResultOfModulo of ClickHouse 21.x and later: signed when the
// dividend is, with the divisor's width, doubled when signed. ClickHouse
// before that (18.16 included; moduloLegacy today) gave the divisor's width,
// signed when either operand is: the remainder is the same number unless it
// does not fit that narrower type, where the old result wrapped around.
func moduloType(a, b numType) (numType, error) {
	if a.float || b.float {
		return numType{}, fmt.Errorf("modulo of floating-point numbers is not supported")
	}
	if a.signed {
		return numType{width: nextSize(b.width), signed: true}, nil
	}
	return numType{width: b.width}, nil
}

// absType is ResultOfAbs: the unsigned type of the same width, or the float.
func absType(a numType) numType {
	if a.float {
		return a
	}
	return numType{width: a.width}
}

// negateType is ResultOfNegate: signed, twice as wide for an unsigned integer.
func negateType(a numType) numType {
	if a.float || a.signed {
		return numType{width: a.width, signed: true, float: a.float}
	}
	return numType{width: nextSize(a.width), signed: true}
}

func binaryResult(rule func(a, b numType) (numType, error)) func(*Expr, []arrow.DataType) (arrow.DataType, error) {
	return func(c *Expr, in []arrow.DataType) (arrow.DataType, error) {
		t, err := binaryTypes(c, in, rule)
		if err != nil {
			return nil, err
		}
		return t.arrow(), nil
	}
}

func binaryTypes(c *Expr, in []arrow.DataType, rule func(a, b numType) (numType, error)) (numType, error) {
	var ts [2]numType
	for i := range ts {
		t, ok := numTypeOf(in[i])
		if !ok {
			return numType{}, fmt.Errorf("%s: argument %s has type %s, want a number", c.name, c.args[i], in[i])
		}
		ts[i] = t
	}
	t, err := rule(ts[0], ts[1])
	if err != nil {
		return numType{}, fmt.Errorf("%s: %w", c.name, err)
	}
	return t, nil
}

func unaryResult(rule func(numType) numType) func(*Expr, []arrow.DataType) (arrow.DataType, error) {
	return func(c *Expr, in []arrow.DataType) (arrow.DataType, error) {
		t, ok := numTypeOf(in[0])
		if !ok {
			return nil, fmt.Errorf("%s: argument %s has type %s, want a number", c.name, c.args[0], in[0])
		}
		return rule(t).arrow(), nil
	}
}

// intValues returns the values of an integer array extended to 64 bits
// (sign-extended when signed).
func intValues(a arrow.Array) []uint64 {
	out := make([]uint64, a.Len())
	switch a := a.(type) {
	case *array.Int8:
		for i, v := range a.Int8Values() {
			out[i] = uint64(v)
		}
	case *array.Int16:
		for i, v := range a.Int16Values() {
			out[i] = uint64(v)
		}
	case *array.Int32:
		for i, v := range a.Int32Values() {
			out[i] = uint64(v)
		}
	case *array.Int64:
		for i, v := range a.Int64Values() {
			out[i] = uint64(v)
		}
	case *array.Uint8:
		for i, v := range a.Uint8Values() {
			out[i] = uint64(v)
		}
	case *array.Uint16:
		for i, v := range a.Uint16Values() {
			out[i] = uint64(v)
		}
	case *array.Uint32:
		for i, v := range a.Uint32Values() {
			out[i] = uint64(v)
		}
	case *array.Uint64:
		copy(out, a.Uint64Values())
	}
	return out
}

// floatValues returns the values of a number array as float64, converted as
// C++ converts them.
func floatValues(a arrow.Array, t numType) []float64 {
	out := make([]float64, a.Len())
	switch a := a.(type) {
	case *array.Float32:
		for i, v := range a.Float32Values() {
			out[i] = float64(v)
		}
	case *array.Float64:
		copy(out, a.Float64Values())
	default:
		for i, v := range intValues(a) {
			if t.signed {
				out[i] = float64(int64(v))
			} else {
				out[i] = float64(v)
			}
		}
	}
	return out
}

// storeInts stores 64-bit results truncated to the integer type rt.
func storeInts(mem memory.Allocator, rt numType, vals []uint64, validity *memory.Buffer) arrow.Array {
	n := len(vals)
	dt := rt.arrow()
	switch rt.width {
	case 1:
		return storeAs[uint8](mem, dt, vals, validity)
	case 2:
		return storeAs[uint16](mem, dt, vals, validity)
	case 4:
		return storeAs[uint32](mem, dt, vals, validity)
	}
	buf, out := arrowbuf.NewValues[uint64](mem, n)
	copy(out, vals)
	return finish(dt, n, validity, buf)
}

func storeAs[T uint8 | uint16 | uint32](mem memory.Allocator, dt arrow.DataType, vals []uint64, validity *memory.Buffer) arrow.Array {
	buf, out := arrowbuf.NewValues[T](mem, len(vals))
	for i, v := range vals {
		out[i] = T(v)
	}
	return finish(dt, len(vals), validity, buf)
}

// storeFloats stores float64 results as the float type rt.
func storeFloats(mem memory.Allocator, rt numType, vals []float64, validity *memory.Buffer) arrow.Array {
	if rt.width == 4 {
		buf, out := arrowbuf.NewValues[float32](mem, len(vals))
		for i, v := range vals {
			out[i] = float32(v)
		}
		return finish(arrow.PrimitiveTypes.Float32, len(vals), validity, buf)
	}
	buf, out := arrowbuf.NewValues[float64](mem, len(vals))
	copy(out, vals)
	return finish(arrow.PrimitiveTypes.Float64, len(vals), validity, buf)
}

func evalBinary(c *Expr, in []arrow.Array, mem memory.Allocator, rule func(a, b numType) (numType, error),
	iop func(a, b uint64) uint64, fop func(a, b float64) float64) (arrow.Array, error) {
	rt, err := binaryTypes(c, []arrow.DataType{in[0].DataType(), in[1].DataType()}, rule)
	if err != nil {
		return nil, err
	}
	if rt.float {
		at, _ := numTypeOf(in[0].DataType())
		bt, _ := numTypeOf(in[1].DataType())
		x, y := floatValues(in[0], at), floatValues(in[1], bt)
		for i := range x {
			x[i] = fop(x[i], y[i])
		}
		return storeFloats(mem, rt, x, unionValidity(mem, in)), nil
	}
	x, y := intValues(in[0]), intValues(in[1])
	for i := range x {
		x[i] = iop(x[i], y[i])
	}
	return storeInts(mem, rt, x, unionValidity(mem, in)), nil
}

func evalUnary(c *Expr, a arrow.Array, mem memory.Allocator, rule func(numType) numType,
	iop func(v uint64, signed bool) uint64, fop func(float64) float64) (arrow.Array, error) {
	t, ok := numTypeOf(a.DataType())
	if !ok {
		return nil, fmt.Errorf("%s: argument has type %s, want a number", c.name, a.DataType())
	}
	rt := rule(t)
	if t.float {
		x := floatValues(a, t)
		for i := range x {
			x[i] = fop(x[i])
		}
		return storeFloats(mem, rt, x, arrowbuf.CopyValidity(mem, a)), nil
	}
	x := intValues(a)
	for i := range x {
		x[i] = iop(x[i], t.signed)
	}
	return storeInts(mem, rt, x, arrowbuf.CopyValidity(mem, a)), nil
}

// evalModulo computes a % b like ClickHouse's ModuloImpl: in the common type
// C++ converts both operands to (integers narrower than 4 bytes promoted to
// a signed 4-byte int; with mixed signs the unsigned type wins unless the
// signed one is wider), truncating toward zero, then cast to the result type.
// A zero divisor, or the minimum signed value divided by -1 when both
// operands are signed, is an error as in ClickHouse.
func evalModulo(c *Expr, in []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	rt, err := binaryTypes(c, []arrow.DataType{in[0].DataType(), in[1].DataType()}, moduloType)
	if err != nil {
		return nil, err
	}
	at, _ := numTypeOf(in[0].DataType())
	bt, _ := numTypeOf(in[1].DataType())
	ct := commonCType(at, bt)
	shift := 64 - 8*uint(ct.width)
	minA := uint64(1) << (8*uint(at.width) - 1)
	minA = signExtend(minA, at.width)
	x, y := intValues(in[0]), intValues(in[1])
	for i := range x {
		if y[i] == 0 || (at.signed && bt.signed && x[i] == minA && int64(y[i]) == -1) {
			if !valid(in[0], i) || !valid(in[1], i) {
				x[i] = 0
				continue
			}
			if y[i] == 0 {
				return nil, fmt.Errorf("division by zero (row %d)", i)
			}
			return nil, fmt.Errorf("division of minimal signed number %d by minus one (row %d)", int64(minA), i)
		}
		if ct.signed {
			a := int64(x[i]<<shift) >> shift
			b := int64(y[i]<<shift) >> shift
			x[i] = uint64(a % b)
		} else {
			a := x[i] << shift >> shift
			b := y[i] << shift >> shift
			x[i] = a % b
		}
	}
	return storeInts(mem, rt, x, unionValidity(mem, in)), nil
}

// commonCType is the type C++'s usual arithmetic conversions give two
// integer operands.
func commonCType(a, b numType) numType {
	promote := func(t numType) numType {
		if t.width < 4 {
			return numType{width: 4, signed: true}
		}
		return t
	}
	a, b = promote(a), promote(b)
	if a.signed == b.signed {
		return numType{width: max(a.width, b.width), signed: a.signed}
	}
	u, s := a, b
	if a.signed {
		u, s = b, a
	}
	if u.width >= s.width {
		return u
	}
	return s
}
