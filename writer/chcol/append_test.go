package chcol

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/shopspring/decimal"
)

// batchColumn makes a clickhouse-go column look like a batch column.
type batchColumn struct{ column.Interface }

func (c batchColumn) Append(v any) error {
	_, err := c.Interface.Append(v)
	return err
}

// show prints a value read back from a clickhouse-go column.
func show(v any) string {
	if v == nil {
		return "NULL"
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "NULL"
		}
		return show(rv.Elem().Interface())
	}
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.999999999")
	case decimal.Decimal:
		return x.String()
	case []byte:
		return fmt.Sprintf("%q", x)
	case string:
		return fmt.Sprintf("%q", x)
	case fmt.Stringer:
		return x.String()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice:
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = show(rv.Index(i).Interface())
		}
		return "[" + strings.Join(parts, " ") + "]"
	case reflect.Map:
		var parts []string
		iter := rv.MapRange()
		for iter.Next() {
			parts = append(parts, show(iter.Key().Interface())+":"+show(iter.Value().Interface()))
		}
		sort.Strings(parts)
		return "{" + strings.Join(parts, " ") + "}"
	}
	return fmt.Sprint(v)
}

// d128 builds a Decimal128(p, s) array from decimal text.
func d128(p, s int32, vals ...string) func(memory.Allocator) arrow.Array {
	return func(mem memory.Allocator) arrow.Array {
		b := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: p, Scale: s})
		defer b.Release()
		for _, v := range vals {
			n, err := decimal128.FromString(v, p, s)
			if err != nil {
				panic(err)
			}
			b.Append(n)
		}
		return b.NewArray()
	}
}

// appendCase is a column of some type as canonical Arrow chunks, the rows
// to append (nil for all), and the values clickhouse-go should then hold.
type appendCase struct {
	typ    string
	chunks []func(memory.Allocator) arrow.Array
	perm   []uint32
	want   []string
}

// appendCases cover every type Append takes, with NULLs, several chunks and
// reordering rows.
func appendCases() []appendCase {
	ms := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	return []appendCase{
		{typ: "Int32", chunks: []func(memory.Allocator) arrow.Array{js(i32, `[1, 2]`), js(i32, `[3]`)}, perm: []uint32{2, 0, 1}, want: []string{"3", "1", "2"}},
		{typ: "Nullable(Int32)", chunks: []func(memory.Allocator) arrow.Array{js(i32, `[1, null]`), js(i32, `[null, 4]`)}, want: []string{"1", "NULL", "NULL", "4"}},
		{typ: "UInt64", chunks: []func(memory.Allocator) arrow.Array{uint64s(18446744073709551615)}, want: []string{"18446744073709551615"}},
		{typ: "Float32", chunks: []func(memory.Allocator) arrow.Array{js(f32, `[1.5]`)}, want: []string{"1.5"}},
		{typ: "Nullable(String)", chunks: []func(memory.Allocator) arrow.Array{bin(arrow.BinaryTypes.String, str("a"), nil), bin(arrow.BinaryTypes.String, str("ccc"))}, perm: []uint32{2, 1, 0},
			want: []string{`"ccc"`, "NULL", `"a"`}},
		{typ: "FixedString(2)", chunks: []func(memory.Allocator) arrow.Array{bin(&arrow.FixedSizeBinaryType{ByteWidth: 2}, str("a\x00"), str("bc"))}, want: []string{`"a\x00"`, `"bc"`}},
		{typ: "Decimal(38, 10)", chunks: []func(memory.Allocator) arrow.Array{d128(38, 10, "1.5", "-1234567890123456789012.0000000001")},
			want: []string{"1.5", "-1234567890123456789012.0000000001"}},
		{typ: "Nullable(Decimal(9, 2))", chunks: []func(memory.Allocator) arrow.Array{d128(9, 2, "1.25")}, want: []string{"1.25"}},
		{typ: "UUID", chunks: []func(memory.Allocator) arrow.Array{bin(fsb16, str("\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00"))},
			want: []string{"123e4567-e89b-12d3-a456-426614174000"}},
		{typ: "Enum8('a' = 1, 'b' = -2)", chunks: []func(memory.Allocator) arrow.Array{js(i8, `[-2, 1]`)}, want: []string{`"b"`, `"a"`}},
		{typ: "Nullable(Enum16('a' = 1000))", chunks: []func(memory.Allocator) arrow.Array{js(arrow.PrimitiveTypes.Int16, `[1000, null]`)}, want: []string{`"a"`, "NULL"}},
		{typ: "Date", chunks: []func(memory.Allocator) arrow.Array{js(arrow.FixedWidthTypes.Date32, `["1970-01-01", "2149-06-06"]`)}, want: []string{"1970-01-01 00:00:00", "2149-06-06 00:00:00"}},
		{typ: "Date32", chunks: []func(memory.Allocator) arrow.Array{js(arrow.FixedWidthTypes.Date32, `["1900-01-01", "2299-12-31", null]`)}, perm: []uint32{1, 0}, want: []string{"2299-12-31 00:00:00", "1900-01-01 00:00:00"}},
		{typ: "Nullable(Date32)", chunks: []func(memory.Allocator) arrow.Array{js(arrow.FixedWidthTypes.Date32, `["1900-01-01", null]`)}, want: []string{"1900-01-01 00:00:00", "NULL"}},
		{typ: "DateTime", chunks: []func(memory.Allocator) arrow.Array{js(tsS, `[0, 4294967295]`)}, want: []string{"1970-01-01 00:00:00", "2106-02-07 06:28:15"}},
		{typ: "DateTime64(3, 'UTC')", chunks: []func(memory.Allocator) arrow.Array{js(ms, `["1900-01-01T00:00:00.001"]`), js(ms, `["2262-04-11T23:47:16.854"]`)}, perm: []uint32{1, 0},
			want: []string{"2262-04-11 23:47:16.854", "1900-01-01 00:00:00.001"}},
		{typ: "Nullable(DateTime64(9))", chunks: []func(memory.Allocator) arrow.Array{js(tsNs, `["2024-01-01T00:00:00.123456789", null]`)}, want: []string{"2024-01-01 00:00:00.123456789", "NULL"}},
		{typ: "DateTime64(6)", chunks: []func(memory.Allocator) arrow.Array{js(&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Asia/Kolkata"}, `[1704067200000001]`)},
			want: []string{"2024-01-01 00:00:00.000001"}},
		{typ: "Bool", chunks: []func(memory.Allocator) arrow.Array{js(arrow.FixedWidthTypes.Boolean, `[true, false]`), js(arrow.FixedWidthTypes.Boolean, `[true]`)}, perm: []uint32{1, 2, 0}, want: []string{"false", "true", "true"}},
		{typ: "Nullable(Bool)", chunks: []func(memory.Allocator) arrow.Array{js(arrow.FixedWidthTypes.Boolean, `[true, null, false]`)}, want: []string{"true", "NULL", "false"}},
		{typ: "Array(Nullable(String))", chunks: []func(memory.Allocator) arrow.Array{js(arrow.ListOf(arrow.BinaryTypes.String), `[["a", null], []]`), js(arrow.ListOf(arrow.BinaryTypes.String), `[["c"]]`)},
			perm: []uint32{2, 0, 1}, want: []string{`["c"]`, `["a" NULL]`, "[]"}},
		{typ: "Array(Array(Int16))", chunks: []func(memory.Allocator) arrow.Array{js(arrow.ListOf(arrow.ListOf(arrow.PrimitiveTypes.Int16)), `[[[1], [2, 3]], [[]]]`)}, want: []string{"[[1] [2 3]]", "[[]]"}},
		{typ: "Map(String, UInt64)", chunks: []func(memory.Allocator) arrow.Array{js(arrow.MapOf(arrow.BinaryTypes.String, u64), `[[{"key": "a", "value": 1}, {"key": "b", "value": 2}], []]`)},
			perm: []uint32{1, 0}, want: []string{"{}", `{"a":1 "b":2}`}},
		{typ: "Map(String, Nullable(String))", chunks: []func(memory.Allocator) arrow.Array{js(arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), `[[{"key": "a", "value": null}, {"key": "b", "value": "x"}]]`)},
			want: []string{`{"a":NULL "b":"x"}`}},
		{typ: "Tuple(UInt32, String)", chunks: []func(memory.Allocator) arrow.Array{js(structOf("1", tupU32, "2", tupStr), `[{"1": 1, "2": "a"}, {"1": 2, "2": ""}]`), js(structOf("1", tupU32, "2", tupStr), `[{"1": 3, "2": "c"}]`)},
			perm: []uint32{2, 0, 1}, want: []string{`[3 "c"]`, `[1 "a"]`, `[2 ""]`}},
		{typ: "Tuple(a UInt32, b Nullable(String))", chunks: []func(memory.Allocator) arrow.Array{js(structOf("a", tupU32, "b", tupStr), `[{"a": 1, "b": null}, {"a": 2, "b": "x"}]`)},
			want: []string{`{"a":1 "b":NULL}`, `{"a":2 "b":"x"}`}},
		{typ: "Array(Tuple(UInt8, Nullable(String)))", chunks: []func(memory.Allocator) arrow.Array{js(arrow.ListOf(structOf("1", tupU8, "2", tupStr)), `[[{"1": 1, "2": null}, {"1": 2, "2": "x"}], []]`), js(arrow.ListOf(structOf("1", tupU8, "2", tupStr)), `[[{"1": 3, "2": "y"}]]`)},
			perm: []uint32{2, 1, 0}, want: []string{`[[3 "y"]]`, "[]", `[[1 NULL] [2 "x"]]`}},
		// Named inside: clickhouse-go reads a Tuple inside a Tuple back only
		// when it is named.
		{typ: "Tuple(a Array(String), b Tuple(t DateTime, d Decimal(9, 2)))", chunks: []func(memory.Allocator) arrow.Array{js(structOf("a", arrow.ListOf(tupStr), "b", structOf("t", tsS, "d", &arrow.Decimal128Type{Precision: 9, Scale: 2})), `[{"a": ["p", "q"], "b": {"t": 0, "d": "1.25"}}, {"a": [], "b": {"t": 1700000000, "d": "-3.00"}}]`)},
			perm: []uint32{1, 0}, want: []string{`{"a":[] "b":{"d":-3 "t":2023-11-14 22:13:20}}`, `{"a":["p" "q"] "b":{"d":1.25 "t":1970-01-01 00:00:00}}`}},
	}
}

func TestAppend(t *testing.T) {
	for _, tt := range appendCases() {
		t.Run(tt.typ, func(t *testing.T) { checkAppend(t, tt) })
	}
}

// checkAppend appends tt's chunks in tt's order to a clickhouse-go column of
// tt's type and compares the column's rows with tt.want.
func checkAppend(t *testing.T, tt appendCase) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	typ, err := ParseType(tt.typ)
	if err != nil {
		t.Fatal(err)
	}
	var chunks []arrow.Array
	for _, c := range tt.chunks {
		a := c(mem)
		defer a.Release()
		chunks = append(chunks, a)
	}
	col, err := column.Type(typ.String()).Column("c", &column.ServerContext{Timezone: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if err := Append(batchColumn{col}, typ, chunks, tt.perm); err != nil {
		t.Fatalf("Append: %v", err)
	}
	var got []string
	for i := 0; i < col.Rows(); i++ {
		got = append(got, show(col.Row(i, false)))
	}
	if !reflect.DeepEqual(got, tt.want) {
		t.Errorf("got  %v\nwant %v", got, tt.want)
	}
}

func TestAppendRefusals(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := js(i64, `[1, 2]`)(mem)
	defer a.Release()
	typ, _ := ParseType("Int32")
	col, _ := column.Type("Int32").Column("c", &column.ServerContext{Timezone: time.UTC})
	if err := Append(batchColumn{col}, typ, []arrow.Array{a}, nil); err == nil || !strings.Contains(err.Error(), "is not its canonical type int32") {
		t.Errorf("error %v, want a canonical type refusal", err)
	}
	typ, _ = ParseType("Int64")
	col, _ = column.Type("Int64").Column("c", &column.ServerContext{Timezone: time.UTC})
	if err := Append(batchColumn{col}, typ, []arrow.Array{a}, []uint32{2}); err == nil || !strings.Contains(err.Error(), "row 2 requested, only 2 rows given") {
		t.Errorf("error %v, want a row range refusal", err)
	}
}
