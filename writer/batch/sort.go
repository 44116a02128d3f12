package batch

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/arrowbuf"
	"github.com/chload/chload/transform"
	"github.com/chload/chload/writer/chcol"
)

// SortPermutation returns the order in which the rows of chunks (numbered
// across the chunks: chunk 0's rows first) must be sent so that they are
// sorted by exprs as ClickHouse sorts them (NULLs last), ties kept in
// arrival order. nil means the rows are sent as they are (no sorting key).
func SortPermutation(chunks []arrow.Record, exprs []*transform.Expr, mem memory.Allocator) ([]uint32, error) {
	keys, n, err := batchKeys(chunks, exprs, mem)
	if err != nil || keys == nil {
		return nil, err
	}
	if len(keys) == 1 {
		return radixSortRows(keys[0]), nil
	}
	perm := Identity(n)
	if len(keys) > 1 {
		slices.SortFunc(perm, func(a, b uint32) int {
			return compareRows(keys, a, b)
		})
	}
	return perm, nil
}

// MergePermutation is SortPermutation for chunks that are each sorted
// already: it merges them, ties going to the earlier chunk, which gives
// the same order as sorting their concatenation stably.
func MergePermutation(chunks []arrow.Record, exprs []*transform.Expr, mem memory.Allocator) ([]uint32, error) {
	keys, n, err := batchKeys(chunks, exprs, mem)
	if err != nil || keys == nil {
		return nil, err
	}
	if len(keys) == 1 {
		// One integer key (the columns packed into one, usually): a stable
		// radix sort of the concatenation gives the merge's order and is
		// several times faster than a heap over the chunks.
		return radixSortRows(keys[0]), nil
	}
	perm := make([]uint32, 0, n)
	// A binary heap of cursors, one per chunk, ordered by their current row.
	type cursor struct{ row, end uint32 }
	var heap []cursor
	start := uint32(0)
	for _, c := range chunks {
		end := start + uint32(c.NumRows())
		if end > start {
			heap = append(heap, cursor{start, end})
		}
		start = end
	}
	less := func(i, j int) bool { return compareRows(keys, heap[i].row, heap[j].row) < 0 }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(heap) {
				return
			}
			m := l
			if r := l + 1; r < len(heap) && less(r, l) {
				m = r
			}
			if !less(m, i) {
				return
			}
			heap[i], heap[m] = heap[m], heap[i]
			i = m
		}
	}
	for i := len(heap)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for len(heap) > 0 {
		perm = append(perm, heap[0].row)
		heap[0].row++
		if heap[0].row == heap[0].end {
			heap[0] = heap[len(heap)-1]
			heap = heap[:len(heap)-1]
		}
		if len(heap) > 0 {
			down(0)
		}
	}
	return perm, nil
}

// compareRows orders rows a and b by keys, then by their number (so that
// ties keep arrival order and the result is deterministic).
func compareRows(keys [][]uint64, a, b uint32) int {
	for _, k := range keys {
		if k[a] != k[b] {
			if k[a] < k[b] {
				return -1
			}
			return 1
		}
	}
	return int(a) - int(b)
}

// batchKeys evaluates exprs on every chunk and maps the values to
// order-preserving uint64 columns over the concatenation, dropping constant
// ones. nil keys mean there is no sorting key.
func batchKeys(chunks []arrow.Record, exprs []*transform.Expr, mem memory.Allocator) ([][]uint64, int, error) {
	var n int
	for _, c := range chunks {
		n += int(c.NumRows())
	}
	if len(exprs) == 0 {
		return nil, n, nil
	}
	keys := [][]uint64{}
	for _, e := range exprs {
		vals := make([]arrow.Array, len(chunks))
		for i, c := range chunks {
			a, err := e.Eval(c, mem)
			if err != nil {
				for _, v := range vals[:i] {
					v.Release()
				}
				return nil, 0, fmt.Errorf("evaluate sorting key %s: %w", e, err)
			}
			vals[i] = a
		}
		var ks [][]uint64
		typ, err := keyType(e, chunks)
		if err == nil {
			ks, err = orderKeys(vals, n, typ)
		}
		for _, v := range vals {
			v.Release()
		}
		if err != nil {
			return nil, 0, fmt.Errorf("sorting key %s: %w", e, err)
		}
		for _, k := range ks {
			if n > 0 && !constant(k) {
				keys = append(keys, k)
			}
		}
	}
	if packed, ok := packKeys(keys); ok {
		keys = [][]uint64{packed}
	}
	return keys, n, nil
}

// keyType returns the ClickHouse type of a sorting key that is a plain
// column, as the canonical schema names it (transform.ClickHouseTypeKey), or
// nil when the key is computed or the column names no type: its values then
// sort by their Arrow type, which for every function result is the server's
// order.
func keyType(e *transform.Expr, chunks []arrow.Record) (*chcol.Type, error) {
	name, ok := e.Column()
	if !ok || len(chunks) == 0 {
		return nil, nil
	}
	schema := chunks[0].Schema()
	idx := schema.FieldIndices(name)
	if len(idx) == 0 {
		return nil, nil
	}
	md := schema.Field(idx[0]).Metadata
	k := md.FindKey(transform.ClickHouseTypeKey)
	if k < 0 {
		return nil, nil
	}
	return chcol.ParseType(md.Values()[k])
}

// packKeys folds several key columns into one when their ranges fit in 64
// bits together: each column contributes its value minus its minimum, in as
// many bits as its range needs, the first key in the highest bits. The
// packed order is the columns' lexicographic order, and one comparison of
// integers replaces several.
func packKeys(keys [][]uint64) ([]uint64, bool) {
	if len(keys) < 2 {
		return nil, false
	}
	mins := make([]uint64, len(keys))
	widths := make([]uint, len(keys))
	total := uint(0)
	for i, k := range keys {
		lo, hi := k[0], k[0]
		for _, v := range k {
			lo, hi = min(lo, v), max(hi, v)
		}
		mins[i], widths[i] = lo, uint(bits.Len64(hi-lo))
		total += widths[i]
	}
	if total > 64 {
		return nil, false
	}
	out := make([]uint64, len(keys[0]))
	for i, k := range keys {
		w, lo := widths[i], mins[i]
		for r, v := range k {
			out[r] = out[r]<<w | (v - lo)
		}
	}
	return out, true
}

// radixSortRows returns the row numbers of k ordered by their keys, ties
// in row order: a least-significant-digit radix sort over 11-bit digits of
// the key minus its minimum, skipping digits every key shares. It is
// stable, so rows that tie keep arrival order.
func radixSortRows(k []uint64) []uint32 {
	n := len(k)
	perm := make([]uint32, n)
	if n == 0 {
		return perm
	}
	lo, hi := k[0], k[0]
	for _, v := range k {
		lo, hi = min(lo, v), max(hi, v)
	}
	keys := make([]uint64, n)
	for i, v := range k {
		keys[i] = v - lo
		perm[i] = uint32(i)
	}
	width := uint(bits.Len64(hi - lo))
	tmpK := make([]uint64, n)
	tmpP := make([]uint32, n)
	var count [1 << radixBits]int
	for shift := uint(0); shift < width; shift += radixBits {
		clear(count[:])
		for _, v := range keys {
			count[(v>>shift)&radixMask]++
		}
		if count[(keys[0]>>shift)&radixMask] == n {
			continue // every key has this digit
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for i, v := range keys {
			d := (v >> shift) & radixMask
			j := count[d]
			count[d]++
			tmpK[j] = v
			tmpP[j] = perm[i]
		}
		keys, tmpK = tmpK, keys
		perm, tmpP = tmpP, perm
	}
	return perm
}

const (
	radixBits = 11
	radixMask = 1<<radixBits - 1
)

func constant(k []uint64) bool {
	for _, v := range k[1:] {
		if v != k[0] {
			return false
		}
	}
	return true
}

// orderKeys maps one key's values, chunk after chunk, to uint64 columns
// whose lexicographic unsigned order is the server's order of the values;
// typ is the key's ClickHouse type, nil when unknown (the values then sort
// by their Arrow type). A key with NULLs gets a column before its values
// that puts NULLs last, and its NULL rows get zero values, so that they tie
// and keep arrival order. A tuple (Arrow struct) maps to its elements'
// columns in turn.
func orderKeys(vals []arrow.Array, n int, typ *chcol.Type) ([][]uint64, error) {
	nulls := 0
	for _, a := range vals {
		nulls += a.NullN()
	}
	var cols [][]uint64
	var ok *chcol.OrderKey
	if typ != nil {
		ok = typ.OrderKey()
	}
	switch {
	case ok != nil:
		cols = make([][]uint64, ok.Columns)
		for c := range cols {
			cols[c] = make([]uint64, 0, n)
		}
		for _, a := range vals {
			cols = ok.Append(cols, a)
		}
	case vals[0].DataType().ID() == arrow.STRUCT:
		st := vals[0].DataType().(*arrow.StructType)
		for f := 0; f < st.NumFields(); f++ {
			fields := make([]arrow.Array, len(vals))
			for i, a := range vals {
				fields[i] = a.(*array.Struct).Field(f)
			}
			var ft *chcol.Type
			if typ != nil && typ.Base == "Tuple" && f < len(typ.Elems) {
				ft = typ.Elems[f]
			}
			fc, err := orderKeys(fields, n, ft)
			if err != nil {
				return nil, fmt.Errorf("tuple element %d: %w", f+1, err)
			}
			cols = append(cols, fc...)
		}
	default:
		out := make([]uint64, 0, n)
		switch vals[0].DataType().ID() {
		case arrow.STRING, arrow.BINARY, arrow.FIXED_SIZE_BINARY, arrow.DECIMAL128, arrow.DICTIONARY:
			out = rankBytes(vals, out)
		default:
			var err error
			for _, a := range vals {
				if out, err = appendOrderKeys(out, a); err != nil {
					return nil, err
				}
			}
		}
		cols = [][]uint64{out}
	}
	if nulls == 0 {
		return cols, nil
	}
	flag := make([]uint64, 0, n)
	for _, a := range vals {
		for i := 0; i < a.Len(); i++ {
			if a.IsNull(i) {
				for _, c := range cols {
					c[len(flag)] = 0
				}
				flag = append(flag, 1)
			} else {
				flag = append(flag, 0)
			}
		}
	}
	return append([][]uint64{flag}, cols...), nil
}

const signBit = 1 << 63

func appendOrderKeys(out []uint64, a arrow.Array) ([]uint64, error) {
	switch v := a.(type) {
	case *array.Int8:
		for _, x := range v.Int8Values() {
			out = append(out, uint64(int64(x))^signBit)
		}
	case *array.Int16:
		for _, x := range v.Int16Values() {
			out = append(out, uint64(int64(x))^signBit)
		}
	case *array.Int32:
		for _, x := range v.Int32Values() {
			out = append(out, uint64(int64(x))^signBit)
		}
	case *array.Int64:
		for _, x := range v.Int64Values() {
			out = append(out, uint64(x)^signBit)
		}
	case *array.Uint8:
		for _, x := range v.Uint8Values() {
			out = append(out, uint64(x))
		}
	case *array.Uint16:
		for _, x := range v.Uint16Values() {
			out = append(out, uint64(x))
		}
	case *array.Uint32:
		for _, x := range v.Uint32Values() {
			out = append(out, uint64(x))
		}
	case *array.Uint64:
		out = append(out, v.Uint64Values()...)
	case *array.Date32:
		for _, x := range v.Date32Values() {
			out = append(out, uint64(int64(x))^signBit)
		}
	case *array.Timestamp:
		for _, x := range v.TimestampValues() {
			out = append(out, uint64(int64(x))^signBit)
		}
	case *array.Float32:
		for _, x := range v.Float32Values() {
			out = append(out, floatKey(float64(x)))
		}
	case *array.Float64:
		for _, x := range v.Float64Values() {
			out = append(out, floatKey(x))
		}
	case *array.Boolean:
		for i := 0; i < v.Len(); i++ {
			if v.Value(i) {
				out = append(out, 1)
			} else {
				out = append(out, 0)
			}
		}
	default:
		return nil, fmt.Errorf("type %s is not supported in a sorting key yet", a.DataType())
	}
	return out, nil
}

// floatKey orders floats as ClickHouse does: NaNs (of any sign and
// payload) after everything and equal to each other, -0 equal to 0.
func floatKey(f float64) uint64 {
	if math.IsNaN(f) {
		return math.MaxUint64
	}
	if f == 0 {
		f = 0 // -0 ties with 0
	}
	b := math.Float64bits(f)
	if b&signBit != 0 {
		return ^b
	}
	return b | signBit
}

// rankBytes gives each value its rank among the distinct values, compared
// as bytes (ClickHouse compares String and FixedString with memcmp;
// Decimal128 is ranked by value).
func rankBytes(vals []arrow.Array, out []uint64) []uint64 {
	dict := map[string]uint32{}
	var distinct []string
	ids := make([]uint32, 0, cap(out))
	idOf := func(v string) uint32 {
		id, ok := dict[v]
		if !ok {
			s := strings.Clone(v)
			id = uint32(len(distinct))
			dict[s] = id
			distinct = append(distinct, s)
		}
		return id
	}
	// A dictionary's entries are looked up once, for all the chunks that
	// share it; its rows take their entry's id.
	entries := map[arrow.ArrayData][]uint32{}
	for _, a := range vals {
		if d, ok := a.(*array.Dictionary); ok {
			dv := d.Dictionary()
			ent, ok := entries[dv.Data()]
			if !ok {
				g := stringGetter(dv)
				ent = make([]uint32, dv.Len())
				for j := range ent {
					ent[j] = idOf(g(j))
				}
				entries[dv.Data()] = ent
			}
			nulls := d.NullN() > 0
			for i, k := range d.Indices().(*array.Int32).Int32Values() {
				if nulls && d.IsNull(i) {
					ids = append(ids, idOf("")) // NULLs are ordered by their flag
					continue
				}
				ids = append(ids, ent[k])
			}
			continue
		}
		g := stringGetter(a)
		// Sorted chunks hold runs of equal values: a run costs one lookup.
		var prev string
		prevID := uint32(0)
		for i := 0; i < a.Len(); i++ {
			v := g(i)
			if i > 0 && v == prev {
				ids = append(ids, prevID)
				continue
			}
			prev, prevID = v, idOf(v)
			ids = append(ids, prevID)
		}
	}
	order := make([]uint32, len(distinct))
	for i := range order {
		order[i] = uint32(i)
	}
	cmp := strings.Compare
	if vals[0].DataType().ID() == arrow.DECIMAL128 {
		cmp = compareDecimalBytes
	}
	slices.SortFunc(order, func(a, b uint32) int { return cmp(distinct[a], distinct[b]) })
	rank := make([]uint64, len(distinct))
	for r, id := range order {
		rank[id] = uint64(r)
	}
	for _, id := range ids {
		out = append(out, rank[id])
	}
	return out
}

// stringGetter reads values as strings without copying them.
func stringGetter(a arrow.Array) func(int) string {
	switch v := a.(type) {
	case *array.String:
		return v.Value
	case *array.Binary:
		return func(i int) string { return arrowbuf.String(v.Value(i)) }
	case *array.FixedSizeBinary:
		return func(i int) string { return arrowbuf.String(v.Value(i)) }
	case *array.Decimal128:
		return func(i int) string {
			x := v.Value(i)
			var b [16]byte
			binary.BigEndian.PutUint64(b[:8], uint64(x.HighBits()))
			binary.BigEndian.PutUint64(b[8:], x.LowBits())
			return string(b[:])
		}
	}
	return func(int) string { return "" }
}

// compareDecimalBytes compares two big-endian two's-complement 128-bit
// integers.
func compareDecimalBytes(a, b string) int {
	if (a[0] & 0x80) != (b[0] & 0x80) {
		if a[0]&0x80 != 0 {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// Identity is the permutation that keeps n rows in their order.
func Identity(n int) []uint32 {
	perm := make([]uint32, n)
	for i := range perm {
		perm[i] = uint32(i)
	}
	return perm
}
