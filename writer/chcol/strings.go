package chcol

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/chload/chload/internal/arrowbuf"
)

// String: canonical arrow String holding any bytes; in the Native format
// each value's length (LEB128) and bytes.
// FixedString(N): canonical arrow FixedSizeBinary(N); N bytes per value.
func init() {
	register(&family{
		names:  []string{"String"},
		arrow:  fixedArrow(arrow.BinaryTypes.String),
		kernel: func(c *Converter, _ string) (kernelFunc, error) { return stringKernel(c) },
		encode: func(dst []byte, _ *Type, chunks []arrow.Array, refs RowRefs) []byte {
			return appendString(dst, chunks, refs)
		},
		lowCardinality: true,
		defaultWidth:   zeroWidth(1), // the empty string's length
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, valid []bool) (any, error) {
			if t.Nullable && t.LowCardinality {
				return dedupedStrings(chunks, perm, valid), nil
			}
			return withNulls(t, stringSlice(chunks, perm), valid), nil
		},
	})
	register(&family{
		names: []string{"FixedString"},
		parse: func(p *typeParser, _ string, _ int) (*Type, error) {
			n, err := p.oneIntParam()
			if err != nil {
				return nil, err
			}
			if n < 1 || n > 1<<20 {
				return nil, fmt.Errorf("FixedString size %d out of range 1..1048576", n)
			}
			return &Type{Base: "FixedString", Size: int(n)}, nil
		},
		params: func(t *Type, b *strings.Builder) { fmt.Fprintf(b, "(%d)", t.Size) },
		arrow: func(t *Type, _ string) (arrow.DataType, error) {
			return &arrow.FixedSizeBinaryType{ByteWidth: t.Size}, nil
		},
		kernel: func(c *Converter, _ string) (kernelFunc, error) { return fixedStringKernel(c) },
		encode: func(dst []byte, _ *Type, chunks []arrow.Array, refs RowRefs) []byte {
			return appendFixedBinary(dst, chunks, refs, false)
		},
		lowCardinality: true,
		defaultWidth:   func(t *Type) int { return t.Size },
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, valid []bool) (any, error) {
			return builtSlice(t, chunks, perm, valid, func(a arrow.Array) func(int) string {
				f := a.(*array.FixedSizeBinary)
				return func(i int) string { return arrowbuf.String(f.Value(i)) }
			}), nil
		},
	})
}

// stringKernel converts String (as is), Binary (same layout, retagged without a
// copy), LargeString/LargeBinary (copied to 32-bit offsets) and FixedSizeBinary
// (a Parquet FIXED_LEN_BYTE_ARRAY without a logical type: the bytes as they are,
// zero bytes included) into String.
func stringKernel(c *Converter) (kernelFunc, error) {
	switch c.src.ID() {
	case arrow.STRING:
		return identity, nil
	case arrow.BINARY:
		return retag(c.dst), nil
	case arrow.LARGE_STRING, arrow.LARGE_BINARY, arrow.FIXED_SIZE_BINARY:
		return narrowStrings, nil
	}
	return nil, errNoConversion
}

// narrowStrings copies a LargeString, LargeBinary or FixedSizeBinary array into a
// String array; NULL rows hold the empty string.
func narrowStrings(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	n := src.Len()
	get := bytesGetter(src)
	nulls := src.NullN() > 0
	total := 0
	for i := 0; i < n; i++ {
		if nulls && src.IsNull(i) {
			continue
		}
		total += len(get(i))
	}
	if total > math.MaxInt32 {
		return nil, fmt.Errorf("convert %s array to String: %d bytes of text in one array exceed the 2 GiB limit of String arrays; read smaller batches", src.DataType(), total)
	}
	offBuf, offsets := arrowbuf.NewValues[int32](mem, n+1)
	defer offBuf.Release()
	dataBuf := memory.NewResizableBuffer(mem)
	defer dataBuf.Release()
	dataBuf.Resize(total)
	data := dataBuf.Bytes()
	pos := 0
	for i := 0; i < n; i++ {
		offsets[i] = int32(pos)
		if nulls && src.IsNull(i) {
			continue
		}
		pos += copy(data[pos:], get(i))
	}
	offsets[n] = int32(pos)
	valid := validityOf(src, mem)
	if valid != nil {
		defer valid.Release()
	}
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{valid, offBuf, dataBuf}, nil, src.NullN(), 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

// mapBytes builds a FixedSizeBinary(width) array of type dst from src row by row:
// conv fills out (zeroed, width bytes) for row i and reports false when it cannot.
func mapBytes(dst arrow.DataType, width int, src arrow.Array, mem memory.Allocator, conv func(i int, out []byte) bool, bad func(i int) *ValueError) (arrow.Array, error) {
	n := src.Len()
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(n * width)
	all := buf.Bytes()
	clear(all)
	nulls := src.NullN() > 0
	for i := 0; i < n; i++ {
		if nulls && src.IsNull(i) {
			continue
		}
		if !conv(i, all[i*width:(i+1)*width:(i+1)*width]) {
			return nil, bad(i)
		}
	}
	return newArray(dst, n, buf, src, mem), nil
}

// bytesGetter returns a zero-copy accessor of the bytes of a string, binary or
// fixed-size binary array, or nil for other arrays.
func bytesGetter(a arrow.Array) func(i int) string {
	if f, ok := a.(*array.FixedSizeBinary); ok {
		return func(i int) string { return arrowbuf.String(f.Value(i)) }
	}
	return stringGetter(a)
}

// fixedStringKernel converts text, binary and fixed-size binary into
// FixedString(N). A value longer than N bytes is refused; a shorter one is padded
// with zero bytes at the end, as ClickHouse itself does. Fixed-size binary wider
// than N is refused when the conversion is planned: every value would be too long.
func fixedStringKernel(c *Converter) (kernelFunc, error) {
	if arrow.TypeEqual(c.src, c.dst) {
		return identity, nil
	}
	if c.src.ID() != arrow.FIXED_SIZE_BINARY && !isStringLike(c.src) {
		return nil, errNoConversion
	}
	size, dst, name := c.target.Size, c.dst, c.target.inner().String()
	if fsb, ok := c.src.(*arrow.FixedSizeBinaryType); ok && fsb.ByteWidth > size {
		return nil, fmt.Errorf("cannot load Arrow type %s into column type %s: every value is %d bytes long, longer than %s; make the column FixedString(%d) or String, or shorten the values in the data",
			c.src, c.target, fsb.ByteWidth, name, fsb.ByteWidth)
	}
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		get := bytesGetter(src)
		return mapBytes(dst, size, src, mem, func(i int, out []byte) bool {
			v := get(i)
			if len(v) > size {
				return false
			}
			copy(out, v)
			return true
		}, func(i int) *ValueError {
			return valueErr(src, i, fmt.Sprintf("is %d bytes long, longer than %s", len(get(i)), name),
				"shorten it in the data or widen the column")
		})
	}, nil
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
