package chcol

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/testenv"
	"github.com/chload/chload/writer/chnative"
)

// TestInsertEveryType converts source arrays into every column type ClickHouse 18.16
// has, inserts them in a permuted order from two chunks, through clickhouse-go's
// batch and through chload's own Native encoding, reads each table back in
// insertion order and compares every value.
func TestInsertEveryType(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	ctx := context.Background()
	var serverTZ string
	if err := conn.QueryRow(ctx, "SELECT timezone()").Scan(&serverTZ); err != nil {
		t.Fatalf("read server time zone: %v", err)
	}
	s := arrow.BinaryTypes.String
	lstr := arrow.BinaryTypes.LargeString
	dict := func(mem memory.Allocator) arrow.Array {
		values := bin(s, str("red"), str("green"))(mem)
		defer values.Release()
		idx := js(i8, `[0, 1, 1, 0, 1]`)(mem)
		defer idx.Release()
		return array.NewDictionaryArray(&arrow.DictionaryType{IndexType: i8, ValueType: s}, idx, values)
	}
	cols := []struct {
		name, typ string
		src       func(memory.Allocator) arrow.Array
		want      []string // show() of the values read back, rows 0..4
	}{
		{"id", "UInt32", int64s(0, 1, 2, 3, 4), []string{"0", "1", "2", "3", "4"}},
		{"i8", "Int8", int64s(-128, 127, 0, -1, 5), []string{"-128", "127", "0", "-1", "5"}},
		{"i16", "Int16", js(arrow.PrimitiveTypes.Int16, `[-32768, 32767, 0, 1, 2]`), []string{"-32768", "32767", "0", "1", "2"}},
		{"i32", "Int32", bin(s, str("1"), str("-2"), str("2147483647"), str("-2147483648"), str("0")), []string{"1", "-2", "2147483647", "-2147483648", "0"}},
		{"i64", "Int64", int64s(-9223372036854775808, 9223372036854775807, 0, 5, -5), []string{"-9223372036854775808", "9223372036854775807", "0", "5", "-5"}},
		{"u8", "UInt8", js(arrow.FixedWidthTypes.Boolean, `[true, false, true, false, true]`), []string{"1", "0", "1", "0", "1"}},
		{"u16", "UInt16", js(f64, `[65535, 0, 1, 2, 3]`), []string{"65535", "0", "1", "2", "3"}},
		{"u32", "UInt32", js(arrow.PrimitiveTypes.Uint32, `[4294967295, 0, 1, 2, 3]`), []string{"4294967295", "0", "1", "2", "3"}},
		{"u64", "UInt64", uint64s(18446744073709551615, 0, 1, 2, 3), []string{"18446744073709551615", "0", "1", "2", "3"}},
		{"f32", "Float32", js(f64, `[1.5, -0.25, 1e10, 0, 7]`), []string{"1.5", "-0.25", "1e+10", "0", "7"}},
		{"f64", "Float64", js(i32, `[1, 2, 3, 4, -5]`), []string{"1", "2", "3", "4", "-5"}},
		{"d32", "Decimal32(2)", bin(s, str("1.25"), str("-0.5"), str("9999999.99"), str("0"), str("-9999999.99")), []string{"1.25", "-0.5", "9999999.99", "0", "-9999999.99"}},
		{"d64", "Decimal64(4)", decimals(10, 2, 125, -1, 0, 99999999, 5), []string{"1.25", "-0.01", "0", "999999.99", "0.05"}},
		{"d128", "Decimal128(10)", d128(38, 10, "1.5", "-1234567890123456789012.0000000001", "0", "1", "2"), []string{"1.5", "-1234567890123456789012.0000000001", "0", "1", "2"}},
		{"s", "String", bin(lstr, str("a"), str(""), str("héllo"), str("\x00\xff"), str("z")), []string{`"a"`, `""`, `"héllo"`, `"\x00\xff"`, `"z"`}},
		{"fs", "FixedString(4)", bin(s, str("ab"), str("abcd"), str(""), str("x"), str("wxyz")), []string{`"ab\x00\x00"`, `"abcd"`, `"\x00\x00\x00\x00"`, `"x\x00\x00\x00"`, `"wxyz"`}},
		{"d", "Date", bin(s, str("1970-01-01"), str("2149-06-06"), str("2024-02-29"), str("2000-01-01"), str("1999-12-31")),
			[]string{"1970-01-01 00:00:00", "2149-06-06 00:00:00", "2024-02-29 00:00:00", "2000-01-01 00:00:00", "1999-12-31 00:00:00"}},
		{"dt", "DateTime", js(tsMs, `["2024-01-01T00:00:00", "1970-01-01T00:00:00", "2106-02-07T06:28:15", "2000-02-29T12:34:56", "2024-06-01T00:00:01"]`),
			[]string{"2024-01-01 00:00:00", "1970-01-01 00:00:00", "2106-02-07 06:28:15", "2000-02-29 12:34:56", "2024-06-01 00:00:01"}},
		{"dtk", "DateTime('Asia/Kolkata')", bin(s, str("2024-01-01 10:00:00"), str("2024-01-01 00:00:00"), str("1970-01-01 05:30:00"), str("2000-02-29 23:59:59"), str("2024-06-01 05:30:01")),
			[]string{"2024-01-01 04:30:00", "2023-12-31 18:30:00", "1970-01-01 00:00:00", "2000-02-29 18:29:59", "2024-06-01 00:00:01"}},
		{"uuid", "UUID", bin(s, str("123e4567-e89b-12d3-a456-426614174000"), str("00000000-0000-0000-0000-000000000000"), str("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"), str("01234567-89ab-cdef-0123-456789abcdef"), str("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
			[]string{"123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "01234567-89ab-cdef-0123-456789abcdef", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}},
		{"e8", "Enum8('a' = 1, 'b' = -2)", bin(s, str("a"), str("b"), str("a"), str("b"), str("b")), []string{`"a"`, `"b"`, `"a"`, `"b"`, `"b"`}},
		{"e16", "Enum16('x' = 1000, 'y' = -1000)", int64s(1000, -1000, 1000, 1000, -1000), []string{`"x"`, `"y"`, `"x"`, `"x"`, `"y"`}},
		{"ns", "Nullable(String)", bin(s, str("a"), nil, str(""), nil, str("e")), []string{`"a"`, "NULL", `""`, "NULL", `"e"`}},
		{"ni", "Nullable(Int64)", js(i32, `[null, 1, null, -3, 4]`), []string{"NULL", "1", "NULL", "-3", "4"}},
		{"nd", "Nullable(Decimal(9, 2))", bin(s, str("1.5"), nil, str("-2"), str("0.01"), nil), []string{"1.5", "NULL", "-2", "0.01", "NULL"}},
		{"nt", "Nullable(DateTime)", js(tsS, `["2024-01-01T00:00:00", null, "2000-01-01T01:02:03", null, "1970-01-01T00:00:01"]`),
			[]string{"2024-01-01 00:00:00", "NULL", "2000-01-01 01:02:03", "NULL", "1970-01-01 00:00:01"}},
		{"nda", "Nullable(Date)", js(arrow.FixedWidthTypes.Date32, `[null, "2024-01-01", null, "1970-01-02", "2000-01-01"]`),
			[]string{"NULL", "2024-01-01 00:00:00", "NULL", "1970-01-02 00:00:00", "2000-01-01 00:00:00"}},
		{"nu", "Nullable(UUID)", bin(fsb16, nil, str("0123456789abcdef"), nil, nil, str("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01")),
			[]string{"NULL", "30313233-3435-3637-3839-616263646566", "NULL", "NULL", "00000000-0000-0000-0000-000000000001"}},
		{"nfs", "Nullable(FixedString(2))", bin(s, str("a"), nil, str("bc"), nil, str("")), []string{`"a\x00"`, "NULL", `"bc"`, "NULL", `"\x00\x00"`}},
		{"ne", "Nullable(Enum8('a' = 1, 'b' = 2))", bin(s, nil, str("a"), str("b"), nil, str("a")), []string{"NULL", `"a"`, `"b"`, "NULL", `"a"`}},
		{"nf", "Nullable(Float64)", js(f32, `[0.5, null, -1, null, 2]`), []string{"0.5", "NULL", "-1", "NULL", "2"}},
		{"nu8", "Nullable(UInt8)", js(i64, `[null, null, null, 255, 0]`), []string{"NULL", "NULL", "NULL", "255", "0"}},
		{"lc", "LowCardinality(String)", dict, []string{`"red"`, `"green"`, `"green"`, `"red"`, `"green"`}},
		{"lcn", "LowCardinality(Nullable(String))", bin(s, str("x"), nil, str("x"), str("y"), nil), []string{`"x"`, "NULL", `"x"`, `"y"`, "NULL"}},
		{"ai", "Array(Int32)", js(arrow.ListOf(i64), `[[1, 2], [], [-3], [2147483647, -2147483648, 0], [5]]`),
			[]string{"[1 2]", "[]", "[-3]", "[2147483647 -2147483648 0]", "[5]"}},
		{"ans", "Array(Nullable(String))", js(arrow.ListOf(s), `[["a", null], [null], [], ["b"], ["c", "d", null]]`),
			[]string{`["a" NULL]`, "[NULL]", "[]", `["b"]`, `["c" "d" NULL]`}},
		{"as", "Array(String)", js(arrow.LargeListOf(lstr), `[[], ["x"], ["y", "z"], [""], ["w"]]`), []string{"[]", `["x"]`, `["y" "z"]`, `[""]`, `["w"]`}},
		{"aau", "Array(Array(UInt16))", js(arrow.ListOf(arrow.ListOf(i64)), `[[[1], [2, 3]], [], [[]], [[65535]], [[0], [], [1]]]`),
			[]string{"[[1] [2 3]]", "[]", "[[]]", "[[65535]]", "[[0] [] [1]]"}},
		{"tu", "Tuple(UInt32, String)", js(structOf("x", i64, "y", lstr), `[{"x": 1, "y": "a"}, {"x": 4294967295, "y": ""}, {"x": 0, "y": "héllo"}, {"x": 3, "y": "\u0000"}, {"x": 5, "y": "z"}]`),
			[]string{`[1 "a"]`, `[4294967295 ""]`, `[0 "héllo"]`, `[3 "\x00"]`, `[5 "z"]`}},
		{"tn", "Tuple(Nullable(Int32), String, Nullable(DateTime))", js(structOf("a", i64, "b", s, "c", tsMs), `[{"a": null, "b": "p", "c": null}, {"a": -1, "b": "q", "c": "2024-01-01T00:00:00Z"}, {"a": 2, "b": "", "c": null}, {"a": null, "b": "r", "c": "1970-01-01T00:00:01Z"}, {"a": 7, "b": "s", "c": "2106-02-07T06:28:15Z"}]`),
			[]string{`[NULL "p" NULL]`, `[-1 "q" 2024-01-01 00:00:00]`, `[2 "" NULL]`, `[NULL "r" 1970-01-01 00:00:01]`, `[7 "s" 2106-02-07 06:28:15]`}},
		{"ta", "Tuple(Array(UInt16), Decimal(9, 2))", js(structOf("a", arrow.ListOf(i64), "b", arrow.BinaryTypes.String), `[{"a": [1, 2], "b": "1.5"}, {"a": [], "b": "-2"}, {"a": [65535], "b": "0"}, {"a": [0, 0, 0], "b": "0.01"}, {"a": [], "b": "9999999.99"}]`),
			[]string{"[[1 2] 1.5]", "[[] -2]", "[[65535] 0]", "[[0 0 0] 0.01]", "[[] 9999999.99]"}},
		// No Array(Tuple(...)) column: 18.16 stores one as the Nested-like
		// columns at.1 Array(UInt8), at.2 Array(...), which the writer's
		// plan fills from an Arrow list of structs.
	}

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	perm := []uint32{4, 2, 0, 1, 3}
	types := make([]*Type, len(cols))
	chunks := make([][]arrow.Array, len(cols))
	for i, c := range cols {
		typ, err := ParseType(c.typ)
		if err != nil {
			t.Fatal(err)
		}
		types[i] = typ
		src := c.src(mem)
		conv, err := NewConverter(typ, serverTZ, src.DataType())
		if err != nil {
			src.Release()
			t.Fatalf("column %s: %v", c.name, err)
		}
		out, err := conv.Convert(src, mem)
		src.Release()
		if err != nil {
			t.Fatalf("column %s: %v", c.name, err)
		}
		chunks[i] = []arrow.Array{array.NewSlice(out, 0, 2), array.NewSlice(out, 2, int64(out.Len()))}
		out.Release()
		defer chunks[i][0].Release()
		defer chunks[i][1].Release()
	}

	create := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}))
	// Both insert paths: clickhouse-go's columns (Append) and chload's own
	// Native encoder (AppendNative, over chnative), which takes every column
	// but LowCardinality ones. Each must read back the same values.
	for _, path := range []string{"clickhouse-go", "native"} {
		t.Run(path, func(t *testing.T) {
			var idx []int
			var defs, names []string
			for i, c := range cols {
				if path == "native" && !NativeSupported(types[i]) {
					continue
				}
				idx = append(idx, i)
				defs = append(defs, c.name+" "+c.typ)
				names = append(names, c.name)
			}
			table := fmt.Sprintf("%s.t_%s", db, strings.ReplaceAll(path, "-", "_"))
			// Log keeps the insertion order, so reading back shows that perm was applied.
			ddl := fmt.Sprintf("CREATE TABLE %s (%s) ENGINE = Log", table, strings.Join(defs, ", "))
			if err := conn.Exec(create, ddl); err != nil {
				t.Fatalf("create table: %v", err)
			}
			insert := fmt.Sprintf("INSERT INTO %s (%s)", table, strings.Join(names, ", "))
			if path == "native" {
				insertNative(t, insert, idx, types, chunks, perm)
			} else {
				batch, err := conn.PrepareBatch(ctx, insert)
				if err != nil {
					t.Fatalf("prepare insert: %v", err)
				}
				defer batch.Close()
				for j, i := range idx {
					if err := Append(batch.Column(j), types[i], chunks[i], perm); err != nil {
						t.Fatalf("column %s: %v", cols[i].name, err)
					}
				}
				if err := batch.Send(); err != nil {
					t.Fatalf("send batch: %v", err)
				}
			}

			rows, err := conn.Query(ctx, fmt.Sprintf("SELECT %s FROM %s", strings.Join(names, ", "), table))
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			defer rows.Close()
			got := make([][]string, len(idx))
			for rows.Next() {
				dest := make([]any, len(idx))
				for j, ct := range rows.ColumnTypes() {
					dest[j] = reflect.New(ct.ScanType()).Interface()
				}
				if err := rows.Scan(dest...); err != nil {
					t.Fatalf("scan row: %v", err)
				}
				for j := range idx {
					got[j] = append(got[j], show(dest[j]))
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("read rows: %v", err)
			}
			for j, i := range idx {
				c := cols[i]
				want := make([]string, len(perm))
				for k, p := range perm {
					want[k] = c.want[p]
				}
				if !reflect.DeepEqual(got[j], want) {
					t.Errorf("column %s %s:\n got  %v\n want %v", c.name, c.typ, got[j], want)
				}
			}
		})
	}
}

// insertNative inserts rows perm of the columns idx of chunks with chnative
// and AppendNative, as two blocks of one INSERT.
func insertNative(t *testing.T, query string, idx []int, types []*Type, chunks [][]arrow.Array, perm []uint32) {
	t.Helper()
	ctx := context.Background()
	c, err := chnative.Dial(ctx, chnative.Options{Addr: testenv.ClickHouseAddr(t), Compression: "lz4"})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Close()
	in, err := c.BeginInsert(ctx, query+" VALUES", nil)
	if err != nil {
		t.Fatalf("begin insert: %v", err)
	}
	if len(in.Columns()) != len(idx) {
		t.Fatalf("server header %v, want %d columns", in.Columns(), len(idx))
	}
	lens := []int{chunks[0][0].Len(), chunks[0][1].Len()}
	for _, part := range [][]uint32{perm[:2], perm[2:]} {
		refs, err := LocateRows(lens, part)
		if err != nil {
			t.Fatal(err)
		}
		err = in.WriteBlock(len(part), func(dst []byte, j int) ([]byte, error) {
			return AppendNative(dst, types[idx[j]], chunks[idx[j]], refs)
		})
		if err != nil {
			t.Fatalf("write block: %v", err)
		}
	}
	if err := in.Finish(); err != nil {
		t.Fatalf("finish insert: %v", err)
	}
}
