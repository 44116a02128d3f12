package parquet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pqgo "github.com/parquet-go/parquet-go"
)

// testPage is a page of a file with the column chunk it belongs to.
type testPage struct {
	pageInfo
	rowGroup, leaf int
	column         string
}

// filePages lists the pages of every column chunk of the file at path,
// found from the footer's chunk offsets and the page headers.
func filePages(t testing.TB, path string) []testPage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	meta := pf.MetaData()
	var out []testPage
	for rg := 0; rg < meta.NumRowGroups(); rg++ {
		for leaf := 0; leaf < meta.Schema.NumColumns(); leaf++ {
			cc, err := meta.RowGroup(rg).ColumnChunk(leaf)
			if err != nil {
				t.Fatal(err)
			}
			start, length := chunkRange(cc)
			for _, p := range chunkPages(data, start, start+length) {
				out = append(out, testPage{pageInfo: p, rowGroup: rg, leaf: leaf, column: meta.Schema.Column(leaf).Path()})
			}
		}
	}
	return out
}

// crcRow is a row parquet-go writes, with page checksums.
type crcRow struct {
	ID    int64   `parquet:"id"`
	Name  *string `parquet:"name,optional,dict"`
	Score float64 `parquet:"score,zstd"`
}

func crcRows(n int) []crcRow {
	rows := make([]crcRow, n)
	for i := range rows {
		rows[i] = crcRow{ID: int64(i) * 31, Score: float64(i) / 8}
		if i%9 != 4 {
			s := fmt.Sprintf("name-%d", i%37)
			rows[i].Name = &s
		}
	}
	return rows
}

// writeCRCFile writes rows with parquet-go in row groups of 2000 rows and
// small pages, data pages of the given version.
func writeCRCFile(t *testing.T, path string, rows []crcRow, version int) {
	t.Helper()
	var buf bytes.Buffer
	w := pqgo.NewGenericWriter[crcRow](&buf, pqgo.PageBufferSize(2048), pqgo.MaxRowsPerRowGroup(2000),
		pqgo.DataPageVersion(version), pqgo.Compression(&pqgo.Snappy))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkCRCRows reads the file at path through the source and compares
// it with rows.
func checkCRCRows(t *testing.T, path string, rows []crcRow) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tbl, err := readBack(t, mem, path)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	defer tbl.Release()
	if tbl.NumRows() != int64(len(rows)) {
		t.Fatalf("read %d rows, wrote %d", tbl.NumRows(), len(rows))
	}
	id := column(t, mem, tbl, 0)
	defer id.Release()
	name := column(t, mem, tbl, 1)
	defer name.Release()
	score := column(t, mem, tbl, 2)
	defer score.Release()
	for i, r := range rows {
		if got := id.(*array.Int64).Value(i); got != r.ID {
			t.Fatalf("row %d: id %d, wrote %d", i, got, r.ID)
		}
		if (r.Name == nil) != name.IsNull(i) || (r.Name != nil && name.(*array.String).Value(i) != *r.Name) {
			t.Fatalf("row %d: name %v, wrote %v", i, name.ValueStr(i), r.Name)
		}
		if got := score.(*array.Float64).Value(i); got != r.Score {
			t.Fatalf("row %d: score %v, wrote %v", i, got, r.Score)
		}
	}
}

func TestPageCRC(t *testing.T) {
	rows := crcRows(5000)
	for _, version := range []int{1, 2} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "crc.parquet")
			writeCRCFile(t, path, rows, version)
			pages := filePages(t, path)
			var withCRC int
			for _, p := range pages {
				if p.hasCRC {
					withCRC++
				}
			}
			if withCRC != len(pages) || len(pages) < 6 {
				t.Fatalf("%d pages, %d with a checksum: the writer did not store what the test needs", len(pages), withCRC)
			}
			checkCRCRows(t, path, rows)

			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name string
				pick func(p testPage) bool
			}{
				{"data page body", func(p testPage) bool {
					return p.column == "id" && p.rowGroup == 1 && (p.kind == pageData || p.kind == pageDataV2)
				}},
				{"second data page body", func(p testPage) bool {
					return p.column == "score" && p.rowGroup == 2 && (p.kind == pageData || p.kind == pageDataV2)
				}},
				{"dictionary page body", func(p testPage) bool {
					return p.column == "name" && p.kind == pageDictionary
				}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					var target *testPage
					nth := 0
					for i, p := range pages {
						if tc.pick(p) {
							nth++
							if target == nil || (strings.HasPrefix(tc.name, "second") && nth == 2) {
								target = &pages[i]
							}
						}
					}
					if target == nil {
						t.Fatal("no such page in the file")
					}
					// The page's number within its column chunk.
					num := 0
					for _, p := range pages {
						if p.rowGroup == target.rowGroup && p.leaf == target.leaf {
							num++
							if p.offset == target.offset {
								break
							}
						}
					}
					bad := bytes.Clone(data)
					at := target.bodyOffset() + int64(target.compressed)/2
					bad[at] ^= 0x5a
					badPath := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".parquet")
					if err := os.WriteFile(badPath, bad, 0o644); err != nil {
						t.Fatal(err)
					}
					tbl, err := readBack(t, memory.NewGoAllocator(), badPath)
					if err == nil {
						tbl.Release()
						t.Fatal("a page whose checksum does not match was read")
					}
					wantErr(t, err, []string{badPath, fmt.Sprintf("row group %d", target.rowGroup),
						"column " + target.column, fmt.Sprintf("page %d ", num),
						fmt.Sprintf("byte offset %d", target.offset), "is corrupt"})
				})
			}
		})
	}
}

func TestNoCRCUnaffected(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := codecRecord(mem, 3000)
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "nocrc.parquet")
	writeFile(t, path, rec, 1000, nil, pqarrow.DefaultWriterProps())
	for _, p := range filePages(t, path) {
		if p.hasCRC {
			t.Fatalf("arrow-go wrote a checksum; the test proves nothing")
		}
	}
	tbl, err := readBack(t, mem, path)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	defer tbl.Release()
	assertTableEquals(t, mem, tbl, rec)
}

// countingReader counts the ReadAt calls made on a file.
type countingReader struct {
	f     *os.File
	calls atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.calls.Add(1)
	return c.f.ReadAt(p, off)
}

func TestCRCCheckCost(t *testing.T) {
	mem := memory.NewGoAllocator()
	rec := codecRecord(mem, 3000)
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "nocrc.parquet")
	writeFile(t, path, rec, 1000, nil, pqarrow.DefaultWriterProps())
	src, err := New(Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Schema(t.Context()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	meta := src.byPath[path].meta
	leaves := []int{0, 1, 2}
	cr := &countingReader{f: f}
	if err := checkPageCRCs(cr, st.Size(), meta, 1, leaves, int64(DefaultMaxPageBytes)); err != nil {
		t.Fatal(err)
	}
	if got := cr.calls.Load(); got > 2*int64(len(leaves)) {
		t.Fatalf("%d reads for %d column chunks without checksums; want at most two each (a dictionary page's header and the first data page's)", got, len(leaves))
	}
}

func TestParsePageHeaderBounded(t *testing.T) {
	// A header whose statistics claim a 2 GB binary: refused, not
	// allocated.
	hdr := []byte{0x15, 0x00, 0x15, 0x10, 0x15, 0x10, 0x2c, 0x1c, 0x18, 0xff, 0xff, 0xff, 0xff, 0x07}
	if _, err := parsePageHeader(hdr); err == nil {
		t.Fatal("accepted a header with a 2 GB string")
	}
	// The checksum the test files carry is the IEEE CRC32 of the stored
	// bytes; pin the polynomial against a known value.
	if crc32.ChecksumIEEE([]byte("123456789")) != 0xcbf43926 {
		t.Fatal("CRC32 is not IEEE")
	}
}

// FuzzParsePageHeader feeds arbitrary bytes to the page-header parser: it
// returns an error or a header no longer than its input, never panics.
func FuzzParsePageHeader(f *testing.F) {
	f.Add([]byte{0x15, 0x00, 0x15, 0x10, 0x15, 0x10, 0x15, 0x02, 0x00})
	f.Add([]byte{0x15, 0x06, 0x15, 0x10, 0x15, 0x10, 0x5c, 0x15, 0x02, 0x00, 0x00})
	f.Add([]byte{0x15, 0x00, 0x15, 0x10, 0x15, 0x10, 0x2c, 0x1c, 0x18, 0xff, 0xff, 0xff, 0xff, 0x07})
	f.Fuzz(func(t *testing.T, buf []byte) {
		p, err := parsePageHeader(buf)
		if err == nil && (p.headerLen <= 0 || p.headerLen > len(buf)) {
			t.Fatalf("header of %d bytes in %d", p.headerLen, len(buf))
		}
		chunkPages(buf, 0, int64(len(buf)))
	})
}

// chunkPages lists the pages of the chunk data[start:end] as the page
// walker reads them.
func chunkPages(data []byte, start, end int64) []pageInfo {
	w := &pageWalker{f: bytes.NewReader(data), off: start, end: end}
	var out []pageInfo
	for {
		p, ok, err := w.next()
		if err != nil || !ok {
			return out
		}
		out = append(out, p)
	}
}

// compactHeader encodes a page header in the thrift compact protocol with
// the fields the checks read: type, sizes, the CRC when crc is non-nil, and
// padding bytes of a skipped binary field (field 9) standing in for large
// statistics.
func compactHeader(kind int32, body []byte, crc *uint32, padding int) []byte {
	zz := func(v int32) []byte { return binary.AppendUvarint(nil, uint64(uint32((v<<1)^(v>>31)))) }
	var h []byte
	h = append(h, 0x15)
	h = append(h, zz(kind)...)
	h = append(h, 0x15)
	h = append(h, zz(int32(len(body)))...)
	h = append(h, 0x15)
	h = append(h, zz(int32(len(body)))...)
	last := 3
	if crc != nil {
		h = append(h, 0x15)
		h = append(h, zz(int32(*crc))...)
		last = 4
	}
	if padding > 0 {
		h = append(h, byte((9-last)<<4|0x08)) // binary
		h = binary.AppendUvarint(h, uint64(padding))
		h = append(h, make([]byte, padding)...)
	}
	return append(h, 0x00)
}

// TestChecksumsOnDataPagesOnly: a writer that checksums data pages but not
// the dictionary page (older Arrow C++) still has its data pages verified,
// also behind headers longer than the first read.
func TestChecksumsOnDataPagesOnly(t *testing.T) {
	dict, data := []byte("dictionary page body"), []byte("data page body, RLE indices")
	good := crc32.ChecksumIEEE(data)
	for _, padding := range []int{0, 4000, 300_000} {
		chunk := append(compactHeader(pageDictionary, dict, nil, padding), dict...)
		dataAt := len(chunk)
		chunk = append(chunk, compactHeader(pageData, data, &good, padding)...)
		chunk = append(chunk, data...)
		w := &pageWalker{f: bytes.NewReader(chunk)}
		if err := w.checkChunk(0, int64(len(chunk)), "s", 1<<20); err != nil {
			t.Fatalf("padding %d: intact chunk refused: %v", padding, err)
		}
		damaged := bytes.Clone(chunk)
		damaged[len(damaged)-3] ^= 0x40
		w = &pageWalker{f: bytes.NewReader(damaged)}
		err := w.checkChunk(0, int64(len(damaged)), "s", 1<<20)
		var corrupt *corruptPageError
		if !errors.As(err, &corrupt) || corrupt.page != 2 || corrupt.info.offset != int64(dataAt) {
			t.Fatalf("padding %d: damaged data page gave %v, want page 2 at offset %d refused", padding, err, dataAt)
		}
	}
}
