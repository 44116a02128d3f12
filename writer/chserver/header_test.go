package chserver

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/chcol"
	"github.com/chload/chload/writer/chnative"
	"github.com/chload/chload/writer/plan"
)

// TestHeaderTypes checks the server's INSERT header against the plan: a
// column that lost or gained LowCardinality is encoded as the server asks,
// any other difference is refused as a changed table.
func TestHeaderTypes(t *testing.T) {
	col := func(name, typ string) writer.Column {
		ct, err := chcol.ParseType(typ)
		if err != nil {
			t.Fatal(err)
		}
		return writer.Column{Name: name, TypeName: typ, Type: ct}
	}
	table := &writer.Table{Database: "db", Name: "t", Columns: []writer.Column{col("s", "LowCardinality(String)"), col("n", "UInt64")}}
	src := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}, {Name: "n", Type: arrow.PrimitiveTypes.Uint64}}, nil)
	pl, err := plan.New(table, writer.ServerInfo{Major: 18, Minor: 16}, src, false)
	if err != nil {
		t.Fatal(err)
	}
	w := NewInserter(nil, writer.ConnParams{Addrs: []string{"127.0.0.1:1"}}, pl.Insert(), memory.DefaultAllocator)
	defer w.Close()

	types, err := w.headerTypes([]chnative.Column{{Name: "s", Type: "LowCardinality(String)"}, {Name: "n", Type: "UInt64"}})
	if err != nil || types[0].String() != "LowCardinality(String)" {
		t.Errorf("same header: types %v, error %v", types, err)
	}
	types, err = w.headerTypes([]chnative.Column{{Name: "s", Type: "String"}, {Name: "n", Type: "UInt64"}})
	if err != nil || types[0].String() != "String" {
		t.Errorf("header without LowCardinality: types %v, error %v; want String", types, err)
	}
	for _, tt := range []struct {
		header []chnative.Column
		want   string
	}{
		{[]chnative.Column{{Name: "s", Type: "String"}, {Name: "n", Type: "Int64"}}, "column n is Int64 on the server, chload planned UInt64"},
		{[]chnative.Column{{Name: "s", Type: "String"}, {Name: "m", Type: "UInt64"}}, "the server expects column m where chload planned n"},
		{[]chnative.Column{{Name: "s", Type: "String"}}, "the server expects 1 columns, chload planned 2"},
	} {
		_, err := w.headerTypes(tt.header)
		var te *writer.TargetError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "run the job again") {
			t.Errorf("header %v: error %v, want a TargetError saying %q", tt.header, err, tt.want)
		}
	}
}
