package parquet

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/chload/chload/internal/arrowbuf"
)

// Dictionary-encoded string columns are read as Arrow dictionaries (indices
// into the column chunk's dictionary) and expanded to plain String arrays
// here, in one tight pass. pqarrow's own plain path appends every value
// through a builder, which costs several times more per value.

// dictOnly reports whether every data page of the column chunk is
// dictionary-encoded, which makes reading it as a dictionary cheap. A chunk
// that fell back to plain pages (too many distinct values) would have every
// plain value hashed into a dictionary instead, and a chunk without
// encoding statistics cannot be told apart from one.
func dictOnly(cc *metadata.ColumnChunkMetaData) bool {
	stats := cc.EncodingStats()
	if len(stats) == 0 || !cc.HasDictionaryPage() {
		return false
	}
	for _, s := range stats {
		// The page type's enum is internal to the parquet package.
		if s.PageType.String() == "DICTIONARY_PAGE" {
			continue
		}
		if s.Encoding != parquet.Encodings.RLEDict && s.Encoding != parquet.Encodings.PlainDict {
			return false
		}
	}
	return true
}

// checkIndices checks that every index of d points into its dictionary (a
// corrupt file could say otherwise), for a dictionary passed on as it is.
func checkIndices(d *array.Dictionary) error {
	idx, ok := d.Indices().(*array.Int32)
	if !ok {
		return fmt.Errorf("dictionary indices of type %s, want int32", d.Indices().DataType())
	}
	size := int32(d.Dictionary().Len())
	nulls := d.NullN() > 0
	for i, k := range idx.Int32Values() {
		if (k < 0 || k >= size) && !(nulls && d.IsNull(i)) {
			return fmt.Errorf("dictionary index %d out of range (dictionary of %d values)", k, size)
		}
	}
	return nil
}

// expandDictionary returns the values of a dictionary array of strings or
// binaries as a plain array of the value type. An index past the end of the
// dictionary (a corrupt file) is an error.
func expandDictionary(d *array.Dictionary, mem memory.Allocator) (arrow.Array, error) {
	idx, ok := d.Indices().(*array.Int32)
	if !ok {
		return nil, fmt.Errorf("dictionary indices of type %s, want int32", d.Indices().DataType())
	}
	var dictOffs []int32
	var dictData []byte
	switch v := d.Dictionary().(type) {
	case *array.String:
		dictOffs = v.ValueOffsets()
		dictData = v.ValueBytes()
	case *array.Binary:
		dictOffs = v.ValueOffsets()
		dictData = v.ValueBytes()
	default:
		return nil, fmt.Errorf("dictionary of %s, want strings or binaries", d.Dictionary().DataType())
	}
	// ValueBytes starts at the dictionary's first value.
	base := int32(0)
	if len(dictOffs) > 0 {
		base = dictOffs[0]
	}
	n := d.Len()
	ix := idx.Int32Values()
	nulls := d.NullN() > 0
	size := len(dictOffs) - 1
	total := 0
	for i, k := range ix {
		if nulls && d.IsNull(i) {
			continue
		}
		if k < 0 || int(k) >= size {
			return nil, fmt.Errorf("dictionary index %d out of range (dictionary of %d values)", k, size)
		}
		total += int(dictOffs[k+1] - dictOffs[k])
	}
	if total > 1<<31-1 {
		return nil, fmt.Errorf("%d bytes of strings in one batch, more than 32-bit offsets address", total)
	}
	offBuf := arrowbuf.Overwritten(mem, (n+1)*4)
	offs := arrow.Int32Traits.CastFromBytes(offBuf.Bytes())
	valBuf := arrowbuf.Overwritten(mem, total+arrowbuf.Slack)
	out := valBuf.Bytes()
	pos := 0
	offs[0] = 0
	for i, k := range ix {
		if !nulls || d.IsValid(i) {
			pos += arrowbuf.CopyValue(out[pos:], dictData, int(dictOffs[k]-base), int(dictOffs[k+1]-dictOffs[k]))
		}
		offs[i+1] = int32(pos)
	}
	valBuf.ResizeNoShrink(total)
	var validity *memory.Buffer
	if nulls {
		validity = memory.NewResizableBuffer(mem)
		validity.Resize(int(bitutil.BytesForBits(int64(n))))
		src := d.NullBitmapBytes()
		bitutil.CopyBitmap(src, d.Data().Offset(), n, validity.Bytes(), 0)
	}
	data := array.NewData(d.Dictionary().DataType(), n, []*memory.Buffer{validity, offBuf, valBuf}, nil, d.NullN(), 0)
	defer data.Release()
	offBuf.Release()
	valBuf.Release()
	if validity != nil {
		validity.Release()
	}
	return array.MakeFromData(data), nil
}
