package writer

import (
	"context"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
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
