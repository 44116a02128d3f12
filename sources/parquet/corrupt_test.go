package parquet

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/chload/chload/sources"
)

// corruptSchema has a column of each kind the corruption test covers.
func corruptSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "n", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "word", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "code", Type: arrow.BinaryTypes.String},
		{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "y", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
}

// corruptRecord is n rows of corruptSchema drawn from rng: few distinct
// strings, so dictionaries stay small.
func corruptRecord(mem memory.Allocator, rng *rand.Rand, n int) arrow.Record {
	b := array.NewRecordBuilder(mem, corruptSchema())
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i)*1000003 + rng.Int64N(1000))
		if rng.IntN(6) == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Int32Builder).Append(rng.Int32N(500) - 250)
		}
		if rng.IntN(5) == 0 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("word-%d", rng.IntN(40)))
		}
		b.Field(3).(*array.StringBuilder).Append(strings.Repeat("c", rng.IntN(9)) + fmt.Sprint(rng.IntN(300)))
		if rng.IntN(4) == 0 {
			b.Field(4).AppendNull()
		} else {
			b.Field(4).(*array.Float64Builder).Append(rng.NormFloat64())
		}
		b.Field(5).(*array.Float64Builder).Append(float64(rng.IntN(64)) / 4)
	}
	return b.NewRecord()
}

// corruptLayouts are the ways the base files are written.
var corruptLayouts = []struct {
	name  string
	props []parquet.WriterProperty
}{
	{"plain snappy v1", []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithCompression(compress.Codecs.Snappy)}},
	{"dict zstd v2", []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDataPageVersion(parquet.DataPageV2)}},
	{"dict uncompressed v1", []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Uncompressed)}},
	{"plain uncompressed v2", []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithDataPageVersion(parquet.DataPageV2)}},
	{"dict snappy v2", []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDataPageVersion(parquet.DataPageV2)}},
	{"plain zstd v1", []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithCompression(compress.Codecs.Zstd)}},
}

// TestCorruptPages corrupts page headers and page bodies (never the
// footer) of files of every layout at positions drawn from a fixed seed,
// and reads every split of every copy as a run does: each split either
// fails with an error that names it or yields exactly its row group's
// rows, and nothing panics.
func TestCorruptPages(t *testing.T) {
	copies := 50 // per layout
	if testing.Short() {
		copies = 12
	}
	rng := rand.New(rand.NewPCG(8, 20261201))
	dir := t.TempDir()
	var failed, clean int
	for li, layout := range corruptLayouts {
		mem := memory.NewGoAllocator()
		rec := corruptRecord(mem, rng, 2400)
		base := filepath.Join(dir, fmt.Sprintf("base%d.parquet", li))
		props := append([]parquet.WriterProperty{parquet.WithDataPageSize(2 << 10), parquet.WithBatchSize(256)}, layout.props...)
		writeFile(t, base, rec, 800, parquet.NewWriterProperties(props...), pqarrow.DefaultWriterProps())
		rec.Release()
		data, err := os.ReadFile(base)
		if err != nil {
			t.Fatal(err)
		}
		pages := filePages(t, base)
		if len(pages) < 3*len(corruptSchema().Fields()) {
			t.Fatalf("%s: %d pages; the layout did not write several pages per chunk", layout.name, len(pages))
		}
		for c := 0; c < copies; c++ {
			bad, p, what := corruptCopy(rng, data, pages)
			path := filepath.Join(dir, fmt.Sprintf("l%d-c%d.parquet", li, c))
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			nerr := readCorrupt(t, path, fmt.Sprintf("%s, %s", layout.name, what), p, c%4 == 3)
			if nerr > 0 {
				failed++
			} else {
				clean++
			}
			os.Remove(path)
		}
	}
	t.Logf("%d corrupted copies refused in some split, %d read in full", failed, clean)
}

// corruptCopy returns a copy of data with one page's header or body
// damaged, the page, and what was done.
func corruptCopy(rng *rand.Rand, data []byte, pages []testPage) ([]byte, testPage, string) {
	bad := bytes.Clone(data)
	p := pages[rng.IntN(len(pages))]
	where := fmt.Sprintf("row group %d column %s %s at %d", p.rowGroup, p.column, p.kindName(), p.offset)
	switch k := rng.IntN(10); {
	case k < 3: // one header byte replaced
		at := p.offset + int64(rng.IntN(p.headerLen))
		bad[at] = byte(rng.IntN(256))
		return bad, p, fmt.Sprintf("%s: header byte %d set to %#x", where, at, bad[at])
	case k < 4: // one header bit flipped
		at := p.offset + int64(rng.IntN(p.headerLen))
		bad[at] ^= 1 << rng.IntN(8)
		return bad, p, fmt.Sprintf("%s: header byte %d bit flipped", where, at)
	case k < 8 && p.compressed > 0: // one body byte changed
		at := p.bodyOffset() + int64(rng.IntN(int(p.compressed)))
		bad[at] ^= byte(1 + rng.IntN(255))
		return bad, p, fmt.Sprintf("%s: body byte %d changed", where, at)
	case p.compressed > 0: // a run of body bytes overwritten
		at := p.bodyOffset() + int64(rng.IntN(int(p.compressed)))
		end := min(at+int64(1+rng.IntN(16)), p.bodyOffset()+int64(p.compressed))
		for i := at; i < end; i++ {
			bad[i] = byte(rng.IntN(256))
		}
		return bad, p, fmt.Sprintf("%s: body bytes %d-%d overwritten", where, at, end)
	}
	at := p.offset + int64(rng.IntN(p.headerLen))
	bad[at] ^= 0xff
	return bad, p, fmt.Sprintf("%s: header byte %d inverted", where, at)
}

// readCorrupt reads every split of the file at path with all columns, as a
// run does, checks the property of TestCorruptPages and returns the number
// of splits that failed. The split of the damaged page p, when it fails,
// must name p's column.
func readCorrupt(t *testing.T, path, what string, p testPage, parallel bool) (failed int) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s: panic out of the source: %v", what, p)
		}
	}()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src, err := New(Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	src.BatchSize, src.Parallel = 300, parallel
	ctx := context.Background()
	schema, err := src.Schema(ctx)
	if err != nil {
		t.Fatalf("%s: the footer was not touched, yet: %v", what, err)
	}
	splits, err := src.Splits(ctx)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var cols []string
	for _, f := range schema.Fields() {
		cols = append(cols, f.Name)
	}
	for _, sp := range splits {
		rows, err := readSplitRows(ctx, src, sp, sources.OpenOptions{Columns: cols, Mem: mem})
		switch {
		case err != nil:
			failed++
			if !strings.Contains(err.Error(), sp.String()) {
				t.Errorf("%s: the error does not name split %s: %v", what, sp, err)
			}
			if rowGroupOf(sp) == p.rowGroup && !strings.Contains(err.Error(), "column "+p.column+":") {
				t.Errorf("%s: the error does not name column %s: %v", what, p.column, err)
			}
		case rows != sp.Rows:
			t.Errorf("%s: split %s delivered %d rows without error; its row group holds %d", what, sp, rows, sp.Rows)
		}
	}
	return failed
}

// readSplitRows counts the rows of one split the way the job session
// reads it: Open, Next until false, Err.
func readSplitRows(ctx context.Context, src *Source, sp sources.Split, o sources.OpenOptions) (int64, error) {
	rr, err := src.Open(ctx, sp, o)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	var rows int64
	for rr.Next() {
		rows += rr.RecordBatch().NumRows()
	}
	return rows, rr.Err()
}

// TestCorruptPagesWithCRC damages page bodies of files that carry page
// checksums: the split of the damaged page is refused as corrupt, every
// other split reads in full.
func TestCorruptPagesWithCRC(t *testing.T) {
	copies := 40 // per page version
	if testing.Short() {
		copies = 10
	}
	rng := rand.New(rand.NewPCG(16, 20261201))
	dir := t.TempDir()
	rows := crcRows(5000)
	for _, version := range []int{1, 2} {
		base := filepath.Join(dir, fmt.Sprintf("crc-v%d.parquet", version))
		writeCRCFile(t, base, rows, version)
		data, err := os.ReadFile(base)
		if err != nil {
			t.Fatal(err)
		}
		pages := filePages(t, base)
		for c := 0; c < copies; c++ {
			p := pages[rng.IntN(len(pages))]
			if p.compressed < 4 {
				continue
			}
			bad := bytes.Clone(data)
			// A burst of at most 32 bits: CRC32 catches every one.
			at := p.bodyOffset() + int64(rng.IntN(int(p.compressed)-3))
			bits := rng.Uint32() | 1
			for i := int64(0); i < 4; i++ {
				bad[at+i] ^= byte(bits >> (8 * i))
			}
			what := fmt.Sprintf("v%d, row group %d column %s %s at %d: body bytes %d-%d changed",
				version, p.rowGroup, p.column, p.kindName(), p.offset, at, at+3)
			path := filepath.Join(dir, fmt.Sprintf("crc-v%d-c%d.parquet", version, c))
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			src, err := New(Config{Paths: []string{path}})
			if err != nil {
				t.Fatal(err)
			}
			splits, err := src.Splits(context.Background())
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			for _, sp := range splits {
				n, err := readSplitRows(context.Background(), src, sp, sources.OpenOptions{Columns: []string{"id", "name", "score"}})
				switch {
				case rowGroupOf(sp) == p.rowGroup && (err == nil || !strings.Contains(err.Error(), "is corrupt") || !strings.Contains(err.Error(), sp.String())):
					t.Errorf("%s: split %s: want the page refused as corrupt, got %d rows, error %v", what, sp, n, err)
				case rowGroupOf(sp) != p.rowGroup && (err != nil || n != sp.Rows):
					t.Errorf("%s: intact split %s: %d rows of %d, error %v", what, sp, n, sp.Rows, err)
				}
			}
			os.Remove(path)
		}
	}
}
