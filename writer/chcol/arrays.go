package chcol

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/chload/chload/internal/arrowbuf"
)

// Array(T): canonical arrow List(T) with nullable elements; Native: UInt64
// end offsets, then the elements as a column of T.
func init() {
	register(&family{
		names:     []string{"Array"},
		composite: true,
		nullFix: func(t *Type) string {
			return "fill the value in the source (an empty list will do); ClickHouse Array columns cannot be Nullable"
		},
		parse: func(p *typeParser, _ string, depth int) (*Type, error) {
			if err := p.expect('('); err != nil {
				return nil, err
			}
			elem, err := p.parseType(depth + 1)
			if err != nil {
				return nil, err
			}
			return &Type{Base: "Array", Elem: elem}, p.expect(')')
		},
		params: func(t *Type, b *strings.Builder) {
			b.WriteByte('(')
			t.Elem.write(b)
			b.WriteByte(')')
		},
		arrow: func(t *Type, serverTZ string) (arrow.DataType, error) {
			elem, err := t.Elem.Arrow(serverTZ)
			if err != nil {
				return nil, err
			}
			return arrow.ListOf(elem), nil
		},
		kernel: listKernel,
		native: func(t *Type) bool { return !t.Nullable && nativeSupported(t.Elem) },
		encode: func(dst []byte, t *Type, chunks []arrow.Array, refs RowRefs) []byte {
			children := make([]arrow.Array, len(chunks))
			for k, c := range chunks {
				children[k] = c.(array.ListLike).ListValues()
			}
			dst, elems := appendOffsets(dst, chunks, refs)
			return appendNative(dst, t.Elem, children, elems)
		},
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, _ []bool) (any, error) {
			return arrayValues(t, chunks, perm)
		},
	})
}

// listKernel converts List or LargeList of a convertible element type into
// Array(T), converting the elements with their own Converter. When the elements need
// no change and the list type already is canonical, the source is returned as is.
func listKernel(c *Converter, serverTZ string) (kernelFunc, error) {
	var elemType arrow.DataType
	switch s := c.src.(type) {
	case *arrow.ListType:
		elemType = s.Elem()
	case *arrow.LargeListType:
		elemType = s.Elem()
	default:
		return nil, errNoConversion
	}
	elem, err := NewConverter(c.target.Elem, serverTZ, elemType)
	if err != nil {
		return nil, fmt.Errorf("load elements of %s: %w", c.target, err)
	}
	dst := c.dst
	same := arrow.TypeEqual(c.src, dst)
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		list := src.(array.ListLike)
		offsets, base, err := rebasedOffsets(list, mem)
		if err != nil {
			return nil, err
		}
		defer offsets.Release()
		n := src.Len()
		child := array.NewSlice(list.ListValues(), base, base+int64(offsetAt32(offsets, n)))
		defer child.Release()
		out, err := elem.Convert(child, mem)
		if err != nil {
			return nil, c.elementErr(err, list, base, "array position", c.target.Elem, func(t *Type) { t.Elem.Nullable = true })
		}
		defer out.Release()
		if same && out == child {
			src.Retain()
			return src, nil
		}
		valid := validityOf(src, mem)
		if valid != nil {
			defer valid.Release()
		}
		d := array.NewData(dst, n, []*memory.Buffer{valid, offsets}, []arrow.ArrayData{out.Data()}, src.NullN(), 0)
		defer d.Release()
		return array.MakeFromData(d), nil
	}, nil
}

// rebasedOffsets returns the 32-bit offsets of list's rows starting at 0, and the
// position in the child array where row 0 starts.
func rebasedOffsets(list array.ListLike, mem memory.Allocator) (*memory.Buffer, int64, error) {
	n := list.Len()
	buf, out := arrowbuf.NewValues[int32](mem, n+1)
	if n == 0 {
		return buf, 0, nil
	}
	base, _ := list.ValueOffsets(0)
	for i := 0; i < n; i++ {
		start, end := list.ValueOffsets(i)
		if end-base > math.MaxInt32 {
			buf.Release()
			return nil, 0, fmt.Errorf("convert %s: more than 2^31 elements in one array; read smaller batches", list.DataType())
		}
		out[i] = int32(start - base)
		out[i+1] = int32(end - base)
	}
	return buf, base, nil
}

func offsetAt32(buf *memory.Buffer, i int) int32 {
	return arrow.Int32Traits.CastFromBytes(buf.Bytes())[i]
}

// elementErr turns the refusal of an element (at child row r relative to base) into
// the refusal of the list row that holds it. nullable makes the type suggested for
// NULL elements; nil means none can be suggested.
func (c *Converter) elementErr(err error, list array.ListLike, base int64, what string, elemType *Type, nullable func(*Type)) error {
	var ve *ValueError
	if !errors.As(err, &ve) {
		return err
	}
	row, pos := 0, int64(ve.Row)
	for i := 0; i < list.Len(); i++ {
		start, end := list.ValueOffsets(i)
		if pos+base >= start && pos+base < end {
			row, pos = i, pos+base-start
			break
		}
	}
	var nullableTarget func() *Type
	if nullable != nil {
		nullableTarget = func() *Type {
			t := *c.target
			if t.Elem != nil {
				e := *t.Elem
				t.Elem = &e
			}
			if t.Value != nil {
				v := *t.Value
				t.Value = &v
			}
			nullable(&t)
			return &t
		}
	}
	return elementRefusal(ve, row, fmt.Sprintf("at %s %d", what, pos+1), elemType, nullableTarget)
}

// elementRefusal is ve, the refusal of an element's value, as the refusal
// of row, the row holding it: where says where in the row the element is.
// nullableTarget, when set, gives the column type with that element
// Nullable, for the fix of a NULL element.
func elementRefusal(ve *ValueError, row int, where string, elem *Type, nullableTarget func() *Type) *ValueError {
	out := &ValueError{Row: row, Value: ve.Value, Fix: ve.Fix}
	if ve.Value == "NULL" && ve.Reason == "NULL into non-Nullable column "+elem.String() {
		out.Reason = fmt.Sprintf("NULL %s into non-Nullable %s", where, elem)
		out.Fix = "fill the value in the source"
		if nullableTarget != nil && elem.Base != "Array" && elem.Base != "Map" && elem.Base != "Tuple" {
			out.Fix = "make the column " + nullableTarget().String() + " or fill the value in the source"
		}
		return out
	}
	out.Reason = where + " " + ve.Reason
	if ve.Value == "NULL" {
		out.Reason = "NULL " + where + " " + strings.TrimPrefix(ve.Reason, "NULL ")
	}
	return out
}

// span is the range of a list row's elements in the flattened element slice.
type span struct{ lo, hi int }

// flattenLists slices each chunk's child values to the range its rows use and
// returns those children (to release) with each row's span in their concatenation.
func flattenLists(chunks []arrow.Array, child func(array.ListLike) arrow.Array) ([]arrow.Array, []span) {
	var children []arrow.Array
	var spans []span
	pos := 0
	for _, c := range chunks {
		if c.Len() == 0 {
			continue
		}
		ll := c.(array.ListLike)
		first, _ := ll.ValueOffsets(0)
		_, last := ll.ValueOffsets(c.Len() - 1)
		children = append(children, array.NewSlice(child(ll), first, last))
		for i := 0; i < c.Len(); i++ {
			s, e := ll.ValueOffsets(i)
			spans = append(spans, span{pos + int(s-first), pos + int(e-first)})
		}
		pos += int(last - first)
	}
	return children, spans
}

// arrayValues builds [][]E for Array(T), E being the slice type of T's values.
func arrayValues(t *Type, chunks []arrow.Array, perm []uint32) (any, error) {
	children, spans := flattenLists(chunks, array.ListLike.ListValues)
	defer releaseAll(children)
	elems, err := goValues(t.Elem, children, nil)
	if err != nil {
		return nil, err
	}
	ev := reflect.ValueOf(elems)
	spans = permute(spans, perm)
	out := reflect.MakeSlice(reflect.SliceOf(ev.Type()), len(spans), len(spans))
	for i, s := range spans {
		out.Index(i).Set(ev.Slice(s.lo, s.hi))
	}
	return out.Interface(), nil
}
