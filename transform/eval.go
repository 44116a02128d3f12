package transform

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/arrowbuf"
	"github.com/chload/chload/internal/sqlquote"
)

// ResultType returns the Arrow type Eval produces for records with schema in.
// It fails when a referenced column is missing or has a type the function
// does not accept.
func (e *Expr) ResultType(in *arrow.Schema) (arrow.DataType, error) {
	switch e.kind {
	case kindColumn:
		idx := in.FieldIndices(e.name)
		if len(idx) == 0 {
			return nil, fmt.Errorf("column %s not found", sqlquote.Ident(e.name))
		}
		return in.Field(idx[0]).Type, nil
	case kindLiteral:
		return e.lit.dataType(), nil
	}
	n := e.fn.values
	if n < 0 {
		n = len(e.args)
	}
	types := make([]arrow.DataType, n)
	for i := range types {
		t, err := e.args[i].ResultType(in)
		if err != nil {
			return nil, err
		}
		types[i] = t
	}
	return e.fn.result(e, types)
}

// Eval evaluates e over every row of rec and returns an array of
// rec.NumRows() values, allocated from mem; the caller releases it. Columns
// are looked up by name in rec's schema, and a plain column reference returns
// that column itself, retained. Nulls in an argument give nulls in the result.
func (e *Expr) Eval(rec arrow.Record, mem memory.Allocator) (arrow.Array, error) {
	switch e.kind {
	case kindColumn:
		idx := rec.Schema().FieldIndices(e.name)
		if len(idx) == 0 {
			return nil, fmt.Errorf("evaluate %s: column not found", sqlquote.Ident(e.name))
		}
		col := rec.Column(idx[0])
		col.Retain()
		return col, nil
	case kindLiteral:
		return e.lit.broadcast(int(rec.NumRows()), mem), nil
	}
	n := e.fn.values
	if n < 0 {
		n = len(e.args)
	}
	in := make([]arrow.Array, 0, n)
	defer func() {
		for _, a := range in {
			a.Release()
		}
	}()
	for i := 0; i < n; i++ {
		a, err := e.args[i].Eval(rec, mem)
		if err != nil {
			return nil, err
		}
		in = append(in, a)
	}
	types := make([]arrow.DataType, n)
	for i, a := range in {
		types[i] = a.DataType()
	}
	if _, err := e.fn.result(e, types); err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", e, err)
	}
	var out arrow.Array
	var err error
	if e.fn.typed {
		out, err = e.fn.evalTyped(e, in, columnTypes(e.args[:n], rec.Schema()), mem)
	} else {
		out, err = e.fn.eval(e, in, mem)
	}
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", e, err)
	}
	return out, nil
}

// columnTypes returns, for every argument that is a column reference, the
// ClickHouse type its field names under ClickHouseTypeKey, else "".
func columnTypes(args []*Expr, schema *arrow.Schema) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a.kind != kindColumn {
			continue
		}
		idx := schema.FieldIndices(a.name)
		if len(idx) == 0 {
			continue
		}
		md := schema.Field(idx[0]).Metadata
		if k := md.FindKey(ClickHouseTypeKey); k >= 0 {
			out[i] = md.Values()[k]
		}
	}
	return out
}

// dataType returns the ClickHouse type of a literal in its Arrow form: the
// smallest unsigned integer for a non-negative integer, the smallest signed
// one for a negative integer, Float64 or String.
func (l literal) dataType() arrow.DataType {
	switch l.kind {
	case litInt:
		return intLiteralType(l.i)
	case litUint:
		return arrow.PrimitiveTypes.Uint64
	case litFloat:
		return arrow.PrimitiveTypes.Float64
	}
	return arrow.BinaryTypes.String
}

func intLiteralType(v int64) arrow.DataType {
	switch {
	case v >= 0 && v <= 0xff:
		return arrow.PrimitiveTypes.Uint8
	case v >= 0 && v <= 0xffff:
		return arrow.PrimitiveTypes.Uint16
	case v >= 0 && v <= 0xffffffff:
		return arrow.PrimitiveTypes.Uint32
	case v >= 0:
		return arrow.PrimitiveTypes.Uint64
	case v >= -1<<7:
		return arrow.PrimitiveTypes.Int8
	case v >= -1<<15:
		return arrow.PrimitiveTypes.Int16
	case v >= -1<<31:
		return arrow.PrimitiveTypes.Int32
	}
	return arrow.PrimitiveTypes.Int64
}

// broadcast returns an array holding the literal n times.
func (l literal) broadcast(n int, mem memory.Allocator) arrow.Array {
	dt := l.dataType()
	if l.kind == litString {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.Reserve(n)
		b.ReserveData(n * len(l.s))
		for i := 0; i < n; i++ {
			b.Append(l.s)
		}
		return b.NewArray()
	}
	switch dt.ID() {
	case arrow.UINT8:
		return fill(mem, dt, n, uint8(l.i))
	case arrow.UINT16:
		return fill(mem, dt, n, uint16(l.i))
	case arrow.UINT32:
		return fill(mem, dt, n, uint32(l.i))
	case arrow.UINT64:
		if l.kind == litUint {
			return fill(mem, dt, n, l.u)
		}
		return fill(mem, dt, n, uint64(l.i))
	case arrow.INT8:
		return fill(mem, dt, n, int8(l.i))
	case arrow.INT16:
		return fill(mem, dt, n, int16(l.i))
	case arrow.INT32:
		return fill(mem, dt, n, int32(l.i))
	case arrow.INT64:
		return fill(mem, dt, n, l.i)
	}
	return fill(mem, dt, n, l.f)
}

func fill[T any](mem memory.Allocator, dt arrow.DataType, n int, v T) arrow.Array {
	buf, vals := arrowbuf.NewValues[T](mem, n)
	for i := range vals {
		vals[i] = v
	}
	return finish(dt, n, nil, buf)
}

// finish wraps a validity bitmap (may be nil) and a value buffer into an
// array of type dt and length n, taking ownership of both buffers.
func finish(dt arrow.DataType, n int, validity, values *memory.Buffer) arrow.Array {
	nulls := 0
	if validity != nil {
		nulls = n - bitutil.CountSetBits(validity.Bytes(), 0, n)
	}
	data := array.NewData(dt, n, []*memory.Buffer{validity, values}, nil, nulls, 0)
	if validity != nil {
		validity.Release()
	}
	values.Release()
	defer data.Release()
	return array.MakeFromData(data)
}

// valid reports whether row i of a is not null.
func valid(a arrow.Array, i int) bool {
	return a.NullN() == 0 || a.IsValid(i)
}
