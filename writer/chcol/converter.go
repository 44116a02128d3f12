package chcol

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/compute/exec"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/chload/chload/internal/arrowbuf"
)

// Converter turns source arrays of one Arrow type into the canonical Arrow
// representation of one ClickHouse column type. It holds no per-call state and is
// safe for concurrent use.
type Converter struct {
	target *Type
	src    arrow.DataType
	dst    arrow.DataType
	// kernel converts an array of type src whose nulls are allowed by target or
	// already refused; it is set by NewConverter.
	kernel func(src arrow.Array, mem memory.Allocator) (arrow.Array, error)
	// defaulted, set by NullAsDefault, counts the NULLs kernel stored as the
	// type's default; with it, NULLs reach kernel for a non-Nullable target.
	defaulted *atomic.Int64
}

// kernelFunc is the signature of a conversion kernel.
type kernelFunc = func(src arrow.Array, mem memory.Allocator) (arrow.Array, error)

// errNoConversion marks a source type that can never convert to the target.
var errNoConversion = errors.New("no conversion")

// NewConverter prepares the conversion of arrays of Arrow type src into column type
// target. serverTZ is the server's time zone (see Type.Arrow). The error says the
// source type, the target type and what to change when no value of src could ever be
// loaded into target.
func NewConverter(target *Type, serverTZ string, src arrow.DataType) (*Converter, error) {
	dst, err := target.Arrow(serverTZ)
	if err != nil {
		return nil, err
	}
	c := &Converter{target: target, src: src, dst: dst}
	switch s := src.(type) {
	case *arrow.DictionaryType:
		inner, err := NewConverter(target, serverTZ, s.ValueType)
		if err != nil {
			return nil, fmt.Errorf("load dictionary of %s: %w", s.ValueType, err)
		}
		c.kernel = inner.convertDictionary
		return c, nil
	case *arrow.NullType:
		c.kernel = c.allNulls
		return c, nil
	}
	if c.kernel, err = c.build(serverTZ); err != nil {
		if errors.Is(err, errNoConversion) {
			return nil, fmt.Errorf("cannot load Arrow type %s into column type %s: %s", src, target, noConversionFix(src, target))
		}
		return nil, err
	}
	return c, nil
}

// build picks the kernel for the target family.
func (c *Converter) build(serverTZ string) (kernelFunc, error) {
	f := c.target.family()
	if f == nil || f.kernel == nil {
		return nil, errNoConversion
	}
	return f.kernel(c, serverTZ)
}

// noConversionFix suggests what to change when src can never load into target.
func noConversionFix(src arrow.DataType, target *Type) string {
	return fmt.Sprintf("change the column type to one that takes %s, or change the source column's type in the data", src)
}

// Convert returns the canonical array for src, which must have the Arrow type the
// Converter was made for. The caller releases the result. When src already is
// canonical and needs no check, src itself is returned, retained. The first value
// that cannot be loaded yields a *ValueError naming its row within src.
func (c *Converter) Convert(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	if !arrow.TypeEqual(src.DataType(), c.src) {
		return nil, fmt.Errorf("convert array of type %s: converter for column type %s was made for %s", src.DataType(), c.target, c.src)
	}
	if id := src.DataType().ID(); !c.target.Nullable && c.defaulted == nil && src.NullN() > 0 && id != arrow.DICTIONARY && id != arrow.NULL {
		return nil, c.nullErr(firstNull(src))
	}
	return c.kernel(src, mem)
}

// SourceType returns the Arrow type of the arrays Convert takes.
func (c *Converter) SourceType() arrow.DataType { return c.src }

// Type returns the canonical Arrow type of the arrays Convert returns.
func (c *Converter) Type() arrow.DataType { return c.dst }

// convertDictionary decodes a dictionary array and converts the values; c is the
// converter of the dictionary's value type.
func (c *Converter) convertDictionary(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	dict := src.(*array.Dictionary)
	ctx := exec.WithAllocator(context.Background(), mem)
	plain, err := compute.TakeArray(ctx, dict.Dictionary(), dict.Indices())
	if err != nil {
		return nil, fmt.Errorf("decode dictionary array of %s: %w", dict.Dictionary().DataType(), err)
	}
	defer plain.Release()
	return c.Convert(plain, mem)
}

// allNulls converts an array of Arrow type null.
func (c *Converter) allNulls(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	if src.Len() > 0 && !c.target.Nullable {
		return nil, c.nullErr(0)
	}
	return array.MakeArrayOfNull(mem, c.dst, src.Len()), nil
}

// nullErr refuses a NULL at row for a non-Nullable target.
func (c *Converter) nullErr(row int) *ValueError {
	name := c.target.String()
	e := &ValueError{Row: row, Value: "NULL", Reason: "NULL into non-Nullable column " + name}
	if f := c.target.family(); f != nil && f.nullFix != nil {
		e.Fix = f.nullFix(c.target)
		return e
	}
	n := *c.target
	n.Nullable = true
	e.Fix = "make the column " + n.String() + ", set source.null_as_default: true to store the column's default instead, or fill the value in the source"
	return e
}

// valueErr builds the refusal of src's value at row i.
func valueErr(src arrow.Array, i int, reason, fix string) *ValueError {
	return &ValueError{Row: i, Value: formatValue(src, i), Reason: reason, Fix: fix}
}

// identity returns src retained: it already is canonical and its nulls were checked.
func identity(src arrow.Array, _ memory.Allocator) (arrow.Array, error) {
	src.Retain()
	return src, nil
}

// retag returns src's buffers under the canonical type dst without copying: for
// Binary -> String or a Timestamp whose zone differs from the column's.
func retag(dst arrow.DataType) kernelFunc {
	return func(src arrow.Array, _ memory.Allocator) (arrow.Array, error) {
		return retagArray(src, dst), nil
	}
}

func retagArray(src arrow.Array, dst arrow.DataType) arrow.Array {
	d := src.Data()
	data := array.NewData(dst, d.Len(), d.Buffers(), d.Children(), d.NullN(), d.Offset())
	defer data.Release()
	return array.MakeFromData(data)
}

// firstNull returns the index of the first null of a, or -1.
func firstNull(a arrow.Array) int {
	if a.NullN() == 0 {
		return -1
	}
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			return i
		}
	}
	return -1
}

// validityOf returns a validity bitmap for a new array holding src's rows at offset
// 0, or nil when src has no nulls.
func validityOf(src arrow.Array, mem memory.Allocator) *memory.Buffer {
	if src.NullN() == 0 {
		return nil
	}
	d := src.Data()
	if b := d.Buffers()[0]; b != nil && d.Offset() == 0 {
		b.Retain()
		return b
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(d.Len()))))
	clear(buf.Bytes())
	if b := d.Buffers()[0]; b != nil {
		bitutil.CopyBitmap(b.Bytes(), d.Offset(), d.Len(), buf.Bytes(), 0)
	}
	return buf
}

// fixedValues views the data buffer of a fixed-width array as a []T of its rows.
func fixedValues[T any](a arrow.Array) []T {
	d := a.Data()
	buf := d.Buffers()[1]
	if buf == nil || buf.Len() == 0 || d.Len() == 0 {
		return nil
	}
	size := int(unsafe.Sizeof(*new(T)))
	all := unsafe.Slice((*T)(unsafe.Pointer(&buf.Bytes()[0])), buf.Len()/size)
	return all[d.Offset() : d.Offset()+d.Len()]
}

// mapFixed builds an array of fixed-width values of type dst from src row by row:
// conv converts row i and reports false when it cannot, and then bad describes the
// refusal. Null rows stay null (Convert has refused them for non-Nullable columns).
func mapFixed[T any](dst arrow.DataType, src arrow.Array, mem memory.Allocator, conv func(i int) (T, bool), bad func(i int) *ValueError) (arrow.Array, error) {
	n := src.Len()
	buf, out := arrowbuf.NewValues[T](mem, n)
	defer buf.Release()
	var zero T
	if src.NullN() == 0 {
		for i := 0; i < n; i++ {
			v, ok := conv(i)
			if !ok {
				return nil, bad(i)
			}
			out[i] = v
		}
	} else {
		for i := 0; i < n; i++ {
			if src.IsNull(i) {
				out[i] = zero
				continue
			}
			v, ok := conv(i)
			if !ok {
				return nil, bad(i)
			}
			out[i] = v
		}
	}
	return newArray(dst, n, buf, src, mem), nil
}

// newArray wraps a data buffer with src's validity into an array of type dst.
func newArray(dst arrow.DataType, n int, data *memory.Buffer, src arrow.Array, mem memory.Allocator) arrow.Array {
	valid := validityOf(src, mem)
	if valid != nil {
		defer valid.Release()
	}
	d := array.NewData(dst, n, []*memory.Buffer{valid, data}, nil, src.NullN(), 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// checkEach runs ok over every non-null row of src and refuses the first failing one.
func checkEach(src arrow.Array, ok func(i int) bool, bad func(i int) *ValueError) error {
	nulls := src.NullN() > 0
	for i := 0; i < src.Len(); i++ {
		if nulls && src.IsNull(i) {
			continue
		}
		if !ok(i) {
			return bad(i)
		}
	}
	return nil
}

// checked returns a kernel that checks every value and then returns src unchanged
// (retained) or retagged to dst.
func checked(dst arrow.DataType, ok func(src arrow.Array) func(i int) bool, bad func(src arrow.Array, i int) *ValueError) kernelFunc {
	return func(src arrow.Array, _ memory.Allocator) (arrow.Array, error) {
		if err := checkEach(src, ok(src), func(i int) *ValueError { return bad(src, i) }); err != nil {
			return nil, err
		}
		if arrow.TypeEqual(src.DataType(), dst) {
			src.Retain()
			return src, nil
		}
		return retagArray(src, dst), nil
	}
}
