package transform

import (
	"errors"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// tupleResult gives a struct with fields named "1", "2", ... like
// ClickHouse's unnamed Tuple.
func tupleResult(_ *Expr, in []arrow.DataType) (arrow.DataType, error) {
	fields := make([]arrow.Field, len(in))
	for i, t := range in {
		fields[i] = arrow.Field{Name: strconv.Itoa(i + 1), Type: t, Nullable: true}
	}
	return arrow.StructOf(fields...), nil
}

func evalTuple(_ *Expr, in []arrow.Array, _ memory.Allocator) (arrow.Array, error) {
	if len(in) == 0 {
		return nil, errors.New("an empty tuple has no values to evaluate")
	}
	names := make([]string, len(in))
	for i := range in {
		names[i] = strconv.Itoa(i + 1)
	}
	return array.NewStructArray(in, names)
}
