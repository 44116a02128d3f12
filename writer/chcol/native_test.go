package chcol

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// clickhouseGoBytes is what clickhouse-go sends for the rows perm of chunks
// as a column of type typ: the reference AppendNative must match byte for
// byte, since clickhouse-go's encodings are the ones known to work with
// every server version.
func clickhouseGoBytes(t *testing.T, typ *Type, chunks []arrow.Array, perm []uint32) []byte {
	t.Helper()
	col, err := column.Type(typ.String()).Column("c", &column.ServerContext{Timezone: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if err := Append(batchColumn{col}, typ, chunks, perm); err != nil {
		t.Fatalf("Append: %v", err)
	}
	var buf chproto.Buffer
	if s, ok := col.(column.CustomSerialization); ok {
		if err := s.WriteStatePrefix(&buf); err != nil {
			t.Fatal(err)
		}
	}
	col.Encode(&buf)
	return buf.Buf
}

// nativeCases add to appendCases what the Native encoder treats specially:
// long strings (multi-byte lengths), one chunk in order (the copy path),
// NULLs inside arrays.
func nativeCases() []appendCase {
	long := strings.Repeat("x", 200)
	huge := strings.Repeat("y", 20000)
	return append(appendCases(),
		appendCase{typ: "String", chunks: []func(memory.Allocator) arrow.Array{bin(arrow.BinaryTypes.String, str(long), str(""), str(huge)), bin(arrow.BinaryTypes.String, str("é"))},
			perm: []uint32{3, 2, 0, 1}},
		appendCase{typ: "Int64", chunks: []func(memory.Allocator) arrow.Array{js(i64, `[1, -2, 3]`)}},
		appendCase{typ: "Int64", chunks: []func(memory.Allocator) arrow.Array{js(i64, `[1, -2, 3]`)}, perm: []uint32{1, 2}},
		appendCase{typ: "Nullable(UInt8)", chunks: []func(memory.Allocator) arrow.Array{js(arrow.PrimitiveTypes.Uint8, `[null, 255]`)}},
		appendCase{typ: "Nullable(Int16)", chunks: []func(memory.Allocator) arrow.Array{js(arrow.PrimitiveTypes.Int16, `[null, -7]`), js(arrow.PrimitiveTypes.Int16, `[9]`)}, perm: []uint32{2, 0, 1}},
		appendCase{typ: "Nullable(Float64)", chunks: []func(memory.Allocator) arrow.Array{js(arrow.PrimitiveTypes.Float64, `[1.25, null]`)}},
		appendCase{typ: "Nullable(DateTime)", chunks: []func(memory.Allocator) arrow.Array{js(tsS, `[1700000000, null]`)}},
		appendCase{typ: "Nullable(FixedString(3))", chunks: []func(memory.Allocator) arrow.Array{bin(&arrow.FixedSizeBinaryType{ByteWidth: 3}, nil, str("abc"))}},
		appendCase{typ: "Nullable(UUID)", chunks: []func(memory.Allocator) arrow.Array{bin(fsb16, nil, str("0123456789abcdef"))}},
		appendCase{typ: "Decimal(18, 4)", chunks: []func(memory.Allocator) arrow.Array{d128(18, 4, "-12345678901234.5678", "0.0001")}},
		appendCase{typ: "Array(Nullable(Int32))", chunks: []func(memory.Allocator) arrow.Array{js(arrow.ListOf(i32), `[[1, null], [], [3]]`), js(arrow.ListOf(i32), `[[null]]`)},
			perm: []uint32{3, 2, 0, 1}},
		appendCase{typ: "Array(String)", chunks: []func(memory.Allocator) arrow.Array{js(arrow.ListOf(arrow.BinaryTypes.String), `[["a", "bb"], []]`)}},
		appendCase{typ: "LowCardinality(String)", chunks: []func(memory.Allocator) arrow.Array{bin(arrow.BinaryTypes.String, str("b"), str(""), str("a"), str("b")), bin(arrow.BinaryTypes.String, str("a"), str(long))},
			perm: []uint32{5, 0, 1, 4, 2, 3}},
		appendCase{typ: "LowCardinality(Nullable(String))", chunks: []func(memory.Allocator) arrow.Array{bin(arrow.BinaryTypes.String, str("x"), nil, str(""), str("x")), bin(arrow.BinaryTypes.String, nil, str("y"))},
			perm: []uint32{4, 3, 2, 1, 0, 5}},
		appendCase{typ: "LowCardinality(FixedString(2))", chunks: []func(memory.Allocator) arrow.Array{bin(&arrow.FixedSizeBinaryType{ByteWidth: 2}, str("ab"), str("cd"), str("ab"))}},
		appendCase{typ: "LowCardinality(UInt64)", chunks: []func(memory.Allocator) arrow.Array{uint64s(7, 7, 18446744073709551615, 0)}},
		appendCase{typ: "LowCardinality(Nullable(Int32))", chunks: []func(memory.Allocator) arrow.Array{js(i32, `[5, null, 5, -1]`)}},
		appendCase{typ: "LowCardinality(Date)", chunks: []func(memory.Allocator) arrow.Array{js(arrow.FixedWidthTypes.Date32, `["2024-01-01", "1970-01-01", "2024-01-01"]`)}},
		appendCase{typ: "LowCardinality(DateTime)", chunks: []func(memory.Allocator) arrow.Array{js(tsS, `[1700000000, 0, 1700000000]`)}},
		appendCase{typ: "LowCardinality(String)", chunks: []func(memory.Allocator) arrow.Array{manyStrings(300)}},
		appendCase{typ: "Tuple(Nullable(UInt32), String)", chunks: []func(memory.Allocator) arrow.Array{js(structOf("1", tupU32, "2", tupStr), `[{"1": null, "2": "a"}, {"1": 2, "2": ""}]`), js(structOf("1", tupU32, "2", tupStr), `[{"1": 3, "2": "`+long+`"}]`)},
			perm: []uint32{1, 2, 0}},
		appendCase{typ: "Tuple(a Array(Nullable(Int32)), b Tuple(UUID, Date))", chunks: []func(memory.Allocator) arrow.Array{js(structOf("a", arrow.ListOf(i32), "b", structOf("1", fsb16, "2", arrow.FixedWidthTypes.Date32)),
			`[{"a": [1, null], "b": {"1": "MDEyMzQ1Njc4OWFiY2RlZg==", "2": "2024-01-01"}}, {"a": [], "b": {"1": "AAAAAAAAAAAAAAAAAAAAAQ==", "2": "1970-01-02"}}]`)}},
		appendCase{typ: "Tuple(UInt8, String)", chunks: []func(memory.Allocator) arrow.Array{func(mem memory.Allocator) arrow.Array {
			// A slice of a struct: the fields are read at its offset.
			full := js(structOf("1", tupU8, "2", tupStr), `[{"1": 9, "2": "skip"}, {"1": 1, "2": "a"}, {"1": 2, "2": "b"}]`)(mem)
			defer full.Release()
			return array.NewSlice(full, 1, 3)
		}}, perm: []uint32{1, 0}},
	)
}

func TestAppendNativeMatchesClickhouseGo(t *testing.T) {
	for _, tt := range nativeCases() {
		t.Run(tt.typ, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			typ, err := ParseType(tt.typ)
			if err != nil {
				t.Fatal(err)
			}
			if !NativeSupported(typ) {
				t.Fatalf("NativeSupported(%s) is false", typ)
			}
			var chunks []arrow.Array
			var lens []int
			for _, c := range tt.chunks {
				a := c(mem)
				defer a.Release()
				chunks = append(chunks, a)
				lens = append(lens, a.Len())
			}
			want := clickhouseGoBytes(t, typ, chunks, tt.perm)
			refs, err := LocateRows(lens, tt.perm)
			if err != nil {
				t.Fatal(err)
			}
			prefix := []byte("prefix")
			got, err := AppendNative(append([]byte(nil), prefix...), typ, chunks, refs)
			if err != nil {
				t.Fatalf("AppendNative: %v", err)
			}
			if !bytes.HasPrefix(got, prefix) {
				t.Fatalf("AppendNative overwrote what dst held")
			}
			got = got[len(prefix):]
			// clickhouse-go keys a Nullable LowCardinality dictionary by
			// pointer, so it repeats equal numbers: there the bytes may
			// differ, and the values decoded must not.
			if typ.LowCardinality && typ.Nullable && typ.Base != "String" {
				if g, w := decodeNative(t, typ, got, refs.Len()), decodeNative(t, typ, want, refs.Len()); !slices.Equal(g, w) {
					t.Errorf("values decoded from the Native bytes differ\ngot  %v\nwant %v", g, w)
				}
				return
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Native bytes differ from clickhouse-go's\ngot  %x\nwant %x", got, want)
			}
		})
	}
}

// decodeNative reads rows values of type typ from Native bytes with
// clickhouse-go, checking that it takes every byte.
func decodeNative(t *testing.T, typ *Type, b []byte, rows int) []string {
	t.Helper()
	col, err := column.Type(typ.String()).Column("c", &column.ServerContext{Timezone: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	buf := &chproto.Buffer{Buf: b}
	r := chproto.NewReader(buf)
	if s, ok := col.(column.CustomSerialization); ok {
		if err := s.ReadStatePrefix(r); err != nil {
			t.Fatalf("read state prefix: %v", err)
		}
	}
	if err := col.Decode(r, rows); err != nil {
		t.Fatalf("decode: %v", err)
	}
	var out []string
	for i := 0; i < col.Rows(); i++ {
		out = append(out, show(col.Row(i, false)))
	}
	if n, _ := r.Read(make([]byte, 1)); n != 0 {
		t.Errorf("bytes left over after %d rows", rows)
	}
	return out
}

func TestNativeSupported(t *testing.T) {
	for typ, want := range map[string]bool{
		"String":                               true,
		"Nullable(Decimal(38, 2))":             true,
		"Array(Array(Nullable(String)))":       true,
		"Map(String, Array(UInt8))":            true,
		"LowCardinality(String)":               true,
		"LowCardinality(Nullable(String))":     true,
		"LowCardinality(Decimal(9, 2))":        false,
		"Array(LowCardinality(String))":        false,
		"Map(LowCardinality(String), UInt8)":   false,
		"Decimal(76, 2)":                       false,
		"Tuple(UInt8, Nullable(String))":       true,
		"Array(Tuple(a UInt8, b Array(Date)))": true,
		"Tuple(LowCardinality(String))":        false,
	} {
		parsed, err := ParseType(typ)
		if err != nil {
			t.Fatal(err)
		}
		if got := NativeSupported(parsed); got != want {
			t.Errorf("NativeSupported(%s) = %v, want %v", typ, got, want)
		}
	}
}

func TestLocateRows(t *testing.T) {
	refs, err := LocateRows([]int{2, 0, 3}, []uint32{4, 0, 2, 1})
	if err != nil {
		t.Fatal(err)
	}
	wantChunk, wantRow := []uint32{2, 0, 2, 0}, []uint32{2, 0, 0, 1}
	for j := range wantRow {
		if refs.Chunk[j] != wantChunk[j] || refs.Row[j] != wantRow[j] {
			t.Fatalf("refs %v, want chunks %v rows %v", refs, wantChunk, wantRow)
		}
	}
	all, _ := LocateRows([]int{1, 2}, nil)
	if all.Len() != 3 || all.Chunk[2] != 1 || all.Row[2] != 1 {
		t.Errorf("all rows: %v", all)
	}
	if _, err := LocateRows([]int{2}, []uint32{2}); err == nil || !strings.Contains(err.Error(), "row 2 requested, only 2 rows given") {
		t.Errorf("error %v, want a row range refusal", err)
	}
}

// TestDictionaryChunks checks that a String column whose chunks are
// dictionaries of strings (IsDictString), mixed with plain chunks, encodes
// exactly as the same values in plain chunks, through both Append and
// AppendNative.
func TestDictionaryChunks(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dictType := &arrow.DictionaryType{IndexType: i32, ValueType: arrow.BinaryTypes.String}
	long := strings.Repeat("z", 300)
	dictValues := bin(arrow.BinaryTypes.String, str("a"), str(long), str(""))(mem)
	defer dictValues.Release()
	indices := js(i32, `[1, 0, null, 2, 1]`)(mem)
	defer indices.Release()
	full := array.NewDictionaryArray(dictType, indices, dictValues)
	defer full.Release()
	dict := array.NewSlice(full, 1, 5).(*array.Dictionary) // a, NULL, "", long
	defer dict.Release()
	if !IsDictString(dict) {
		t.Fatalf("IsDictString(%s) is false", dict.DataType())
	}
	plainDict := bin(arrow.BinaryTypes.String, str("a"), nil, str(""), str(long))(mem)
	defer plainDict.Release()
	other := bin(arrow.BinaryTypes.String, str("x"), str("yy"))(mem)
	defer other.Release()
	perm := []uint32{5, 3, 0, 1, 4, 2}
	for _, typ := range []string{"Nullable(String)", "String", "LowCardinality(Nullable(String))", "LowCardinality(String)"} {
		parsed, _ := ParseType(typ)
		rows := perm
		if !parsed.Nullable {
			rows = []uint32{5, 3, 0, 4, 2} // no NULL row
		}
		want := clickhouseGoBytes(t, parsed, []arrow.Array{plainDict, other}, rows)
		if got := clickhouseGoBytes(t, parsed, []arrow.Array{dict, other}, rows); !bytes.Equal(got, want) {
			t.Errorf("%s: Append of dictionary chunks differs\ngot  %x\nwant %x", typ, got, want)
		}
		refs, err := LocateRows([]int{dict.Len(), other.Len()}, rows)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendNative(nil, parsed, []arrow.Array{dict, other}, refs)
		if err != nil {
			t.Fatalf("%s: AppendNative: %v", typ, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: AppendNative of dictionary chunks differs\ngot  %x\nwant %x", typ, got, want)
		}
	}
}

func TestAppendNativeRefusals(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := js(i64, `[1, 2]`)(mem)
	defer a.Release()
	refs, _ := LocateRows([]int{2}, nil)
	typ, _ := ParseType("Int32")
	if _, err := AppendNative(nil, typ, []arrow.Array{a}, refs); err == nil || !strings.Contains(err.Error(), "encode column of type Int32: array of type int64 is not its canonical type int32") {
		t.Errorf("error %v, want a canonical type refusal", err)
	}
	typ, _ = ParseType("Array(LowCardinality(String))")
	if _, err := AppendNative(nil, typ, []arrow.Array{a}, refs); err == nil || !strings.Contains(err.Error(), "no Native encoder") {
		t.Errorf("error %v, want no encoder for LowCardinality in an Array", err)
	}
}

// manyStrings is a String array of n distinct values, enough for 16-bit
// LowCardinality indexes past 255.
func manyStrings(n int) func(memory.Allocator) arrow.Array {
	return func(mem memory.Allocator) arrow.Array {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		for i := 0; i < n; i++ {
			b.Append(fmt.Sprintf("v%d", i%(n-5)))
		}
		return b.NewArray()
	}
}
