package chcol

import (
	"fmt"
	"reflect"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Append is the clickhouse-go column path: the insert path uses it where
// AppendNative does not apply (see the package comment), and tests use it as
// the oracle for AppendNative's bytes.
//
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
	f := t.family()
	if f == nil || f.goValues == nil {
		return nil, fmt.Errorf("append column of type %s: not supported yet", t)
	}
	return f.goValues(t, chunks, perm, valid)
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

func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		a.Release()
	}
}

// IsDictString reports whether d is a dictionary of strings that stands for
// a String column: int32 indices into a String dictionary without NULLs.
// Plans pass such columns through unconverted (writer/plan), and Append and
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
