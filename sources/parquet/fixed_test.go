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
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/chload/chload/sources"
	"github.com/chload/chload/sources/sourcestest"
)

// TestFixedLenByteArrayKinds reads FIXED_LEN_BYTE_ARRAY columns: without a
// logical type (FixedSizeBinary(N), bytes as stored), with UUID
// (FixedSizeBinary(16), not an extension type the writer cannot load) and with
// FLOAT16 (Float16, the stored bits).
func TestFixedLenByteArrayKinds(t *testing.T) {
	const rows = 60
	opt := parquet.Repetitions.Optional
	cols := []struct {
		name  string
		width int
		lt    schema.LogicalType
		want  arrow.DataType
	}{
		{"raw", 5, schema.NoLogicalType{}, &arrow.FixedSizeBinaryType{ByteWidth: 5}},
		{"id", 16, schema.UUIDLogicalType{}, &arrow.FixedSizeBinaryType{ByteWidth: 16}},
		{"half", 2, schema.Float16LogicalType{}, arrow.FixedWidthTypes.Float16},
	}
	value := func(r, width int) []byte {
		v := make([]byte, width)
		for i := range v {
			v[i] = byte(r*7 + i*31)
		}
		return v
	}
	var fields schema.FieldList
	for _, c := range cols {
		n, err := schema.NewPrimitiveNodeLogical(c.name, opt, c.lt, parquet.Types.FixedLenByteArray, c.width, -1)
		if err != nil {
			t.Fatal(err)
		}
		fields = append(fields, n)
	}
	path := filepath.Join(t.TempDir(), "flba.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := file.NewParquetWriter(f, mustGroup(t, "schema", parquet.Repetitions.Required, fields, nil))
	rg := w.AppendRowGroup()
	for _, c := range cols {
		var vals []parquet.FixedLenByteArray
		var defs []int16
		for r := 0; r < rows; r++ {
			if r%8 == 3 {
				defs = append(defs, 0)
				continue
			}
			defs = append(defs, 1)
			vals = append(vals, value(r, c.width))
		}
		cw, err := rg.NextColumn()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cw.(*file.FixedLenByteArrayColumnChunkWriter).WriteBatch(vals, defs, nil); err != nil {
			t.Fatal(err)
		}
		if err := cw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src, err := New(Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	src.BatchSize = 16
	tbl, err := sourcestest.ReadAll(context.Background(), src, sources.OpenOptions{Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	for i, c := range cols {
		if got := tbl.Schema().Field(i).Type; !arrow.TypeEqual(got, c.want) {
			t.Errorf("%s: type %s, want %s", c.name, got, c.want)
			continue
		}
		r := 0
		for _, chunk := range tbl.Column(i).Data().Chunks() {
			for j := 0; j < chunk.Len(); j, r = j+1, r+1 {
				if r%8 == 3 {
					if chunk.IsValid(j) {
						t.Fatalf("%s row %d: NULL lost", c.name, r)
					}
					continue
				}
				var got []byte
				switch a := chunk.(type) {
				case *array.FixedSizeBinary:
					got = a.Value(j)
				case *array.Float16:
					h := a.Value(j).Uint16()
					got = []byte{byte(h), byte(h >> 8)} // stored little endian
				}
				if !bytes.Equal(got, value(r, c.width)) {
					t.Fatalf("%s row %d: %x, want %x", c.name, r, got, value(r, c.width))
				}
			}
		}
		if r != rows {
			t.Fatalf("%s: %d rows", c.name, r)
		}
	}
}
