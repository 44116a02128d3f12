package parquet

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// Page types, as the Parquet format numbers them.
const (
	pageData       int32 = 0
	pageIndex      int32 = 1
	pageDictionary int32 = 2
	pageDataV2     int32 = 3
)

// PageHeader field ids in the Parquet format's thrift definition.
const (
	fieldPageType         = 1
	fieldUncompressedSize = 2
	fieldCompressedSize   = 3
	fieldCRC              = 4
	fieldDataPageHeaderV2 = 8
	// DataPageHeaderV2's level byte lengths.
	fieldV2DefLevelsLen = 5
	fieldV2RepLevelsLen = 6
)

// firstHeaderBytes is how much of a column chunk is read to parse a page
// header; a longer header (large statistics) is read again, eight times
// more at each try.
const firstHeaderBytes = 256

// longHeaderBytes is the most read to parse one page header.
const longHeaderBytes = 1 << 20

// pageInfo is what the checks need of one page header.
type pageInfo struct {
	offset       int64 // in the file, where the header starts
	headerLen    int
	kind         int32
	uncompressed int32
	compressed   int32
	hasCRC       bool
	crc          uint32
	levels       int32 // data page v2: definition plus repetition level bytes
}

// bodyOffset is where the page's stored bytes start in the file.
func (p pageInfo) bodyOffset() int64 { return p.offset + int64(p.headerLen) }

// kindName names the page type for messages.
func (p pageInfo) kindName() string {
	switch p.kind {
	case pageData:
		return "data page"
	case pageDataV2:
		return "data page v2"
	case pageDictionary:
		return "dictionary page"
	case pageIndex:
		return "index page"
	}
	return fmt.Sprintf("page of unknown type %d", p.kind)
}

// parsePageHeader parses the page header at the start of buf, which holds
// the rest of its column chunk or a prefix of it. Every length in the
// header is bounded by len(buf), never trusted to allocate; a header cut by
// the end of buf is an error like a malformed one.
func parsePageHeader(buf []byte) (p pageInfo, err error) {
	h, n, err := decodeThriftStruct(buf) // thrift_compact.go
	if err != nil {
		return p, fmt.Errorf("unreadable page header: %w", err)
	}
	i32 := func(s tStruct, id int16) (int32, bool) {
		f := s.field(id)
		if f == nil || f.typ != tcI32 {
			return 0, false
		}
		v, ok := f.val.(int64)
		return int32(v), ok && v == int64(int32(v))
	}
	var seenKind, seenUnc, seenComp bool
	p.kind, seenKind = i32(h, fieldPageType)
	p.uncompressed, seenUnc = i32(h, fieldUncompressedSize)
	p.compressed, seenComp = i32(h, fieldCompressedSize)
	if crc, ok := i32(h, fieldCRC); ok {
		p.crc, p.hasCRC = uint32(crc), true
	}
	if v2 := h.field(fieldDataPageHeaderV2); v2 != nil && v2.typ == tcStruct {
		s := v2.val.(tStruct)
		def, _ := i32(s, fieldV2DefLevelsLen)
		rep, _ := i32(s, fieldV2RepLevelsLen)
		if def < 0 || rep < 0 || int64(def)+int64(rep) > 1<<31-1 {
			return p, errors.New("unreadable page header: negative or overflowing level lengths")
		}
		p.levels = def + rep
	}
	if !seenKind || !seenUnc || !seenComp {
		return p, errors.New("page header lacks its type or sizes")
	}
	if p.compressed < 0 || p.uncompressed < 0 {
		return p, errors.New("page header gives a negative size")
	}
	p.headerLen = n
	return p, nil
}

// chunkRange is where a column chunk's pages lie in the file, as arrow-go
// computes it (the dictionary page first when there is one).
func chunkRange(cc *metadata.ColumnChunkMetaData) (start, length int64) {
	start = cc.DataPageOffset()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && start > cc.DictionaryPageOffset() {
		start = cc.DictionaryPageOffset()
	}
	return start, cc.TotalCompressedSize()
}

// pageWalker reads the page headers of one column chunk in file order,
// through reused buffers: a header is parsed from a small read that grows
// only for a long header (large statistics), and page bodies are read one
// at a time, so a chunk is never held whole.
type pageWalker struct {
	f        io.ReaderAt
	off, end int64 // the next header's offset; the chunk's end
	head     []byte
	body     []byte
}

// next parses the header at the walker's offset and moves past its page.
// ok is false at the end of the chunk, and at a header it cannot read or
// whose page runs past the chunk: arrow-go reports those itself when it
// reads the column.
func (w *pageWalker) next() (p pageInfo, ok bool, err error) {
	if w.off >= w.end {
		return p, false, nil
	}
	n := min(w.end-w.off, firstHeaderBytes)
	for {
		if int64(cap(w.head)) < n {
			w.head = make([]byte, n)
		}
		buf := w.head[:n]
		if _, err := w.f.ReadAt(buf, w.off); err != nil && !errors.Is(err, io.EOF) {
			return p, false, err
		}
		var perr error
		p, perr = parsePageHeader(buf)
		// A header cut by the read fails like a malformed one: read more
		// before giving up.
		if perr != nil && n < w.end-w.off && n < longHeaderBytes {
			n = min(n*8, w.end-w.off, longHeaderBytes)
			continue
		}
		if perr != nil || int64(p.compressed) > w.end-w.off-int64(p.headerLen) {
			return p, false, nil
		}
		break
	}
	p.offset = w.off
	w.off = p.bodyOffset() + int64(p.compressed)
	return p, true, nil
}

// crcOf reads page p's stored bytes and returns their CRC32.
func (w *pageWalker) crcOf(p pageInfo) (uint32, error) {
	if cap(w.body) < int(p.compressed) {
		w.body = make([]byte, p.compressed)
	}
	body := w.body[:p.compressed]
	if _, err := w.f.ReadAt(body, p.bodyOffset()); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	return crc32.ChecksumIEEE(body), nil
}

// corruptPageError is the error for a page whose checksum does not match.
type corruptPageError struct {
	column string
	page   int // 1-based, in chunk order, the dictionary page included
	info   pageInfo
	got    uint32
}

func (e *corruptPageError) Error() string {
	return fmt.Sprintf("column %s: page %d (%s, byte offset %d) is corrupt: its CRC32 checksum is %08x but its header says %08x; "+
		"the file is damaged, load an intact copy",
		e.column, e.page, e.info.kindName(), e.info.offset, e.got, e.info.crc)
}

// checkPageCRCs verifies the page checksums of the column chunks of the
// given leaves in the row group, for chunks whose first page has one, or
// whose first data page has one after a dictionary page without (writers
// that checksum data pages only). A chunk without checksums costs one
// header read, two when it starts with a dictionary page. Pages larger than
// maxPage are left to the column reader, which refuses them.
func checkPageCRCs(f io.ReaderAt, size int64, meta *metadata.FileMetaData, rowGroup int, leaves []int, maxPage int64) error {
	rg := meta.RowGroup(rowGroup)
	w := &pageWalker{f: f}
	for _, leaf := range leaves {
		cc, err := rg.ColumnChunk(leaf)
		if err != nil || cc.CryptoMetadata() != nil {
			continue // the column reader reports bad metadata; encrypted headers are not ours to read
		}
		start, length := chunkRange(cc)
		if start < 0 || length <= 0 || start >= size {
			continue
		}
		if err := w.checkChunk(start, start+min(length, size-start), meta.Schema.Column(leaf).Path(), maxPage); err != nil {
			return err
		}
	}
	return nil
}

// checkChunk verifies the checksums of the pages between start and end, the
// column chunk of column name, when its first page has one or its first
// data page has one after a dictionary page without.
func (w *pageWalker) checkChunk(start, end int64, name string, maxPage int64) error {
	w.off, w.end = start, end
	first, ok, err := w.next()
	if err != nil || !ok {
		return err
	}
	verify := first.hasCRC
	if !verify && first.kind == pageDictionary {
		second, ok, err := w.next()
		if err != nil {
			return err
		}
		verify = ok && second.hasCRC
	}
	if !verify {
		return nil
	}
	w.off = start
	for page := 1; ; page++ {
		p, ok, err := w.next()
		if err != nil {
			return err
		}
		if !ok || int64(p.compressed) > maxPage {
			return nil
		}
		if !p.hasCRC {
			continue
		}
		got, err := w.crcOf(p)
		if err != nil {
			return err
		}
		if got != p.crc {
			return &corruptPageError{column: name, page: page, info: p, got: got}
		}
	}
}

// checkPages verifies the page checksums of the split's column chunks
// where the writer stored them (pagecheck.go).
func (r *splitReader) checkPages() error {
	f, err := os.Open(r.file.path)
	if err != nil {
		return r.splitError("open", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return r.splitError("read", err)
	}
	maxPage, _ := r.src.pageLimits()
	if err := checkPageCRCs(f, st.Size(), r.file.meta, r.rg, r.leaves, maxPage); err != nil {
		var corrupt *corruptPageError
		if errors.As(err, &corrupt) {
			return r.splitError("read", err)
		}
		return r.splitError("read", fmt.Errorf("check page checksums: %w", err))
	}
	return nil
}
