package chcol

import (
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// structOf is an Arrow struct type with nullable fields of the given names
// and types.
func structOf(namesAndTypes ...any) *arrow.StructType {
	var fields []arrow.Field
	for i := 0; i < len(namesAndTypes); i += 2 {
		fields = append(fields, arrow.Field{Name: namesAndTypes[i].(string), Type: namesAndTypes[i+1].(arrow.DataType), Nullable: true})
	}
	return arrow.StructOf(fields...)
}

var (
	tupStr  = arrow.BinaryTypes.String
	tupU8   = arrow.PrimitiveTypes.Uint8
	tupU32  = arrow.PrimitiveTypes.Uint32
	tupLStr = arrow.BinaryTypes.LargeString
)

var tupleCases = []convCase{
	{name: "struct to unnamed Tuple by position", target: "Tuple(UInt32, String)", src: js(structOf("x", i64, "y", tupLStr), `[{"x": 1, "y": "a"}, {"x": 4294967295, "y": ""}]`),
		want: js(structOf("1", tupU32, "2", tupStr), `[{"1": 1, "2": "a"}, {"1": 4294967295, "2": ""}]`)},
	{name: "struct to named Tuple by name", target: "Tuple(a UInt32, b String)", src: js(structOf("b", tupStr, "a", i64), `[{"b": "x", "a": 7}, {"b": "y", "a": 8}]`),
		want: js(structOf("a", tupU32, "b", tupStr), `[{"a": 7, "b": "x"}, {"a": 8, "b": "y"}]`)},
	{name: "unnamed struct to named Tuple by position", target: "Tuple(a UInt32, b String)", src: js(structOf("1", i64, "2", tupStr), `[{"1": 7, "2": "x"}]`),
		want: js(structOf("a", tupU32, "b", tupStr), `[{"a": 7, "b": "x"}]`)},
	{name: "struct of other names to named Tuple", target: "Tuple(a UInt32, b String)", src: js(structOf("p", i64, "q", tupStr), `[{"p": 7, "q": "x"}]`),
		buildErr: "the Tuple's elements are named (a, b) and the struct's fields do not all match them"},
	{name: "canonical struct as is", target: "Tuple(a UInt32, b String)", src: js(structOf("a", tupU32, "b", tupStr), `[{"a": 7, "b": "x"}]`), same: true},
	{name: "Nullable element keeps its NULLs", target: "Tuple(Nullable(UInt8), String)", src: js(structOf("a", i64, "b", tupStr), `[{"a": null, "b": "x"}, {"a": 3, "b": "y"}]`),
		want: js(structOf("1", tupU8, "2", tupStr), `[{"1": null, "2": "x"}, {"1": 3, "2": "y"}]`)},
	{name: "NULL struct", target: "Tuple(UInt32, String)", src: js(structOf("a", i64, "b", tupStr), `[{"a": 1, "b": "x"}, null]`), errRow: 1,
		errText: "NULL into non-Nullable column Tuple(UInt32, String): fill the value in the source (a struct whose fields may be NULL where the Tuple's elements are Nullable); ClickHouse Tuple columns cannot be Nullable"},
	{name: "NULL in non-Nullable element", target: "Tuple(a UInt32, b String)", src: js(structOf("a", i64, "b", tupStr), `[{"a": 1, "b": "x"}, {"a": 2, "b": null}]`), errRow: 1,
		errText: "NULL in element b into non-Nullable String: make the column Tuple(a UInt32, b Nullable(String)) or fill the value in the source"},
	{name: "element value out of range", target: "Tuple(UInt8, String)", src: js(structOf("a", i64, "b", tupStr), `[{"a": 1, "b": "x"}, {"a": 300, "b": "y"}]`), errRow: 1,
		errText: "value 300 in element 1 does not fit UInt8 (range 0..255): fix the data or widen the column"},
	{name: "Tuple of Array", target: "Tuple(Array(UInt8), String)", src: js(structOf("a", arrow.ListOf(i64), "b", tupStr), `[{"a": [1, 2], "b": "x"}, {"a": [], "b": "y"}]`),
		want: js(structOf("1", arrow.ListOf(tupU8), "2", tupStr), `[{"1": [1, 2], "2": "x"}, {"1": [], "2": "y"}]`)},
	{name: "Array of Tuple", target: "Array(Tuple(UInt8, String))", src: js(arrow.ListOf(structOf("a", i64, "b", tupStr)), `[[{"a": 1, "b": "x"}], [], [{"a": 2, "b": "y"}, {"a": 3, "b": "z"}]]`),
		want: js(arrow.ListOf(structOf("1", tupU8, "2", tupStr)), `[[{"1": 1, "2": "x"}], [], [{"1": 2, "2": "y"}, {"1": 3, "2": "z"}]]`)},
	{name: "NULL struct in Array of Tuple", target: "Array(Tuple(UInt8, String))", src: js(arrow.ListOf(structOf("a", i64, "b", tupStr)), `[[{"a": 1, "b": "x"}], [{"a": 2, "b": "y"}, null]]`), errRow: 1,
		errText: "NULL at array position 2 into non-Nullable Tuple(UInt8, String): fill the value in the source"},
	{name: "nested Tuple", target: "Tuple(a Tuple(x UInt8, y String), b Int64)", src: js(structOf("a", structOf("x", i64, "y", tupStr), "b", i64), `[{"a": {"x": 1, "y": "p"}, "b": -1}]`),
		want: js(structOf("a", structOf("x", tupU8, "y", tupStr), "b", i64), `[{"a": {"x": 1, "y": "p"}, "b": -1}]`)},
	{name: "nested Tuple error", target: "Tuple(a Tuple(x UInt8, y String), b Int64)", src: js(structOf("a", structOf("x", i64, "y", tupStr), "b", i64), `[{"a": {"x": 1000, "y": "p"}, "b": -1}]`),
		errText: "value 1000 in element a in element x does not fit UInt8", partial: true},
	{name: "too few fields", target: "Tuple(UInt8, String, String)", src: js(structOf("a", i64, "b", tupStr), `[]`),
		buildErr: "cannot load struct<a, b> into column type Tuple(UInt8, String, String): fields are matched by position and the struct has 2 fields where the Tuple has 3 elements"},
	{name: "extra named field", target: "Tuple(a UInt8, b String)", src: js(structOf("a", i64, "b", tupStr, "c", tupStr), `[]`),
		buildErr: "struct fields c are not elements of the Tuple"},
	{name: "names in other places", target: "Tuple(a UInt8, b String)", src: js(structOf("b", i64, "c", tupStr), `[]`),
		buildErr: "field b is at position 1 of the struct but element b is at position 2 of the Tuple"},
	{name: "field type mismatch", target: "Tuple(a UInt8, b String)", src: js(structOf("a", i64, "b", i64), `[]`),
		buildErr: "load struct field b into element b of Tuple(a UInt8, b String): cannot load Arrow type int64 into column type String"},
	{name: "not a struct", target: "Tuple(UInt8)", src: js(i64, `[1]`), buildErr: "cannot load Arrow type int64 into column type Tuple(UInt8)"},
}

func TestConvertTuple(t *testing.T) {
	for _, tt := range tupleCases {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			runConvCase(t, mem, tt)
		})
	}
}

// TestConvertTupleSliced converts a slice of a struct array: the fields
// must be read at the struct's offset and a refused row counted from the
// slice's start.
func TestConvertTupleSliced(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	typ, _ := ParseType("Tuple(UInt8, Nullable(String))")
	full := js(structOf("a", i64, "b", tupStr), `[{"a": 1000, "b": "p"}, {"a": 1, "b": null}, {"a": 2, "b": "q"}, {"a": 1000, "b": "r"}]`)(mem)
	defer full.Release()
	c, err := NewConverter(typ, "UTC", full.DataType())
	if err != nil {
		t.Fatal(err)
	}
	mid := array.NewSlice(full, 1, 3)
	defer mid.Release()
	got, err := c.Convert(mid, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	want := js(structOf("1", tupU8, "2", tupStr), `[{"1": 1, "2": null}, {"1": 2, "2": "q"}]`)(mem)
	defer want.Release()
	if !array.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	tail := array.NewSlice(full, 2, 4)
	defer tail.Release()
	if _, err := c.Convert(tail, mem); err == nil {
		t.Fatal("value 1000 into UInt8 converted")
	} else if ve, ok := err.(*ValueError); !ok || ve.Row != 1 {
		t.Errorf("error %v, want a *ValueError at row 1 of the slice", err)
	}
}

func TestParseTuple(t *testing.T) {
	u32t, strt := &Type{Base: "UInt32"}, &Type{Base: "String"}
	tests := []struct {
		in, string string
		want       Type
	}{
		{in: "Tuple(UInt32, String)", want: Type{Base: "Tuple", Elems: []*Type{u32t, strt}}},
		{in: "Tuple(a UInt32, b String)", want: Type{Base: "Tuple", Elems: []*Type{u32t, strt}, Names: []string{"a", "b"}}},
		{in: "Tuple(String String, `x y` UInt32)", want: Type{Base: "Tuple", Elems: []*Type{strt, u32t}, Names: []string{"String", "x y"}}},
		{in: "Tuple(`a` UInt32)", string: "Tuple(a UInt32)", want: Type{Base: "Tuple", Elems: []*Type{u32t}, Names: []string{"a"}}},
		{in: "Tuple(Nullable(String), Array(UInt32))", want: Type{Base: "Tuple", Elems: []*Type{{Base: "String", Nullable: true}, {Base: "Array", Elem: u32t}}}},
		{in: "Array(Tuple(DateTime, Tuple(UInt32)))", want: Type{Base: "Array", Elem: &Type{Base: "Tuple", Elems: []*Type{{Base: "DateTime"}, {Base: "Tuple", Elems: []*Type{u32t}}}}}},
		{in: "Tuple(LowCardinality(String))", want: Type{Base: "Tuple", Elems: []*Type{{Base: "String", LowCardinality: true}}}},
	}
	for _, tt := range tests {
		got, err := ParseType(tt.in)
		if err != nil {
			t.Errorf("ParseType(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("ParseType(%q) = %+v, want %+v", tt.in, *got, tt.want)
		}
		want := tt.string
		if want == "" {
			want = tt.in
		}
		if got.String() != want {
			t.Errorf("ParseType(%q).String() = %q, want %q", tt.in, got.String(), want)
		}
	}
	for in, want := range map[string]string{
		"Nullable(Tuple(UInt8))":       "Tuple(UInt8) cannot be inside Nullable",
		"LowCardinality(Tuple(UInt8))": "Tuple(UInt8) cannot be inside LowCardinality",
		"Tuple(a UInt8, String)":       "all named or all unnamed",
		"Tuple(UInt8, a String)":       "all named or all unnamed",
		"Tuple(a UInt8, a String)":     `tuple element name "a" declared twice`,
		"Tuple()":                      "expected a type name",
		"Tuple(UInt8":                  "expected ')'",
		"Tuple(`a UInt8)":              "unterminated name",
	} {
		if _, err := ParseType(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseType(%q) error %v, want %q", in, err, want)
		}
	}
}

func TestTupleArrow(t *testing.T) {
	for in, want := range map[string]arrow.DataType{
		"Tuple(UInt32, Nullable(String))":        structOf("1", tupU32, "2", tupStr),
		"Tuple(a DateTime, b Array(UInt8))":      structOf("a", &arrow.TimestampType{Unit: arrow.Second, TimeZone: "Europe/Berlin"}, "b", arrow.ListOf(tupU8)),
		"Array(Tuple(x LowCardinality(String)))": arrow.ListOf(structOf("x", tupStr)),
	} {
		typ, err := ParseType(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := typ.Arrow("Europe/Berlin")
		if err != nil {
			t.Fatal(err)
		}
		if !arrow.TypeEqual(got, want) {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

// TestTupleNullAsDefault: under null_as_default a NULL struct becomes the
// Tuple's default, each element's (NULL for a Nullable one), and is
// counted; a NULL of a non-Nullable element in a struct that is not NULL is
// still refused, as are NULL elements inside an Array.
func TestTupleNullAsDefault(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	typ, err := ParseType("Tuple(UInt32, Nullable(String), Array(UInt8), Tuple(x String, y Date))")
	if err != nil {
		t.Fatal(err)
	}
	inner := structOf("x", tupStr, "y", arrow.FixedWidthTypes.Date32)
	srcType := structOf("a", i64, "b", tupStr, "c", arrow.ListOf(i64), "d", inner)
	strict, err := NewConverter(typ, "UTC", srcType)
	if err != nil {
		t.Fatal(err)
	}
	c, err := strict.NullAsDefault("UTC")
	if err != nil {
		t.Fatal(err)
	}
	// Row 1 is a NULL struct whose fields hold NULLs, as Parquet readers
	// give them; row 3 a NULL struct whose fields hold values.
	src := js(srcType, `[{"a": 1, "b": "p", "c": [1], "d": {"x": "q", "y": "2024-01-01"}}, null,
		{"a": 2, "b": null, "c": [], "d": {"x": "", "y": "1970-01-02"}}, null]`)(mem)
	defer src.Release()
	got, err := c.Convert(src, mem)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	defer got.Release()
	want := js(structOf("1", tupU32, "2", tupStr, "3", arrow.ListOf(tupU8), "4", inner),
		`[{"1": 1, "2": "p", "3": [1], "4": {"x": "q", "y": "2024-01-01"}}, {"1": 0, "2": null, "3": [], "4": {"x": "", "y": "1970-01-01"}},
		{"1": 2, "2": null, "3": [], "4": {"x": "", "y": "1970-01-02"}}, {"1": 0, "2": null, "3": [], "4": {"x": "", "y": "1970-01-01"}}]`)(mem)
	defer want.Release()
	if !array.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if got.NullN() != 0 {
		t.Errorf("%d NULL rows left in a Tuple column", got.NullN())
	}
	if n := c.Defaulted(); n != 2 {
		t.Errorf("Defaulted() = %d, want 2", n)
	}

	bad := js(srcType, `[null, {"a": null, "b": "p", "c": [1], "d": {"x": "q", "y": "2024-01-01"}}]`)(mem)
	defer bad.Release()
	if _, err := c.Convert(bad, mem); err == nil || !strings.Contains(err.Error(), "NULL in element 1 into non-Nullable UInt32") {
		t.Errorf("error %v, want the NULL of element 1 in row 1 refused", err)
	} else if ve, ok := err.(*ValueError); !ok || ve.Row != 1 {
		t.Errorf("error %v, want a *ValueError at row 1", err)
	}
	arrType := arrow.ListOf(structOf("a", i64))
	arrTyp, _ := ParseType("Array(Tuple(UInt8))")
	strictArr, err := NewConverter(arrTyp, "UTC", arrType)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := strictArr.NullAsDefault("UTC")
	if err != nil {
		t.Fatal(err)
	}
	inList := js(arrType, `[[{"a": 1}, null]]`)(mem)
	defer inList.Release()
	if _, err := ca.Convert(inList, mem); err == nil || !strings.Contains(err.Error(), "NULL at array position 2 into non-Nullable Tuple(UInt8)") {
		t.Errorf("error %v, want a NULL struct inside an Array refused", err)
	}
}
