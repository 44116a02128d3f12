package parquet

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ByteStreamSplitRows is the row count of the file
// WriteByteStreamSplitFile writes.
const ByteStreamSplitRows = 300

// WriteByteStreamSplitFile writes to path a file of ByteStreamSplitRows
// rows whose float and double columns (nullable and not) are
// BYTE_STREAM_SPLIT-encoded in ZSTD pages, and returns what it wrote, for
// the caller to release. The id column counts rows from 0. Exported for
// the integration test in package parquet_test.
func WriteByteStreamSplitFile(t testing.TB, mem memory.Allocator, path string) arrow.Record {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
		{Name: "f32n", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64},
		{Name: "f64n", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	special := []float64{0, math.Copysign(0, -1), 1, -1, math.Inf(1), math.Inf(-1), math.MaxFloat32, math.SmallestNonzeroFloat32,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 0.1, 1e-300, 123456.789}
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := 0; i < ByteStreamSplitRows; i++ {
		v := float64(i)*1.25 - 170.5
		if i < len(special) {
			v = special[i]
		}
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.Float32Builder).Append(float32(v))
		if i%4 == 1 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Float32Builder).Append(float32(-v / 3))
		}
		b.Field(3).(*array.Float64Builder).Append(v)
		if i%5 == 2 {
			b.Field(4).AppendNull()
		} else {
			b.Field(4).(*array.Float64Builder).Append(v * math.Pi)
		}
	}
	rec := b.NewRecord()
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithDictionaryDefault(false),
		parquet.WithEncodingFor("f32", parquet.Encodings.ByteStreamSplit),
		parquet.WithEncodingFor("f32n", parquet.Encodings.ByteStreamSplit),
		parquet.WithEncodingFor("f64", parquet.Encodings.ByteStreamSplit),
		parquet.WithEncodingFor("f64n", parquet.Encodings.ByteStreamSplit),
	)
	writeFile(t, path, rec, ByteStreamSplitRows, props, pqarrow.DefaultWriterProps())
	return rec
}

func TestByteStreamSplit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	path := filepath.Join(t.TempDir(), "bss.parquet")
	rec := WriteByteStreamSplitFile(t, mem, path)
	defer rec.Release()
	// The file holds what the test is about.
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	pf := r.MetaData()
	r.Close()
	for _, name := range []string{"f32", "f32n", "f64", "f64n"} {
		leaf := pf.Schema.ColumnIndexByName(name)
		cc, err := pf.RowGroup(0).ColumnChunk(leaf)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range cc.Encodings() {
			found = found || e == parquet.Encodings.ByteStreamSplit
		}
		if !found || cc.Compression() != compress.Codecs.Zstd {
			t.Fatalf("column %s: encodings %v, codec %s", name, cc.Encodings(), cc.Compression())
		}
	}
	tbl, err := readBack(t, mem, path)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	defer tbl.Release()
	assertTableEquals(t, mem, tbl, rec)
}
