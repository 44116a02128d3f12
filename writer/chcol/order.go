package chcol

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// OrderKey maps the values of one ClickHouse type whose canonical Arrow
// array does not sort as the server sorts them to unsigned integer columns
// that do: rows compare as the server compares the values when their
// columns are compared in turn as uint64s. The writer's sort
// (writer/batch) uses it for sorting key columns of the type.
type OrderKey struct {
	// Columns is the number of uint64 columns each value maps to.
	Columns int
	// Append appends the keys of every row of a, a canonical array of the
	// type, to dst[0] .. dst[Columns-1] and returns dst. NULL rows get
	// zeros (the caller orders NULLs).
	Append func(dst [][]uint64, a arrow.Array) [][]uint64
}

// OrderKey returns how values of t are ordered when that differs from the
// order of its canonical Arrow array (see OrderKey), or nil when sorting the
// canonical array by its Arrow type (integers and dates by value, floats
// with NaN last, decimals by value, binary by bytes, Struct element by
// element) is ClickHouse's order. t's Nullable and LowCardinality flags do
// not matter.
func (t *Type) OrderKey() *OrderKey {
	if f := t.family(); f != nil && f.orderKey != nil {
		return f.orderKey(t)
	}
	return nil
}

// uuidOrder orders UUIDs as ClickHouse does (18.16 included): a UUID is a
// UInt128 of two UInt64 halves compared high half first, and the high half
// is the second 8 bytes of the RFC 4122 form, so
// 00000000-0000-0001-0000-000000000000 sorts before
// 00000000-0000-0000-0000-000000000001.
var uuidOrder = &OrderKey{
	Columns: 2,
	Append: func(dst [][]uint64, a arrow.Array) [][]uint64 {
		v := a.(*array.FixedSizeBinary)
		nulls := v.NullN() > 0
		for i := 0; i < v.Len(); i++ {
			if nulls && v.IsNull(i) {
				dst[0] = append(dst[0], 0)
				dst[1] = append(dst[1], 0)
				continue
			}
			b := v.Value(i)
			dst[0] = append(dst[0], binary.BigEndian.Uint64(b[8:16]))
			dst[1] = append(dst[1], binary.BigEndian.Uint64(b[:8]))
		}
		return dst
	},
}
