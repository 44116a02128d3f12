package parquet

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/goccy/go-yaml"

	"github.com/chload/chload/internal/bytesize"
	"github.com/chload/chload/sources"
	"github.com/chload/chload/sources/sourcestest"
)

func TestPageLimitSettingsDecode(t *testing.T) {
	doc := "paths: [a.parquet]\nmax_page_bytes: 1MiB\nmax_uncompressed_page_bytes: 4194304\n"
	src, err := sources.New("parquet", func(v any) error { return yaml.UnmarshalWithOptions([]byte(doc), v, yaml.Strict()) })
	if err != nil {
		t.Fatal(err)
	}
	cfg := src.(*Source).cfg
	if cfg.MaxPageBytes != 1<<20 || cfg.MaxUncompressedPageBytes != 4<<20 {
		t.Fatalf("max_page_bytes %d, max_uncompressed_page_bytes %d", cfg.MaxPageBytes, cfg.MaxUncompressedPageBytes)
	}
	bad := "paths: [a.parquet]\nmax_page_bytes: lots\n"
	_, err = sources.New("parquet", func(v any) error { return yaml.UnmarshalWithOptions([]byte(bad), v, yaml.Strict()) })
	wantErr(t, err, []string{"lots"})
}

// TestPageLimits writes pages of about 400 KiB uncompressed (zstd keeps
// them small on disk) and reads them under caps that are too small.
func TestPageLimits(t *testing.T) {
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "small", Type: arrow.FixedWidthTypes.Boolean}, // pages of a few KiB
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	small := array.NewBooleanBuilder(mem)
	b := array.NewInt64Builder(mem)
	for i := 0; i < 50000; i++ {
		small.Append(i%2 == 0)
		b.Append(int64(i % 3))
	}
	cols := []arrow.Array{small.NewArray(), b.NewArray()}
	small.Release()
	b.Release()
	rec := array.NewRecord(schema, cols, 50000)
	cols[0].Release()
	cols[1].Release()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "big.parquet")
	writeFile(t, path, rec, 50000, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithDictionaryDefault(false), parquet.WithDataPageSize(1<<20)), pqarrow.DefaultWriterProps())
	var page testPage
	for _, p := range filePages(t, path) {
		if p.kind == pageData && p.column == "n" {
			page = p
		}
	}
	if page.uncompressed < 256<<10 || page.compressed > 64<<10 {
		t.Fatalf("page of %d bytes, %d compressed: not what the test needs", page.uncompressed, page.compressed)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"defaults", Config{}, nil},
		{"compressed", Config{MaxPageBytes: bytesize.Size(page.compressed - 1)},
			[]string{"column n:", fmt.Sprintf("%d bytes compressed", page.compressed), "max_page_bytes"}},
		{"uncompressed", Config{MaxUncompressedPageBytes: 64 << 10},
			[]string{"column n:", fmt.Sprintf("%d bytes uncompressed", page.uncompressed), "max_uncompressed_page_bytes", "64KiB"}},
		{"raised", Config{MaxPageBytes: 1 << 20, MaxUncompressedPageBytes: 1 << 20}, nil},
	} {
		for _, parallel := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s parallel=%v", tc.name, parallel), func(t *testing.T) {
				cfg := tc.cfg
				cfg.Paths = []string{path}
				src, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				src.Parallel = parallel
				tbl, err := sourcestest.ReadAll(t.Context(), src, sources.OpenOptions{Columns: []string{"small", "n"}})
				if tc.want == nil {
					if err != nil {
						t.Fatalf("read: %v", err)
					}
					defer tbl.Release()
					if tbl.NumRows() != rec.NumRows() {
						t.Fatalf("read %d rows, wrote %d", tbl.NumRows(), rec.NumRows())
					}
					return
				}
				if err == nil {
					tbl.Release()
					t.Fatal("a page over the cap was read")
				}
				wantErr(t, err, append([]string{path, "row group 0"}, tc.want...))
			})
		}
	}
}
