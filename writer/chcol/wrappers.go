package chcol

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/chload/chload/internal/arrowbuf"
)

// Nullable(T) and LowCardinality(T) are flags on T (see Type). Nullable adds
// a null map before T's values in the Native format; LowCardinality a
// dictionary of T's distinct values and per-row indexes (for the families
// whose lowCardinality is set).
func init() {
	register(&family{names: []string{"Nullable", "LowCardinality"}, parse: parseWrapper})
}

// parseWrapper reads Nullable(T) or LowCardinality(T) after its name.
func parseWrapper(p *typeParser, name string, depth int) (*Type, error) {
	if err := p.expect('('); err != nil {
		return nil, err
	}
	inner, err := p.parseType(depth + 1)
	if err != nil {
		return nil, err
	}
	if err := p.expect(')'); err != nil {
		return nil, err
	}
	composite := inner.family() != nil && inner.family().composite
	if name == "Nullable" {
		if inner.Nullable || inner.LowCardinality || composite {
			return nil, fmt.Errorf("%s cannot be inside Nullable", inner)
		}
		inner.Nullable = true
		return inner, nil
	}
	if inner.LowCardinality || composite {
		return nil, fmt.Errorf("%s cannot be inside LowCardinality", inner)
	}
	inner.LowCardinality = true
	return inner, nil
}

// LowCardinality serialization, as ClickHouse's
// SerializationLowCardinality writes it with shared dictionaries and
// additional keys (and as clickhouse-go does, byte for byte).
const (
	lcSharedDictionariesWithAdditionalKeys = 1
	lcHasAdditionalKeys                    = 1 << 9
	lcNeedUpdateDictionary                 = 1 << 10
)

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
			return arrowbuf.String(sc.data[k][s:e])
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
		return arrowbuf.String(vals[k][int(i)*width : int(i+1)*width])
	}
}
