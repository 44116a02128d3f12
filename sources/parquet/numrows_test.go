package parquet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// TestNegativeRowCountRefused: a footer whose row group claims a negative
// num_rows is corrupt. It must not become a split of unknown size, which
// would turn off the row-count checks downstream.
func TestNegativeRowCountRefused(t *testing.T) {
	const fileMetaRowGroups, rowGroupNumRows = 4, 3
	path := filepath.Join(t.TempDir(), "negative.parquet")
	rec := buildRecord(memory.NewGoAllocator(), allTypes(), 0, 300)
	defer rec.Release()
	writeFile(t, path, rec, 100, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(100)), pqarrow.DefaultWriterProps())
	replaceFooter(t, path, func(footer []byte) []byte {
		meta, _, err := decodeThriftStruct(footer)
		if err != nil {
			t.Fatal(err)
		}
		groups := meta.field(fileMetaRowGroups).val.(tList).elems
		groups[1].(tStruct).field(rowGroupNumRows).val = int64(-5)
		return encodeThriftStruct(nil, meta)
	})
	src, err := New(Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	splits, err := src.Splits(context.Background())
	if err == nil {
		t.Fatalf("splits of a file claiming -5 rows in a row group: %v", splits)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "row group 1") || !strings.Contains(err.Error(), "-5 rows") {
		t.Fatalf("error %q does not name the file, the row group and the count", err)
	}
}

// TestSameFileOnce: a file that several patterns match under other names
// (a second pattern, "..", a symlink) is read once.
func TestSameFileOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.parquet")
	rec := buildRecord(memory.NewGoAllocator(), allTypes(), 0, 300)
	defer rec.Release()
	writeFile(t, path, rec, 100, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(100)), pqarrow.DefaultWriterProps())
	if err := os.Symlink(path, filepath.Join(dir, "link.parquet")); err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{Paths: []string{path, filepath.Join(dir, "[a]*.parquet"), filepath.Join(dir, "..", filepath.Base(dir), "a.parquet"), filepath.Join(dir, "link.parquet")}})
	if err != nil {
		t.Fatal(err)
	}
	splits, err := src.Splits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, sp := range splits {
		rows += sp.Rows
	}
	if len(splits) != 3 || rows != 300 {
		t.Fatalf("%d splits holding %d rows, want the file's 3 row groups and 300 rows once: %v", len(splits), rows, splits)
	}
}
