package chcol

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
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
// the families that say so (strings, fixed strings, numbers, dates, UUID, IP
// addresses); other LowCardinality columns and the types the writer cannot
// carry are left to clickhouse-go (Append).
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
	f := t.family()
	if f == nil || f.encode == nil || t.Nullable && f.composite {
		return false
	}
	return f.native == nil || f.native(t)
}

// lowCardinalityInner reports whether the values of LowCardinality column t
// are of a type appendLowCardinality takes.
func lowCardinalityInner(t *Type) bool {
	f := t.family()
	return f != nil && f.lowCardinality && nativeSupported(t.inner())
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
	return t.family().encode(dst, t, chunks, refs)
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

// appendDefault writes t's default value (zero, or the empty string) in
// the Native format.
func appendDefault(dst []byte, t *Type) []byte {
	dst, out := grow(dst, t.family().defaultWidth(t))
	clear(out)
	return dst
}
