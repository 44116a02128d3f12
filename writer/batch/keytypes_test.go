package batch

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestKeyTypesAgreeWithTheBatcher: a type the plan accepts for a partition
// or sorting key is one the batcher groups and sorts by, and a type it
// refuses is one the batcher would fail on after reading data.
func TestKeyTypesAgreeWithTheBatcher(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	types := []arrow.DataType{
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
		arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64,
		arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64, arrow.FixedWidthTypes.Boolean,
		arrow.FixedWidthTypes.Date32, &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"},
		arrow.BinaryTypes.String, arrow.BinaryTypes.Binary, &arrow.FixedSizeBinaryType{ByteWidth: 4},
		&arrow.Decimal128Type{Precision: 10, Scale: 2},
		arrow.ListOf(arrow.PrimitiveTypes.Uint8), arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Uint8),
		arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Uint8}),
		arrow.BinaryTypes.LargeString,
	}
	for _, dt := range types {
		b := array.NewBuilder(mem, dt)
		b.AppendEmptyValue()
		b.AppendNull()
		a := b.NewArray()
		b.Release()
		_, perr := newKeyWriter(a)
		if accepted := PartitionKeyType(dt) == nil; accepted != (perr == nil) {
			t.Errorf("partition key of %s: PartitionKeyType accepts %v, the batcher fails with %v", dt, accepted, perr)
		}
		_, serr := orderKeys([]arrow.Array{a}, a.Len(), nil)
		if accepted := SortingKeyType(dt) == nil; accepted != (serr == nil) {
			t.Errorf("sorting key of %s: SortingKeyType accepts %v, the sort fails with %v", dt, accepted, serr)
		}
		a.Release()
	}
}
