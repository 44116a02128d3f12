package parquet

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/chload/chload/sources"
)

// fuzzSeed returns a small valid file with a few types, nulls, a list and
// two row groups. It has no dictionary encoding: arrow v15 allocates as
// many entries as a corrupt dictionary index claims
// (ByteArrayDictConverter.ensure), and the process dies out of memory
// before any error can be returned, which would stop the fuzzer at once.
func fuzzSeed(t testing.TB) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "d18", Type: &arrow.Decimal128Type{Precision: 18, Scale: 4}, Nullable: true},
		{Name: "nums", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
	}, nil)
	rec := buildRecord(memory.NewGoAllocator(), schema, 0, 40)
	defer rec.Release()
	tbl := array.NewTableFromRecords(schema, []arrow.Record{rec})
	defer tbl.Release()
	var buf bytes.Buffer
	if err := pqarrow.WriteTable(tbl, &buf, 25, parquet.NewWriterProperties(parquet.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzCorruptFile overwrites bytes of a valid file at pos with patch and
// reads the result: the source must return errors, never panic or leak.
func FuzzCorruptFile(f *testing.F) {
	seed := fuzzSeed(f)
	f.Add(uint32(0), []byte{})
	f.Add(uint32(4), []byte{0xff, 0xff})
	f.Add(uint32(len(seed)-8), []byte{0, 0, 0, 0x7f})
	f.Add(uint32(len(seed)/2), []byte("garbage in the middle"))
	f.Add(uint32(len(seed)-60), []byte{0x15, 0x02, 0x19})
	f.Fuzz(func(t *testing.T, pos uint32, patch []byte) {
		data := bytes.Clone(seed)
		at := int(pos % uint32(len(data)))
		copy(data[at:], patch)
		path := filepath.Join(t.TempDir(), "f.parquet")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		src, err := New(Config{Paths: []string{path}})
		if err != nil {
			t.Fatal(err)
		}
		defer mem.AssertSize(t, 0)
		ctx := context.Background()
		schema, err := src.Schema(ctx)
		if err != nil {
			return
		}
		splits, err := src.Splits(ctx)
		if err != nil {
			return
		}
		var cols []string
		for _, fl := range schema.Fields() {
			cols = append(cols, fl.Name)
		}
		for _, sp := range splits {
			rr, err := src.Open(ctx, sp, sources.OpenOptions{Columns: cols, Mem: mem})
			if err != nil {
				continue
			}
			for rr.Next() {
			}
			rr.Release()
		}
	})
}
