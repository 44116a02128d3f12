package plan

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/arrowtest"
	"github.com/chload/chload/transform"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/chcol"
)

// nestedTable is a table with id UInt32 and n Nested(a UInt32, b String,
// c Nullable(String)) as the server describes it: flattened.
func nestedTable(t *testing.T, extra ...string) *writer.Table {
	t.Helper()
	table := &writer.Table{Database: "db", Name: "t"}
	defs := append([]string{"id", "UInt32", "n.a", "Array(UInt32)", "n.b", "Array(String)", "n.c", "Array(Nullable(String))"}, extra...)
	for i := 0; i < len(defs); i += 2 {
		ct, err := chcol.ParseType(defs[i+1])
		if err != nil {
			t.Fatal(err)
		}
		table.Columns = append(table.Columns, writer.Column{Name: defs[i], TypeName: defs[i+1], Type: ct})
	}
	return table
}

func fromJSON(t *testing.T, mem memory.Allocator, dt arrow.DataType, js string) arrow.Array {
	t.Helper()
	a, _, err := array.FromJSON(mem, dt, strings.NewReader(js))
	if err != nil {
		t.Fatalf("build %s from %s: %v", dt, js, err)
	}
	return a
}

var (
	nestedStruct = arrow.StructOf(
		arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true})
	listOfStructsType = arrow.ListOf(nestedStruct)
	structOfListsType = arrow.StructOf(
		arrow.Field{Name: "a", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
		arrow.Field{Name: "b", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true})
)

// convertNested plans a load of id and n (of type nType) into nestedTable
// and converts one record of the given JSON rows.
func convertNested(t *testing.T, mem memory.Allocator, nType arrow.DataType, ids, n string, offset int64) (*Plan, arrow.Record, error) {
	t.Helper()
	src := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "n", Type: nType, Nullable: true}}, nil)
	plan, err := New(nestedTable(t), writer.ServerInfo{Major: 18, Minor: 16, Timezone: "UTC"}, src, false)
	if err != nil {
		t.Fatalf("NewPlan: %v", err)
	}
	idArr := fromJSON(t, mem, arrow.PrimitiveTypes.Int64, ids)
	nArr := fromJSON(t, mem, nType, n)
	if offset > 0 {
		// Slices exercise offsets into the buffers and validity bitmaps.
		idCut, nCut := array.NewSlice(idArr, offset, int64(idArr.Len())), array.NewSlice(nArr, offset, int64(nArr.Len()))
		idArr.Release()
		nArr.Release()
		idArr, nArr = idCut, nCut
	}
	rec := array.NewRecord(src, []arrow.Array{idArr, nArr}, int64(idArr.Len()))
	idArr.Release()
	nArr.Release()
	defer rec.Release()
	out, err := plan.Convert(rec, mem)
	return plan, out, err
}

func TestPlanNestedShapes(t *testing.T) {
	u32List := arrow.ListOf(arrow.PrimitiveTypes.Uint32)
	strList := arrow.ListOf(arrow.BinaryTypes.String)
	tests := []struct {
		name   string
		nType  arrow.DataType
		n      string
		offset int64
	}{
		{name: "list of structs", nType: listOfStructsType,
			n: `[[{"b": "x", "a": 1}, {"b": "y", "a": 2}], [], [{"b": "", "a": 4294967295}]]`},
		{name: "list of structs, sliced", nType: listOfStructsType, offset: 1,
			n: `[[{"b": "skip", "a": 9}], [{"b": "x", "a": 1}, {"b": "y", "a": 2}], [], [{"b": "", "a": 4294967295}]]`},
		{name: "struct of lists", nType: structOfListsType,
			n: `[{"a": [1, 2], "b": ["x", "y"]}, {"a": [], "b": []}, {"a": [4294967295], "b": [""]}]`},
		{name: "struct of lists, sliced", nType: structOfListsType, offset: 2,
			n: `[null, {"a": [7], "b": []}, {"a": [1, 2], "b": ["x", "y"]}, {"a": [], "b": []}, {"a": [4294967295], "b": [""]}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ids := `[0, 1, 2]`
			if tt.offset > 0 {
				ids = `[9, 9, 0, 1, 2]`[:1] + strings.Repeat("9, ", int(tt.offset)) + `0, 1, 2]`
			}
			plan, out, err := convertNested(t, mem, tt.nType, ids, tt.n, tt.offset)
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			defer out.Release()
			if got := plan.SourceColumns(); !slices.Equal(got, []string{"id", "n"}) {
				t.Errorf("SourceColumns() = %v, want [id n]: n read once for all its children", got)
			}
			var names []string
			for _, ic := range plan.Inserts {
				names = append(names, ic.Column.Name)
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{"id", "n.a", "n.b"}) {
				t.Errorf("inserts %v, want id, n.a and n.b", names)
			}
			if !slices.Equal(plan.Defaulted, []string{"n.c"}) {
				t.Errorf("Defaulted = %v, want [n.c]", plan.Defaulted)
			}
			wantB := fromJSON(t, mem, strList, `[["x", "y"], [], [""]]`)
			defer wantB.Release()
			wantA := fromJSON(t, mem, u32List, `[[1, 2], [], [4294967295]]`)
			defer wantA.Release()
			for name, want := range map[string]arrow.Array{"n.a": wantA, "n.b": wantB} {
				got := out.Column(out.Schema().FieldIndices(name)[0])
				if !array.Equal(got, want) {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
		})
	}
}

func TestPlanNestedRefusals(t *testing.T) {
	tests := []struct {
		name, n, column, text string
		nType                 arrow.DataType
		row                   int
	}{
		{name: "NULL list", nType: listOfStructsType, n: `[[{"b": "x", "a": 1}], null]`, row: 1, column: "n.b",
			text: "NULL into non-Nullable column Array(String)"},
		{name: "NULL struct in the list", nType: listOfStructsType, n: `[[{"b": "x", "a": 1}], [{"b": "y", "a": 2}, null]]`, row: 1, column: "n.b",
			text: "NULL at array position 2 into non-Nullable String: make the column Array(Nullable(String)) or fill the value in the source"},
		{name: "value out of range", nType: listOfStructsType, n: `[[{"b": "x", "a": 1}], [{"b": "y", "a": -2}]]`, row: 1, column: "n.a",
			text: "value -2 at array position 1 does not fit UInt32"},
		{name: "NULL struct", nType: structOfListsType, n: `[{"a": [1], "b": ["x"]}, null]`, row: 1, column: "n.a",
			text: "NULL into non-Nullable column Array(UInt32)"},
		{name: "unequal lengths", nType: structOfListsType, n: `[{"a": [1], "b": ["x"]}, {"a": [1, 2, 3], "b": ["x", "y"]}]`, row: 1, column: "n.b",
			text: `value ["x","y"] has 2 elements where column n.a has 3 in the same row; the arrays of one row of Nested column n must have equal lengths: make the lists of struct column n equally long in every row`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			_, out, err := convertNested(t, mem, tt.nType, `[0, 1]`, tt.n, 0)
			if err == nil {
				out.Release()
				t.Fatal("Convert succeeded")
			}
			var ve *ColumnValueError
			if !errors.As(err, &ve) || ve.Column != tt.column || ve.Err.Row != tt.row || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %v, want column %s row %d: %q", err, tt.column, tt.row, tt.text)
			}
		})
	}
}

func TestPlanNestedMapping(t *testing.T) {
	server := writer.ServerInfo{Major: 18, Minor: 16, Timezone: "UTC"}
	extra := arrow.ListOf(arrow.StructOf(
		arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		arrow.Field{Name: "z", Type: arrow.PrimitiveTypes.Int64, Nullable: true}))
	src := arrow.NewSchema([]arrow.Field{{Name: "n", Type: extra}}, nil)
	_, err := New(nestedTable(t), server, src, false)
	if err == nil || !strings.Contains(err.Error(), "field z of source list of structs n is not in the table as column n.z (add it to the Nested column, or set source.ignore_extra_columns: true)") {
		t.Errorf("error %v, want a refusal of field z", err)
	}
	plan, err := New(nestedTable(t), server, src, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.Ignored, []string{"n.z"}) || len(plan.Inserts) != 1 || plan.Inserts[0].Column.Name != "n.a" {
		t.Errorf("ignored %v, inserts %v; want n.z ignored and n.a loaded", plan.Ignored, plan.Inserts)
	}
	twice := arrow.NewSchema([]arrow.Field{{Name: "n", Type: listOfStructsType}, {Name: "n.a", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)}}, nil)
	if _, err := New(nestedTable(t), server, twice, false); err == nil || !strings.Contains(err.Error(), "column n.a comes from two source columns") {
		t.Errorf("error %v, want a refusal of n.a filled twice", err)
	}
	wrong := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.StructOf(arrow.Field{Name: "b", Type: arrow.PrimitiveTypes.Int64})}}, nil)
	if _, err := New(nestedTable(t), server, wrong, false); err == nil || !strings.Contains(err.Error(), "column n.b from field b of source struct column n: cannot load Arrow type int64 into column type Array(String)") {
		t.Errorf("error %v, want a type refusal naming n.b", err)
	}

	// A key that reads a Tuple column is refused; the PartitionPlan of a
	// Nested load reads its source column once.
	table := nestedTable(t, "tu", "Tuple(UInt32, String)", "p", "UInt32")
	key, _ := transform.Parse("tu")
	table.Sorting = []*transform.Expr{key}
	src = arrow.NewSchema([]arrow.Field{{Name: "tu", Type: arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Uint32}, arrow.Field{Name: "y", Type: arrow.BinaryTypes.String})}}, nil)
	if _, err := New(table, server, src, false); err == nil || !strings.Contains(err.Error(), "key column tu is Tuple(UInt32, String): chload does not compute partition, sorting or sharding keys over Tuple columns yet") {
		t.Errorf("error %v, want a refusal of the Tuple key", err)
	}
	table.Sorting = nil
	part, _ := transform.Parse("p")
	table.Partition = []*transform.Expr{part}
	src = arrow.NewSchema([]arrow.Field{{Name: "p", Type: arrow.PrimitiveTypes.Uint32}, {Name: "n", Type: listOfStructsType}}, nil)
	plan, err = New(table, server, src, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.SourceColumns(); !slices.Equal(got, []string{"p", "n"}) {
		t.Errorf("SourceColumns() = %v", got)
	}
	if got := plan.PartitionPlan().SourceColumns(); !slices.Equal(got, []string{"p"}) {
		t.Errorf("PartitionPlan().SourceColumns() = %v, want [p]", got)
	}
}

// TestPlanNestedDictionaryField loads a list of structs whose field is a
// dictionary of strings, with a NULL struct in a list: the NULL reaches
// the element, and the dictionary's values the rest.
func TestPlanNestedDictionaryField(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dict := arrowtest.DictStrings(mem, []string{"x", "y"}, []*int32{arrowtest.I32(0), arrowtest.I32(1), nil, arrowtest.I32(1)})
	defer dict.Release()
	valid := memory.NewResizableBuffer(mem)
	valid.Resize(1)
	valid.Bytes()[0] = 0b1101 // struct 1 is NULL
	st, err := array.NewStructArrayWithNulls([]arrow.Array{dict}, []string{"c"}, valid, 1, 0)
	valid.Release()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	offsets := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, 2, 4}))
	listData := array.NewData(arrow.ListOf(st.DataType()), 2, []*memory.Buffer{nil, offsets}, []arrow.ArrayData{st.Data()}, 0, 0)
	list := array.MakeFromData(listData)
	listData.Release()
	defer list.Release()

	src := arrow.NewSchema([]arrow.Field{{Name: "n", Type: list.DataType()}}, nil)
	plan, err := New(nestedTable(t), writer.ServerInfo{Major: 18, Minor: 16, Timezone: "UTC"}, src, false)
	if err != nil {
		t.Fatal(err)
	}
	rec := array.NewRecord(src, []arrow.Array{list}, 2)
	defer rec.Release()
	out, err := plan.Convert(rec, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	want := fromJSON(t, mem, arrow.ListOf(arrow.BinaryTypes.String), `[["x", null], [null, "y"]]`)
	defer want.Release()
	if !array.Equal(out.Column(0), want) {
		t.Errorf("n.c = %v, want %v", out.Column(0), want)
	}
}

// TestPlanNestedTupleArray: 18.16 stores an Array(Tuple(UInt8, String))
// column at as at.1 and at.2; a list of structs fills them by position.
func TestPlanNestedTupleArray(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	table := &writer.Table{Database: "db", Name: "t"}
	for _, c := range [][2]string{{"at.1", "Array(UInt8)"}, {"at.2", "Array(String)"}} {
		ct, _ := chcol.ParseType(c[1])
		table.Columns = append(table.Columns, writer.Column{Name: c[0], TypeName: c[1], Type: ct})
	}
	elem := arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64}, arrow.Field{Name: "y", Type: arrow.BinaryTypes.String})
	src := arrow.NewSchema([]arrow.Field{{Name: "at", Type: arrow.ListOf(elem)}}, nil)
	plan, err := New(table, writer.ServerInfo{Major: 18, Minor: 16, Timezone: "UTC"}, src, false)
	if err != nil {
		t.Fatal(err)
	}
	in := fromJSON(t, mem, arrow.ListOf(elem), `[[{"x": 1, "y": "p"}, {"x": 2, "y": "q"}], []]`)
	rec := array.NewRecord(src, []arrow.Array{in}, 2)
	in.Release()
	defer rec.Release()
	out, err := plan.Convert(rec, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	for name, js := range map[string]string{"at.1": `[[1, 2], []]`, "at.2": `[["p", "q"], []]`} {
		i := out.Schema().FieldIndices(name)
		if len(i) != 1 {
			t.Fatalf("no column %s in %s", name, out.Schema())
		}
		want := fromJSON(t, mem, out.Column(i[0]).DataType(), js)
		if !array.Equal(out.Column(i[0]), want) {
			t.Errorf("%s = %v, want %v", name, out.Column(i[0]), want)
		}
		want.Release()
	}
}
