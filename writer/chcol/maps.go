package chcol

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Map(K, V): canonical arrow Map(K, V); Native: UInt64 end offsets, then the
// keys as a column of K and the values as a column of V.
func init() {
	register(&family{
		names:     []string{"Map"},
		composite: true,
		nullFix: func(t *Type) string {
			return "fill the value in the source (an empty list will do); ClickHouse Map columns cannot be Nullable"
		},
		parse: func(p *typeParser, _ string, depth int) (*Type, error) {
			if err := p.expect('('); err != nil {
				return nil, err
			}
			k, err := p.parseType(depth + 1)
			if err != nil {
				return nil, err
			}
			if err := p.expect(','); err != nil {
				return nil, err
			}
			v, err := p.parseType(depth + 1)
			if err != nil {
				return nil, err
			}
			return &Type{Base: "Map", Key: k, Value: v}, p.expect(')')
		},
		params: func(t *Type, b *strings.Builder) {
			b.WriteByte('(')
			t.Key.write(b)
			b.WriteString(", ")
			t.Value.write(b)
			b.WriteByte(')')
		},
		arrow: func(t *Type, serverTZ string) (arrow.DataType, error) {
			k, err := t.Key.Arrow(serverTZ)
			if err != nil {
				return nil, err
			}
			v, err := t.Value.Arrow(serverTZ)
			if err != nil {
				return nil, err
			}
			return arrow.MapOf(k, v), nil
		},
		kernel: mapKernel,
		native: func(t *Type) bool { return !t.Nullable && nativeSupported(t.Key) && nativeSupported(t.Value) },
		encode: func(dst []byte, t *Type, chunks []arrow.Array, refs RowRefs) []byte {
			keys := make([]arrow.Array, len(chunks))
			items := make([]arrow.Array, len(chunks))
			for k, c := range chunks {
				keys[k], items[k] = c.(*array.Map).Keys(), c.(*array.Map).Items()
			}
			dst, entries := appendOffsets(dst, chunks, refs)
			dst = appendNative(dst, t.Key, keys, entries)
			return appendNative(dst, t.Value, items, entries)
		},
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, _ []bool) (any, error) {
			return mapValues(t, chunks, perm)
		},
	})
}

// mapKernel converts an Arrow Map into Map(K, V), converting keys and values with
// their own Converters.
func mapKernel(c *Converter, serverTZ string) (kernelFunc, error) {
	s, ok := c.src.(*arrow.MapType)
	if !ok {
		return nil, errNoConversion
	}
	keys, err := NewConverter(c.target.Key, serverTZ, s.KeyType())
	if err != nil {
		return nil, fmt.Errorf("load keys of %s: %w", c.target, err)
	}
	items, err := NewConverter(c.target.Value, serverTZ, s.ItemType())
	if err != nil {
		return nil, fmt.Errorf("load values of %s: %w", c.target, err)
	}
	dst := c.dst.(*arrow.MapType)
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		m := src.(*array.Map)
		offsets, base, err := rebasedOffsets(m, mem)
		if err != nil {
			return nil, err
		}
		defer offsets.Release()
		n := src.Len()
		end := base + int64(offsetAt32(offsets, n))
		kSrc := array.NewSlice(m.Keys(), base, end)
		defer kSrc.Release()
		vSrc := array.NewSlice(m.Items(), base, end)
		defer vSrc.Release()
		kOut, err := keys.Convert(kSrc, mem)
		if err != nil {
			return nil, c.elementErr(err, m, base, "key of map entry", c.target.Key, nil)
		}
		defer kOut.Release()
		vOut, err := items.Convert(vSrc, mem)
		if err != nil {
			return nil, c.elementErr(err, m, base, "value of map entry", c.target.Value, func(t *Type) { t.Value.Nullable = true })
		}
		defer vOut.Release()
		entries := array.NewData(dst.Elem(), kOut.Len(), []*memory.Buffer{nil}, []arrow.ArrayData{kOut.Data(), vOut.Data()}, 0, 0)
		defer entries.Release()
		valid := validityOf(src, mem)
		if valid != nil {
			defer valid.Release()
		}
		d := array.NewData(dst, n, []*memory.Buffer{valid, offsets}, []arrow.ArrayData{entries}, src.NullN(), 0)
		defer d.Release()
		return array.MakeFromData(d), nil
	}, nil
}

// mapValues builds one ordered map per row for Map(K, V), keeping the entries in
// their Arrow order.
func mapValues(t *Type, chunks []arrow.Array, perm []uint32) (any, error) {
	keyChildren, spans := flattenLists(chunks, func(l array.ListLike) arrow.Array { return l.(*array.Map).Keys() })
	defer releaseAll(keyChildren)
	itemChildren, _ := flattenLists(chunks, func(l array.ListLike) arrow.Array { return l.(*array.Map).Items() })
	defer releaseAll(itemChildren)
	keys, err := goValues(t.Key, keyChildren, nil)
	if err != nil {
		return nil, err
	}
	items, err := goValues(t.Value, itemChildren, nil)
	if err != nil {
		return nil, err
	}
	kv, iv := reflect.ValueOf(keys), reflect.ValueOf(items)
	spans = permute(spans, perm)
	out := make([]column.IterableOrderedMap, len(spans))
	for i, s := range spans {
		out[i] = &orderedRow{keys: kv, items: iv, lo: s.lo, hi: s.hi}
	}
	return out, nil
}

// orderedRow is one Map row: entries lo..hi of the flattened key and item slices.
type orderedRow struct {
	keys, items reflect.Value
	lo, hi      int
	extra       [][2]any
}

type rowIterator struct {
	row *orderedRow
	pos int
}

// Put adds an entry after the row's own; clickhouse-go only calls it when reading.
func (r *orderedRow) Put(key, value any) { r.extra = append(r.extra, [2]any{key, value}) }

// Iterator walks the row's entries in order.
func (r *orderedRow) Iterator() column.MapIterator { return &rowIterator{row: r, pos: r.lo - 1} }

func (it *rowIterator) Next() bool {
	it.pos++
	return it.pos < it.row.hi+len(it.row.extra)
}

func (it *rowIterator) Key() any {
	if it.pos >= it.row.hi {
		return it.row.extra[it.pos-it.row.hi][0]
	}
	return it.row.keys.Index(it.pos).Interface()
}

func (it *rowIterator) Value() any {
	if it.pos >= it.row.hi {
		return it.row.extra[it.pos-it.row.hi][1]
	}
	return it.row.items.Index(it.pos).Interface()
}
