package parquet

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/goccy/go-yaml"

	"github.com/chload/chload/sources"
)

// TestWideRowGroupReadInPieces: a row group of wide rows is read in records
// of about OpenOptions.RecordBytes, every row delivered once in order,
// while narrow rows keep the batch size.
func TestWideRowGroupReadInPieces(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "s", Type: arrow.BinaryTypes.String},
	}, nil)
	const rows = 4096
	b := array.NewRecordBuilder(mem, schema)
	for i := 0; i < rows; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("%08d", i) + strings.Repeat("x", 2040))
	}
	rec := b.NewRecord()
	b.Release()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "wide.parquet"), rec, rows,
		parquet.NewWriterProperties(parquet.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps())
	rec.Release()

	doc := fmt.Sprintf("paths: [%q]\n", filepath.Join(dir, "*.parquet"))
	s, err := sources.New("parquet", func(v any) error { return yaml.UnmarshalWithOptions([]byte(doc), v, yaml.Strict()) })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	splits, err := s.Splits(ctx)
	if err != nil || len(splits) != 1 {
		t.Fatalf("splits %v, %v: want the one row group", splits, err)
	}
	for _, tc := range []struct {
		name        string
		columns     []string
		recordBytes int64
		wantMax     int64 // the most rows in one record
	}{
		{"wide rows, 1 MiB records", []string{"id", "s"}, 1 << 20, (1 << 20) / 2048},
		{"narrow rows, 1 MiB records", []string{"id"}, 1 << 20, rows},
		{"no bound", []string{"id", "s"}, 0, rows},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr, err := s.Open(ctx, splits[0], sources.OpenOptions{Columns: tc.columns, Mem: mem, RecordBytes: tc.recordBytes})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			var next, records, most int64
			for rr.Next() {
				r := rr.Record()
				records++
				most = max(most, r.NumRows())
				ids := r.Column(0).(*array.Int64)
				for i := 0; i < ids.Len(); i++ {
					if ids.Value(i) != next {
						t.Fatalf("row %d holds id %d", next, ids.Value(i))
					}
					if len(tc.columns) > 1 {
						if got := r.Column(1).(*array.String).Value(i)[:8]; got != fmt.Sprintf("%08d", next) {
							t.Fatalf("row %d holds string %s...", next, got)
						}
					}
					next++
				}
			}
			if err := rr.Err(); err != nil {
				t.Fatal(err)
			}
			if next != rows {
				t.Fatalf("read %d rows, want %d", next, rows)
			}
			if most > tc.wantMax {
				t.Fatalf("a record held %d rows, want at most %d (%d records)", most, tc.wantMax, records)
			}
			if tc.wantMax < rows && records < rows/tc.wantMax {
				t.Fatalf("%d records, want at least %d", records, rows/tc.wantMax)
			}
		})
	}
}
