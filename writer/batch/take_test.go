package batch

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/chload/chload/internal/arrowtest"
)

func TestTakeRecordMatchesSource(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "u16", Type: arrow.PrimitiveTypes.Uint16},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "f", Type: &arrow.FixedSizeBinaryType{ByteWidth: 3}},
		{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
	}, nil)
	bld := array.NewRecordBuilder(mem, schema)
	defer bld.Release()
	for i := 0; i < 50; i++ {
		if i%7 == 3 {
			bld.Field(0).AppendNull()
			bld.Field(1).AppendNull()
		} else {
			bld.Field(0).(*array.StringBuilder).Append(string(rune('a'+i%26)) + "xyz"[:i%4])
			bld.Field(1).(*array.Int64Builder).Append(int64(i * 1000))
		}
		bld.Field(2).(*array.Uint16Builder).Append(uint16(i))
		bld.Field(3).(*array.BooleanBuilder).Append(i%3 == 0)
		bld.Field(4).(*array.FixedSizeBinaryBuilder).Append([]byte{byte(i), 1, 2})
		lb := bld.Field(5).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{int32(i), int32(-i)}, nil)
	}
	full := bld.NewRecord()
	defer full.Release()
	rec := full.NewSlice(5, 45) // offsets must be honoured
	defer rec.Release()
	idx := []int32{39, 0, 3, 3, 17, 10, 2}
	out, err := takeRecord(context.Background(), rec, idx, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if out.NumRows() != int64(len(idx)) {
		t.Fatalf("rows %d", out.NumRows())
	}
	for c := 0; c < int(rec.NumCols()); c++ {
		for i, j := range idx {
			want, got := rec.Column(c).ValueStr(int(j)), out.Column(c).ValueStr(i)
			if want != got || rec.Column(c).IsNull(int(j)) != out.Column(c).IsNull(i) {
				t.Errorf("column %s row %d: got %q want %q", rec.ColumnName(c), i, got, want)
			}
		}
	}
}

// TestTakeDictionary takes rows of a sliced dictionary array with NULLs:
// the indices are gathered, the dictionary shared, the values kept.
func TestTakeDictionary(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	full := arrowtest.DictStrings(mem, []string{"red", "green", "blue"}, []*int32{arrowtest.I32(0), arrowtest.I32(2), nil, arrowtest.I32(1), arrowtest.I32(2), arrowtest.I32(0)})
	defer full.Release()
	d := array.NewSlice(full, 1, 6) // blue NULL green blue red
	defer d.Release()
	got, err := takeArray(context.Background(), d, []int32{4, 1, 0, 2}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	gd, ok := got.(*array.Dictionary)
	if !ok {
		t.Fatalf("took a %T, want a dictionary", got)
	}
	if gd.Dictionary() != full.Dictionary() && !array.Equal(gd.Dictionary(), full.Dictionary()) {
		t.Errorf("dictionary changed")
	}
	if s := got.String(); s != `{ dictionary: ["red" "green" "blue"]
  indices: [0 (null) 2 1] }` {
		t.Errorf("took %s", s)
	}
}

// TestSplitRowsSharesDictionaries splits a record with a dictionary column
// between two shards: each piece keeps a dictionary column and counts its
// share of the dictionary, the shares adding up to the dictionary's size.
func TestSplitRowsSharesDictionaries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d := arrowtest.DictStrings(mem, []string{"red", "green", "blue", "a much longer value"}, []*int32{arrowtest.I32(0), arrowtest.I32(1), arrowtest.I32(2), arrowtest.I32(3)})
	defer d.Release()
	rec := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "s", Type: d.DataType()}}, nil), []arrow.Array{d}, 4)
	defer rec.Release()
	ps, err := SplitRows(context.Background(), Rows{Record: rec, Shards: []uint16{0, 1, 1, 1}, Order: []uint32{3, 2, 1, 0}}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Release()
	if len(ps.List) != 2 {
		t.Fatalf("%d pieces, want 2", len(ps.List))
	}
	total := dictionaryBytes(rec)
	var sum int64
	for _, p := range ps.List {
		if _, ok := p.Record.Column(0).(*array.Dictionary); !ok {
			t.Errorf("piece column is %s, want the dictionary kept", p.Record.Column(0).DataType())
		}
		sum += p.SharedBytes
	}
	if total == 0 || sum < total-1 || sum > total {
		t.Errorf("pieces count %d bytes of dictionary, want about %d", sum, total)
	}
}
