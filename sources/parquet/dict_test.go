package parquet

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/chload/chload/sources"
)

// TestDictOnly tells column chunks whose data pages are all
// dictionary-encoded from those that fell back to plain pages.
func TestDictOnly(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "few", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "many", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := 0; i < 5000; i++ {
		if i%7 == 0 {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.StringBuilder).Append([]string{"red", "green", "blue"}[i%3])
		}
		b.Field(1).(*array.StringBuilder).Append(strings.Repeat("x", i%50) + string(rune('a'+i%26)) + strings.Repeat("y", i))
	}
	rec := b.NewRecord()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "d.parquet")
	writeFile(t, path, rec, 5000, parquet.NewWriterProperties(parquet.WithDictionaryPageSizeLimit(4096)), pqarrow.DefaultWriterProps())
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	rg := pf.MetaData().RowGroup(0)
	for i, want := range []bool{true, false} {
		cc, err := rg.ColumnChunk(i)
		if err != nil {
			t.Fatal(err)
		}
		if got := dictOnly(cc); got != want {
			t.Errorf("column %s: dictOnly = %v, want %v (encodings %v)", schema.Field(i).Name, got, want, cc.Encodings())
		}
	}

	// Asked to keep both as dictionaries, the source keeps the one that is
	// dictionary-encoded throughout, expands the other, and the values are
	// the file's either way.
	src, err := New(Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	src.BatchSize = 1500 // several records per row group
	splits, err := src.Splits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rr, err := src.Open(context.Background(), splits[0], sources.OpenOptions{Columns: []string{"few", "many"}, Mem: mem, KeepDictionaries: []string{"few", "many"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	row := 0
	var firstDict arrow.Array
	for rr.Next() {
		r := rr.Record()
		few, ok := r.Column(0).(*array.Dictionary)
		if !ok {
			t.Fatalf("column few is %s, want a dictionary", r.Column(0).DataType())
		}
		if firstDict == nil {
			firstDict = few.Dictionary()
		} else if few.Dictionary().Data() != firstDict.Data() {
			t.Errorf("record at row %d has its own copy of the row group's dictionary", row)
		}
		many, ok := r.Column(1).(*array.String)
		if !ok {
			t.Fatalf("column many is %s, want plain strings", r.Column(1).DataType())
		}
		if !arrow.TypeEqual(r.Schema().Field(0).Type, few.DataType()) {
			t.Errorf("record schema says %s for few", r.Schema().Field(0).Type)
		}
		words := few.Dictionary().(*array.String)
		for i := 0; i < int(r.NumRows()); i++ {
			wantFew := rec.Column(0).(*array.String)
			if few.IsNull(i) != wantFew.IsNull(row+i) || (!few.IsNull(i) && words.Value(few.GetValueIndex(i)) != wantFew.Value(row+i)) {
				t.Fatalf("row %d of few differs", row+i)
			}
			if many.Value(i) != rec.Column(1).(*array.String).Value(row+i) {
				t.Fatalf("row %d of many differs", row+i)
			}
		}
		row += int(r.NumRows())
	}
	if rr.Err() != nil || row != 5000 {
		t.Errorf("read %d rows, error %v", row, rr.Err())
	}
}

// TestExpandDictionary checks values, NULLs, slices and a corrupt index.
func TestExpandDictionary(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db := array.NewStringBuilder(mem)
	db.AppendValues([]string{"", "short", strings.Repeat("long value ", 5)}, nil)
	dict := db.NewArray()
	db.Release()
	defer dict.Release()
	ib := array.NewInt32Builder(mem)
	ib.AppendValues([]int32{2, 0, 1, 1, 0, 2}, []bool{true, true, false, true, true, true})
	idx := ib.NewArray()
	ib.Release()
	defer idx.Release()
	typ := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	d := array.NewDictionaryArray(typ, idx, dict)
	defer d.Release()
	sliced := array.NewSlice(d, 1, 6).(*array.Dictionary)
	defer sliced.Release()
	for _, tt := range []struct {
		in   *array.Dictionary
		want string
	}{
		{d, `["long value long value long value long value long value " "" (null) "short" "" "long value long value long value long value long value "]`},
		{sliced, `["" (null) "short" "" "long value long value long value long value long value "]`},
	} {
		got, err := expandDictionary(tt.in, mem)
		if err != nil {
			t.Fatal(err)
		}
		if got.DataType().ID() != arrow.STRING || got.String() != tt.want {
			t.Errorf("got %s %s\nwant %s", got.DataType(), got, tt.want)
		}
		got.Release()
	}

	ib = array.NewInt32Builder(mem)
	ib.AppendValues([]int32{0, 3}, nil)
	bad := ib.NewArray()
	ib.Release()
	defer bad.Release()
	corrupt := array.NewDictionaryArray(typ, bad, dict)
	defer corrupt.Release()
	if _, err := expandDictionary(corrupt, mem); err == nil || !strings.Contains(err.Error(), "dictionary index 3 out of range (dictionary of 3 values)") {
		t.Errorf("error %v, want an index out of range", err)
	}
}

func TestCheckIndices(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db := array.NewStringBuilder(mem)
	db.AppendValues([]string{"a", "b"}, nil)
	dict := db.NewArray()
	db.Release()
	defer dict.Release()
	typ := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	for _, tt := range []struct {
		idx   []int32
		valid []bool
		err   string
	}{
		{idx: []int32{0, 1, 1}},
		{idx: []int32{0, 7, 1}, valid: []bool{true, false, true}}, // under a NULL
		{idx: []int32{0, 2}, err: "dictionary index 2 out of range (dictionary of 2 values)"},
		{idx: []int32{-1}, err: "dictionary index -1 out of range"},
	} {
		ib := array.NewInt32Builder(mem)
		ib.AppendValues(tt.idx, tt.valid)
		ia := ib.NewArray()
		ib.Release()
		d := array.NewDictionaryArray(typ, ia, dict)
		err := checkIndices(d)
		if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("indices %v: error %v, want %q", tt.idx, err, tt.err)
		}
		d.Release()
		ia.Release()
	}
}
