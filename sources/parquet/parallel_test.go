package parquet

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/chload/chload/sources"
)

// TestParallelReadsTheSame reads a file of every type, lists included,
// with and without Source.Parallel and kept dictionaries: the records are
// the same, batch by batch.
func TestParallelReadsTheSame(t *testing.T) {
	dataMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer dataMem.AssertSize(t, 0)
	schema := allTypes()
	rec := buildRecord(dataMem, schema, 0, 2600)
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "all.parquet")
	writeFile(t, path, rec, 1000, parquet.NewWriterProperties(parquet.WithDataPageSize(4<<10)), pqarrow.DefaultWriterProps())
	var cols []string
	for _, f := range schema.Fields() {
		cols = append(cols, f.Name)
	}
	for _, keep := range [][]string{nil, {"country", "category"}} {
		t.Run(fmt.Sprintf("keep %v", keep), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			read := func(parallel bool) []arrow.RecordBatch {
				src, err := New(Config{Paths: []string{path}})
				if err != nil {
					t.Fatal(err)
				}
				src.BatchSize, src.Parallel = 300, parallel
				splits, err := src.Splits(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				var out []arrow.RecordBatch
				for _, sp := range splits {
					rr, err := src.Open(context.Background(), sp, sources.OpenOptions{Columns: cols, Mem: mem, KeepDictionaries: keep})
					if err != nil {
						t.Fatal(err)
					}
					for rr.Next() {
						r := rr.RecordBatch()
						r.Retain()
						out = append(out, r)
					}
					if err := rr.Err(); err != nil {
						t.Fatalf("parallel=%v: %v", parallel, err)
					}
					rr.Release()
				}
				return out
			}
			serial, parallel := read(false), read(true)
			defer releaseAll(serial)
			defer releaseAll(parallel)
			if len(serial) != len(parallel) {
				t.Fatalf("%d records serially, %d in parallel", len(serial), len(parallel))
			}
			for i := range serial {
				if !array.RecordEqual(serial[i], parallel[i]) {
					t.Fatalf("record %d differs", i)
				}
			}
		})
	}
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}
