package transform

import (
	"context"
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/testenv"
)

// shardingExpressions are evaluated by the server and by this package on the
// same rows. ClickHouse 18.16 lacks xxHash64 and javaHash; those are covered
// by known vectors in TestShardingFunctions.
var shardingExpressions = []string{
	"cityHash64(s)", "cityHash64(fs)", "cityHash64(i8)", "cityHash64(i16)", "cityHash64(i32)", "cityHash64(i64)",
	"cityHash64(u8)", "cityHash64(u16)", "cityHash64(u32)", "cityHash64(u64)", "cityHash64(f32)", "cityHash64(f64)",
	"cityHash64(d)", "cityHash64(ts)", "cityHash64(tsm)", "cityHash64(s, u64)", "cityHash64(s, i64, d, ts)",
	"cityHash64(tuple(s, i32), fs)", "cityHash64(i8, i16, i32, f32)",
	"sipHash64(s)", "sipHash64(fs)", "sipHash64(i8)", "sipHash64(i16)", "sipHash64(i32)", "sipHash64(i64)",
	"sipHash64(u8)", "sipHash64(u16)", "sipHash64(u32)", "sipHash64(u64)", "sipHash64(f32)", "sipHash64(f64)",
	"sipHash64(d)", "sipHash64(ts)", "sipHash64(d, s)", "sipHash64(s, i64, u8)", "sipHash64(tuple(fs, d), tsm)",
	"murmurHash3_64(s)", "murmurHash3_64(fs)", "murmurHash3_64(i8)", "murmurHash3_64(i32)", "murmurHash3_64(i64)",
	"murmurHash3_64(u16)", "murmurHash3_64(u64)", "murmurHash3_64(f64)", "murmurHash3_64(d)", "murmurHash3_64(ts)",
	"murmurHash3_64(s, i32, d)",
	"intHash32(i8)", "intHash32(i16)", "intHash32(i32)", "intHash32(i64)", "intHash32(u8)", "intHash32(u32)",
	"intHash32(u64)", "intHash32(d)", "intHash32(ts)",
	"intHash64(i8)", "intHash64(i16)", "intHash64(i32)", "intHash64(i64)", "intHash64(u16)", "intHash64(u64)",
	"intHash64(d)", "intHash64(ts)",
	"i64 + u8", "i8 + i8", "u8 + u8", "u32 + u64", "i32 + u32", "u64 + i64", "i64 - u64", "u8 - u16", "u32 - i8",
	"i16 * i16", "u64 * u64", "i64 * i32", "u16 * i8", "abs(i8)", "abs(i64)", "abs(u32)", "negate(u16)", "-i32",
	"i64 % 7", "i32 % 100", "u32 % 1000", "u64 % 4294967296", "i64 % (u16 + 1)", "u64 % (u8 + 1)", "i16 % (u8 + 1)", "i32 % (i8 * 2 + 1)",
	"i64 % 7 + 3", "intHash64(i64) % 10", "cityHash64(s) % 3 + 1", "abs(i32) % 16",
	"intDiv(i64, 10) + 1",
}

// legacyModuloTypes are result types that ClickHouse 18.16 gives modulo
// expressions of shardingExpressions, where current releases differ (see
// moduloType); the values agree on these rows.
var legacyModuloTypes = map[string]string{
	"i64 % 7": "int8", "i32 % 100": "int8", "u32 % 1000": "uint16", "u64 % 4294967296": "uint64",
	"i64 % (u16 + 1)": "int32", "u64 % (u8 + 1)": "uint16", "i16 % (u8 + 1)": "int16", "i32 % (i8 * 2 + 1)": "int32",
	"i64 % 7 + 3": "int16", "intHash64(i64) % 10": "uint8", "cityHash64(s) % 3 + 1": "uint16",
	"abs(i32) % 16": "uint8",
}

type hashRow struct {
	s, fs      string
	i8         int8
	i16        int16
	i32        int32
	i64        int64
	u8         uint8
	u16        uint16
	u32        uint32
	u64        uint64
	f32        float32
	f64        float64
	d, ts, tsm time.Time
}

func hashRows() []hashRow {
	rnd := rand.New(rand.NewSource(7))
	str := func() string {
		b := make([]byte, rnd.Intn(40))
		for i := range b {
			b[i] = byte(rnd.Intn(256))
		}
		return string(b)
	}
	edgeI := []int64{0, 1, -1, math.MaxInt64, math.MinInt64, 127, -128, 32767, -32768, math.MaxInt32, math.MinInt32}
	edgeS := []string{"", "a", "Hello, world!", strings.Repeat("x", 64), strings.Repeat("yz", 33), "ünïcødé", "\x00"}
	const n = 400
	rows := make([]hashRow, n)
	for i := range rows {
		r := &rows[i]
		v := int64(rnd.Uint64()) >> uint(rnd.Intn(64))
		if i < len(edgeI) {
			v = edgeI[i]
		}
		r.i8, r.i16, r.i32, r.i64 = int8(v), int16(v>>3), int32(v>>5), v
		u := rnd.Uint64() >> uint(rnd.Intn(64))
		if i < 4 {
			u = []uint64{0, 1, math.MaxUint64, math.MaxUint32}[i]
		}
		r.u8, r.u16, r.u32, r.u64 = uint8(u), uint16(u>>2), uint32(u>>4), u
		r.f32 = float32(rnd.NormFloat64() * 1e3)
		r.f64 = rnd.NormFloat64() * math.Pow(10, float64(rnd.Intn(20)-10))
		if i < 3 {
			r.f32, r.f64 = []float32{0, 1.5, -2}[i], []float64{0, 1.5, -1e300}[i]
		}
		r.s = str()
		if i < len(edgeS) {
			r.s = edgeS[i]
		}
		fs := []byte(str() + "\x00\x00\x00\x00")[:4]
		r.fs = string(fs)
		r.d = time.Unix(rnd.Int63n(49710)*86400, 0).UTC()
		r.ts = time.Unix(rnd.Int63n(1<<32), 0).UTC()
		r.tsm = time.Unix(rnd.Int63n(1<<32), 0).UTC()
	}
	return rows
}

// TestShardingFunctionsAgainstServer compares every sharding function and
// arithmetic operator, over every input type, with the server's values.
func TestShardingFunctionsAgainstServer(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	ctx := context.Background()
	table := db + ".hashes"
	if err := conn.Exec(ctx, `CREATE TABLE `+table+` (id UInt32, s String, fs FixedString(4),
		i8 Int8, i16 Int16, i32 Int32, i64 Int64, u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64,
		f32 Float32, f64 Float64, d Date, ts DateTime('UTC'), tsm DateTime('Europe/Moscow'))
		ENGINE = MergeTree ORDER BY id`); err != nil {
		t.Fatalf("create table: %v", err)
	}
	rows := hashRows()
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" (id, s, fs, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, d, ts, tsm)")
	if err != nil {
		t.Fatalf("prepare insert: %v", err)
	}
	for i, r := range rows {
		if err := batch.Append(uint32(i), r.s, r.fs, r.i8, r.i16, r.i32, r.i64, r.u8, r.u16, r.u32, r.u64,
			r.f32, r.f64, r.d, r.ts, r.tsm); err != nil {
			t.Fatalf("append row %d: %v", i, err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatalf("insert: %v", err)
	}

	var cols []string
	for _, e := range shardingExpressions {
		cols = append(cols, "toString("+e+")", "toTypeName("+e+")")
	}
	res, err := conn.Query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+table+" ORDER BY id")
	if err != nil {
		t.Fatalf("query expressions: %v", err)
	}
	defer res.Close()
	var values [][]string // [row][expr]
	var types []string
	for res.Next() {
		v := make([]string, len(shardingExpressions))
		ty := make([]string, len(shardingExpressions))
		dest := make([]any, 0, 2*len(v))
		for i := range v {
			dest = append(dest, &v[i], &ty[i])
		}
		if err := res.Scan(dest...); err != nil {
			t.Fatalf("scan: %v", err)
		}
		values, types = append(values, v), ty
	}
	if err := res.Err(); err != nil {
		t.Fatalf("read expressions: %v", err)
	}
	if len(values) != len(rows) {
		t.Fatalf("server returned %d rows, inserted %d", len(values), len(rows))
	}

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := hashRecord(mem, rows)
	defer rec.Release()
	for k, text := range shardingExpressions {
		t.Run(text, func(t *testing.T) {
			e, err := Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			rt, err := e.ResultType(rec.Schema())
			if err != nil {
				t.Fatal(err)
			}
			if legacy, ok := legacyModuloTypes[text]; ok {
				// The server is 18.16; this package types modulo as current releases do.
				if got := arrowTypeOf(types[k]); got != legacy {
					t.Errorf("server type %s, expected 18.16's %s", got, legacy)
				}
			} else if want := arrowTypeOf(types[k]); rt.String() != want {
				t.Errorf("ResultType = %s, server type %s", rt, types[k])
			}
			arr, err := e.Eval(rec, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer arr.Release()
			bad := 0
			for i := 0; i < arr.Len(); i++ {
				if g, w := FormatValue(arr, i), values[i][k]; g != w {
					bad++
					if bad <= 5 {
						r := rows[i]
						t.Errorf("row %d (s=%q fs=%q i8=%d i16=%d i32=%d i64=%d u8=%d u16=%d u32=%d u64=%d f32=%v f64=%v d=%s ts=%d): got %s, server %s",
							i, r.s, r.fs, r.i8, r.i16, r.i32, r.i64, r.u8, r.u16, r.u32, r.u64, r.f32, r.f64,
							r.d.Format("2006-01-02"), r.ts.Unix(), g, w)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d rows differ", bad, arr.Len())
			}
		})
	}
}

func hashRecord(mem memory.Allocator, rows []hashRow) arrow.Record {
	b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "fs", Type: &arrow.FixedSizeBinaryType{ByteWidth: 4}},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8},
		{Name: "i16", Type: arrow.PrimitiveTypes.Int16},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64},
		{Name: "u8", Type: arrow.PrimitiveTypes.Uint8},
		{Name: "u16", Type: arrow.PrimitiveTypes.Uint16},
		{Name: "u32", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "u64", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}},
		{Name: "tsm", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "Europe/Moscow"}},
	}, nil))
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.s)
		b.Field(1).(*array.FixedSizeBinaryBuilder).Append([]byte(r.fs))
		b.Field(2).(*array.Int8Builder).Append(r.i8)
		b.Field(3).(*array.Int16Builder).Append(r.i16)
		b.Field(4).(*array.Int32Builder).Append(r.i32)
		b.Field(5).(*array.Int64Builder).Append(r.i64)
		b.Field(6).(*array.Uint8Builder).Append(r.u8)
		b.Field(7).(*array.Uint16Builder).Append(r.u16)
		b.Field(8).(*array.Uint32Builder).Append(r.u32)
		b.Field(9).(*array.Uint64Builder).Append(r.u64)
		b.Field(10).(*array.Float32Builder).Append(r.f32)
		b.Field(11).(*array.Float64Builder).Append(r.f64)
		b.Field(12).(*array.Date32Builder).Append(arrow.Date32(r.d.Unix() / secondsPerDay))
		b.Field(13).(*array.TimestampBuilder).Append(arrow.Timestamp(r.ts.Unix()))
		b.Field(14).(*array.TimestampBuilder).Append(arrow.Timestamp(r.tsm.Unix()))
	}
	return b.NewRecord()
}
