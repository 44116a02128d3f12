package chcol

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestNullAsDefault: under null_as_default a NULL bound for a non-Nullable
// column becomes the type's default, every other value is kept, and the
// replaced values are counted; the strict converter still refuses.
func TestNullAsDefault(t *testing.T) {
	dictOf := func(mem memory.Allocator) arrow.Array {
		dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
		b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
		defer b.Release()
		b.AppendString("x")
		b.AppendNull()
		b.AppendString("y")
		b.AppendNull()
		return b.NewArray()
	}
	// A NULL list whose slot still spans elements, as some writers leave it.
	spanningNullList := func(mem memory.Allocator) arrow.Array {
		b := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int32)
		defer b.Release()
		vb := b.ValueBuilder().(*array.Int32Builder)
		b.Append(true)
		vb.AppendValues([]int32{1, 2}, nil)
		b.Append(true)
		vb.AppendValues([]int32{3}, nil)
		b.Append(true)
		vb.AppendValues([]int32{4, 5}, nil)
		l := b.NewListArray()
		defer l.Release()
		d := l.Data()
		// Mark row 1 NULL, keeping its offsets (1 element).
		valid := memory.NewResizableBuffer(mem)
		valid.Resize(1)
		valid.Bytes()[0] = 0b101
		defer valid.Release()
		nd := array.NewData(d.DataType(), d.Len(), []*memory.Buffer{valid, d.Buffers()[1]}, d.Children(), 1, 0)
		defer nd.Release()
		return array.MakeFromData(nd)
	}
	for _, tc := range []struct {
		name, target string
		src          func(memory.Allocator) arrow.Array
		want         []string
		nulls        int64
	}{
		{"int", "Int32", js(arrow.PrimitiveTypes.Int32, `[1, null, -3, null]`), []string{"1", "0", "-3", "0"}, 2},
		{"uint64 from int64", "UInt64", js(arrow.PrimitiveTypes.Int64, `[null, 7]`), []string{"0", "7"}, 1},
		{"float", "Float64", js(arrow.PrimitiveTypes.Float64, `[null, 1.5]`), []string{"0", "1.5"}, 1},
		{"string", "String", js(arrow.BinaryTypes.String, `["a", null, "ccc", null, ""]`), []string{`"a"`, `""`, `"ccc"`, `""`, `""`}, 2},
		{"fixed string", "FixedString(2)", js(arrow.BinaryTypes.String, `["ab", null]`), []string{`"ab"`, `"\x00\x00"`}, 1},
		{"date", "Date", js(arrow.FixedWidthTypes.Date32, `["2024-01-02", null]`), []string{"2024-01-02", "1970-01-01"}, 1},
		{"datetime", "DateTime('UTC')", js(&arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}, `[null, "2024-01-02T03:04:05Z"]`), []string{"1970-01-01 00:00:00 UTC", "2024-01-02 03:04:05 UTC"}, 1},
		{"enum smallest code", "Enum8('b' = 2, 'a' = -1)", js(arrow.BinaryTypes.String, `["b", null]`), []string{"2", "-1"}, 1},
		{"decimal", "Decimal(9, 2)", js(&arrow.Decimal128Type{Precision: 9, Scale: 2}, `["1.25", null]`), []string{"1.25", "0.00"}, 1},
		{"dictionary", "String", dictOf, []string{`"x"`, `""`, `"y"`, `""`}, 2},
		{"array", "Array(Int32)", js(arrow.ListOf(arrow.PrimitiveTypes.Int32), `[[1, 2], null, [3]]`), []string{"[1,2]", "[]", "[3]"}, 1},
		{"array whose NULL spans elements", "Array(Int32)", spanningNullList, []string{"[1,2]", "[]", "[4,5]"}, 1},
		{"nullable column keeps NULL", "Nullable(Int32)", js(arrow.PrimitiveTypes.Int32, `[null, 2]`), []string{"NULL", "2"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			typ, err := ParseType(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			src := tc.src(mem)
			defer src.Release()
			strict, err := NewConverter(typ, "UTC", src.DataType())
			if err != nil {
				t.Fatal(err)
			}
			if tc.nulls > 0 {
				if out, err := strict.Convert(src, mem); err == nil {
					out.Release()
					t.Fatal("the strict converter took a NULL for a non-Nullable column")
				}
			}
			c, err := strict.NullAsDefault("UTC")
			if err != nil {
				t.Fatal(err)
			}
			for round := int64(1); round <= 2; round++ {
				out, err := c.Convert(src, mem)
				if err != nil {
					t.Fatalf("convert: %v", err)
				}
				if !arrow.TypeEqual(out.DataType(), c.Type()) {
					t.Errorf("type %s, want %s", out.DataType(), c.Type())
				}
				if !typ.Nullable && out.NullN() != 0 {
					t.Errorf("%d NULLs left", out.NullN())
				}
				got := make([]string, out.Len())
				for i := range got {
					got[i] = formatValue(out, i)
				}
				out.Release()
				if strings.Join(got, "|") != strings.Join(tc.want, "|") {
					t.Fatalf("values %q, want %q", got, tc.want)
				}
				if c.Defaulted() != tc.nulls*round {
					t.Fatalf("defaulted %d after %d rounds, want %d", c.Defaulted(), round, tc.nulls*round)
				}
			}
		})
	}
}

// TestNullAsDefaultElementRefusal: a NULL element of an Array(T) whose T is
// not Nullable is still refused under null_as_default, with the strict
// converter's fix (Array(Nullable(T)), not a Nullable(Array) ClickHouse
// lacks) and its row.
func TestNullAsDefaultElementRefusal(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	typ, err := ParseType("Array(Int64)")
	if err != nil {
		t.Fatal(err)
	}
	src := js(arrow.ListOf(arrow.PrimitiveTypes.Int64), `[[1], null, [3, null]]`)(mem)
	defer src.Release()
	strict, err := NewConverter(typ, "UTC", src.DataType())
	if err != nil {
		t.Fatal(err)
	}
	c, err := strict.NullAsDefault("UTC")
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Convert(src, mem)
	if err == nil {
		out.Release()
		t.Fatal("a NULL element into Array(Int64) was accepted")
	}
	var ve *ValueError
	if !errors.As(err, &ve) || ve.Row != 2 || !strings.Contains(ve.Fix, "Array(Nullable(Int64))") || strings.Contains(ve.Fix, "Nullable(Array") {
		t.Fatalf("refusal %v (row %d), want row 2 and the fix Array(Nullable(Int64))", err, ve.Row)
	}
}
