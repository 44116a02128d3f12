package chcol

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Bool (also spelled Boolean): canonical arrow Boolean, one byte 0 or 1 in
// the Native format.
func init() {
	register(&family{
		names:  []string{"Bool", "Boolean"},
		parse:  func(*typeParser, string, int) (*Type, error) { return &Type{Base: "Bool"}, nil },
		arrow:  fixedArrow(arrow.FixedWidthTypes.Boolean),
		kernel: func(c *Converter, _ string) (kernelFunc, error) { return boolKernel(c) },
		encode: func(dst []byte, _ *Type, chunks []arrow.Array, refs RowRefs) []byte {
			return appendBool(dst, chunks, refs)
		},
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, valid []bool) (any, error) {
			return builtSlice(t, chunks, perm, valid, func(a arrow.Array) func(int) bool {
				return a.(*array.Boolean).Value
			}), nil
		},
	})
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
			return valueErr(src, i, "is neither 0 nor 1, so it is not a Bool", "fix the data or make the column UInt8")
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

func appendBool(dst []byte, chunks []arrow.Array, refs RowRefs) []byte {
	bools := make([]*array.Boolean, len(chunks))
	for k, c := range chunks {
		bools[k] = c.(*array.Boolean)
	}
	nulls := anyNulls(chunks)
	dst, out := grow(dst, refs.Len())
	for j := range refs.Row {
		a, i := bools[refs.Chunk[j]], int(refs.Row[j])
		out[j] = 0
		if !(nulls && a.IsNull(i)) && a.Value(i) {
			out[j] = 1
		}
	}
	return dst
}
