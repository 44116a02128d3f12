package chcol

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/chload/chload/internal/arrowbuf"
)

// This file encodes canonical Arrow arrays in ClickHouse's Native format, the
// column layout of the native protocol's data blocks, straight into the
// send buffer: one copy of each value, where clickhouse-go's columns make two
// (into the column, then into the buffer).

// littleEndian is whether this host stores numbers as the Native format
// does; the reinterpreting reads below assume it.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// NativeSupported reports whether AppendNative encodes columns of type t.
// LowCardinality is encoded at the top level (not inside Array, Map or Tuple) over
// strings, fixed strings, numbers and dates; other LowCardinality columns and
// the types the writer cannot carry are left to clickhouse-go (Append).
func NativeSupported(t *Type) bool {
	if !littleEndian {
		return false
	}
	if t.LowCardinality {
		return lowCardinalityInner(t)
	}
	return nativeSupported(t)
}

// nativeSupported is NativeSupported below the top level.
func nativeSupported(t *Type) bool {
	if t.LowCardinality {
		return false
	}
	switch t.Base {
	case "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
		"Float32", "Float64", "Enum8", "Enum16", "Bool", "String", "FixedString",
		"UUID", "IPv4", "IPv6", "Date", "Date32", "DateTime", "DateTime64":
		return true
	case "Decimal":
		return t.Precision <= 38
	case "Array":
		return !t.Nullable && nativeSupported(t.Elem)
	case "Map":
		return !t.Nullable && nativeSupported(t.Key) && nativeSupported(t.Value)
	case "Tuple":
		if t.Nullable {
			return false
		}
		for _, e := range t.Elems {
			if !nativeSupported(e) {
				return false
			}
		}
		return true
	}
	return false
}

// lowCardinalityInner reports whether the values of LowCardinality column t
// are of a type appendLowCardinality takes.
func lowCardinalityInner(t *Type) bool {
	switch t.Base {
	case "String", "FixedString", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16",
		"UInt32", "UInt64", "Float32", "Float64", "Date", "Date32", "DateTime", "DateTime64",
		"UUID", "IPv4", "IPv6":
		return true
	}
	return false
}

// RowRefs lists a block's rows as (chunk, row in chunk) pairs, resolved once
// for all the columns of the block.
type RowRefs struct {
	Chunk, Row []uint32
}

// Len is the number of rows.
func (r RowRefs) Len() int { return len(r.Row) }

// LocateRows resolves perm, row numbers into the concatenation of chunks of
// the given lengths, to RowRefs; nil perm means every row in order.
func LocateRows(lens []int, perm []uint32) (RowRefs, error) {
	loc := newLocator(lens)
	if perm == nil {
		r := RowRefs{Chunk: make([]uint32, 0, loc.total()), Row: make([]uint32, 0, loc.total())}
		for k, n := range lens {
			for i := 0; i < n; i++ {
				r.Chunk = append(r.Chunk, uint32(k))
				r.Row = append(r.Row, uint32(i))
			}
		}
		return r, nil
	}
	r := RowRefs{Chunk: make([]uint32, len(perm)), Row: make([]uint32, len(perm))}
	for j, p := range perm {
		if int(p) >= loc.total() {
			return RowRefs{}, fmt.Errorf("row %d requested, only %d rows given", p, loc.total())
		}
		k := loc.find(int(p))
		r.Chunk[j], r.Row[j] = uint32(k), p-uint32(loc.starts[k])
	}
	return r, nil
}

// AppendNative appends the rows refs of the concatenation of chunks
// (canonical arrays of type t, as Converter.Convert returns them) to dst in
// the Native format of t, and returns the extended buffer. The chunks are
// only read during the call. Types for which NativeSupported is false are
// errors.
func AppendNative(dst []byte, t *Type, chunks []arrow.Array, refs RowRefs) ([]byte, error) {
	if !NativeSupported(t) {
		return dst, fmt.Errorf("encode column of type %s: no Native encoder", t)
	}
	if err := checkCanonical(t, chunks, "encode"); err != nil {
		return dst, err
	}
	return appendNative(dst, t, chunks, refs), nil
}

// appendNative encodes; chunks have t's canonical type.
func appendNative(dst []byte, t *Type, chunks []arrow.Array, refs RowRefs) []byte {
	if t.LowCardinality {
		return appendLowCardinality(dst, t, chunks, refs)
	}
	if t.Nullable {
		dst = appendNullMap(dst, chunks, refs)
	}
	switch t.Base {
	case "Int8", "Enum8", "UInt8":
		return appendFixed(dst, chunks, refs, 1)
	case "Int16", "Enum16", "UInt16":
		return appendFixed(dst, chunks, refs, 2)
	case "Int32", "UInt32", "IPv4", "Float32", "Date32":
		return appendFixed(dst, chunks, refs, 4)
	case "Int64", "UInt64", "Float64", "DateTime64":
		return appendFixed(dst, chunks, refs, 8)
	case "Date":
		// Days since 1970 as UInt16; conversion checked the range.
		return appendNarrowed(dst, chunks, refs, 4, 2)
	case "DateTime":
		// Seconds since 1970 as UInt32; conversion checked the range.
		return appendNarrowed(dst, chunks, refs, 8, 4)
	case "Bool":
		return appendBool(dst, chunks, refs)
	case "String":
		return appendString(dst, chunks, refs)
	case "FixedString", "IPv6":
		return appendFixedBinary(dst, chunks, refs, false)
	case "UUID":
		return appendFixedBinary(dst, chunks, refs, true)
	case "Decimal":
		return appendDecimal(dst, t, chunks, refs)
	case "Array":
		children := make([]arrow.Array, len(chunks))
		for k, c := range chunks {
			children[k] = c.(array.ListLike).ListValues()
		}
		dst, elems := appendOffsets(dst, chunks, refs)
		return appendNative(dst, t.Elem, children, elems)
	case "Map":
		keys := make([]arrow.Array, len(chunks))
		items := make([]arrow.Array, len(chunks))
		for k, c := range chunks {
			keys[k], items[k] = c.(*array.Map).Keys(), c.(*array.Map).Items()
		}
		dst, entries := appendOffsets(dst, chunks, refs)
		dst = appendNative(dst, t.Key, keys, entries)
		return appendNative(dst, t.Value, items, entries)
	case "Tuple":
		// Each element as a column of its own, one after the other, over
		// the same rows.
		fields := make([]arrow.Array, len(chunks))
		for i, e := range t.Elems {
			for k, c := range chunks {
				fields[k] = c.(*array.Struct).Field(i)
			}
			dst = appendNative(dst, e, fields, refs)
		}
		return dst
	}
	panic("chcol: appendNative of unsupported type " + t.String())
}

// grow extends dst by n bytes and returns it with the new bytes.
func grow(dst []byte, n int) ([]byte, []byte) {
	off := len(dst)
	dst = slices.Grow(dst, n)[:off+n]
	return dst, dst[off:]
}

// valueBytes is the data buffer of a fixed-width array, starting at its
// first value.
func valueBytes(a arrow.Array, width int) []byte {
	buf := a.Data().Buffers()[1]
	if buf == nil {
		return nil
	}
	return buf.Bytes()[a.Data().Offset()*width:]
}

// appendNullMap writes one byte per row, 1 for NULL.
func appendNullMap(dst []byte, chunks []arrow.Array, refs RowRefs) []byte {
	dst, out := grow(dst, refs.Len())
	for j := range out {
		out[j] = 0
		if chunks[refs.Chunk[j]].IsNull(int(refs.Row[j])) {
			out[j] = 1
		}
	}
	return dst
}

// anyNulls reports whether some chunk has a NULL, so that the encoders only
// look a row's validity up when one might be NULL. NULL rows are written as
// zero values, so the bytes sent (and the parts made) do not depend on what
// Arrow left under them.
func anyNulls(chunks []arrow.Array) bool {
	for _, c := range chunks {
		if c.NullN() > 0 {
			return true
		}
	}
	return false
}

// appendFixed copies width-byte values (the Native layout equals Arrow's on
// a little-endian host).
func appendFixed(dst []byte, chunks []arrow.Array, refs RowRefs, width int) []byte {
	vals := make([][]byte, len(chunks))
	for k, c := range chunks {
		vals[k] = valueBytes(c, width)
	}
	nulls := anyNulls(chunks)
	dst, out := grow(dst, refs.Len()*width)
	if len(chunks) == 1 && !nulls && isSequential(refs) {
		copy(out, vals[0][int(refs.Row[0])*width:])
		return dst
	}
	for j := range refs.Row {
		k, i := refs.Chunk[j], int(refs.Row[j])
		if nulls && chunks[k].IsNull(i) {
			clear(out[j*width : (j+1)*width])
			continue
		}
		v := vals[k]
		switch width {
		case 1:
			out[j] = v[i]
		case 2:
			binary.LittleEndian.PutUint16(out[2*j:], binary.LittleEndian.Uint16(v[2*i:]))
		case 4:
			binary.LittleEndian.PutUint32(out[4*j:], binary.LittleEndian.Uint32(v[4*i:]))
		case 8:
			binary.LittleEndian.PutUint64(out[8*j:], binary.LittleEndian.Uint64(v[8*i:]))
		}
	}
	return dst
}

// isSequential reports whether refs are rows r, r+1, ... of one chunk.
func isSequential(refs RowRefs) bool {
	if refs.Len() == 0 {
		return false
	}
	c0, r0 := refs.Chunk[0], refs.Row[0]
	for j := range refs.Row {
		if refs.Chunk[j] != c0 || refs.Row[j] != r0+uint32(j) {
			return false
		}
	}
	return true
}

// appendNarrowed writes the low out bytes of each in-byte value.
func appendNarrowed(dst []byte, chunks []arrow.Array, refs RowRefs, in, outW int) []byte {
	vals := make([][]byte, len(chunks))
	for k, c := range chunks {
		vals[k] = valueBytes(c, in)
	}
	nulls := anyNulls(chunks)
	dst, out := grow(dst, refs.Len()*outW)
	for j := range refs.Row {
		k, i := refs.Chunk[j], int(refs.Row[j])
		if nulls && chunks[k].IsNull(i) {
			clear(out[j*outW : (j+1)*outW])
			continue
		}
		v := vals[k]
		if outW == 2 {
			binary.LittleEndian.PutUint16(out[2*j:], binary.LittleEndian.Uint16(v[i*in:]))
		} else {
			binary.LittleEndian.PutUint32(out[4*j:], binary.LittleEndian.Uint32(v[i*in:]))
		}
	}
	return dst
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

// appendString writes each value as its length (unsigned LEB128) and bytes.
func appendString(dst []byte, chunks []arrow.Array, refs RowRefs) []byte {
	sc := newStringChunks(chunks)
	offs, data, index := sc.offs, sc.data, sc.index
	size, nulls := 0, anyNulls(chunks)
	for k, c := range chunks {
		if n := len(offs[k]); n > 0 && index[k] == nil {
			size += int(offs[k][n-1] - offs[k][0])
		} else if index[k] != nil {
			size += 32 * c.Len()
		}
	}
	// Room for every row of the chunks is an upper bound when the block
	// takes most of their rows, and a guess otherwise.
	dst = slices.Grow(dst, min(size, 64*refs.Len())+binary.MaxVarintLen32*refs.Len()+arrowbuf.Slack)
	for j := range refs.Row {
		k, i := refs.Chunk[j], refs.Row[j]
		if nulls && chunks[k].IsNull(int(i)) {
			dst = append(dst, 0)
			continue
		}
		v := i
		if index[k] != nil {
			v = uint32(index[k][i])
		}
		s, e := offs[k][v], offs[k][v+1]
		n := int(e - s)
		if cap(dst)-len(dst) < n+binary.MaxVarintLen32+arrowbuf.Slack {
			dst = slices.Grow(dst, n+binary.MaxVarintLen32+arrowbuf.Slack+len(dst)/4)
		}
		if n < 0x80 {
			dst = append(dst, byte(n))
		} else {
			dst = binary.AppendUvarint(dst, uint64(n))
		}
		l := len(dst)
		dst = dst[:l+arrowbuf.CopyValue(dst[l:l+n+arrowbuf.Slack], data[k], int(s), n)]
	}
	return dst
}

// appendFixedBinary copies fixed-size binary values; for UUIDs each 8-byte
// half is reversed (ClickHouse stores a UUID as two little-endian UInt64s).
func appendFixedBinary(dst []byte, chunks []arrow.Array, refs RowRefs, uuid bool) []byte {
	if refs.Len() == 0 {
		return dst
	}
	nulls := anyNulls(chunks)
	width := chunks[0].DataType().(*arrow.FixedSizeBinaryType).ByteWidth
	vals := make([][]byte, len(chunks))
	for k, c := range chunks {
		vals[k] = valueBytes(c, width)
	}
	dst, out := grow(dst, refs.Len()*width)
	for j := range refs.Row {
		k, i := refs.Chunk[j], int(refs.Row[j])
		o := out[j*width : (j+1)*width]
		if nulls && chunks[k].IsNull(i) {
			clear(o)
			continue
		}
		v := vals[k][i*width : (i+1)*width]
		if uuid {
			binary.LittleEndian.PutUint64(o, binary.BigEndian.Uint64(v))
			binary.LittleEndian.PutUint64(o[8:], binary.BigEndian.Uint64(v[8:]))
			continue
		}
		copy(o, v)
	}
	return dst
}

// appendDecimal writes Decimal values as Int32, Int64 or Int128 by
// precision; conversion checked that each value fits its precision.
func appendDecimal(dst []byte, t *Type, chunks []arrow.Array, refs RowRefs) []byte {
	nulls := anyNulls(chunks)
	width := 16
	switch {
	case t.Precision <= 9:
		width = 4
	case t.Precision <= 18:
		width = 8
	}
	dst, out := grow(dst, refs.Len()*width)
	for j := range refs.Row {
		k, i := refs.Chunk[j], int(refs.Row[j])
		var v decimal128.Num
		if !(nulls && chunks[k].IsNull(i)) {
			v = chunks[k].(*array.Decimal128).Value(i)
		}
		o := out[j*width:]
		switch width {
		case 4:
			binary.LittleEndian.PutUint32(o, uint32(v.LowBits()))
		case 8:
			binary.LittleEndian.PutUint64(o, v.LowBits())
		default:
			binary.LittleEndian.PutUint64(o, v.LowBits())
			binary.LittleEndian.PutUint64(o[8:], uint64(v.HighBits()))
		}
	}
	return dst
}

// appendOffsets writes the Native offsets of list-like rows (each row's
// end, counted over the block's elements, as UInt64) and returns the
// elements' refs into the chunks' children, in order.
func appendOffsets(dst []byte, chunks []arrow.Array, refs RowRefs) ([]byte, RowRefs) {
	nulls := anyNulls(chunks)
	dst, out := grow(dst, refs.Len()*8)
	var elems RowRefs
	var end uint64
	for j := range refs.Row {
		k, i := refs.Chunk[j], int(refs.Row[j])
		s, e := chunks[k].(array.ListLike).ValueOffsets(i)
		if nulls && chunks[k].IsNull(i) {
			s = e
		}
		for x := s; x < e; x++ {
			elems.Chunk = append(elems.Chunk, k)
			elems.Row = append(elems.Row, uint32(x))
		}
		end += uint64(e - s)
		binary.LittleEndian.PutUint64(out[8*j:], end)
	}
	return dst, elems
}

// LowCardinality serialization, as ClickHouse's
// SerializationLowCardinality writes it with shared dictionaries and
// additional keys (and as clickhouse-go does, byte for byte).
const (
	lcSharedDictionariesWithAdditionalKeys = 1
	lcHasAdditionalKeys                    = 1 << 9
	lcNeedUpdateDictionary                 = 1 << 10
)

// appendLowCardinality writes a top-level LowCardinality column: the
// serialization version, then the block's dictionary (the type's default
// value, twice for Nullable where entry 0 stands for NULL, then each
// distinct value in order of first appearance) and each row's index into
// it, in the narrowest unsigned type that holds them.
func appendLowCardinality(dst []byte, t *Type, chunks []arrow.Array, refs RowRefs) []byte {
	inner := *t
	inner.LowCardinality, inner.Nullable = false, false
	base := uint32(1)
	if t.Nullable {
		base = 2
	}
	key := valueKey(&inner, chunks)
	nulls := anyNulls(chunks)
	ids := map[string]uint32{}
	var first RowRefs
	keys := make([]uint32, refs.Len())
	for j := range refs.Row {
		k, i := refs.Chunk[j], refs.Row[j]
		if nulls && chunks[k].IsNull(int(i)) {
			continue // index 0: NULL, or the default where NULL cannot be
		}
		v := key(k, i)
		id, ok := ids[v]
		if !ok {
			id = base + uint32(len(first.Row))
			ids[v] = id
			first.Chunk = append(first.Chunk, k)
			first.Row = append(first.Row, i)
		}
		keys[j] = id
	}
	n := len(ids)
	keyType, width := uint64(0), 1
	switch {
	case n < 1<<8-1:
	case n < 1<<16-1:
		keyType, width = 1, 2
	case n < 1<<32-1:
		keyType, width = 2, 4
	default:
		keyType, width = 3, 8
	}
	dst = binary.LittleEndian.AppendUint64(dst, lcSharedDictionariesWithAdditionalKeys)
	dst = binary.LittleEndian.AppendUint64(dst, lcHasAdditionalKeys|lcNeedUpdateDictionary|keyType)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(base)+uint64(n))
	for d := uint32(0); d < base; d++ {
		dst = appendDefault(dst, &inner)
	}
	dst = appendNative(dst, &inner, chunks, first)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(len(keys)))
	dst, out := grow(dst, len(keys)*width)
	for j, id := range keys {
		switch width {
		case 1:
			out[j] = byte(id)
		case 2:
			binary.LittleEndian.PutUint16(out[2*j:], uint16(id))
		case 4:
			binary.LittleEndian.PutUint32(out[4*j:], id)
		default:
			binary.LittleEndian.PutUint64(out[8*j:], uint64(id))
		}
	}
	return dst
}

// valueKey returns a function giving the bytes that identify row i of chunk
// k among the values of t (a LowCardinality inner type): a string's bytes,
// or a fixed-width value's canonical bytes. The result views the chunk.
func valueKey(t *Type, chunks []arrow.Array) func(k, i uint32) string {
	if t.Base == "String" {
		sc := newStringChunks(chunks)
		return func(k, i uint32) string {
			if sc.index[k] != nil {
				i = uint32(sc.index[k][i])
			}
			s, e := sc.offs[k][i], sc.offs[k][i+1]
			return bytesString(sc.data[k][s:e])
		}
	}
	width := 0
	if len(chunks) > 0 {
		width = chunks[0].DataType().(arrow.FixedWidthDataType).BitWidth() / 8
	}
	vals := make([][]byte, len(chunks))
	for k, c := range chunks {
		vals[k] = valueBytes(c, width)
	}
	return func(k, i uint32) string {
		return bytesString(vals[k][int(i)*width : int(i+1)*width])
	}
}

// appendDefault writes t's default value (zero, or the empty string) in
// the Native format.
func appendDefault(dst []byte, t *Type) []byte {
	w := 0
	switch t.Base {
	case "String":
		return append(dst, 0)
	case "FixedString":
		w = t.Size
	case "Int8", "UInt8":
		w = 1
	case "Int16", "UInt16", "Date":
		w = 2
	case "Int32", "UInt32", "Float32", "Date32", "DateTime", "IPv4":
		w = 4
	case "Int64", "UInt64", "Float64", "DateTime64":
		w = 8
	case "UUID", "IPv6":
		w = 16
	}
	dst, out := grow(dst, w)
	clear(out)
	return dst
}
