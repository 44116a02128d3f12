package parquet

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// legacyRows is the number of rows in the legacy list test files.
const legacyRows = 40

// legacyList is row r of the one-dimensional test lists: nil (a NULL list)
// when r%5 == 4 and nullList is set, empty when r%5 == 0, else r%4+1
// elements r*10+j, of which those with (r+j)%3 == 0 are NULL when elements
// may be NULL.
func legacyList(r int, nullList, elemOpt bool) []*int32 {
	if r%5 == 4 && nullList {
		return nil
	}
	out := []*int32{}
	if r%5 == 0 {
		return out
	}
	for j := 0; j < r%4+1; j++ {
		v := int32(r*10 + j)
		if elemOpt && (r+j)%3 == 0 {
			out = append(out, nil)
			continue
		}
		out = append(out, &v)
	}
	return out
}

// listLevels returns the values and levels of the one leaf under a list
// (optional when listOpt is set, holding NULL lists when nullList is).
func listLevels(listOpt, nullList, elemOpt bool) (vals []int32, defs, reps []int16) {
	base := int16(0)
	if listOpt {
		base = 1
	}
	for r := 0; r < legacyRows; r++ {
		l := legacyList(r, nullList, elemOpt)
		switch {
		case l == nil:
			defs, reps = append(defs, 0), append(reps, 0)
		case len(l) == 0:
			defs, reps = append(defs, base), append(reps, 0)
		}
		for j, v := range l {
			rep := int16(1)
			if j == 0 {
				rep = 0
			}
			reps = append(reps, rep)
			if v == nil {
				defs = append(defs, base+1)
				continue
			}
			vals = append(vals, *v)
			if elemOpt {
				defs = append(defs, base+2)
			} else {
				defs = append(defs, base+1)
			}
		}
	}
	return vals, defs, reps
}

// nestedList is row r of the list of lists: NULL when r%5 == 4 and nulls
// is set, else r%3 lists, the k-th holding k values r*100+k*10+m.
func nestedList(r int, nulls bool) [][]int32 {
	if r%5 == 4 && nulls {
		return nil
	}
	out := [][]int32{}
	for k := 0; k < r%3; k++ {
		inner := []int32{}
		for m := 0; m < k; m++ {
			inner = append(inner, int32(r*100+k*10+m))
		}
		out = append(out, inner)
	}
	return out
}

func mustGroup(t *testing.T, name string, rep parquet.Repetition, fields schema.FieldList, lt schema.LogicalType) *schema.GroupNode {
	t.Helper()
	var g *schema.GroupNode
	var err error
	if lt == nil {
		g, err = schema.NewGroupNode(name, rep, fields, -1)
	} else {
		g, err = schema.NewGroupNodeLogical(name, rep, fields, lt, -1)
	}
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func mustPrim(t *testing.T, name string, rep parquet.Repetition, typ parquet.Type, lt schema.LogicalType) *schema.PrimitiveNode {
	t.Helper()
	if lt == nil {
		lt = schema.NoLogicalType{}
	}
	n, err := schema.NewPrimitiveNodeLogical(name, rep, lt, typ, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// legacyColumn is one top-level column of the legacy list file: its
// Parquet node, how to write its leaves, and what the source must yield.
type legacyColumn struct {
	node  schema.Node
	write func(t *testing.T, rg file.SerialRowGroupWriter)
	want  arrow.DataType
	json  func(r int) any // row r as Arrow JSON
}

func writeInt32Leaf(t *testing.T, rg file.SerialRowGroupWriter, vals []int32, defs, reps []int16) {
	t.Helper()
	cw, err := rg.NextColumn()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cw.(*file.Int32ColumnChunkWriter).WriteBatch(vals, defs, reps); err != nil {
		t.Fatal(err)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
}

// oneLeafList is a column whose single leaf sits under a list.
func oneLeafList(node schema.Node, listOpt, nulls, elemOpt bool, want arrow.DataType) legacyColumn {
	nullList := listOpt && nulls
	return legacyColumn{
		node: node,
		write: func(t *testing.T, rg file.SerialRowGroupWriter) {
			vals, defs, reps := listLevels(listOpt, nullList, elemOpt)
			writeInt32Leaf(t, rg, vals, defs, reps)
		},
		want: want,
		json: func(r int) any {
			l := legacyList(r, nullList, elemOpt)
			if l == nil {
				return nil
			}
			return l
		},
	}
}

// legacyListColumns are the two-level layouts parquet-mr, parquet-avro,
// parquet-thrift, Hive and Impala wrote. Optional lists hold NULL lists when
// nulls is set.
func legacyListColumns(t *testing.T, nulls bool) []legacyColumn {
	req, opt, rep := parquet.Repetitions.Required, parquet.Repetitions.Optional, parquet.Repetitions.Repeated
	i32 := parquet.Types.Int32
	list := schema.NewListLogicalType()
	elem := func(t arrow.DataType, nullable bool, name string) arrow.DataType {
		return arrow.ListOfField(arrow.Field{Name: name, Type: t, Nullable: nullable})
	}
	cols := []legacyColumn{
		// repeated int32 a;
		oneLeafList(mustPrim(t, "a", rep, i32, nil), false, nulls, false, elem(arrow.PrimitiveTypes.Int32, false, "item")),
		// optional group b (LIST) { repeated int32 array; }
		oneLeafList(mustGroup(t, "b", opt, schema.FieldList{mustPrim(t, "array", rep, i32, nil)}, list), true, nulls, false,
			elem(arrow.PrimitiveTypes.Int32, false, "array")),
		// optional group c (LIST) { repeated group array { optional int32 item; } }
		oneLeafList(mustGroup(t, "c", opt, schema.FieldList{mustGroup(t, "array", rep, schema.FieldList{mustPrim(t, "item", opt, i32, nil)}, nil)}, list), true, nulls, true,
			elem(arrow.PrimitiveTypes.Int32, true, "item")),
		// required group d (LIST) { repeated group d_tuple { required int32 v; } }
		oneLeafList(mustGroup(t, "d", req, schema.FieldList{mustGroup(t, "d_tuple", rep, schema.FieldList{mustPrim(t, "v", req, i32, nil)}, nil)}, list), false, nulls, false,
			elem(arrow.PrimitiveTypes.Int32, false, "v")),
		// optional group e (LIST) { repeated group bag { optional int32 array_element; } }
		oneLeafList(mustGroup(t, "e", opt, schema.FieldList{mustGroup(t, "bag", rep, schema.FieldList{mustPrim(t, "array_element", opt, i32, nil)}, nil)}, list), true, nulls, true,
			elem(arrow.PrimitiveTypes.Int32, true, "array_element")),
	}
	// optional group f (LIST) { repeated group array { required int32 x; optional int32 y; } }
	// stays a list of structs: the element has two fields.
	cols = append(cols, legacyColumn{
		node: mustGroup(t, "f", opt, schema.FieldList{mustGroup(t, "array", rep, schema.FieldList{mustPrim(t, "x", req, i32, nil), mustPrim(t, "y", opt, i32, nil)}, nil)}, list),
		write: func(t *testing.T, rg file.SerialRowGroupWriter) {
			xs, xdefs, reps := listLevels(true, nulls, false) // x: required, max def 2
			var ys []int32
			var ydefs []int16
			for r := 0; r < legacyRows; r++ {
				l := legacyList(r, nulls, false)
				switch {
				case l == nil:
					ydefs = append(ydefs, 0)
				case len(l) == 0:
					ydefs = append(ydefs, 1)
				}
				for _, v := range l {
					if *v%2 == 0 {
						ys, ydefs = append(ys, *v+1), append(ydefs, 3)
					} else {
						ydefs = append(ydefs, 2)
					}
				}
			}
			writeInt32Leaf(t, rg, xs, xdefs, reps)
			writeInt32Leaf(t, rg, ys, ydefs, reps)
		},
		want: elem(arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int32}, arrow.Field{Name: "y", Type: arrow.PrimitiveTypes.Int32, Nullable: true}), false, "array"),
		json: func(r int) any {
			l := legacyList(r, nulls, false)
			if l == nil {
				return nil
			}
			out := []map[string]any{}
			for _, v := range l {
				e := map[string]any{"x": *v, "y": nil}
				if *v%2 == 0 {
					e["y"] = *v + 1
				}
				out = append(out, e)
			}
			return out
		},
	})
	// optional group g (LIST) { repeated group array (LIST) { repeated int32 array; } }:
	// a list of lists.
	cols = append(cols, legacyColumn{
		node: mustGroup(t, "g", opt, schema.FieldList{mustGroup(t, "array", rep, schema.FieldList{mustPrim(t, "array", rep, i32, nil)}, list)}, list),
		write: func(t *testing.T, rg file.SerialRowGroupWriter) {
			var vals []int32
			var defs, reps []int16
			for r := 0; r < legacyRows; r++ {
				l := nestedList(r, nulls)
				switch {
				case l == nil:
					defs, reps = append(defs, 0), append(reps, 0)
				case len(l) == 0:
					defs, reps = append(defs, 1), append(reps, 0)
				}
				for k, inner := range l {
					first := int16(1)
					if k == 0 {
						first = 0
					}
					if len(inner) == 0 {
						defs, reps = append(defs, 2), append(reps, first)
					}
					for m, v := range inner {
						rp := int16(2)
						if m == 0 {
							rp = first
						}
						vals, defs, reps = append(vals, v), append(defs, 3), append(reps, rp)
					}
				}
			}
			writeInt32Leaf(t, rg, vals, defs, reps)
		},
		want: elem(elem(arrow.PrimitiveTypes.Int32, false, "item"), false, "array"),
		json: func(r int) any {
			if l := nestedList(r, nulls); l != nil {
				return l
			}
			return nil
		},
	})
	// optional group h { repeated int32 xs; required int32 k; }: a
	// repeated field inside a group.
	cols = append(cols, legacyColumn{
		node: mustGroup(t, "h", opt, schema.FieldList{mustPrim(t, "xs", rep, i32, nil), mustPrim(t, "k", req, i32, nil)}, nil),
		write: func(t *testing.T, rg file.SerialRowGroupWriter) {
			var xs, ks []int32
			var xdefs, xreps, kdefs []int16
			for r := 0; r < legacyRows; r++ {
				if r%7 == 6 && nulls {
					xdefs, xreps, kdefs = append(xdefs, 0), append(xreps, 0), append(kdefs, 0)
					continue
				}
				ks, kdefs = append(ks, int32(r)), append(kdefs, 1)
				l := legacyList(r, false, false)
				if len(l) == 0 {
					xdefs, xreps = append(xdefs, 1), append(xreps, 0)
				}
				for j, v := range l {
					xs, xdefs, xreps = append(xs, *v), append(xdefs, 2), append(xreps, int16(min(j, 1)))
				}
			}
			writeInt32Leaf(t, rg, xs, xdefs, xreps)
			writeInt32Leaf(t, rg, ks, kdefs, nil)
		},
		want: arrow.StructOf(arrow.Field{Name: "xs", Type: elem(arrow.PrimitiveTypes.Int32, false, "item")}, arrow.Field{Name: "k", Type: arrow.PrimitiveTypes.Int32}),
		json: func(r int) any {
			if r%7 == 6 && nulls {
				return nil
			}
			return map[string]any{"xs": legacyList(r, false, false), "k": r}
		},
	})
	return cols
}

// writeLegacyLists writes the columns in two row groups.
func writeLegacyLists(t *testing.T, path string, cols []legacyColumn) {
	t.Helper()
	fields := make(schema.FieldList, len(cols))
	for i, c := range cols {
		fields[i] = c.node
	}
	root := mustGroup(t, "schema", parquet.Repetitions.Required, fields, nil)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := file.NewParquetWriter(f, root)
	for g := 0; g < 2; g++ {
		rg := w.AppendRowGroup()
		for _, c := range cols {
			c.write(t, rg)
		}
		if err := rg.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLegacyLists reads every two-level list layout and compares each row
// with what was written, including the element type and its nullability.
func TestLegacyLists(t *testing.T) {
	cols := legacyListColumns(t, true)
	path := filepath.Join(t.TempDir(), "legacy.parquet")
	writeLegacyLists(t, path, cols)
	for _, parallel := range []bool{false, true} {
		t.Run(fmt.Sprintf("parallel=%v", parallel), func(t *testing.T) { checkLegacyLists(t, path, cols, parallel) })
	}
}

func checkLegacyLists(t *testing.T, path string, cols []legacyColumn, parallel bool) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src, err := New(Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	src.BatchSize = 7
	src.Parallel = parallel
	sch, err := src.Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := sourcestest.ReadAll(context.Background(), src, sources.OpenOptions{Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	for i, c := range cols {
		name := c.node.Name()
		if got := sch.Field(i).Type; !arrow.TypeEqual(got, c.want) {
			t.Errorf("%s: type %s, want %s", name, got, c.want)
			continue
		}
		var rows []any
		for g := 0; g < 2; g++ {
			for r := 0; r < legacyRows; r++ {
				rows = append(rows, c.json(r))
			}
		}
		js, err := json.Marshal(rows)
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := array.FromJSON(mem, c.want, strings.NewReader(string(js)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := array.Concatenate(tbl.Column(i).Data().Chunks(), mem)
		if err != nil {
			t.Fatal(err)
		}
		if !arrow.TypeEqual(got.DataType(), c.want) {
			t.Errorf("%s: records hold %s, want %s", name, got.DataType(), c.want)
		} else if got.Len() != want.Len() {
			t.Errorf("%s: %d rows, want %d", name, got.Len(), want.Len())
		} else {
			for r := 0; r < got.Len(); r++ {
				g, _ := json.Marshal(got.GetOneForMarshal(r))
				w, _ := json.Marshal(want.GetOneForMarshal(r))
				if string(g) != string(w) || got.IsNull(r) != want.IsNull(r) {
					t.Errorf("%s: row %d: got %s, want %s", name, r, g, w)
					break
				}
			}
		}
		got.Release()
		want.Release()
	}
}
