package batch

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/transform"
)

// EvalKeys evaluates exprs on a canonical record; the caller releases the
// arrays.
func EvalKeys(exprs []*transform.Expr, rec arrow.Record, mem memory.Allocator) ([]arrow.Array, error) {
	out := make([]arrow.Array, 0, len(exprs))
	for _, e := range exprs {
		a, err := e.Eval(rec, mem)
		if err != nil {
			for _, o := range out {
				o.Release()
			}
			return nil, fmt.Errorf("evaluate key %s: %w", e, err)
		}
		out = append(out, a)
	}
	return out, nil
}
