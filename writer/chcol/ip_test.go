package chcol

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/transform/hashinput"
)

func TestIPParseAndPrint(t *testing.T) {
	tests := []struct {
		in   string
		want Type
	}{
		{in: "IPv4", want: Type{Base: "IPv4"}},
		{in: "Nullable(IPv6)", want: Type{Base: "IPv6", Nullable: true}},
		{in: "LowCardinality(Nullable(IPv4))", want: Type{Base: "IPv4", Nullable: true, LowCardinality: true}},
		{in: "Array(IPv4)", want: Type{Base: "Array", Elem: &Type{Base: "IPv4"}}},
	}
	for _, tt := range tests {
		got, err := ParseType(tt.in)
		if err != nil {
			t.Fatalf("ParseType(%q): %v", tt.in, err)
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("ParseType(%q) = %+v, want %+v", tt.in, *got, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("ParseType(%q).String() = %q, want it printed back as is", tt.in, got.String())
		}
	}
	if _, err := ParseType("IPv4(1)"); err == nil {
		t.Error("IPv4 with a parameter parsed; it has none")
	}
}

func TestIPArrow(t *testing.T) {
	for typ, want := range map[string]arrow.DataType{
		"IPv4":           arrow.PrimitiveTypes.Uint32,
		"Nullable(IPv4)": arrow.PrimitiveTypes.Uint32,
		"IPv6":           &arrow.FixedSizeBinaryType{ByteWidth: 16},
	} {
		parsed, err := ParseType(typ)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parsed.Arrow("UTC")
		if err != nil || !arrow.TypeEqual(got, want) {
			t.Errorf("%s: Arrow() = %v, %v; want %s", typ, got, err, want)
		}
	}
}

// ipv4Num is a.b.c.d as the UInt32 ClickHouse stores, computed here from
// the definition rather than by the code under test.
func ipv4Num(a, b, c, d uint32) uint64 { return uint64(a<<24 | b<<16 | c<<8 | d) }

func TestIPConvert(t *testing.T) {
	u32 := arrow.PrimitiveTypes.Uint32
	mapped := "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x01\x02\x03\x04"
	cases := []convCase{
		{name: "text", target: "IPv4", src: bin(arrow.BinaryTypes.String, str("1.2.3.4"), str("255.255.255.255"), str("0.0.0.0")),
			want: uint32s(ipv4Num(1, 2, 3, 4), ipv4Num(255, 255, 255, 255), 0)},
		{name: "binary text with nulls", target: "Nullable(IPv4)", src: bin(arrow.BinaryTypes.Binary, str("10.0.0.1"), nil),
			want: js(u32, `[167772161, null]`)},
		{name: "uint32 as is", target: "IPv4", src: js(u32, `[16909060]`), same: true},
		{name: "integers in range", target: "IPv4", src: int64s(0, 16909060, 1<<32-1), want: uint32s(0, ipv4Num(1, 2, 3, 4), ipv4Num(255, 255, 255, 255))},
		{name: "negative integer", target: "IPv4", src: int64s(1, -1), errRow: 1,
			errText: "value -1 is not an IPv4 address as a number (range 0..4294967295): fix the data, or load the address as dotted-quad text"},
		{name: "integer too large", target: "IPv4", src: uint64s(1<<32, 1), errRow: 0,
			errText: "value 4294967296 is not an IPv4 address as a number (range 0..4294967295): fix the data, or load the address as dotted-quad text"},
		{name: "v6 text", target: "IPv4", src: bin(arrow.BinaryTypes.String, str("1.1.1.1"), str("::1")), errRow: 1,
			errText: `value "::1" is not an IPv4 address (four numbers 0..255 separated by dots, like 192.168.0.1): fix the data, or make the column IPv6 (which also takes IPv6 addresses) or String`},
		{name: "octet too large", target: "IPv4", src: bin(arrow.BinaryTypes.String, str("1.2.3.256")), errText: `value "1.2.3.256" is not an IPv4 address`, partial: true},
		{name: "three octets", target: "IPv4", src: bin(arrow.BinaryTypes.String, str("1.2.3")), errText: `value "1.2.3" is not an IPv4 address`, partial: true},
		{name: "empty text", target: "IPv4", src: bin(arrow.BinaryTypes.String, str("")), errText: `value "" is not an IPv4 address`, partial: true},
		{name: "NULL into IPv4", target: "IPv4", src: js(u32, `[null]`),
			errText: "NULL into non-Nullable column IPv4: make the column Nullable(IPv4), set source.null_as_default: true to store the column's default instead, or fill the value in the source"},
		{name: "float refused", target: "IPv4", src: js(f64, `[1]`), buildErr: "cannot load Arrow type float64 into column type IPv4"},
		{name: "v6 text to IPv6", target: "IPv6", src: bin(arrow.BinaryTypes.String, str("::1"), str("1.2.3.4")),
			want: bin(fsb16, str("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"), str(mapped))},
		{name: "bytes to IPv6 as is", target: "IPv6", src: bin(fsb16, str(mapped)), same: true},
		{name: "zoned text to IPv6", target: "IPv6", src: bin(arrow.BinaryTypes.String, str("fe80::1%eth0")), errText: `value "fe80::1%eth0" is not an IP address`, partial: true},
		{name: "integer refused by IPv6", target: "IPv6", src: int64s(1), buildErr: "cannot load Arrow type int64 into column type IPv6"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			runConvCase(t, mem, tt)
		})
	}
}

func uint32s(vals ...uint64) func(memory.Allocator) arrow.Array {
	return func(mem memory.Allocator) arrow.Array {
		b := array.NewUint32Builder(mem)
		defer b.Release()
		for _, v := range vals {
			b.Append(uint32(v))
		}
		return b.NewArray()
	}
}

// TestIPNativeMatchesClickhouseGo encodes addresses loaded from text and
// compares the bytes with what clickhouse-go sends for the same text, so
// the oracle shares nothing with chload's conversion.
func TestIPNativeMatchesClickhouseGo(t *testing.T) {
	texts := []*string{str("1.2.3.4"), str("255.255.255.255"), nil, str("0.0.0.0"), str("192.168.0.1"), str("1.2.3.4")}
	v6 := []*string{str("2001:db8::1"), nil, str("::ffff:1.2.3.4"), str("::")}
	tests := []struct {
		typ   string
		texts []*string
	}{
		{"IPv4", nonNull(texts)},
		{"Nullable(IPv4)", texts},
		{"LowCardinality(IPv4)", nonNull(texts)},
		{"LowCardinality(Nullable(IPv4))", texts},
		{"IPv6", nonNull(v6)},
		{"Nullable(IPv6)", v6},
		{"LowCardinality(IPv6)", nonNull(v6)},
	}
	for _, tt := range tests {
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
			src := binaryOf(mem, arrow.BinaryTypes.String, tt.texts...)
			defer src.Release()
			c, err := NewConverter(typ, "UTC", src.DataType())
			if err != nil {
				t.Fatal(err)
			}
			canon, err := c.Convert(src, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer canon.Release()
			refs, err := LocateRows([]int{canon.Len()}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := AppendNative(nil, typ, []arrow.Array{canon}, refs)
			if err != nil {
				t.Fatal(err)
			}
			col, err := column.Type(typ.String()).Column("c", &column.ServerContext{Timezone: time.UTC})
			if err != nil {
				t.Fatal(err)
			}
			// Row by row: clickhouse-go's columnar Append of []*string
			// panics on a nil for Nullable(IPv4) (v2.50.0).
			for _, s := range tt.texts {
				var v any
				if s != nil {
					v = *s
				}
				if err := col.AppendRow(v); err != nil {
					t.Fatalf("clickhouse-go AppendRow(%v): %v", v, err)
				}
			}
			var buf chproto.Buffer
			if s, ok := col.(column.CustomSerialization); ok {
				if err := s.WriteStatePrefix(&buf); err != nil {
					t.Fatal(err)
				}
			}
			col.Encode(&buf)
			// clickhouse-go keys a Nullable LowCardinality dictionary by
			// pointer, so it repeats equal values: compare what decodes.
			if typ.LowCardinality && typ.Nullable {
				if g, w := decodeNative(t, typ, got, refs.Len()), decodeNative(t, typ, buf.Buf, refs.Len()); !reflect.DeepEqual(g, w) {
					t.Errorf("values decoded from the Native bytes differ\ngot  %v\nwant %v", g, w)
				}
				return
			}
			if !bytes.Equal(got, buf.Buf) {
				t.Errorf("Native bytes differ from clickhouse-go's\ngot  %x\nwant %x", got, buf.Buf)
			}
		})
	}
}

func nonNull(s []*string) []*string {
	var out []*string
	for _, v := range s {
		if v != nil {
			out = append(out, v)
		}
	}
	return out
}

// TestIPv4NativeIsLittleEndianUInt32 states the wire layout directly: one
// UInt32 per row, little-endian, a.b.c.d being a<<24|b<<16|c<<8|d.
func TestIPv4NativeIsLittleEndianUInt32(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	typ, _ := ParseType("IPv4")
	a := uint32s(ipv4Num(1, 2, 3, 4), ipv4Num(192, 168, 0, 1))(mem)
	defer a.Release()
	refs, _ := LocateRows([]int{2}, []uint32{1, 0})
	got, err := AppendNative(nil, typ, []arrow.Array{a}, refs)
	if err != nil {
		t.Fatal(err)
	}
	want := binary.LittleEndian.AppendUint32(nil, 192<<24|168<<16|1)
	want = binary.LittleEndian.AppendUint32(want, 1<<24|2<<16|3<<8|4)
	if !bytes.Equal(got, want) {
		t.Errorf("got %x, want %x", got, want)
	}
}

func TestIPAppend(t *testing.T) {
	cases := []appendCase{
		{typ: "IPv4", chunks: []func(memory.Allocator) arrow.Array{uint32s(ipv4Num(1, 2, 3, 4)), uint32s(ipv4Num(255, 255, 255, 255))}, perm: []uint32{1, 0},
			want: []string{"255.255.255.255", "1.2.3.4"}},
		{typ: "Nullable(IPv6)", chunks: []func(memory.Allocator) arrow.Array{bin(fsb16, str("\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"), nil)},
			want: []string{"2001:db8::1", "NULL"}},
	}
	for _, tt := range cases {
		t.Run(tt.typ, func(t *testing.T) { checkAppend(t, tt) })
	}
}

// TestIPv4HashesAsUInt32: ClickHouse's hash functions read an IPv4 column
// as its UInt32, four little-endian bytes, unsigned.
func TestIPv4HashesAsUInt32(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := hashinput.Lookup("IPv4")
	if r == nil {
		t.Fatal("no hash reader registered for IPv4")
	}
	a := uint32s(ipv4Num(1, 2, 3, 4), ipv4Num(255, 255, 255, 255))(mem)
	defer a.Release()
	in, err := r(a, "IPv4")
	if err != nil || len(in) != 1 {
		t.Fatalf("reader: %v, %d inputs", err, len(in))
	}
	x := in[0]
	if !x.Pod || x.Width != 4 || x.Signed || x.Float {
		t.Errorf("read as %+v, want an unsigned 4-byte number", x)
	}
	if !reflect.DeepEqual(x.Raw, []uint64{ipv4Num(1, 2, 3, 4), ipv4Num(255, 255, 255, 255)}) {
		t.Errorf("values %v, want the addresses' UInt32s", x.Raw)
	}
	text := binaryOf(mem, arrow.BinaryTypes.String, str("1.2.3.4"))
	defer text.Release()
	if in, err := r(text, "IPv4"); in != nil || err != nil {
		t.Errorf("a non-canonical array was not left to the Arrow-type default: %v, %v", in, err)
	}
}

// FuzzIPv4Text: text loads into IPv4 exactly when net/netip reads it as an
// IPv4 address, and then as that address's number.
func FuzzIPv4Text(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "255.255.255.255", "0.0.0.0", "::1", "1.2.3", "01.2.3.4", "1.2.3.4 ", "", "::ffff:1.2.3.4", "256.1.1.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		src := binaryOf(mem, arrow.BinaryTypes.String, &s)
		defer src.Release()
		addr, aerr := netip.ParseAddr(s)
		out, ok := convertOne(t, mem, "IPv4", src)
		if ok != (aerr == nil && addr.Is4()) {
			t.Fatalf("IPv4 from %q: converted %v, netip says %v", s, ok, aerr)
		}
		if !ok {
			return
		}
		defer out.Release()
		b := addr.As4()
		if got, want := out.(*array.Uint32).Value(0), uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]); got != want {
			t.Fatalf("IPv4 from %q: got %d, want %d", s, got, want)
		}
		if strings.Contains(s, ":") {
			t.Fatalf("IPv4 took %q, an IPv6 form", s)
		}
	})
}
