package parquet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
	"github.com/google/uuid"

	"github.com/chload/chload/internal/testenv"
	"github.com/chload/chload/jobs"
)

// These tests load files through a whole chload run (jobs.Run) into the
// ClickHouse test node and compare what the table holds with what was
// written, value by value.

// runLoad loads the Parquet files at path into table; source holds extra
// lines of the job's source section.
func runLoad(t *testing.T, path, table, source string) error {
	t.Helper()
	addr := testenv.ClickHouseAddr(t)
	text := fmt.Sprintf("version: 1\nname: types\nsource:\n  type: parquet\n  paths: [%q]\n%starget:\n  clickhouse:\n    hosts: [%q]\n  table: %s\n",
		path, source, addr, table)
	job, err := jobs.Parse([]byte(text), jobs.LoadOptions{Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("job: %v\n%s", err, text)
	}
	_, err = jobs.Run(context.Background(), job, jobs.RunParams{})
	return err
}

func mustExec(t *testing.T, conn driver.Conn, q string) {
	t.Helper()
	if err := conn.Exec(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// halfValue is the value of half-precision bits by the format's definition.
func halfValue(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10)&0x1f, float64(h&0x3ff)
	switch exp {
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	case 0:
		return sign * math.Ldexp(frac, -24)
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

// TestLoadFloat16 loads a FLOAT16 column into Float32 and Nullable(Float64)
// columns: every value arrives exactly, subnormals, infinities, NaN and the
// sign of zero included.
func TestLoadFloat16(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	var bits []uint16
	for _, h := range []uint16{0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x3c00, 0x3555, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00} {
		bits = append(bits, h)
	}
	for h := 0; h < 1<<16; h += 97 {
		bits = append(bits, uint16(h))
	}
	mem := memory.NewGoAllocator()
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "h32", Type: arrow.FixedWidthTypes.Float16},
		{Name: "h64", Type: arrow.FixedWidthTypes.Float16, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sch)
	defer b.Release()
	for k, h := range bits {
		b.Field(0).(*array.Uint32Builder).Append(uint32(k))
		b.Field(1).(*array.Float16Builder).Append(float16.FromBits(h))
		if k%9 == 4 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Float16Builder).Append(float16.FromBits(h))
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "f16.parquet")
	writeFile(t, path, rec, 200, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(200)), pqarrow.DefaultWriterProps())
	table := db + ".f16"
	mustExec(t, conn, "CREATE TABLE "+table+" (k UInt32, h32 Float32, h64 Nullable(Float64)) ENGINE = MergeTree ORDER BY k")
	if err := runLoad(t, path, table, ""); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(context.Background(), "SELECT k, h32, h64 FROM "+table+" ORDER BY k")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	same := func(got, want float64) bool {
		if math.IsNaN(want) {
			return math.IsNaN(got)
		}
		return got == want && math.Signbit(got) == math.Signbit(want)
	}
	for ; rows.Next(); n++ {
		var k uint32
		var h32 float32
		var h64 *float64
		if err := rows.Scan(&k, &h32, &h64); err != nil {
			t.Fatal(err)
		}
		if int(k) != n {
			t.Fatalf("row %d has k %d", n, k)
		}
		want := halfValue(bits[k])
		if !same(float64(h32), want) {
			t.Errorf("k %d (%#04x): Float32 holds %v, want %v", k, bits[k], h32, want)
		}
		switch {
		case k%9 == 4:
			if h64 != nil {
				t.Errorf("k %d: NULL became %v", k, *h64)
			}
		case h64 == nil || !same(*h64, want):
			t.Errorf("k %d (%#04x): Float64 holds %v, want %v", k, bits[k], h64, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(bits) {
		t.Fatalf("table holds %d rows, want %d", n, len(bits))
	}
}

// flbaValue is row r of the FIXED_LEN_BYTE_ARRAY(4) test columns; rows with
// r%6 == 5 are NULL in the optional ones.
func flbaValue(r int) []byte { return []byte{byte(r), 0, 0xff, byte('a' + r%26)} }

// writeFLBA writes k (INT32) and FIXED_LEN_BYTE_ARRAY(4) columns without a
// logical type, named by names; those in optional hold NULLs.
func writeFLBA(t *testing.T, path string, rows int, names []string, optional map[string]bool) {
	t.Helper()
	fields := schema.FieldList{mustPrim(t, "k", parquet.Repetitions.Required, parquet.Types.Int32, nil)}
	for _, name := range names {
		rep := parquet.Repetitions.Required
		if optional[name] {
			rep = parquet.Repetitions.Optional
		}
		n, err := schema.NewPrimitiveNode(name, rep, parquet.Types.FixedLenByteArray, -1, 4)
		if err != nil {
			t.Fatal(err)
		}
		fields = append(fields, n)
	}
	root := mustGroup(t, "schema", parquet.Repetitions.Required, fields, nil)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := file.NewParquetWriter(f, root)
	rg := w.AppendRowGroup()
	cw, err := rg.NextColumn()
	if err != nil {
		t.Fatal(err)
	}
	var ks []int32
	for r := 0; r < rows; r++ {
		ks = append(ks, int32(r))
	}
	if _, err := cw.(*file.Int32ColumnChunkWriter).WriteBatch(ks, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		var vals []parquet.FixedLenByteArray
		var defs []int16
		for r := 0; r < rows; r++ {
			if optional[name] {
				if r%6 == 5 {
					defs = append(defs, 0)
					continue
				}
				defs = append(defs, 1)
			}
			vals = append(vals, flbaValue(r))
		}
		cw, err := rg.NextColumn()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cw.(*file.FixedLenByteArrayColumnChunkWriter).WriteBatch(vals, defs, nil); err != nil {
			t.Fatal(err)
		}
		if err := cw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLoadFixedLenByteArray loads FIXED_LEN_BYTE_ARRAY(4) columns into String,
// FixedString(4), FixedString(6) (zero-padded) and their Nullable forms, and
// refuses FixedString(3) before loading anything.
func TestLoadFixedLenByteArray(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	const rows = 300
	cols := map[string]string{"s": "String", "f4": "FixedString(4)", "f6": "FixedString(6)", "ns": "Nullable(String)", "nf": "Nullable(FixedString(5))"}
	names := []string{"s", "f4", "f6", "ns", "nf"}
	optional := map[string]bool{"ns": true, "nf": true}
	path := filepath.Join(t.TempDir(), "flba.parquet")
	writeFLBA(t, path, rows, names, optional)
	table := db + ".flba"
	var defs []string
	for _, n := range names {
		defs = append(defs, n+" "+cols[n])
	}
	mustExec(t, conn, "CREATE TABLE "+table+" (k UInt32, "+strings.Join(defs, ", ")+") ENGINE = MergeTree ORDER BY k")
	if err := runLoad(t, path, table, ""); err != nil {
		t.Fatal(err)
	}
	q, err := conn.Query(context.Background(), "SELECT k, "+strings.Join(names, ", ")+" FROM "+table+" ORDER BY k")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	n := 0
	for ; q.Next(); n++ {
		var k uint32
		var s, f4, f6 string
		var ns, nf *string
		if err := q.Scan(&k, &s, &f4, &f6, &ns, &nf); err != nil {
			t.Fatal(err)
		}
		want := string(flbaValue(int(k)))
		pad := func(w int) string { return want + strings.Repeat("\x00", w-4) }
		if s != want || f4 != want || f6 != pad(6) {
			t.Fatalf("k %d: s %q f4 %q f6 %q, want %q and %q", k, s, f4, f6, want, pad(6))
		}
		if k%6 == 5 {
			if ns != nil || nf != nil {
				t.Fatalf("k %d: NULL lost", k)
			}
			continue
		}
		if ns == nil || *ns != want || nf == nil || *nf != pad(5) {
			t.Fatalf("k %d: ns %v nf %v, want %q and %q", k, ns, nf, want, pad(5))
		}
	}
	if err := q.Err(); err != nil {
		t.Fatal(err)
	}
	if n != rows {
		t.Fatalf("table holds %d rows, want %d", n, rows)
	}

	narrow := db + ".narrow"
	mustExec(t, conn, "CREATE TABLE "+narrow+" (k UInt32, s FixedString(3)) ENGINE = MergeTree ORDER BY k")
	path2 := filepath.Join(t.TempDir(), "narrow.parquet")
	writeFLBA(t, path2, 10, []string{"s"}, nil)
	err = runLoad(t, path2, narrow, "")
	if err == nil || !strings.Contains(err.Error(), "every value is 4 bytes long, longer than FixedString(3)") {
		t.Fatalf("got %v", err)
	}
	var count uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+narrow).Scan(&count); err != nil || count != 0 {
		t.Fatalf("narrow table holds %d rows (%v)", count, err)
	}
}

// listString prints a list for comparison; nil elements print as NULL.
func listString(l []*int32) string {
	parts := make([]string, len(l))
	for i, v := range l {
		parts[i] = "NULL"
		if v != nil {
			parts[i] = fmt.Sprint(*v)
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func ptrs(l []int32) []*int32 {
	out := make([]*int32, len(l))
	for i := range l {
		out[i] = &l[i]
	}
	return out
}

// TestLoadLegacyLists loads the two-level list layouts into Array columns.
func TestLoadLegacyLists(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	path := filepath.Join(t.TempDir(), "legacy.parquet")
	writeLegacyLists(t, path, legacyListColumns(t, false))
	table := db + ".lists"
	mustExec(t, conn, "CREATE TABLE "+table+` (a Array(Int32), b Array(Int32), c Array(Nullable(Int32)),
		d Array(Int32), e Array(Nullable(Int32)), g Array(Array(Int32))) ENGINE = MergeTree ORDER BY tuple()`)
	// f and h are lists of structs and a struct: not for Array columns.
	if err := runLoad(t, path, table, "  ignore_extra_columns: true\n"); err != nil {
		t.Fatal(err)
	}
	var want []string
	for g := 0; g < 2; g++ {
		for r := 0; r < legacyRows; r++ {
			var inner []string
			for _, l := range nestedList(r, false) {
				inner = append(inner, listString(ptrs(l)))
			}
			want = append(want, strings.Join([]string{
				listString(legacyList(r, false, false)), listString(legacyList(r, false, false)),
				listString(legacyList(r, false, true)), listString(legacyList(r, false, false)),
				listString(legacyList(r, false, true)), "[" + strings.Join(inner, ",") + "]",
			}, " "))
		}
	}
	q, err := conn.Query(context.Background(), "SELECT a, b, c, d, e, g FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var got []string
	for q.Next() {
		var a, b, d []int32
		var c, e []*int32
		var g [][]int32
		if err := q.Scan(&a, &b, &c, &d, &e, &g); err != nil {
			t.Fatal(err)
		}
		var inner []string
		for _, l := range g {
			inner = append(inner, listString(ptrs(l)))
		}
		got = append(got, strings.Join([]string{
			listString(ptrs(a)), listString(ptrs(b)), listString(c), listString(ptrs(d)), listString(e),
			"[" + strings.Join(inner, ",") + "]",
		}, " "))
	}
	if err := q.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("table holds %d rows, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("row %d (sorted): got %s, want %s", i, got[i], want[i])
		}
	}
}

// TestLoadINT96 loads INT96 timestamps into DateTime and Date columns, in
// microseconds and in the default nanoseconds, and checks that values
// outside what the column or the unit holds stop the run with the row, the
// column and the fix.
func TestLoadINT96(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	var tzName string
	if err := conn.QueryRow(context.Background(), "SELECT timezone()").Scan(&tzName); err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(tzName)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	utc := func(y int, m time.Month, d, h, mi, s int) *time.Time {
		return tp(time.Date(y, m, d, h, mi, s, 0, time.UTC))
	}
	times := []*time.Time{utc(1970, 1, 1, 0, 0, 0), utc(2000, 2, 29, 12, 34, 56), nil, utc(2038, 1, 19, 3, 14, 8), utc(2106, 2, 7, 6, 28, 15), utc(1999, 12, 31, 23, 59, 59)}
	midnight := func(y int, m time.Month, d int) *time.Time { return tp(time.Date(y, m, d, 0, 0, 0, 0, loc)) }
	days := []*time.Time{midnight(1970, 1, 1), nil, midnight(2000, 2, 29), midnight(2149, 6, 6), midnight(2024, 12, 31)}

	load := func(name, colType, unit string, vals []*time.Time) (string, error) {
		path := filepath.Join(dir, name+".parquet")
		writeInt96File(t, path, vals, 4)
		table := db + "." + name
		mustExec(t, conn, fmt.Sprintf("CREATE TABLE %s (ts Nullable(%s), tss Array(%s)) ENGINE = MergeTree ORDER BY tuple()", table, colType, colType))
		src := ""
		if unit != "" {
			src = "  int96_timestamp_unit: " + unit + "\n"
		}
		return table, runLoad(t, path, table, src)
	}
	check := func(table string, vals []*time.Time) {
		t.Helper()
		q, err := conn.Query(context.Background(), "SELECT ts, tss FROM "+table)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		var got, want []string
		for q.Next() {
			var ts *time.Time
			var tss []time.Time
			if err := q.Scan(&ts, &tss); err != nil {
				t.Fatal(err)
			}
			s := "NULL"
			if ts != nil {
				s = fmt.Sprint(ts.Unix())
			}
			for _, v := range tss {
				s += fmt.Sprintf(" %d", v.Unix())
			}
			got = append(got, s)
		}
		if err := q.Err(); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if v == nil {
				want = append(want, "NULL")
				continue
			}
			want = append(want, fmt.Sprintf("%d %d %d", v.Unix(), v.Unix(), v.Unix()))
		}
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("%s holds\n%v\nwant\n%v", table, got, want)
		}
	}
	for _, unit := range []string{"us", ""} {
		table, err := load("dt"+unit, "DateTime", unit, times)
		if err != nil {
			t.Fatal(err)
		}
		check(table, times)
		table, err = load("d"+unit, "Date", unit, days)
		if err != nil {
			t.Fatal(err)
		}
		check(table, days)
	}

	late := []*time.Time{utc(2001, 1, 1, 0, 0, 0), utc(2299, 12, 31, 0, 0, 0)}
	early := []*time.Time{utc(2001, 1, 1, 0, 0, 0), nil, utc(1900, 1, 1, 0, 0, 0)}
	for _, c := range []struct {
		name, colType, unit string
		vals                []*time.Time
		want                []string
	}{
		{"late_dt", "DateTime", "us", late, []string{"row 1", "column ts", "2299-12-31", "DateTime"}},
		{"late_d", "Date", "us", late, []string{"row 1", "column ts", "2299-12-31", "Date"}},
		{"early_dt", "DateTime", "us", early, []string{"row 2", "column ts", "1900-01-01", "DateTime"}},
		{"late_ns", "DateTime", "", late, []string{"row 1", "column ts", "2299-12-31", "int96_timestamp_unit"}},
	} {
		table, err := load(c.name, c.colType, c.unit, c.vals)
		if err == nil {
			t.Fatalf("%s: loaded", c.name)
		}
		t.Logf("%s: %v", c.name, err)
		var de *jobs.DataError
		if !errors.As(err, &de) {
			t.Errorf("%s: %T is not a bad-value error (exit 3)", c.name, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", c.name, err, w)
			}
		}
		var count uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+table).Scan(&count); err != nil || count != 0 {
			t.Errorf("%s: table holds %d rows (%v)", c.name, count, err)
		}
	}
}

// TestLoadUUID loads a column with the UUID logical type (arrow-go's writer
// stores Arrow's UUID extension that way) into UUID and
// Nullable(FixedString(16)) columns.
func TestLoadUUID(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	const rows = 100
	mem := memory.NewGoAllocator()
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "u", Type: extensions.NewUUIDType()},
		{Name: "f", Type: extensions.NewUUIDType(), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sch)
	defer b.Release()
	ids := make([]uuid.UUID, rows)
	for r := range ids {
		ids[r] = uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(r)))
		b.Field(0).(*array.Uint32Builder).Append(uint32(r))
		b.Field(1).(*extensions.UUIDBuilder).Append(ids[r])
		if r%7 == 2 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*extensions.UUIDBuilder).Append(ids[r])
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "uuid.parquet")
	writeFile(t, path, rec, 64, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(64)), pqarrow.DefaultWriterProps())
	table := db + ".uuids"
	mustExec(t, conn, "CREATE TABLE "+table+" (k UInt32, u UUID, f Nullable(FixedString(16))) ENGINE = MergeTree ORDER BY k")
	if err := runLoad(t, path, table, ""); err != nil {
		t.Fatal(err)
	}
	q, err := conn.Query(context.Background(), "SELECT k, toString(u), f FROM "+table+" ORDER BY k")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	n := 0
	for ; q.Next(); n++ {
		var k uint32
		var u string
		var f *string
		if err := q.Scan(&k, &u, &f); err != nil {
			t.Fatal(err)
		}
		if int(k) != n || u != ids[k].String() {
			t.Fatalf("row %d: k %d u %s, want %s", n, k, u, ids[n])
		}
		switch {
		case k%7 == 2:
			if f != nil {
				t.Fatalf("k %d: NULL lost", k)
			}
		case f == nil || *f != string(ids[k][:]):
			t.Fatalf("k %d: f %x, want %x", k, f, ids[k][:])
		}
	}
	if err := q.Err(); err != nil {
		t.Fatal(err)
	}
	if n != rows {
		t.Fatalf("table holds %d rows, want %d", n, rows)
	}
}

// TestLoadUnknownLogicalTypes loads a file whose columns carry logical types
// this reader does not know: each loads as its physical type.
func TestLoadUnknownLogicalTypes(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	path := filepath.Join(t.TempDir(), "unknown.parquet")
	writeUnknown(t, path)
	table := db + ".unknown"
	mustExec(t, conn, "CREATE TABLE "+table+" (h Nullable(FixedString(2)), i Nullable(Int32), t Nullable(Int64), s Nullable(String)) ENGINE = MergeTree ORDER BY tuple()")
	if err := runLoad(t, path, table, ""); err != nil {
		t.Fatal(err)
	}
	q, err := conn.Query(context.Background(), "SELECT h, i, t, s FROM "+table+" ORDER BY t")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var got []string
	for q.Next() {
		var h, s *string
		var i *int32
		var v *int64
		if err := q.Scan(&h, &i, &v, &s); err != nil {
			t.Fatal(err)
		}
		if h == nil || i == nil || v == nil || s == nil {
			if h != nil || i != nil || v != nil || s != nil {
				t.Fatalf("row with some NULLs: %v %v %v %v", h, i, v, s)
			}
			got = append(got, "NULL")
			continue
		}
		got = append(got, fmt.Sprintf("%x %d %d %s", *h, *i, *v, *s))
	}
	if err := q.Err(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for r := 0; r < unknownRows; r++ {
		if r%7 == 3 {
			want = append(want, "NULL")
			continue
		}
		want = append(want, fmt.Sprintf("%x %d %d %s", []byte{byte(r), byte(r + 1)}, r-25, int64(r)*1e9+7, "s"+string(rune('a'+r%26))))
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("table holds\n%v\nwant\n%v", got, want)
	}
}

// TestLoadLegacyListsOfStructs loads the two-level layouts whose elements
// are structs (an "array" group of two fields) and a repeated field inside a
// group into Array(Tuple) and Tuple(Array, ...) columns. (18.16 stores an
// Array(Tuple) column as the columns f.1 and f.2.)
func TestLoadLegacyListsOfStructs(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	path := filepath.Join(t.TempDir(), "legacy.parquet")
	writeLegacyLists(t, path, legacyListColumns(t, false))
	table := db + ".structs"
	mustExec(t, conn, "CREATE TABLE "+table+` (f Array(Tuple(Int32, Nullable(Int32))), h Tuple(Array(Int32), Int32))
		ENGINE = MergeTree ORDER BY tuple()`)
	if err := runLoad(t, path, table, "  ignore_extra_columns: true\n"); err != nil {
		t.Fatal(err)
	}
	var want []string
	for g := 0; g < 2; g++ {
		for r := 0; r < legacyRows; r++ {
			l := legacyList(r, false, false)
			var ys []*int32
			for _, v := range l {
				var y *int32
				if *v%2 == 0 {
					w := *v + 1
					y = &w
				}
				ys = append(ys, y)
			}
			want = append(want, fmt.Sprintf("%s %s %s %d", listString(l), listString(ys), listString(legacyList(r, false, false)), r))
		}
	}
	q, err := conn.Query(context.Background(), "SELECT `f.1`, `f.2`, tupleElement(h, 1), tupleElement(h, 2) FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var got []string
	for q.Next() {
		var xs, hx []int32
		var ys []*int32
		var k int32
		if err := q.Scan(&xs, &ys, &hx, &k); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s %d", listString(ptrs(xs)), listString(ys), listString(ptrs(hx)), k))
	}
	if err := q.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("table holds\n%v\nwant\n%v", got, want)
	}
}
