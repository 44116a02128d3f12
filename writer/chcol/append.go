package chcol

import (
	"fmt"
	"reflect"
	"time"
	"unsafe"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Append appends rows of the concatenation of chunks (canonical arrays of type t,
// as Converter.Convert returns them) to a clickhouse-go batch column in one columnar
// Append call. perm lists the rows to append, in order, as row numbers into the
// concatenation (chunk 0's rows first, then chunk 1's, ...); nil means all rows in
// order. The chunks are only read during the call.
//
// The slice handed to clickhouse-go is the fastest one its column takes: typed value
// slices viewing the Arrow buffers where no copy is needed ([]int64 of seconds for
// DateTime, []string built with unsafe.String over the String buffer), and for
// Nullable columns pointer slices into one backing array.
func Append(col driver.BatchColumn, t *Type, chunks []arrow.Array, perm []uint32) error {
	v, err := goValues(t, chunks, perm)
	if err != nil {
		return err
	}
	if err := col.Append(v); err != nil {
		return fmt.Errorf("append %d rows to column of type %s: %w", reflect.ValueOf(v).Len(), t, err)
	}
	return nil
}

// goValues builds the Go slice clickhouse-go takes for column type t.
func goValues(t *Type, chunks []arrow.Array, perm []uint32) (any, error) {
	total := 0
	for _, c := range chunks {
		total += c.Len()
	}
	for _, p := range perm {
		if int(p) >= total {
			return nil, fmt.Errorf("append column of type %s: row %d requested, only %d rows given", t, p, total)
		}
	}
	if err := checkCanonical(t, chunks, "append"); err != nil {
		return nil, err
	}
	valid := validRows(chunks, perm)
	switch t.Base {
	case "Int8", "Enum8":
		return fixedSlice[int8](t, chunks, perm, valid), nil
	case "Int16", "Enum16":
		return fixedSlice[int16](t, chunks, perm, valid), nil
	case "Int32":
		return fixedSlice[int32](t, chunks, perm, valid), nil
	case "Int64":
		return fixedSlice[int64](t, chunks, perm, valid), nil
	case "UInt8":
		return fixedSlice[uint8](t, chunks, perm, valid), nil
	case "UInt16":
		return fixedSlice[uint16](t, chunks, perm, valid), nil
	case "UInt32", "IPv4":
		return fixedSlice[uint32](t, chunks, perm, valid), nil
	case "UInt64":
		return fixedSlice[uint64](t, chunks, perm, valid), nil
	case "Float32":
		return fixedSlice[float32](t, chunks, perm, valid), nil
	case "Float64":
		return fixedSlice[float64](t, chunks, perm, valid), nil
	case "DateTime":
		return fixedSlice[int64](t, chunks, perm, valid), nil
	case "UUID":
		return fixedSlice[uuid.UUID](t, chunks, perm, valid), nil
	case "IPv6":
		return fixedSlice[[16]byte](t, chunks, perm, valid), nil
	case "Bool":
		return builtSlice(t, chunks, perm, valid, func(a arrow.Array) func(int) bool {
			return a.(*array.Boolean).Value
		}), nil
	case "String":
		if t.Nullable && t.LowCardinality {
			return dedupedStrings(chunks, perm, valid), nil
		}
		return withNulls(t, stringSlice(chunks, perm), valid), nil
	case "FixedString":
		return builtSlice(t, chunks, perm, valid, func(a arrow.Array) func(int) string {
			f := a.(*array.FixedSizeBinary)
			return func(i int) string { return bytesString(f.Value(i)) }
		}), nil
	case "Decimal":
		scale := int32(t.Scale)
		return builtSlice(t, chunks, perm, valid, func(a arrow.Array) func(int) decimal.Decimal {
			vals := fixedValues[decimal128.Num](a)
			return func(i int) decimal.Decimal {
				if v, ok := numInt64(vals[i]); ok {
					return decimal.New(v, -scale)
				}
				return decimal.NewFromBigInt(vals[i].BigInt(), -scale)
			}
		}), nil
	case "Date", "Date32":
		return builtSlice(t, chunks, perm, valid, func(a arrow.Array) func(int) time.Time {
			vals := fixedValues[int32](a)
			return func(i int) time.Time { return time.Unix(int64(vals[i])*secondsPerDay, 0).UTC() }
		}), nil
	case "DateTime64":
		return builtSlice(t, chunks, perm, valid, func(a arrow.Array) func(int) time.Time {
			vals := fixedValues[int64](a)
			unit := a.DataType().(*arrow.TimestampType).Unit
			return func(i int) time.Time { return time.Unix(splitUnit(vals[i], unit)).UTC() }
		}), nil
	case "Array":
		return arrayValues(t, chunks, perm)
	case "Map":
		return mapValues(t, chunks, perm)
	case "Tuple":
		return tupleValues(t, chunks, perm)
	}
	return nil, fmt.Errorf("append column of type %s: not supported yet", t)
}

// checkCanonical checks that every chunk can be read as a column of type t
// (canonicalLike its canonical type); verb names the operation in the error.
func checkCanonical(t *Type, chunks []arrow.Array, verb string) error {
	want, err := t.Arrow("")
	if err != nil {
		return err
	}
	for _, c := range chunks {
		if !canonicalLike(c.DataType(), want) {
			return fmt.Errorf("%s column of type %s: array of type %s is not its canonical type %s", verb, t, c.DataType(), want)
		}
	}
	return nil
}

// canonicalLike reports whether got can be appended as want: equal up to time
// zones (which do not change instants) and the nullability of list elements;
// a String column may also come as a dictionary of strings (IsDictString).
func canonicalLike(got, want arrow.DataType) bool {
	if d, ok := got.(*arrow.DictionaryType); ok {
		return want.ID() == arrow.STRING && isDictStringType(d)
	}
	switch w := want.(type) {
	case *arrow.TimestampType:
		g, ok := got.(*arrow.TimestampType)
		return ok && g.Unit == w.Unit
	case *arrow.ListType:
		g, ok := got.(*arrow.ListType)
		return ok && canonicalLike(g.Elem(), w.Elem())
	case *arrow.MapType:
		g, ok := got.(*arrow.MapType)
		return ok && canonicalLike(g.KeyType(), w.KeyType()) && canonicalLike(g.ItemType(), w.ItemType())
	case *arrow.StructType:
		g, ok := got.(*arrow.StructType)
		if !ok || g.NumFields() != w.NumFields() {
			return false
		}
		for i := range w.Fields() {
			if !canonicalLike(g.Field(i).Type, w.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return arrow.TypeEqual(got, want)
}

// validRows returns, per output row, whether it is non-null; nil when no chunk has
// nulls.
func validRows(chunks []arrow.Array, perm []uint32) []bool {
	nulls := false
	for _, c := range chunks {
		nulls = nulls || c.NullN() > 0
	}
	if !nulls {
		return nil
	}
	if perm != nil {
		loc := newLocator(chunkLens(chunks))
		out := make([]bool, len(perm))
		for i, p := range perm {
			k := loc.find(int(p))
			out[i] = chunks[k].IsValid(int(p) - loc.starts[k])
		}
		return out
	}
	var flat []bool
	for _, c := range chunks {
		for i := 0; i < c.Len(); i++ {
			flat = append(flat, c.IsValid(i))
		}
	}
	return flat
}

// chunkLens returns each chunk's length.
func chunkLens(chunks []arrow.Array) []int {
	lens := make([]int, len(chunks))
	for k, c := range chunks {
		lens[k] = c.Len()
	}
	return lens
}

// permute returns flat reordered by perm (flat itself when perm is nil).
func permute[T any](flat []T, perm []uint32) []T {
	if perm == nil {
		return flat
	}
	out := make([]T, len(perm))
	for i, p := range perm {
		out[i] = flat[p]
	}
	return out
}

// fixedSlice returns the values of fixed-width canonical arrays as []T (a view of
// the Arrow buffer when there is one chunk and no perm), or []*T for Nullable
// columns.
func fixedSlice[T any](t *Type, chunks []arrow.Array, perm []uint32, valid []bool) any {
	if perm != nil && len(chunks) > 1 {
		// Gather straight from the chunks: the cost follows len(perm), not
		// the size of the whole batch.
		vals := make([][]T, len(chunks))
		for k, c := range chunks {
			vals[k] = fixedValues[T](c)
		}
		loc := newLocator(chunkLens(chunks))
		out := make([]T, len(perm))
		for i, p := range perm {
			k := loc.find(int(p))
			out[i] = vals[k][int(p)-loc.starts[k]]
		}
		return withNulls(t, out, valid)
	}
	var flat []T
	if len(chunks) == 1 {
		flat = fixedValues[T](chunks[0])
	} else {
		for _, c := range chunks {
			flat = append(flat, fixedValues[T](c)...)
		}
	}
	if flat == nil {
		flat = []T{}
	}
	return withNulls(t, permute(flat, perm), valid)
}

// builtSlice returns values produced row by row by get as []T, or []*T for Nullable
// columns.
func builtSlice[T any](t *Type, chunks []arrow.Array, perm []uint32, valid []bool, get func(a arrow.Array) func(int) T) any {
	n := len(perm)
	if perm == nil {
		for _, c := range chunks {
			n += c.Len()
		}
	}
	out := make([]T, n)
	if perm == nil {
		pos := 0
		for _, c := range chunks {
			g := get(c)
			for i := 0; i < c.Len(); i++ {
				out[pos] = g(i)
				pos++
			}
		}
		return withNulls(t, out, valid)
	}
	getters := make([]func(int) T, len(chunks))
	for k, c := range chunks {
		getters[k] = get(c)
	}
	loc := newLocator(chunkLens(chunks))
	for i, p := range perm {
		k := loc.find(int(p))
		out[i] = getters[k](int(p) - loc.starts[k])
	}
	return withNulls(t, out, valid)
}

// stringSlice gathers String values as Go strings that point into the
// Arrow buffers (no copy): the hot path of every load, so it reads the
// offsets and bytes directly instead of calling a getter per row.
func stringSlice(chunks []arrow.Array, perm []uint32) []string {
	sc := newStringChunks(chunks)
	offs, data, index := sc.offs, sc.data, sc.index
	view := func(k, i int) string {
		if index[k] != nil {
			i = int(index[k][i])
			if i < 0 || i >= len(offs[k])-1 {
				return "" // under a NULL row, whatever the index says
			}
		}
		s, e := offs[k][i], offs[k][i+1]
		if s == e {
			return ""
		}
		return unsafe.String(&data[k][s], int(e-s))
	}
	if perm == nil {
		var out []string
		for k, c := range chunks {
			for i := 0; i < c.Len(); i++ {
				out = append(out, view(k, i))
			}
		}
		if out == nil {
			out = []string{}
		}
		return out
	}
	out := make([]string, len(perm))
	loc := newLocator(chunkLens(chunks))
	for i, p := range perm {
		k := loc.find(int(p))
		out[i] = view(k, int(p)-loc.starts[k])
	}
	return out
}

// locator finds the chunk that holds a row of the concatenation in a
// step or two: a table gives the chunk of every 1024th row, and a short scan
// goes on from there.
type locator struct {
	starts []int   // first row of each chunk, and the total at the end
	first  []int32 // chunk holding row b<<locShift
}

const locShift = 10

// newLocator indexes chunks of the given lengths.
func newLocator(lens []int) *locator {
	starts := make([]int, len(lens)+1)
	for k, n := range lens {
		starts[k+1] = starts[k] + n
	}
	total := starts[len(lens)]
	first := make([]int32, total>>locShift+1)
	k := 0
	for b := range first {
		r := b << locShift
		for k+1 < len(lens) && starts[k+1] <= r {
			k++
		}
		first[b] = int32(k)
	}
	return &locator{starts: starts, first: first}
}

// total is the number of rows of all the chunks.
func (l *locator) total() int { return l.starts[len(l.starts)-1] }

// find returns the chunk holding row r (0 <= r < total).
func (l *locator) find(r int) int {
	k := int(l.first[r>>locShift])
	for l.starts[k+1] <= r {
		k++
	}
	return k
}

// withNulls returns vals for non-Nullable columns, and for Nullable ones a pointer
// slice into vals with nil for null rows (clickhouse-go only records NULLs from
// pointer slices for every column type).
func withNulls[T any](t *Type, vals []T, valid []bool) any {
	if !t.Nullable {
		return vals
	}
	ptrs := make([]*T, len(vals))
	for i := range vals {
		if valid == nil || valid[i] {
			ptrs[i] = &vals[i]
		}
	}
	return ptrs
}

// dedupedStrings builds []*string for LowCardinality(Nullable(String)) with equal
// strings sharing one pointer: clickhouse-go keys its dictionary by the pointer.
func dedupedStrings(chunks []arrow.Array, perm []uint32, valid []bool) any {
	vals := stringSlice(chunks, perm)
	seen := make(map[string]*string)
	ptrs := make([]*string, len(vals))
	for i := range vals {
		if valid != nil && !valid[i] {
			continue
		}
		p, ok := seen[vals[i]]
		if !ok {
			p = &vals[i]
			seen[vals[i]] = p
		}
		ptrs[i] = p
	}
	return ptrs
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

// tupleValues builds one []any per row for Tuple(T1, T2, ...), holding each
// element's value as its own column takes it (a pointer for a Nullable
// element); clickhouse-go appends a Tuple row by row from such slices.
func tupleValues(t *Type, chunks []arrow.Array, perm []uint32) (any, error) {
	elems := make([]reflect.Value, len(t.Elems))
	children := make([]arrow.Array, len(chunks))
	for i, e := range t.Elems {
		for k, c := range chunks {
			children[k] = c.(*array.Struct).Field(i)
		}
		v, err := goValues(e, children, perm)
		if err != nil {
			return nil, err
		}
		elems[i] = reflect.ValueOf(v)
	}
	n := len(perm)
	if perm == nil {
		for _, c := range chunks {
			n += c.Len()
		}
	}
	out := make([][]any, n)
	flat := make([]any, n*len(elems))
	for r := range out {
		row := flat[r*len(elems) : (r+1)*len(elems) : (r+1)*len(elems)]
		for i, ev := range elems {
			row[i] = ev.Index(r).Interface()
		}
		out[r] = row
	}
	return out, nil
}

func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		a.Release()
	}
}

// orderedRow is one Map row: entries lo..hi of the flattened key and item slices.
type orderedRow struct {
	keys, items reflect.Value
	lo, hi      int
	extra       [][2]any
}

// Put adds an entry after the row's own; clickhouse-go only calls it when reading.
func (r *orderedRow) Put(key, value any) { r.extra = append(r.extra, [2]any{key, value}) }

// Iterator walks the row's entries in order.
func (r *orderedRow) Iterator() column.MapIterator { return &rowIterator{row: r, pos: r.lo - 1} }

type rowIterator struct {
	row *orderedRow
	pos int
}

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

// IsDictString reports whether d is a dictionary of strings that stands for
// a String column: int32 indices into a String dictionary without NULLs.
// Plans pass such columns through unconverted (writer.Plan), and Append and
// AppendNative take them wherever a String column is expected.
func IsDictString(d *array.Dictionary) bool {
	return isDictStringType(d.DataType().(*arrow.DictionaryType)) && d.Dictionary().NullN() == 0
}

func isDictStringType(d *arrow.DictionaryType) bool {
	return d.IndexType.ID() == arrow.INT32 && d.ValueType.ID() == arrow.STRING
}

// stringChunks are the offsets and bytes of String chunks; a chunk that is
// a dictionary has its dictionary's, and its indices in index.
type stringChunks struct {
	offs  [][]int32
	data  [][]byte
	index [][]int32 // nil for a plain chunk
}

func newStringChunks(chunks []arrow.Array) stringChunks {
	sc := stringChunks{offs: make([][]int32, len(chunks)), data: make([][]byte, len(chunks)), index: make([][]int32, len(chunks))}
	for k, c := range chunks {
		if d, ok := c.(*array.Dictionary); ok {
			sc.index[k] = d.Indices().(*array.Int32).Int32Values()
			c = d.Dictionary()
		}
		a := c.(*array.String)
		sc.offs[k] = a.ValueOffsets()
		if b := a.Data().Buffers()[2]; b != nil {
			sc.data[k] = b.Bytes()
		}
	}
	return sc
}
