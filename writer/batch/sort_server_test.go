package batch_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/uuid"

	"github.com/chload/chload/internal/testenv"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/chcol"
	"github.com/chload/chload/writer/chserver"
	"github.com/chload/chload/writer/plan"
)

// sortColumn is one column of a sorting-key test table: its ClickHouse
// type and the values its rows draw from (nil is NULL), in the Go type of
// its canonical Arrow builder.
type sortColumn struct {
	typ  string
	pool []any
}

func uuids(ss ...string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		u := uuid.MustParse(s)
		out[i] = u[:]
	}
	return out
}

// decimals returns unscaled Decimal values.
func decimals(vals ...int64) []any {
	out := make([]any, 0, len(vals))
	for _, v := range vals {
		out = append(out, decimal128.FromI64(v))
	}
	return out
}

var (
	uuidPool = uuids(
		"00000000-0000-0001-0000-000000000000", "ff000000-0000-0000-0000-000000000000",
		"00000000-0000-0000-0000-000000000001", "01000000-0000-0000-0000-000000000001",
		"00000000-0000-0000-0100-000000000000", "00000000-0000-0000-8000-000000000000",
		"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
		"123e4567-e89b-12d3-a456-426614174000", "8b5f0a3c-0000-4000-8000-00000000ffff")
	float64Pool = []any{math.NaN(), -math.NaN(), math.Copysign(0, -1), 0.0, math.Inf(1), math.Inf(-1), -1.5, 2.25, math.SmallestNonzeroFloat64, -math.MaxFloat64}
	float32Pool = []any{float32(math.NaN()), float32(-math.NaN()), float32(math.Copysign(0, -1)), float32(0), float32(math.Inf(1)), float32(math.Inf(-1)), float32(-1.5), float32(2.25), float32(math.MaxFloat32)}
	stringPool  = []any{"", "a", "a\x00", "ab", "b", "\xff", "é", "Z", "zz"}
	big         = decimal128.FromI64(1_000_000_000_000_000_000).Mul(decimal128.FromI64(1_000_000_000_000_000))
)

// sortCases are the sortable types chload loads into 18.16, each as the
// only sorting key column (k0) or, for the key_ cases, several. (A Tuple
// column in a key is refused by the plan before any data is read.)
var sortCases = []struct {
	name    string
	cols    []sortColumn
	orderBy string
}{
	{"Int8", []sortColumn{{"Int8", []any{int8(math.MinInt8), int8(-1), int8(0), int8(1), int8(math.MaxInt8)}}}, "k0"},
	{"Int16", []sortColumn{{"Int16", []any{int16(math.MinInt16), int16(-1), int16(0), int16(300), int16(math.MaxInt16)}}}, "k0"},
	{"Int32", []sortColumn{{"Int32", []any{int32(math.MinInt32), int32(-1), int32(0), int32(70000), int32(math.MaxInt32)}}}, "k0"},
	{"Int64", []sortColumn{{"Int64", []any{int64(math.MinInt64), int64(-1), int64(0), int64(1 << 40), int64(math.MaxInt64)}}}, "k0"},
	{"UInt8", []sortColumn{{"UInt8", []any{uint8(0), uint8(1), uint8(128), uint8(255)}}}, "k0"},
	{"UInt16", []sortColumn{{"UInt16", []any{uint16(0), uint16(1), uint16(1 << 15), uint16(math.MaxUint16)}}}, "k0"},
	{"UInt32", []sortColumn{{"UInt32", []any{uint32(0), uint32(1), uint32(1 << 31), uint32(math.MaxUint32)}}}, "k0"},
	{"UInt64", []sortColumn{{"UInt64", []any{uint64(0), uint64(1), uint64(1 << 63), uint64(math.MaxUint64)}}}, "k0"},
	{"Float32", []sortColumn{{"Float32", float32Pool}}, "k0"},
	{"Float64", []sortColumn{{"Float64", float64Pool}}, "k0"},
	{"Decimal32", []sortColumn{{"Decimal32(2)", decimals(-999_999_999, -150, -1, 0, 1, 150, 999_999_999)}}, "k0"},
	{"Decimal64", []sortColumn{{"Decimal64(4)", decimals(-999_999_999_999_999_999, -1, 0, 1, 1<<40, 999_999_999_999_999_999)}}, "k0"},
	{"Decimal128", []sortColumn{{"Decimal128(10)", append(decimals(math.MinInt64, -1, 0, 1, math.MaxInt64), big, big.Negate())}}, "k0"},
	{"String", []sortColumn{{"String", stringPool}}, "k0"},
	{"FixedString", []sortColumn{{"FixedString(3)", []any{"\x00\x00\x00", "a\x00\x00", "a\x00\x01", "ab\x00", "\xff\x00\x00", "\xff\xff\xff"}}}, "k0"},
	{"Date", []sortColumn{{"Date", []any{arrow.Date32(0), arrow.Date32(1), arrow.Date32(17000), arrow.Date32(49000)}}}, "k0"},
	{"DateTime", []sortColumn{{"DateTime", []any{arrow.Timestamp(0), arrow.Timestamp(1), arrow.Timestamp(1_500_000_000), arrow.Timestamp(math.MaxInt32 + 1), arrow.Timestamp(math.MaxUint32)}}}, "k0"},
	{"UUID", []sortColumn{{"UUID", uuidPool}}, "k0"},
	{"Enum8", []sortColumn{{"Enum8('z' = -5, 'a' = 1, 'm' = 100)", []any{int8(-5), int8(1), int8(100)}}}, "k0"},
	{"Enum16", []sortColumn{{"Enum16('b' = -1000, 'a' = 2000, 'c' = 3)", []any{int16(-1000), int16(2000), int16(3)}}}, "k0"},
	{"LowCardinality_String", []sortColumn{{"LowCardinality(String)", stringPool}}, "k0"},
	{"LowCardinality_Nullable_String", []sortColumn{{"LowCardinality(Nullable(String))", append([]any{nil}, stringPool...)}}, "k0"},
	{"Nullable_UUID", []sortColumn{{"Nullable(UUID)", append([]any{nil}, uuidPool...)}}, "k0"},
	{"Nullable_Float64", []sortColumn{{"Nullable(Float64)", append([]any{nil}, float64Pool...)}}, "k0"},
	{"Nullable_Int32", []sortColumn{{"Nullable(Int32)", []any{nil, int32(-1), int32(0), int32(1)}}}, "k0"},
	{"key_Enum8_UUID_Float64", []sortColumn{
		{"Enum8('z' = -5, 'a' = 1)", []any{int8(-5), int8(1)}}, {"UUID", uuidPool[:4]}, {"Float64", float64Pool},
	}, "(k0, k1, k2)"},
	{"key_String_Int32_Decimal", []sortColumn{
		{"String", stringPool[:3]}, {"Int32", []any{int32(-1), int32(1)}}, {"Decimal64(4)", decimals(-5, 0, 5)},
	}, "(k0, k1, k2)"},
}

// TestServerCountsBlocksSorted inserts batches of each sortable type through
// chload's inserter into a table ordered by that type, as one unsorted chunk
// and as chunks sorted while reading, and asserts the server found each
// block already sorted: its MergeTreeDataWriterBlocks and
// MergeTreeDataWriterBlocksAlreadySorted counters (server-wide, one per
// part written) both grow by one across the insert. Another client's insert
// in between makes the deltas larger; the insert is then repeated.
func TestServerCountsBlocksSorted(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	ctx := context.Background()
	node := chserver.NewNode(conn, writer.ConnParams{})
	server, err := node.Server(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addr := testenv.ClickHouseAddr(t)
	for ci, tc := range sortCases {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			var defs []string
			for i, c := range tc.cols {
				defs = append(defs, fmt.Sprintf("k%d %s", i, c.typ))
			}
			table := fmt.Sprintf("t%d", ci)
			ddl := fmt.Sprintf("CREATE TABLE %s.%s (%s, seq UInt32) ENGINE = MergeTree ORDER BY %s", db, table, strings.Join(defs, ", "), tc.orderBy)
			create := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}))
			if err := conn.Exec(create, ddl); err != nil {
				var ex *clickhouse.Exception
				if errors.As(err, &ex) && strings.Contains(ex.Message, "Sorting key cannot contain nullable columns") {
					t.Skipf("this server refuses the key: %v", err)
				}
				t.Fatalf("create table: %v", err)
			}
			desc, err := node.Describe(ctx, db, table)
			if err != nil {
				t.Fatal(err)
			}
			wt, err := writer.NewTable(desc)
			if err != nil {
				t.Fatal(err)
			}
			rec := sortSource(t, mem, tc.cols, server.Timezone, 3000, uint64(ci))
			pl, err := plan.New(wt, server, rec.Schema(), false)
			if err != nil {
				rec.Release()
				t.Fatal(err)
			}
			conv, err := pl.Convert(rec, mem)
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
			defer conv.Release()
			w := chserver.NewInserter(conn, writer.ConnParams{Addrs: []string{addr}, User: "default", Compression: "lz4"}, pl.Insert(), mem)
			defer w.Close()
			// The batch as one unsorted chunk (sorted at insert time), and as
			// three chunks sorted while reading (merged at insert time).
			inserts := 0
			whole := func() *batch.Batch {
				conv.Retain()
				return &batch.Batch{Partition: "tuple()", Chunks: []arrow.Record{conv}, Rows: conv.NumRows()}
			}
			inserts += insertCountedSorted(t, conn, w, "one chunk", whole)
			merged := func() *batch.Batch {
				b := &batch.Batch{Partition: "tuple()", SortedChunks: true}
				n := conv.NumRows()
				for _, r := range [][2]int64{{0, n / 3}, {n / 3, n/3 + 1}, {n/3 + 1, n}} {
					part := conv.NewSlice(r[0], r[1])
					order, err := batch.SortPermutation([]arrow.Record{part}, pl.Insert().Sorting, mem)
					if err != nil {
						t.Fatal(err)
					}
					pieces, err := batch.SplitRows(ctx, batch.Rows{Record: part, Order: order}, mem)
					part.Release()
					if err != nil || len(pieces.List) != 1 || !pieces.Sorted {
						t.Fatalf("split rows: %v (%d pieces, sorted %v)", err, len(pieces.List), pieces.Sorted)
					}
					b.Chunks = append(b.Chunks, pieces.List[0].Record)
					b.Rows += pieces.List[0].Record.NumRows()
				}
				return b
			}
			inserts += insertCountedSorted(t, conn, w, "sorted chunks", merged)
			var count uint64
			if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.%s", db, table)).Scan(&count); err != nil {
				t.Fatal(err)
			}
			if want := uint64(inserts) * uint64(conv.NumRows()); count != want {
				t.Errorf("%d rows in the table, want %d", count, want)
			}
		})
	}
}

// insertCountedSorted inserts the batch mk makes through w and asserts the
// server counted its block as already sorted; it returns the number of
// inserts made (another client's insert in between makes the counters'
// deltas larger than one block, and the insert is then repeated).
func insertCountedSorted(t *testing.T, conn driver.Conn, w *chserver.Inserter, what string, mk func() *batch.Batch) int {
	t.Helper()
	for attempt := 1; ; attempt++ {
		blocks0, sorted0 := writerCounters(t, conn)
		b := mk()
		err := w.Insert(context.Background(), b)
		b.Release()
		if err != nil {
			t.Fatalf("insert %s: %v", what, err)
		}
		blocks1, sorted1 := writerCounters(t, conn)
		if blocks1-blocks0 == 1 {
			if sorted1-sorted0 != 1 {
				t.Errorf("%s: the server re-sorted chload's block: MergeTreeDataWriterBlocksAlreadySorted grew by %d for 1 block", what, sorted1-sorted0)
			}
			return attempt
		}
		if attempt == 5 {
			t.Fatalf("%s: another client wrote blocks during each of %d inserts (last: %d blocks); cannot tell whether ours was sorted", what, attempt, blocks1-blocks0)
		}
		t.Logf("%s: attempt %d: %d blocks written during the insert (another client's too); again", what, attempt, blocks1-blocks0)
	}
}

// writerCounters returns the server's MergeTreeDataWriterBlocks and
// MergeTreeDataWriterBlocksAlreadySorted (system.events lists an event
// only once it is not zero).
func writerCounters(t *testing.T, conn driver.Conn) (blocks, sorted uint64) {
	t.Helper()
	q := "SELECT sumIf(value, event = 'MergeTreeDataWriterBlocks'), sumIf(value, event = 'MergeTreeDataWriterBlocksAlreadySorted') FROM system.events"
	if err := conn.QueryRow(context.Background(), q).Scan(&blocks, &sorted); err != nil {
		t.Fatalf("read system.events: %v", err)
	}
	return blocks, sorted
}

// sortSource builds n rows in random order: column k<i> in the canonical
// Arrow type of cols[i] with values drawn from its pool, and seq, the row's
// number.
func sortSource(t *testing.T, mem memory.Allocator, cols []sortColumn, tz string, n int, seed uint64) arrow.Record {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 10))
	var fields []arrow.Field
	for i, c := range cols {
		typ, err := chcol.ParseType(c.typ)
		if err != nil {
			t.Fatal(err)
		}
		dt, err := typ.Arrow(tz)
		if err != nil {
			t.Fatal(err)
		}
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("k%d", i), Type: dt, Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: "seq", Type: arrow.PrimitiveTypes.Uint32})
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	for row := 0; row < n; row++ {
		for i, c := range cols {
			appendAny(t, b.Field(i), c.pool[r.IntN(len(c.pool))])
		}
		b.Field(len(cols)).(*array.Uint32Builder).Append(uint32(row))
	}
	return b.NewRecord()
}

// appendAny appends v (nil for NULL) to a builder of its canonical type.
func appendAny(t *testing.T, b array.Builder, v any) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.Int8Builder:
		b.Append(v.(int8))
	case *array.Int16Builder:
		b.Append(v.(int16))
	case *array.Int32Builder:
		b.Append(v.(int32))
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Uint8Builder:
		b.Append(v.(uint8))
	case *array.Uint16Builder:
		b.Append(v.(uint16))
	case *array.Uint32Builder:
		b.Append(v.(uint32))
	case *array.Uint64Builder:
		b.Append(v.(uint64))
	case *array.Float32Builder:
		b.Append(v.(float32))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.Decimal128Builder:
		b.Append(v.(decimal128.Num))
	case *array.Date32Builder:
		b.Append(v.(arrow.Date32))
	case *array.TimestampBuilder:
		b.Append(v.(arrow.Timestamp))
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.BinaryBuilder:
		b.AppendString(v.(string))
	case *array.FixedSizeBinaryBuilder:
		switch v := v.(type) {
		case string:
			b.Append([]byte(v))
		case []byte:
			b.Append(v)
		}
	default:
		t.Fatalf("no test values for builder %T", b)
	}
}
