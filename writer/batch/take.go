package batch

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/arrowbuf"
)

// takeRecord copies the rows idx of rec into a new, compact record. Flat
// types (fixed width, booleans, strings) are gathered here in one pass with
// exact-size buffers; nested ones go through Arrow's take kernel.
func takeRecord(ctx context.Context, rec arrow.Record, idx []int32, mem memory.Allocator) (arrow.Record, error) {
	cols := make([]arrow.Array, rec.NumCols())
	for i, c := range rec.Columns() {
		out, err := takeArray(ctx, c, idx, mem)
		if err != nil {
			for _, o := range cols[:i] {
				o.Release()
			}
			return nil, fmt.Errorf("copy column %s: %w", rec.ColumnName(i), err)
		}
		cols[i] = out
	}
	out := array.NewRecord(rec.Schema(), cols, int64(len(idx)))
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

func takeArray(ctx context.Context, a arrow.Array, idx []int32, mem memory.Allocator) (arrow.Array, error) {
	d := a.Data()
	n := len(idx)
	validity, nulls := takeValidity(a, idx, mem)
	var data *array.Data
	switch v := a.(type) {
	case *array.String:
		offs, vals := takeVarBinary(v.ValueOffsets(), rawValues(d), idx, mem)
		data = array.NewData(d.DataType(), n, []*memory.Buffer{validity, offs, vals}, nil, nulls, 0)
		offs.Release()
		vals.Release()
	case *array.Binary:
		offs, vals := takeVarBinary(v.ValueOffsets(), rawValues(d), idx, mem)
		data = array.NewData(d.DataType(), n, []*memory.Buffer{validity, offs, vals}, nil, nulls, 0)
		offs.Release()
		vals.Release()
	case *array.Dictionary:
		if v.Indices().DataType().ID() != arrow.INT32 {
			if validity != nil {
				validity.Release()
			}
			return takeWithKernel(ctx, a, idx, mem)
		}
		// The indices are taken; the dictionary is shared.
		idxData := v.Indices().Data()
		buf := arrowbuf.Overwritten(mem, n*4)
		dst := arrow.Int32Traits.CastFromBytes(buf.Bytes())
		src := arrow.Int32Traits.CastFromBytes(idxData.Buffers()[1].Bytes())[idxData.Offset():]
		for i, j := range idx {
			dst[i] = src[j]
		}
		data = array.NewDataWithDictionary(d.DataType(), n, []*memory.Buffer{validity, buf}, nulls, 0, v.Dictionary().Data().(*array.Data))
		buf.Release()
	case *array.Boolean:
		buf := memory.NewResizableBuffer(mem)
		buf.Resize(int(bitutil.BytesForBits(int64(n))))
		out := buf.Bytes()
		src := d.Buffers()[1].Bytes()
		off := d.Offset()
		for i, j := range idx {
			bitutil.SetBitTo(out, i, bitutil.BitIsSet(src, off+int(j)))
		}
		data = array.NewData(d.DataType(), n, []*memory.Buffer{validity, buf}, nil, nulls, 0)
		buf.Release()
	default:
		fw, ok := d.DataType().(arrow.FixedWidthDataType)
		if !ok || fw.BitWidth()%8 != 0 || len(d.Buffers()) != 2 {
			if validity != nil {
				validity.Release()
			}
			return takeWithKernel(ctx, a, idx, mem)
		}
		w := fw.BitWidth() / 8
		buf := arrowbuf.Overwritten(mem, n*w)
		out := buf.Bytes()
		src := d.Buffers()[1].Bytes()[d.Offset()*w:]
		switch w {
		case 1:
			for i, j := range idx {
				out[i] = src[j]
			}
		case 2:
			for i, j := range idx {
				copy(out[i*2:i*2+2], src[int(j)*2:])
			}
		case 4:
			dst, s := arrow.Uint32Traits.CastFromBytes(out), arrow.Uint32Traits.CastFromBytes(src)
			for i, j := range idx {
				dst[i] = s[j]
			}
		case 8:
			dst, s := arrow.Uint64Traits.CastFromBytes(out), arrow.Uint64Traits.CastFromBytes(src)
			for i, j := range idx {
				dst[i] = s[j]
			}
		default:
			for i, j := range idx {
				copy(out[i*w:(i+1)*w], src[int(j)*w:])
			}
		}
		data = array.NewData(d.DataType(), n, []*memory.Buffer{validity, buf}, nil, nulls, 0)
		buf.Release()
	}
	if validity != nil {
		validity.Release()
	}
	defer data.Release()
	return array.MakeFromData(data), nil
}

// takeValidity gathers the null bitmap; nil when no taken row is null.
func takeValidity(a arrow.Array, idx []int32, mem memory.Allocator) (*memory.Buffer, int) {
	if a.NullN() == 0 {
		return nil, 0
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(len(idx)))))
	out := buf.Bytes()
	nulls := 0
	for i, j := range idx {
		if a.IsValid(int(j)) {
			bitutil.SetBit(out, i)
		} else {
			bitutil.ClearBit(out, i)
			nulls++
		}
	}
	if nulls == 0 {
		buf.Release()
		return nil, 0
	}
	return buf, nulls
}

// takeVarBinary gathers variable-length values into exact-size buffers.
func takeVarBinary(offsets []int32, values []byte, idx []int32, mem memory.Allocator) (*memory.Buffer, *memory.Buffer) {
	total := 0
	for _, j := range idx {
		total += int(offsets[j+1] - offsets[j])
	}
	offBuf := arrowbuf.Overwritten(mem, (len(idx)+1)*4)
	outOffs := arrow.Int32Traits.CastFromBytes(offBuf.Bytes())
	// Slack lets CopyValue move short values as one word.
	valBuf := arrowbuf.Overwritten(mem, total+arrowbuf.Slack)
	out := valBuf.Bytes()
	pos := int32(0)
	outOffs[0] = 0
	for i, j := range idx {
		s, e := offsets[j], offsets[j+1]
		pos += int32(arrowbuf.CopyValue(out[pos:], values, int(s), int(e-s)))
		outOffs[i+1] = pos
	}
	valBuf.ResizeNoShrink(total)
	return offBuf, valBuf
}

func takeWithKernel(ctx context.Context, a arrow.Array, idx []int32, mem memory.Allocator) (arrow.Array, error) {
	bld := array.NewInt32Builder(mem)
	bld.AppendValues(idx, nil)
	ia := bld.NewArray()
	bld.Release()
	defer ia.Release()
	return compute.TakeArray(compute.WithAllocator(ctx, mem), a, ia)
}

// rawValues is the whole value buffer of a string or binary array; its
// offsets index it directly, also in a slice.
func rawValues(d arrow.ArrayData) []byte {
	if b := d.Buffers()[2]; b != nil {
		return b.Bytes()
	}
	return nil
}
