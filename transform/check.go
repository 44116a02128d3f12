package transform

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// CallsRand reports whether e calls rand() anywhere, so that its value is
// not a function of the row. Only a sharding key that is rand() itself has
// a meaning chload reproduces (any shard will do); any other key that calls
// rand() cannot be computed as the server would.
func (e *Expr) CallsRand() bool {
	if e.kind != kindCall {
		return false
	}
	if e.name == "rand" {
		return true
	}
	for _, a := range e.args {
		if a.CallsRand() {
			return true
		}
	}
	return false
}

// Check reports, without any data, whether Eval of e can succeed on records
// of schema in, and returns the type Eval then produces. It evaluates e over
// zero rows, so every function checks the types of its arguments as it does
// on real records (hash functions included, which check them only when they
// evaluate). A nil error means the types fit; a value can still be refused
// (a NULL sharding key, say).
func (e *Expr) Check(in *arrow.Schema) (_ arrow.DataType, err error) {
	if e.CallsRand() {
		return nil, errors.New("it calls rand(), so its value is not a function of the row and chload cannot compute it as the server does")
	}
	rt, err := e.ResultType(in)
	if err != nil {
		return nil, err
	}
	mem := memory.NewGoAllocator()
	cols := e.Columns()
	fields := make([]arrow.Field, 0, len(cols))
	arrs := make([]arrow.Array, 0, len(cols))
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: checking %s over no rows failed: %v", e, r)
		}
	}()
	for _, c := range cols {
		f := in.Field(in.FieldIndices(c)[0]) // ResultType found every column
		b := array.NewBuilder(mem, f.Type)
		arrs = append(arrs, b.NewArray())
		b.Release()
		fields = append(fields, f)
	}
	rec := array.NewRecord(arrow.NewSchema(fields, nil), arrs, 0)
	defer rec.Release()
	out, err := e.Eval(rec, mem)
	if err != nil {
		return nil, err
	}
	out.Release()
	return rt, nil
}
