package parquet

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/pierrec/lz4/v4"

	"github.com/chload/chload/sources"
	"github.com/chload/chload/sources/sourcestest"
)

// wrappedCodecs are the arrow-go codecs codec.go wraps.
var wrappedCodecs = []compress.Compression{
	compress.Codecs.Snappy, compress.Codecs.Gzip, compress.Codecs.Brotli,
	compress.Codecs.Zstd, compress.Codecs.Lz4Raw,
}

func TestCodecsDecodeEmptyAndRefuseGarbage(t *testing.T) {
	data := bytes.Repeat([]byte("chload page body "), 300)
	for _, c := range append(wrappedCodecs, compress.Codecs.Lz4) {
		t.Run(c.String(), func(t *testing.T) {
			codec, err := compress.GetCodec(c)
			if err != nil {
				t.Fatal(err)
			}
			ec, ok := codec.(compress.ErrorCodec)
			if !ok {
				t.Fatalf("%s does not report decode errors", c)
			}
			out, err := ec.DecodeWithError(make([]byte, 0), nil)
			if err != nil || len(out) != 0 {
				t.Fatalf("empty input: %d bytes, %v", len(out), err)
			}
			enc := codec.Encode(nil, data)
			out, err = ec.DecodeWithError(make([]byte, len(data)), enc)
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("round trip: %d bytes, %v", len(out), err)
			}
			garbage := bytes.Repeat([]byte{0xff, 0x13, 0x00, 0x7f}, 64)
			if _, err := ec.DecodeWithError(make([]byte, len(data)), garbage); err == nil {
				t.Fatalf("garbage decoded without error")
			}
		})
	}
}

// withEncoder registers enc for c while fn runs, then puts back what was
// registered before. Tests that use it must not run in parallel.
func withEncoder(t *testing.T, c compress.Compression, enc func(dst, src []byte) []byte, fn func()) {
	t.Helper()
	prev, err := compress.GetCodec(c)
	if err != nil {
		t.Fatal(err)
	}
	compress.RegisterCodec(c, testEncoder{Codec: prev, enc: enc})
	defer compress.RegisterCodec(c, prev)
	fn()
}

// testEncoder is a codec whose Encode is swapped for a test's.
type testEncoder struct {
	compress.Codec
	enc func(dst, src []byte) []byte
}

func (e testEncoder) Encode(dst, src []byte) []byte             { return e.enc(dst, src) }
func (e testEncoder) EncodeLevel(dst, src []byte, _ int) []byte { return e.enc(dst, src) }

// codecRecord is a small record with a non-null int column, a nullable
// string column and a nullable double column that is NULL throughout.
func codecRecord(mem memory.Allocator, n int) arrow.Record {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "gone", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i) * 7919)
		if i%5 == 2 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(strings.Repeat("v", i%13) + string(rune('a'+i%26)))
		}
		b.Field(2).AppendNull()
	}
	return b.NewRecord()
}

// readBack reads every column of the file at path through the source and
// returns the table, or the error of the read.
func readBack(t *testing.T, mem memory.Allocator, path string) (arrow.Table, error) {
	t.Helper()
	src, err := New(Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	return sourcestest.ReadAll(context.Background(), src, sources.OpenOptions{Mem: mem})
}

// assertTableEquals checks that tbl holds the columns of rec, value by
// value.
func assertTableEquals(t *testing.T, mem memory.Allocator, tbl arrow.Table, rec arrow.Record) {
	t.Helper()
	if tbl.NumRows() != rec.NumRows() {
		t.Fatalf("read %d rows, wrote %d", tbl.NumRows(), rec.NumRows())
	}
	for i := 0; i < int(rec.NumCols()); i++ {
		got := column(t, mem, tbl, i)
		if !array.Equal(got, rec.Column(i)) {
			t.Errorf("column %s: read %v, wrote %v", rec.ColumnName(i), head(got), head(rec.Column(i)))
		}
		got.Release()
	}
}

// TestEmptyV2ValueSection writes data pages v2 whose value section is
// empty (the column is NULL throughout) with an encoder that stores empty
// input as zero bytes, as other writers do, and reads them back.
func TestEmptyV2ValueSection(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := codecRecord(mem, 500)
	defer rec.Release()
	for _, c := range wrappedCodecs {
		t.Run(c.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "empty.parquet")
			codec, _ := compress.GetCodec(c)
			withEncoder(t, c, func(dst, src []byte) []byte {
				if len(src) == 0 {
					return dst[:0]
				}
				return codec.Encode(dst, src)
			}, func() {
				writeFile(t, path, rec, 200, parquet.NewWriterProperties(
					parquet.WithCompression(c), parquet.WithDataPageVersion(parquet.DataPageV2),
					parquet.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps())
			})
			if n := emptyValueSections(t, path); n == 0 {
				t.Fatalf("the file has no v2 page with an empty value section; the test proves nothing")
			}
			tbl, err := readBack(t, mem, path)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			defer tbl.Release()
			assertTableEquals(t, mem, tbl, rec)
		})
	}
}

// emptyValueSections counts the data pages v2 of the file at path whose
// stored body is no more than their levels.
func emptyValueSections(t *testing.T, path string) int {
	t.Helper()
	n := 0
	for _, p := range filePages(t, path) {
		if p.kind == pageDataV2 && p.compressed == p.levels {
			n++
		}
	}
	return n
}

func TestLegacyLZ4(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := codecRecord(mem, 3000)
	defer rec.Release()
	rawBlock := func(dst, src []byte) []byte {
		out := make([]byte, lz4.CompressBlockBound(len(src)))
		var c lz4.Compressor
		n, err := c.CompressBlock(src, out)
		if err != nil {
			panic(err)
		}
		return out[:n]
	}
	frame := func(dst, src []byte) []byte {
		var buf bytes.Buffer
		w := lz4.NewWriter(&buf)
		if _, err := w.Write(src); err != nil {
			panic(err)
		}
		if err := w.Close(); err != nil {
			panic(err)
		}
		return buf.Bytes()
	}
	// hadoopSplit writes Hadoop's framing with each block's body split in
	// two compressed chunks, as Hadoop's stream does for large blocks.
	hadoopSplit := func(dst, src []byte) []byte {
		half := len(src) / 2
		a, b := rawBlock(nil, src[:half]), rawBlock(nil, src[half:])
		out := be32(nil, uint32(len(src)))
		out = be32(out, uint32(len(a)))
		out = append(out, a...)
		out = be32(out, uint32(len(b)))
		return append(out, b...)
	}
	garbage := func(dst, src []byte) []byte {
		return bytes.Repeat([]byte{0xf0, 0xff, 0x01}, len(src)/3+3)
	}
	for _, tc := range []struct {
		name string
		enc  func(dst, src []byte) []byte
		v2   bool
	}{
		{name: "hadoop"}, {name: "hadoop v2", v2: true}, {name: "hadoop split chunks", enc: hadoopSplit},
		{name: "raw block", enc: rawBlock}, {name: "raw block v2", enc: rawBlock, v2: true},
		{name: "frame", enc: frame}, {name: "garbage", enc: garbage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lz4.parquet")
			props := []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Lz4), parquet.WithDictionaryDefault(false)}
			if tc.v2 {
				props = append(props, parquet.WithDataPageVersion(parquet.DataPageV2))
			}
			write := func() {
				writeFile(t, path, rec, 1000, parquet.NewWriterProperties(props...), pqarrow.DefaultWriterProps())
			}
			if tc.enc != nil {
				withEncoder(t, compress.Codecs.Lz4, tc.enc, write)
			} else {
				write()
			}
			tbl, err := readBack(t, mem, path)
			if tc.name == "garbage" {
				if err == nil {
					tbl.Release()
					t.Fatal("a page no LZ4 variant decodes was read without error")
				}
				wantErr(t, err, []string{path, "row group 0", "LZ4", "corrupt or uses an unknown LZ4 variant"})
				return
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			defer tbl.Release()
			assertTableEquals(t, mem, tbl, rec)
		})
	}
}

func be32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// FuzzLegacyLZ4Decode feeds arbitrary pages to the legacy LZ4 decoder: it
// returns an error or exactly the size asked for, and never panics.
func FuzzLegacyLZ4Decode(f *testing.F) {
	data := bytes.Repeat([]byte("abcdefgh12345678"), 40)
	enc := legacyLZ4Codec{}.Encode(nil, data)
	f.Add(enc, uint16(len(data)))
	f.Add(enc[8:], uint16(len(data)))
	f.Add([]byte{0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7}, uint16(10))
	f.Add([]byte{0, 0, 0, 4, 0, 0, 0, 2, 0x40, 'a'}, uint16(4))
	f.Fuzz(func(t *testing.T, src []byte, size uint16) {
		out, err := legacyLZ4Codec{}.DecodeWithError(make([]byte, size), src)
		if err == nil && len(out) != int(size) {
			t.Fatalf("decoded %d bytes, asked for %d", len(out), size)
		}
		if err != nil && !strings.Contains(err.Error(), "unknown LZ4 variant") {
			t.Fatalf("error does not say what failed: %v", err)
		}
	})
}
