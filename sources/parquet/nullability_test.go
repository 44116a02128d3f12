package parquet

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/chload/chload/sources"
	"github.com/chload/chload/sources/sourcestest"
)

// writeJSONFile writes rows given as JSON with schema to a Parquet file.
func writeJSONFile(t *testing.T, path string, schema *arrow.Schema, rows string) {
	t.Helper()
	rec, _, err := array.RecordFromJSON(memory.NewGoAllocator(), schema, strings.NewReader(rows))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	writeFile(t, path, rec, 1<<20, nil, pqarrow.DefaultWriterProps())
}

// TestNestedNullabilityAcrossFiles: files whose list elements, struct
// fields or map values are required in one and optional in another (Spark
// and pyarrow write the same data so) load together, every record with the
// types Schema promises: nullable where any file is.
func TestNestedNullabilityAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	schemaOf := func(nullable bool) *arrow.Schema {
		return arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64},
			{Name: "xs", Type: arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.PrimitiveTypes.Int32, Nullable: nullable})},
			{Name: "s", Type: arrow.StructOf(arrow.Field{Name: "a", Type: arrow.BinaryTypes.String, Nullable: nullable}), Nullable: true},
		}, nil)
	}
	writeJSONFile(t, filepath.Join(dir, "a.parquet"), schemaOf(false), `[{"id": 1, "xs": [1, 2], "s": {"a": "x"}}, {"id": 2, "xs": [], "s": null}]`)
	writeJSONFile(t, filepath.Join(dir, "b.parquet"), schemaOf(true), `[{"id": 3, "xs": [3, null], "s": {"a": null}}]`)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src, err := New(Config{Paths: []string{filepath.Join(dir, "*.parquet")}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	schema, err := src.Schema(ctx)
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	if !arrow.TypeEqual(schema.Field(1).Type, schemaOf(true).Field(1).Type) || !arrow.TypeEqual(schema.Field(2).Type, schemaOf(true).Field(2).Type) {
		t.Fatalf("schema %s, want nested fields nullable", schema)
	}
	conform(t, Config{Paths: []string{filepath.Join(dir, "*.parquet")}}, 0)
	tbl, err := sourcestest.ReadAll(ctx, src, sources.OpenOptions{Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	var got []string
	for i := 0; i < int(tbl.NumCols()); i++ {
		col := tbl.Column(i)
		if !arrow.TypeEqual(col.DataType(), schema.Field(i).Type) {
			t.Fatalf("column %s is %s, want %s", schema.Field(i).Name, col.DataType(), schema.Field(i).Type)
		}
		var vals []string
		for _, chunk := range col.Data().Chunks() {
			for r := 0; r < chunk.Len(); r++ {
				vals = append(vals, chunk.ValueStr(r))
			}
		}
		got = append(got, strings.Join(vals, " "))
	}
	want := []string{"1 2 3", "[1,2] [] [3,null]", `{"a":"x"} (null) {"a":null}`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("values\n%q\nwant\n%q", got, want)
	}
}
