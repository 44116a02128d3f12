package transform

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/testenv"
)

// serverRow is one row of the integration table as read back from the server.
type serverRow struct {
	id                 uint32
	d                  time.Time
	ts, tsm, tsn       time.Time
	i32                int32
	u64                uint64
	i64                int64
	exprs              []string
	partition, typeErr string
}

// keyExpressions are evaluated by the server and by this package on the
// same rows. intDiv divisors avoid the combinations where ClickHouse 18.16
// applies C++ unsigned promotion (signed x with an unsigned N at least as
// wide, unsigned x with a negative N) and differs from current versions.
var keyExpressions = []string{
	"d", "toYYYYMM(d)", "toYYYYMMDD(d)", "toDate(d)", "toStartOfMonth(d)", "toMonday(d)",
	"toYYYYMM(ts)", "toYYYYMMDD(ts)", "toDate(ts)", "toStartOfMonth(ts)", "toMonday(ts)",
	"toYYYYMM(tsm)", "toYYYYMMDD(tsm)", "toDate(tsm)", "toStartOfMonth(tsm)", "toMonday(tsm)",
	"toYYYYMM(tsn)", "toYYYYMMDD(tsn)", "toDate(tsn)", "toStartOfMonth(tsn)", "toMonday(tsn)",
	"toMonday(toDate(tsn))", "toYYYYMM(toStartOfMonth(tsm))",
	"intDiv(i32, 1000)", "intDiv(i32, -3)", "intDiv(i32, 7)", "intDiv(i64, 7)", "intDiv(i64, -3)",
	"intDiv(i64, 1000000)", "intDiv(i64, 4294967295)", "intDiv(u64, 1000)", "intDiv(u64, 3)",
	"intDiv(u64, 4294967296)", "intDiv(intDiv(i64, 10), 10)", "i32", "u64",
}

// TestKeysAgainstServer inserts edge and random values into a table, lets the
// server compute every expression, and compares each row with Eval.
func TestKeysAgainstServer(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	ctx := context.Background()
	table := db + ".keys"
	if err := conn.Exec(ctx, `CREATE TABLE `+table+` (id UInt32, d Date, ts DateTime('UTC'),
		tsm DateTime('Europe/Moscow'), tsn DateTime('America/New_York'), i32 Int32, u64 UInt64, i64 Int64)
		ENGINE = MergeTree PARTITION BY (toYYYYMM(d), intDiv(i32, -1000000000)) ORDER BY id`); err != nil {
		t.Fatalf("create table: %v", err)
	}
	rows := testRows(t)
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" (id, d, ts, tsm, tsn, i32, u64, i64)")
	if err != nil {
		t.Fatalf("prepare insert: %v", err)
	}
	for _, r := range rows {
		if err := batch.Append(r.id, r.d, r.ts, r.tsm, r.tsn, r.i32, r.u64, r.i64); err != nil {
			t.Fatalf("append row %d: %v", r.id, err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatalf("insert: %v", err)
	}

	// Server results as text: Dates as their day number, numbers in decimal.
	var cols, types []string
	for _, e := range keyExpressions {
		cols = append(cols, serverNumber(e))
		types = append(types, "toTypeName("+e+")")
	}
	q := "SELECT id, d, ts, tsm, tsn, i32, u64, i64, " + strings.Join(cols, ", ") + ", " + strings.Join(types, ", ") +
		" FROM " + table + " ORDER BY id"
	res, err := conn.Query(ctx, q)
	if err != nil {
		t.Fatalf("query keys: %v", err)
	}
	defer res.Close()
	var got []serverRow
	var serverTypes []string
	for res.Next() {
		var r serverRow
		r.exprs = make([]string, len(keyExpressions))
		typeNames := make([]string, len(keyExpressions))
		dest := []any{&r.id, &r.d, &r.ts, &r.tsm, &r.tsn, &r.i32, &r.u64, &r.i64}
		for i := range r.exprs {
			dest = append(dest, &r.exprs[i])
		}
		for i := range typeNames {
			dest = append(dest, &typeNames[i])
		}
		if err := res.Scan(dest...); err != nil {
			t.Fatalf("scan: %v", err)
		}
		serverTypes = typeNames
		got = append(got, r)
	}
	if err := res.Err(); err != nil {
		t.Fatalf("read keys: %v", err)
	}
	if len(got) != len(rows) {
		t.Fatalf("server returned %d rows, inserted %d", len(got), len(rows))
	}

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := serverRecord(mem, got)
	defer rec.Release()

	for k, text := range keyExpressions {
		t.Run(text, func(t *testing.T) {
			e, err := Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			rt, err := e.ResultType(rec.Schema())
			if err != nil {
				t.Fatal(err)
			}
			if want := arrowTypeOf(serverTypes[k]); rt.String() != want {
				t.Errorf("ResultType = %s, server type %s (want %s)", rt, serverTypes[k], want)
			}
			arr, err := e.Eval(rec, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer arr.Release()
			bad := 0
			for i := 0; i < arr.Len(); i++ {
				if g, w := numberText(arr, i), got[i].exprs[k]; g != w {
					bad++
					if bad <= 5 {
						t.Errorf("row id=%d (d=%s ts=%d tsm=%s tsn=%s i32=%d u64=%d i64=%d): got %s, server %s",
							got[i].id, got[i].d.Format("2006-01-02"), got[i].ts.Unix(), got[i].tsm, got[i].tsn,
							got[i].i32, got[i].u64, got[i].i64, g, w)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d rows differ", bad, arr.Len())
			}
		})
	}

	// The partition of each part, as system.parts shows it, matches PartitionText.
	checkPartitions(t, conn, db, rec, mem)
}

// serverNumber wraps e so that a Date comes back as its day number.
func serverNumber(e string) string {
	return "if(toTypeName(" + e + ") = 'Date', toString(toUInt16(toDate(" + e + "))), toString(" + e + "))"
}

// arrowTypeOf names the Arrow type this package uses for a ClickHouse type.
func arrowTypeOf(chType string) string {
	switch chType {
	case "Date":
		return "date32"
	case "String":
		return "utf8"
	}
	return strings.ToLower(chType)
}

// numberText prints row i of a as the server query above does.
func numberText(a arrow.Array, i int) string {
	switch a := a.(type) {
	case *array.Date32:
		return strconv.Itoa(int(a.Value(i)))
	}
	return FormatValue(a, i)
}

func serverRecord(mem memory.Allocator, rows []serverRow) arrow.Record {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}},
		{Name: "tsm", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "Europe/Moscow"}},
		{Name: "tsn", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "America/New_York"}},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32},
		{Name: "u64", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Uint32Builder).Append(r.id)
		y, m, d := r.d.Date()
		b.Field(1).(*array.Date32Builder).Append(arrow.Date32(daysFromCivil(int64(y), int(m), d)))
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(r.ts.Unix()))
		b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(r.tsm.Unix()))
		b.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(r.tsn.Unix()))
		b.Field(5).(*array.Int32Builder).Append(r.i32)
		b.Field(6).(*array.Uint64Builder).Append(r.u64)
		b.Field(7).(*array.Int64Builder).Append(r.i64)
	}
	return b.NewRecord()
}

// testRows returns edge values followed by random ones. The timestamps of
// the zoned columns stay within the local days 1970-01-01 .. 2105-12-31 that
// ClickHouse 18.16's date tables cover.
func testRows(t *testing.T) []serverRow {
	t.Helper()
	date := func(s string) time.Time {
		v, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	at := func(zone, s string) time.Time {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	dates := []time.Time{}
	for _, s := range []string{
		"1970-01-01", "1970-01-02", "1970-01-04", "1970-01-05", "1970-01-31", "1970-02-01",
		"1972-02-29", "1999-12-31", "2000-01-01", "2000-02-29", "2000-03-01", "2019-02-28",
		"2020-02-29", "2020-03-01", "2020-04-30", "2020-12-31", "2021-01-01", "2038-01-19",
		"2038-01-20", "2100-02-28", "2100-03-01", "2104-02-29", "2105-12-31", "2105-12-25",
	} {
		dates = append(dates, date(s))
	}
	var utc []time.Time
	for _, s := range []string{"1970-01-01 00:00:00", "1970-01-01 23:59:59", "1970-01-02 00:00:00",
		"2020-02-29 23:59:59", "2020-03-01 00:00:00", "2038-01-19 03:14:08", "2105-12-31 23:59:59"} {
		utc = append(utc, at("UTC", s))
	}
	var msk []time.Time
	for _, s := range []string{"1970-01-01 03:00:00", "1970-01-01 23:59:59", "1981-04-01 00:00:00",
		"1981-03-31 23:59:59", "1991-03-31 01:59:59", "2011-03-27 01:59:59", "2011-03-27 03:00:00",
		"2014-10-26 00:59:59", "2014-10-26 01:00:00", "2014-10-26 01:59:59", "2014-10-26 02:00:00",
		"2020-02-29 23:59:59", "2020-03-01 00:00:00", "2020-12-31 23:59:59", "2105-12-31 23:59:59"} {
		msk = append(msk, at("Europe/Moscow", s))
	}
	// Around 2014-10-26 Moscow moved from +04 to +03 at 02:00 local.
	msk = append(msk, time.Unix(1414274400-1, 0), time.Unix(1414274400, 0))
	var nyc []time.Time
	for _, s := range []string{"1970-01-01 00:00:00", "1970-01-31 23:59:59", "2021-03-14 01:59:59",
		"2021-03-14 03:00:00", "2021-11-07 00:59:59", "2021-11-07 01:30:00", "2021-11-07 23:59:59",
		"2021-11-08 00:00:00", "2024-02-29 23:59:59", "2024-03-01 00:00:00", "2100-03-14 03:00:00",
		"2105-12-31 23:59:59"} {
		nyc = append(nyc, at("America/New_York", s))
	}
	// The repeated hour of 2021-11-07: 01:30 EDT and 01:30 EST.
	nyc = append(nyc, time.Unix(1636263000, 0), time.Unix(1636263000+3600, 0))
	ints32 := []int32{0, 1, -1, 999, 1000, -999, -1000, -1001, 2, -2, 3, -3, 6, 7, -7, -8,
		math.MaxInt32, math.MinInt32, math.MinInt32 + 1}
	ints64 := []int64{0, 1, -1, 7, -7, 999999, 1000000, -1000000, -1000001, 4294967295, -4294967295,
		-4294967296, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	uints64 := []uint64{0, 1, 999, 1000, 1001, 4294967295, 4294967296, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64}

	rnd := rand.New(rand.NewSource(1))
	const n = 400
	minNY := at("America/New_York", "1970-01-01 00:00:00").Unix()
	maxTS := at("UTC", "2105-12-31 23:59:59").Unix() - 86400
	out := make([]serverRow, n)
	for i := range out {
		r := &out[i]
		r.id = uint32(i)
		pick := func(k int) bool { return i < k }
		switch {
		case pick(len(dates)):
			r.d = dates[i]
		default:
			r.d = time.Unix(rnd.Int63n(49710)*86400, 0).UTC()
		}
		if pick(len(utc)) {
			r.ts = utc[i]
		} else {
			r.ts = time.Unix(rnd.Int63n(maxTS), 0)
		}
		if pick(len(msk)) {
			r.tsm = msk[i]
		} else {
			r.tsm = time.Unix(rnd.Int63n(maxTS), 0)
		}
		if pick(len(nyc)) {
			r.tsn = nyc[i]
		} else {
			r.tsn = time.Unix(minNY+rnd.Int63n(maxTS-minNY), 0)
		}
		if pick(len(ints32)) {
			r.i32 = ints32[i]
		} else {
			r.i32 = int32(rnd.Uint32())
		}
		if pick(len(ints64)) {
			r.i64 = ints64[i]
		} else {
			r.i64 = int64(rnd.Uint64()) >> uint(rnd.Intn(64))
		}
		if pick(len(uints64)) {
			r.u64 = uints64[i]
		} else {
			r.u64 = rnd.Uint64() >> uint(rnd.Intn(64))
		}
	}
	return out
}

// checkPartitions compares system.parts.partition of the integration table
// with PartitionText of its partition key evaluated on its rows.
func checkPartitions(t *testing.T, conn driver.Conn, db string, rec arrow.Record, mem memory.Allocator) {
	t.Helper()
	key, err := ParseKey("(toYYYYMM(d), intDiv(i32, -1000000000))")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	var arrs []arrow.Array
	for _, e := range key {
		a, err := e.Eval(rec, mem)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Release()
		arrs = append(arrs, a)
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		want[PartitionText(arrs, i)] = true
	}
	got := serverPartitions(t, conn, db, "keys")
	if !equalSets(got, want) {
		t.Errorf("partitions differ:\n server %v\n ours   %v", sortedKeys(got), sortedKeys(want))
	}
}

func serverPartitions(t *testing.T, conn driver.Conn, db, table string) map[string]bool {
	t.Helper()
	rows, err := conn.Query(context.Background(),
		"SELECT DISTINCT partition FROM system.parts WHERE database = ? AND table = ? AND active", db, table)
	if err != nil {
		t.Fatalf("query partitions of %s: %v", table, err)
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatalf("scan partition: %v", err)
		}
		got[p] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read partitions: %v", err)
	}
	return got
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, fmt.Sprintf("%q", k))
	}
	sort.Strings(out)
	return out
}

// TestPartitionTextAgainstServer compares PartitionText with the partition
// column of system.parts for keys of strings, fixed strings, dates,
// timestamps in a zone and integers, alone and in tuples.
func TestPartitionTextAgainstServer(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	ctx := context.Background()
	strs := []string{"plain", "it's", `back\slash`, "new\nline", "tab\there", "nul\x00byte", "ünïcødé", "", "cr\rff\fbs\b"}
	fixed := []string{"ab", "a'\\", "xyz"}
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{
		"p_string":  "s",
		"p_fixed":   "f",
		"p_date":    "d",
		"p_ts":      "ts",
		"p_int":     "i",
		"p_tuple":   "(s, d, ts, f, i)",
		"p_mixed":   "(toYYYYMM(d), intDiv(i, -7), s)",
		"p_none":    "tuple()",
		"p_derived": "toMonday(ts)",
	}
	type row struct {
		s, f  string
		d, ts time.Time
		i     int16
	}
	var rows []row
	for k := 0; k < 30; k++ {
		rows = append(rows, row{
			s:  strs[k%len(strs)],
			f:  fixed[k%len(fixed)],
			d:  time.Date(2020, 1, 1+k*17, 0, 0, 0, 0, time.UTC),
			ts: time.Unix(1414274400-3*3600+int64(k)*1800*61, 0).In(msk),
			i:  int16(k*1000 - 15000),
		})
	}
	for table, key := range keys {
		if err := conn.Exec(ctx, "CREATE TABLE "+db+"."+table+
			" (s String, f FixedString(3), d Date, ts DateTime('Europe/Moscow'), i Int16) ENGINE = MergeTree PARTITION BY "+
			key+" ORDER BY tuple()"); err != nil {
			t.Fatalf("create %s: %v", table, err)
		}
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+"."+table+" (s, f, d, ts, i)")
		if err != nil {
			t.Fatalf("prepare insert: %v", err)
		}
		for _, r := range rows {
			if err := batch.Append(r.s, r.f, r.d, r.ts, r.i); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
		if err := batch.Send(); err != nil {
			t.Fatalf("insert into %s: %v", table, err)
		}
	}

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "f", Type: &arrow.FixedSizeBinaryType{ByteWidth: 3}},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "Europe/Moscow"}},
		{Name: "i", Type: arrow.PrimitiveTypes.Int16},
	}, nil))
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.s)
		f := make([]byte, 3)
		copy(f, r.f)
		b.Field(1).(*array.FixedSizeBinaryBuilder).Append(f)
		b.Field(2).(*array.Date32Builder).Append(arrow.Date32(floorDiv(r.d.Unix(), secondsPerDay)))
		b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(r.ts.Unix()))
		b.Field(4).(*array.Int16Builder).Append(r.i)
	}
	rec := b.NewRecord()
	b.Release()
	defer rec.Release()

	for table, key := range keys {
		t.Run(table, func(t *testing.T) {
			exprs, err := ParseKey(key)
			if err != nil {
				t.Fatal(err)
			}
			var arrs []arrow.Array
			for _, e := range exprs {
				a, err := e.Eval(rec, mem)
				if err != nil {
					t.Fatal(err)
				}
				defer a.Release()
				arrs = append(arrs, a)
			}
			want := map[string]bool{}
			for i := 0; i < int(rec.NumRows()); i++ {
				want[PartitionText(arrs, i)] = true
			}
			if got := serverPartitions(t, conn, db, table); !equalSets(got, want) {
				t.Errorf("partitions of %s differ:\n server %v\n ours   %v", key, sortedKeys(got), sortedKeys(want))
			}
		})
	}
}
