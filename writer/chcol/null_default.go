package chcol

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/compute/exec"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// NullAsDefault returns a converter like c that stores a NULL bound for a
// non-Nullable column as the column type's default value, the way ClickHouse's
// input_format_null_as_default does: 0 for numbers, Date and DateTime (the
// epoch), the empty string, zero bytes for FixedString and UUID, the enum's
// smallest code for Enum8 and Enum16, and an empty array or map for a NULL
// Array or Map. It applies to the column's own values; NULL elements inside an
// Array(T) whose T is not Nullable are still refused. The column's DEFAULT
// expression is not evaluated. For a Nullable column c itself is returned.
// Defaulted counts the values the converter replaced.
func (c *Converter) NullAsDefault(serverTZ string) (*Converter, error) {
	if c.target.Nullable {
		return c, nil
	}
	nullable := *c.target
	nullable.Nullable = true
	inner, err := NewConverter(&nullable, serverTZ, c.src)
	if err != nil {
		return nil, err
	}
	if !arrow.TypeEqual(inner.dst, c.dst) {
		return nil, fmt.Errorf("null_as_default: %s and %s convert to different types", c.target, &nullable)
	}
	d := &Converter{target: c.target, src: c.src, dst: c.dst, defaulted: new(atomic.Int64)}
	target := c.target
	d.kernel = func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		out, err := inner.Convert(src, mem)
		if err != nil {
			return nil, strictRefusal(c, src, mem, err)
		}
		n := out.NullN()
		if n == 0 {
			return out, nil
		}
		defer out.Release()
		filled, err := fillDefaults(out, target, mem)
		if err != nil {
			return nil, err
		}
		d.defaulted.Add(int64(n))
		return filled, nil
	}
	return d, nil
}

// Defaulted is how many NULLs a converter made by NullAsDefault stored as the
// type's default so far; 0 for any other converter.
func (c *Converter) Defaulted() int64 {
	if c.defaulted == nil {
		return 0
	}
	return c.defaulted.Load()
}

// fillDefaults returns a, a canonical array of column type t, with every NULL
// replaced by t's default value and no validity bitmap.
func fillDefaults(a arrow.Array, t *Type, mem memory.Allocator) (arrow.Array, error) {
	d := a.Data()
	n, off := d.Len(), d.Offset()
	switch dt := a.DataType().(type) {
	case *arrow.BooleanType:
		buf := memory.NewResizableBuffer(mem)
		buf.Resize(int(bitutil.BytesForBits(int64(n))))
		bitutil.CopyBitmap(d.Buffers()[1].Bytes(), off, n, buf.Bytes(), 0)
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				bitutil.ClearBit(buf.Bytes(), i)
			}
		}
		return fromBuffers(dt, n, buf, nil), nil
	case arrow.FixedWidthDataType:
		width := dt.BitWidth() / 8
		if width == 0 {
			break
		}
		fill := make([]byte, width)
		if f := t.family(); f != nil && f.defaultFill != nil {
			fill = f.defaultFill(t, width)
		}
		buf := memory.NewResizableBuffer(mem)
		buf.Resize(n * width)
		out := buf.Bytes()
		copy(out, d.Buffers()[1].Bytes()[off*width:(off+n)*width])
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				copy(out[i*width:(i+1)*width], fill)
			}
		}
		return fromBuffers(dt, n, buf, nil), nil
	case *arrow.StringType, *arrow.BinaryType:
		var offs []int32
		var data []byte
		switch v := a.(type) {
		case *array.String:
			offs, data = v.ValueOffsets(), v.ValueBytes()
		case *array.Binary:
			offs, data = v.ValueOffsets(), v.ValueBytes()
		}
		base := offs[0]
		offBuf := memory.NewResizableBuffer(mem)
		offBuf.Resize((n + 1) * 4)
		newOffs := arrow.Int32Traits.CastFromBytes(offBuf.Bytes())
		valBuf := memory.NewResizableBuffer(mem)
		valBuf.Resize(len(data))
		vals := valBuf.Bytes()
		pos := int32(0)
		for i := 0; i < n; i++ {
			newOffs[i] = pos
			if a.IsValid(i) {
				pos += int32(copy(vals[pos:], data[offs[i]-base:offs[i+1]-base]))
			}
		}
		newOffs[n] = pos
		valBuf.Resize(int(pos))
		return fromBuffers(dt, n, offBuf, valBuf), nil
	case *arrow.ListType, *arrow.MapType:
		return emptyListsForNulls(a, mem)
	case *arrow.StructType:
		return tupleDefaults(a, t, mem)
	}
	return nil, fmt.Errorf("null_as_default: NULL into non-Nullable column %s is not supported for this type: make the column Nullable or fill the value in the source", t)
}

// fromBuffers builds an array of dt without nulls from its value buffers
// (one for fixed width, offsets and values for strings) and releases them.
func fromBuffers(dt arrow.DataType, n int, b1, b2 *memory.Buffer) arrow.Array {
	bufs := []*memory.Buffer{nil, b1}
	if b2 != nil {
		bufs = append(bufs, b2)
	}
	data := array.NewData(dt, n, bufs, nil, 0, 0)
	defer data.Release()
	b1.Release()
	if b2 != nil {
		b2.Release()
	}
	return array.MakeFromData(data)
}

// emptyListsForNulls returns a list (or map) array with every NULL list
// made an empty one. Lists whose NULL slots already span no elements (what
// Arrow writers produce) keep their buffers; otherwise the elements under
// NULL slots are dropped with a take.
func emptyListsForNulls(a arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	list := a.(array.ListLike)
	n := a.Len()
	spans := false
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			if s, e := list.ValueOffsets(i); e > s {
				spans = true
				break
			}
		}
	}
	d := a.Data()
	if !spans {
		data := array.NewData(a.DataType(), n, []*memory.Buffer{nil, d.Buffers()[1]}, d.Children(), 0, d.Offset())
		defer data.Release()
		return array.MakeFromData(data), nil
	}
	offBuf := memory.NewResizableBuffer(mem)
	offBuf.Resize((n + 1) * 4)
	offs := arrow.Int32Traits.CastFromBytes(offBuf.Bytes())
	idx := array.NewInt64Builder(mem)
	defer idx.Release()
	pos := int32(0)
	for i := 0; i < n; i++ {
		offs[i] = pos
		if a.IsValid(i) {
			s, e := list.ValueOffsets(i)
			for j := s; j < e; j++ {
				idx.Append(j)
			}
			pos += int32(e - s)
		}
	}
	offs[n] = pos
	indices := idx.NewArray()
	defer indices.Release()
	ctx := exec.WithAllocator(context.Background(), mem)
	child := array.MakeFromData(d.Children()[0])
	defer child.Release()
	taken, err := compute.TakeArray(ctx, child, indices)
	if err != nil {
		offBuf.Release()
		return nil, fmt.Errorf("null_as_default: drop the elements of NULL lists: %w", err)
	}
	defer taken.Release()
	data := array.NewData(a.DataType(), n, []*memory.Buffer{nil, offBuf}, []arrow.ArrayData{taken.Data()}, 0, 0)
	defer data.Release()
	offBuf.Release()
	return array.MakeFromData(data), nil
}

// strictRefusal is err, a refusal by the Nullable converter of a value
// within a non-NULL row (a NULL element of an Array, say), as the strict
// converter c words it: the Nullable converter's fix would name a
// Nullable(Array(...)) type ClickHouse does not have.
func strictRefusal(c *Converter, src arrow.Array, mem memory.Allocator, err error) error {
	ve, ok := err.(*ValueError)
	if !ok || ve.Row < 0 || ve.Row >= src.Len() || src.IsNull(ve.Row) {
		return err
	}
	row := array.NewSlice(src, int64(ve.Row), int64(ve.Row)+1)
	defer row.Release()
	out, serr := c.Convert(row, mem)
	if serr == nil {
		out.Release()
		return err
	}
	strict, ok := serr.(*ValueError)
	if !ok {
		return err
	}
	fixed := *strict
	fixed.Row = ve.Row
	return &fixed
}
