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

// TestPlanPassesDictionaries checks which String columns a plan keeps as
// dictionaries (those no key or computed column reads, except as a bare
// sorting column), that Convert passes them through, and that it converts
// the rest: a dictionary with NULLs for a non-Nullable column still fails on
// the NULL.
func TestPlanPassesDictionaries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	col := func(name, typ string) writer.Column {
		ct, err := chcol.ParseType(typ)
		if err != nil {
			t.Fatal(err)
		}
		return writer.Column{Name: name, TypeName: typ, Type: ct}
	}
	key, err := transform.Parse("k")
	if err != nil {
		t.Fatal(err)
	}
	part, err := transform.Parse("p")
	if err != nil {
		t.Fatal(err)
	}
	table := &writer.Table{Database: "db", Name: "t", Columns: []writer.Column{
		col("k", "String"), col("s", "String"), col("n", "Nullable(String)"),
		col("lc", "LowCardinality(String)"), col("strict", "String"), col("p", "String"),
	}, Sorting: []*transform.Expr{key}, SortingKey: "k", Partition: []*transform.Expr{part}, PartitionKey: "p"}
	str := arrow.BinaryTypes.String
	src := arrow.NewSchema([]arrow.Field{{Name: "k", Type: str}, {Name: "s", Type: str}, {Name: "n", Type: str}, {Name: "lc", Type: str}, {Name: "strict", Type: str}, {Name: "p", Type: str}}, nil)
	plan, err := New(table, writer.ServerInfo{Major: 18, Minor: 16}, src, false)
	if err != nil {
		t.Fatal(err)
	}
	// k is read by the sorting key as a bare column, p by the partition key.
	if got := plan.DictionaryColumns(); !slices.Equal(got, []string{"k", "s", "n", "lc", "strict"}) {
		t.Errorf("DictionaryColumns() = %v, want [k s n lc strict]", got)
	}

	words := []string{"red", "green"}
	mk := func(idx ...*int32) arrow.Array { return arrowtest.DictStrings(mem, words, idx) }
	plain := func(vals ...string) arrow.Array {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.AppendValues(vals, nil)
		return b.NewArray()
	}
	// As the source delivers them: dictionaries only for the columns the
	// plan keeps as such.
	cols := []arrow.Array{
		mk(arrowtest.I32(0), arrowtest.I32(1), arrowtest.I32(0)), // k: the sorting key
		mk(arrowtest.I32(1), arrowtest.I32(1), arrowtest.I32(0)), // s
		mk(nil, arrowtest.I32(0), arrowtest.I32(1)),              // n: Nullable, with its NULL
		plain("red", "red", "green"),                             // lc
		mk(arrowtest.I32(1), arrowtest.I32(0), arrowtest.I32(0)), // strict
		plain("a", "b", "a"),                                     // p: the partition key
	}
	record := func(cols []arrow.Array) arrow.Record {
		fields := make([]arrow.Field, len(cols))
		for i, c := range cols {
			fields[i] = arrow.Field{Name: src.Field(i).Name, Type: c.DataType(), Nullable: true}
		}
		return array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(cols[0].Len()))
	}
	rec := record(cols)
	defer rec.Release()
	for i, c := range cols {
		if i != 4 {
			c.Release()
		}
	}
	out, err := plan.Convert(rec, mem)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	defer out.Release()
	for i, wantDict := range []bool{true, true, true, false, true, false} {
		_, isDict := out.Column(i).(*array.Dictionary)
		if isDict != wantDict {
			t.Errorf("column %s: dictionary %v, want %v (%s)", out.ColumnName(i), isDict, wantDict, out.Column(i).DataType())
		}
		if !arrow.TypeEqual(out.Schema().Field(i).Type, out.Column(i).DataType()) {
			t.Errorf("column %s: schema says %s, array is %s", out.ColumnName(i), out.Schema().Field(i).Type, out.Column(i).DataType())
		}
	}
	if out.Column(1) != rec.Column(1) {
		t.Errorf("column s was copied, want the source array passed through")
	}

	// A NULL row for the non-Nullable column strict is decoded and refused
	// with the row.
	cols[4].Release()
	cols[4] = mk(arrowtest.I32(0), nil, arrowtest.I32(1))
	defer cols[4].Release()
	rec2 := record(cols)
	defer rec2.Release()
	_, err = plan.Convert(rec2, mem)
	var ve *ColumnValueError
	if !errors.As(err, &ve) || ve.Column != "strict" || ve.Err.Row != 1 || !strings.Contains(err.Error(), "NULL") {
		t.Errorf("error %v, want a NULL refusal for column strict at row 1", err)
	}
}
