package pqmatrix

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// writtenLayout is what a matrix file holds, read back from its metadata and
// page headers: the matrix tests what it claims only if the writer did what
// the case asked.
type writtenLayout struct {
	rowGroups []int64
	// encodings maps a leaf's path to the encodings of its data pages.
	encodings map[string]map[parquet.Encoding]bool
	// physical maps a leaf's path to its physical type.
	physical  map[string]parquet.Type
	codecs    map[string]bool
	pageTypes map[file.PageType]bool
	// allNullPages counts v2 data pages whose values are all NULL.
	allNullPages int
	// dictFallback counts leaves with both dictionary and plain data pages.
	dictFallback int
}

// readLayout reads path's row groups, codecs and every page header.
func readLayout(path string) (*writtenLayout, error) {
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	l := &writtenLayout{encodings: map[string]map[parquet.Encoding]bool{}, physical: map[string]parquet.Type{},
		codecs: map[string]bool{}, pageTypes: map[file.PageType]bool{}}
	for g := 0; g < r.NumRowGroups(); g++ {
		rg := r.RowGroup(g)
		l.rowGroups = append(l.rowGroups, rg.NumRows())
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.MetaData().ColumnChunk(c)
			if err != nil {
				return nil, err
			}
			leaf := r.MetaData().Schema.Column(c)
			p := leaf.ColumnPath().String()
			l.physical[p] = leaf.PhysicalType()
			l.codecs[cc.Compression().String()] = true
			if l.encodings[p] == nil {
				l.encodings[p] = map[parquet.Encoding]bool{}
			}
			pr, err := rg.GetColumnPageReader(c)
			if err != nil {
				return nil, err
			}
			for pr.Next() {
				pg := pr.Page()
				l.pageTypes[pg.Type()] = true
				if pg.Type() == file.PageTypeDictionaryPage {
					continue
				}
				l.encodings[p][parquet.Encoding(pg.Encoding())] = true
				if v2, ok := pg.(*file.DataPageV2); ok && v2.NumNulls() == v2.NumValues() && v2.NumValues() > 0 {
					l.allNullPages++
				}
			}
			if err := pr.Err(); err != nil {
				return nil, fmt.Errorf("row group %d column %s: %w", g, p, err)
			}
		}
	}
	for _, e := range l.encodings {
		if (e[parquet.Encodings.RLEDict] || e[parquet.Encodings.PlainDict]) && e[parquet.Encodings.Plain] {
			l.dictFallback++
		}
	}
	return l, nil
}

// checkWritten fails t when the file at path does not have the layout case c
// asked for: its row groups, codec, page version and each leaf's encoding.
func checkWritten(t *testing.T, path string, c matrixCase) {
	t.Helper()
	l, err := readLayout(path)
	if err != nil {
		t.Fatalf("read layout of %s: %v", path, err)
	}
	if want := fmt.Sprint([]int64{rowGroupRows, rowGroupRows, matrixRows - 2*rowGroupRows}); fmt.Sprint(l.rowGroups) != want {
		t.Errorf("%s: row groups %v, want %s", path, l.rowGroups, want)
	}
	if len(l.codecs) != 1 || !l.codecs[c.codec.codec.String()] {
		t.Errorf("%s: codecs %v, want only %s", path, l.codecs, c.codec.codec)
	}
	wantPage := map[parquet.DataPageVersion]file.PageType{parquet.DataPageV1: file.PageTypeDataPage, parquet.DataPageV2: file.PageTypeDataPageV2}[pageVersions[c.page].version]
	for pt := range l.pageTypes {
		if pt != wantPage && pt != file.PageTypeDictionaryPage {
			t.Errorf("%s: has %s pages, want only %s", path, pt, wantPage)
		}
	}
	if wantPage == file.PageTypeDataPageV2 && l.allNullPages == 0 {
		t.Errorf("%s: no v2 data page holds only NULLs", path)
	}
	var paths []string
	for p := range l.encodings {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		got := l.encodings[p]
		phys := l.physical[p]
		if c.mode.dictionary {
			if phys != parquet.Types.Boolean && !got[parquet.Encodings.RLEDict] && !got[parquet.Encodings.PlainDict] {
				t.Errorf("%s: leaf %s (%s) has no dictionary-encoded page: %v", path, p, phys, encNames(got))
			}
			continue
		}
		want := c.mode.encoding(phys)
		if len(got) != 1 || !got[want] {
			t.Errorf("%s: leaf %s (%s) pages encoded %v, want only %s", path, p, phys, encNames(got), want)
		}
	}
	if c.mode.dictionary && l.dictFallback == 0 {
		t.Errorf("%s: no leaf falls back from dictionary to plain pages", path)
	}
}

func encNames(m map[parquet.Encoding]bool) string {
	var s []string
	for e := range m {
		s = append(s, e.String())
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}
