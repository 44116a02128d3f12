package chcol

import (
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestParseType(t *testing.T) {
	tests := []struct {
		in     string
		string string // "" means the same as in
		want   Type
	}{
		{in: "UInt8", want: Type{Base: "UInt8"}},
		{in: "String", want: Type{Base: "String"}},
		{in: "Boolean", string: "Bool", want: Type{Base: "Bool"}},
		{in: "Nullable(Int64)", want: Type{Base: "Int64", Nullable: true}},
		{in: "LowCardinality(String)", want: Type{Base: "String", LowCardinality: true}},
		{in: "LowCardinality(Nullable(String))", want: Type{Base: "String", Nullable: true, LowCardinality: true}},
		{in: "DateTime", want: Type{Base: "DateTime"}},
		{in: "DateTime('Europe/Moscow')", want: Type{Base: "DateTime", TimeZone: "Europe/Moscow"}},
		{in: "DateTime64(3)", want: Type{Base: "DateTime64", Precision: 3}},
		{in: "DateTime64(3, 'UTC')", want: Type{Base: "DateTime64", Precision: 3, TimeZone: "UTC"}},
		{in: "DateTime64(9,'Asia/Kolkata')", string: "DateTime64(9, 'Asia/Kolkata')", want: Type{Base: "DateTime64", Precision: 9, TimeZone: "Asia/Kolkata"}},
		{in: "Decimal(18, 4)", want: Type{Base: "Decimal", Precision: 18, Scale: 4}},
		{in: "Decimal(10)", string: "Decimal(10, 0)", want: Type{Base: "Decimal", Precision: 10}},
		{in: "Decimal32(2)", string: "Decimal(9, 2)", want: Type{Base: "Decimal", Precision: 9, Scale: 2}},
		{in: "Decimal64(4)", string: "Decimal(18, 4)", want: Type{Base: "Decimal", Precision: 18, Scale: 4}},
		{in: "Decimal128(10)", string: "Decimal(38, 10)", want: Type{Base: "Decimal", Precision: 38, Scale: 10}},
		{in: "FixedString(16)", want: Type{Base: "FixedString", Size: 16}},
		{in: "Enum8('a' = 1, 'b' = -2)", want: Type{Base: "Enum8", Enum: []EnumValue{{"a", 1}, {"b", -2}}}},
		{in: "Enum16('x' = 1000)", want: Type{Base: "Enum16", Enum: []EnumValue{{"x", 1000}}}},
		{in: `Enum8('it\'s' = 1, 'back\\slash' = 2)`, want: Type{Base: "Enum8", Enum: []EnumValue{{"it's", 1}, {`back\slash`, 2}}}},
		{in: "Enum8('a', 'b')", string: "Enum8('a' = 1, 'b' = 2)", want: Type{Base: "Enum8", Enum: []EnumValue{{"a", 1}, {"b", 2}}}},
		{in: "Enum('a' = 1, 'b' = 300)", string: "Enum16('a' = 1, 'b' = 300)", want: Type{Base: "Enum16", Enum: []EnumValue{{"a", 1}, {"b", 300}}}},
		{in: "Array(Nullable(Int32))", want: Type{Base: "Array", Elem: &Type{Base: "Int32", Nullable: true}}},
		{in: "Array(Array(String))", want: Type{Base: "Array", Elem: &Type{Base: "Array", Elem: &Type{Base: "String"}}}},
		{in: "Map(String, UInt64)", want: Type{Base: "Map", Key: &Type{Base: "String"}, Value: &Type{Base: "UInt64"}}},
		{in: " Map( LowCardinality(String) ,Array(UInt8) ) ", string: "Map(LowCardinality(String), Array(UInt8))",
			want: Type{Base: "Map", Key: &Type{Base: "String", LowCardinality: true}, Value: &Type{Base: "Array", Elem: &Type{Base: "UInt8"}}}},
		{in: "UUID", want: Type{Base: "UUID"}},
		{in: "Date32", want: Type{Base: "Date32"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseType(tt.in)
			if err != nil {
				t.Fatalf("ParseType: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
			want := tt.string
			if want == "" {
				want = tt.in
			}
			if got.String() != want {
				t.Errorf("String() = %q, want %q", got.String(), want)
			}
		})
	}
}

func TestParseTypeErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "expected a type name"},
		{"Strin", "Strin at offset 0 is not supported"},
		{"Nested(a UInt8, b String)", "Nested at offset 0 is not supported"},
		{"Nullable(Array(UInt8))", "Array(UInt8) cannot be inside Nullable"},
		{"Nullable(Nullable(UInt8))", "cannot be inside Nullable"},
		{"Nullable(LowCardinality(String))", "cannot be inside Nullable"},
		{"LowCardinality(Array(String))", "cannot be inside LowCardinality"},
		{"Array(UInt8", `expected ')' at end of input`},
		{"UInt8)", `unexpected ")"`},
		{"FixedString(0)", "FixedString size 0 out of range"},
		{"FixedString(x)", "expected an integer"},
		{"Decimal(39 ,40)", "decimal scale 40 out of range"},
		{"Decimal(0, 0)", "decimal precision 0 out of range"},
		{"DateTime64(10)", "DateTime64 precision 10 out of range"},
		{"DateTime(UTC)", "expected a quoted string"},
		{"DateTime('UTC", "unterminated string"},
		{"Enum8('a' = 1, 'a' = 2)", `enum name "a" declared twice`},
		{"Enum8('a' = 1, 'b' = 1)", "enum code 1 declared twice"},
		{"Enum8('a' = 128)", "enum code 128 of \"a\" out of range -128..127"},
		{"Map(String)", `expected ','`},
		{strings.Repeat("Array(", 40) + "UInt8" + strings.Repeat(")", 40), "nested deeper than"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseType(tt.in)
			if err == nil {
				t.Fatalf("ParseType(%q) succeeded, want error containing %q", tt.in, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestTypeArrow(t *testing.T) {
	tests := []struct {
		typ, serverTZ string
		want          arrow.DataType
		err           string
	}{
		{typ: "Int8", want: arrow.PrimitiveTypes.Int8},
		{typ: "UInt64", want: arrow.PrimitiveTypes.Uint64},
		{typ: "Enum16('a' = 1)", want: arrow.PrimitiveTypes.Int16},
		{typ: "Bool", want: arrow.FixedWidthTypes.Boolean},
		{typ: "Decimal32(3)", want: &arrow.Decimal128Type{Precision: 9, Scale: 3}},
		{typ: "LowCardinality(Nullable(String))", want: arrow.BinaryTypes.String},
		{typ: "FixedString(3)", want: &arrow.FixedSizeBinaryType{ByteWidth: 3}},
		{typ: "UUID", want: &arrow.FixedSizeBinaryType{ByteWidth: 16}},
		{typ: "Date", want: arrow.FixedWidthTypes.Date32},
		{typ: "Date32", want: arrow.FixedWidthTypes.Date32},
		{typ: "DateTime", serverTZ: "Europe/Berlin", want: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "Europe/Berlin"}},
		{typ: "DateTime", want: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}},
		{typ: "DateTime('Asia/Kolkata')", serverTZ: "UTC", want: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "Asia/Kolkata"}},
		{typ: "DateTime64(6)", serverTZ: "UTC", want: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{typ: "DateTime64(9, 'Asia/Tokyo')", want: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "Asia/Tokyo"}},
		{typ: "DateTime64(2)", err: "not supported yet"},
		{typ: "Array(Nullable(Int32))", want: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
		{typ: "Map(String, UInt64)", want: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Uint64)},
		{typ: "Int128", err: "not supported yet"},
		{typ: "Decimal(50, 2)", err: "not supported yet"},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			typ, err := ParseType(tt.typ)
			if err != nil {
				t.Fatal(err)
			}
			got, err := typ.Arrow(tt.serverTZ)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !arrow.TypeEqual(got, tt.want) {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func FuzzParseType(f *testing.F) {
	for _, s := range []string{
		"LowCardinality(Nullable(String))", "DateTime('Europe/Moscow')", "Decimal(18, 4)",
		"Decimal64(4)", "Enum8('a' = 1, 'b' = -2)", "Array(Nullable(Int32))", "Map(String, UInt64)",
		"FixedString(16)", "DateTime64(3, 'UTC')", `Enum16('a\'b' = 7, '\\' = -300)`, "Array(Array(UInt8))",
		"Tuple(UInt8, Nullable(String))", "Tuple(a Array(UInt8), `b c` Tuple(x String))",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, err := ParseType(s)
		if err != nil {
			return
		}
		printed := typ.String()
		again, err := ParseType(printed)
		if err != nil {
			t.Fatalf("ParseType(%q) = %q, which does not parse: %v", s, printed, err)
		}
		if !reflect.DeepEqual(typ, again) || again.String() != printed {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v", s, typ, printed, again)
		}
	})
}

// TestParseTypeResolvesEscapesAsClickHouse: names in type text carry
// ClickHouse's escapes (18.16 prints Enum8('a\bb\\c\fd' = 1)); each is
// read as the byte it stands for and printed back the same way.
func TestParseTypeResolvesEscapesAsClickHouse(t *testing.T) {
	for text, want := range map[string]string{
		`Enum8('a\bb\\c\fd' = 1)`:    "a\bb\\c\fd",
		`Enum8('it''s\n' = 1)`:       "it's\n",
		`Enum8('\x41\'' = 1)`:        "A'",
		"Tuple(`a\\nb` UInt8)":       "a\nb",
		"Tuple(`x``y` UInt8)":        "x`y",
		"Tuple(`tab\\there` String)": "tab\there",
	} {
		typ, err := ParseType(text)
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		var got string
		if len(typ.Elems) > 0 {
			got = typ.Names[0]
		} else {
			got = typ.Enum[0].Name
		}
		if got != want {
			t.Errorf("%s: name %q, want %q", text, got, want)
		}
		again, err := ParseType(typ.String())
		if err != nil || again.String() != typ.String() {
			t.Errorf("%s printed as %s, which reads back as %v (%v)", text, typ.String(), again, err)
		}
	}
}
