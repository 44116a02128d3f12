package transform

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/arrowbuf"
)

// checkIntDiv accepts intDiv(x, N) where N is a non-zero integer literal.
func checkIntDiv(args []*Expr) error {
	if len(args) != 2 {
		return fmt.Errorf("want 2 arguments, got %d", len(args))
	}
	n := args[1]
	if n.kind != kindLiteral || (n.lit.kind != litInt && n.lit.kind != litUint) {
		return fmt.Errorf("divisor %s must be an integer literal", n)
	}
	if n.lit.kind == litInt && n.lit.i == 0 {
		return errors.New("division by zero")
	}
	return nil
}

// divisor describes the literal N of intDiv(x, N) with its ClickHouse type.
type divisor struct {
	signed bool   // N is negative, so its type is Int8..Int64
	width  int    // byte width of N's type
	i      int64  // N when it fits int64
	u      uint64 // N as unsigned bits
}

func divisorOf(c *Expr) divisor {
	l := c.args[1].lit
	if l.kind == litUint {
		return divisor{width: 8, u: l.u, i: int64(l.u)}
	}
	dt := intLiteralType(l.i).(arrow.FixedWidthDataType)
	return divisor{signed: l.i < 0, width: dt.BitWidth() / 8, i: l.i, u: uint64(l.i)}
}

// intDivResult follows ClickHouse's ResultOfIntegerDivision: the width of x,
// signed when x or N is signed.
func intDivResult(c *Expr, in []arrow.DataType) (arrow.DataType, error) {
	w, signed, ok := intInfo(in[0])
	if !ok {
		return nil, fmt.Errorf("intDiv: argument %s has type %s, want an integer", c.args[0], in[0])
	}
	return intType(w, signed || divisorOf(c).signed), nil
}

// intInfo returns the byte width and signedness of an integer type.
func intInfo(dt arrow.DataType) (width int, signed bool, ok bool) {
	switch dt.ID() {
	case arrow.INT8:
		return 1, true, true
	case arrow.INT16:
		return 2, true, true
	case arrow.INT32:
		return 4, true, true
	case arrow.INT64:
		return 8, true, true
	case arrow.UINT8:
		return 1, false, true
	case arrow.UINT16:
		return 2, false, true
	case arrow.UINT32:
		return 4, false, true
	case arrow.UINT64:
		return 8, false, true
	}
	return 0, false, false
}

func intType(width int, signed bool) arrow.DataType {
	switch {
	case width == 1 && signed:
		return arrow.PrimitiveTypes.Int8
	case width == 2 && signed:
		return arrow.PrimitiveTypes.Int16
	case width == 4 && signed:
		return arrow.PrimitiveTypes.Int32
	case width == 8 && signed:
		return arrow.PrimitiveTypes.Int64
	case width == 1:
		return arrow.PrimitiveTypes.Uint8
	case width == 2:
		return arrow.PrimitiveTypes.Uint16
	case width == 4:
		return arrow.PrimitiveTypes.Uint32
	}
	return arrow.PrimitiveTypes.Uint64
}

// wrapSigned reinterprets the low width bytes of v as a signed integer.
func wrapSigned(v uint64, width int) int64 {
	switch width {
	case 1:
		return int64(int8(v))
	case 2:
		return int64(int16(v))
	case 4:
		return int64(int32(v))
	}
	return int64(v)
}

// evalIntDiv divides x by the literal N, truncating toward zero, with the
// operand conversions of current ClickHouse (DivideIntegralImpl): when either
// side is signed, x is taken as the signed type of its width and N as the
// signed type of its own width if that is at least x's width, else of x's
// width; the quotient is then cast to the result type.
func evalIntDiv(c *Expr, in []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	x := in[0]
	w, xSigned, _ := intInfo(x.DataType())
	d := divisorOf(c)
	rt := intType(w, xSigned || d.signed)
	if !xSigned && !d.signed {
		switch x := x.(type) {
		case *array.Uint8:
			return divUnsigned(mem, rt, x, x.Uint8Values(), d.u)
		case *array.Uint16:
			return divUnsigned(mem, rt, x, x.Uint16Values(), d.u)
		case *array.Uint32:
			return divUnsigned(mem, rt, x, x.Uint32Values(), d.u)
		case *array.Uint64:
			return divUnsigned(mem, rt, x, x.Uint64Values(), d.u)
		}
	}
	b := d.i
	if w <= d.width {
		b = wrapSigned(d.u, d.width)
	}
	if b == 0 {
		return nil, errors.New("division by zero")
	}
	minA := int64(-1) << (8*w - 1)
	switch x := x.(type) {
	case *array.Int8:
		return divSigned[int8, int8](mem, rt, x, x.Int8Values(), b, minA)
	case *array.Int16:
		return divSigned[int16, int16](mem, rt, x, x.Int16Values(), b, minA)
	case *array.Int32:
		return divSigned[int32, int32](mem, rt, x, x.Int32Values(), b, minA)
	case *array.Int64:
		return divSigned[int64, int64](mem, rt, x, x.Int64Values(), b, minA)
	case *array.Uint8:
		return divSigned[uint8, int8](mem, rt, x, x.Uint8Values(), b, minA)
	case *array.Uint16:
		return divSigned[uint16, int16](mem, rt, x, x.Uint16Values(), b, minA)
	case *array.Uint32:
		return divSigned[uint32, int32](mem, rt, x, x.Uint32Values(), b, minA)
	case *array.Uint64:
		return divSigned[uint64, int64](mem, rt, x, x.Uint64Values(), b, minA)
	}
	return nil, fmt.Errorf("type %s is not an integer", x.DataType())
}

func divUnsigned[T uint8 | uint16 | uint32 | uint64](mem memory.Allocator, rt arrow.DataType, x arrow.Array, vals []T, n uint64) (arrow.Array, error) {
	buf, out := arrowbuf.NewValues[T](mem, len(vals))
	for i, v := range vals {
		out[i] = T(uint64(v) / n)
	}
	return finish(rt, len(vals), arrowbuf.CopyValidity(mem, x), buf), nil
}

// divSigned divides the values of x, taken as the signed type S of their
// width, by b and stores the quotients as S.
func divSigned[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64, S int8 | int16 | int32 | int64](
	mem memory.Allocator, rt arrow.DataType, x arrow.Array, vals []T, b, minA int64) (arrow.Array, error) {
	if b == -1 {
		for i, v := range vals {
			if int64(S(v)) == minA && valid(x, i) {
				return nil, fmt.Errorf("division of minimal signed number %d by minus one (row %d)", minA, i)
			}
		}
	}
	buf, out := arrowbuf.NewValues[S](mem, len(vals))
	for i, v := range vals {
		// Go defines MinInt64 / -1 (it wraps), so null rows cannot trap.
		out[i] = S(int64(S(v)) / b)
	}
	return finish(rt, len(vals), arrowbuf.CopyValidity(mem, x), buf), nil
}
