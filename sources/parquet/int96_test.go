package parquet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/chload/chload/sources"
	"github.com/chload/chload/sources/sourcestest"
)

// toInt96 encodes t the way Impala and Spark write INT96: Julian day and
// nanoseconds into that (UTC) day.
func toInt96(t time.Time) parquet.Int96 {
	sec := t.Unix()
	days := sec / 86400
	if sec%86400 < 0 {
		days--
	}
	nanos := uint64(sec-days*86400)*1e9 + uint64(t.Nanosecond())
	return parquet.NewInt96([3]uint32{uint32(nanos), uint32(nanos >> 32), uint32(2_440_588 + days)})
}

// writeInt96File writes one optional INT96 column "ts" (nil entries are
// NULL) in row groups of rowGroup rows, and a top-level legacy list
// "tss" (repeated int96) holding each row's value twice when it is not NULL.
func writeInt96File(t *testing.T, path string, vals []*time.Time, rowGroup int) {
	t.Helper()
	tsNode := schema.NewInt96Node("ts", parquet.Repetitions.Optional, -1)
	tssNode := schema.NewInt96Node("tss", parquet.Repetitions.Repeated, -1)
	root, err := schema.NewGroupNode("schema", parquet.Repetitions.Required, schema.FieldList{tsNode, tssNode}, -1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := file.NewParquetWriter(f, root)
	for start := 0; start < len(vals); start += rowGroup {
		end := min(start+rowGroup, len(vals))
		rg := w.AppendRowGroup()
		var defs, ldefs, lreps []int16
		var v96, l96 []parquet.Int96
		for _, v := range vals[start:end] {
			if v == nil {
				defs = append(defs, 0)
				ldefs, lreps = append(ldefs, 0), append(lreps, 0)
				continue
			}
			defs = append(defs, 1)
			v96 = append(v96, toInt96(*v))
			ldefs, lreps = append(ldefs, 1, 1), append(lreps, 0, 1)
			l96 = append(l96, toInt96(*v), toInt96(*v))
		}
		for _, col := range []struct {
			vals       []parquet.Int96
			defs, reps []int16
		}{{v96, defs, nil}, {l96, ldefs, lreps}} {
			cw, err := rg.NextColumn()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cw.(*file.Int96ColumnChunkWriter).WriteBatch(col.vals, col.defs, col.reps); err != nil {
				t.Fatal(err)
			}
			if err := cw.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if err := rg.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func tp(t time.Time) *time.Time { return &t }

// int96Boundaries are the instants around the ranges that matter: the
// nanosecond Timestamp range, ClickHouse's DateTime64/Date32 (1900-2299).
func int96Boundaries() []*time.Time {
	utc := func(y int, m time.Month, d, h, mi, s, ns int) *time.Time {
		return tp(time.Date(y, m, d, h, mi, s, ns, time.UTC))
	}
	return []*time.Time{
		utc(1900, 1, 1, 0, 0, 0, 0),
		utc(1677, 9, 21, 0, 0, 0, 0), // before the ns range
		utc(1677, 9, 21, 0, 12, 43, 145225000),
		nil,
		utc(1970, 1, 1, 0, 0, 0, 0),
		utc(1969, 12, 31, 23, 59, 59, 999999000),
		utc(2262, 4, 11, 23, 47, 16, 854775000),
		utc(2262, 4, 12, 0, 0, 0, 0), // after the ns range
		utc(2299, 12, 31, 23, 59, 59, 999999000),
		utc(1, 1, 1, 0, 0, 0, 0),
		utc(9999, 12, 31, 23, 59, 59, 999999000),
	}
}

func inNanoRange(v time.Time) bool {
	return !v.Before(time.Unix(0, -1<<63)) && !v.After(time.Unix(0, 1<<63-1))
}

// readInt96 reads path with the given unit and returns the table or error.
func readInt96(t *testing.T, mem memory.Allocator, path, unit string) (arrow.Table, error) {
	t.Helper()
	src, err := New(Config{Paths: []string{path}, INT96TimestampUnit: unit})
	if err != nil {
		t.Fatal(err)
	}
	src.BatchSize = 3
	// Reads in microseconds decode the columns in parallel, the others
	// serially, so both ways of the split reader are covered.
	src.Parallel = unit == "us"
	return sourcestest.ReadAll(context.Background(), src, sources.OpenOptions{Mem: mem})
}

// checkTimes compares a Timestamp column (one chunk per batch) with vals.
func checkTimes(t *testing.T, col *arrow.Chunked, vals []*time.Time, unit arrow.TimeUnit) {
	t.Helper()
	i := 0
	for _, c := range col.Chunks() {
		ts := c.(*array.Timestamp)
		for j := 0; j < ts.Len(); j, i = j+1, i+1 {
			if vals[i] == nil {
				if ts.IsValid(j) {
					t.Fatalf("row %d: got %v, want NULL", i, ts.Value(j))
				}
				continue
			}
			if got := ts.Value(j).ToTime(unit); !got.Equal(*vals[i]) {
				t.Fatalf("row %d: got %v, want %v", i, got, *vals[i])
			}
		}
	}
	if i != len(vals) {
		t.Fatalf("%d rows, want %d", i, len(vals))
	}
}

// TestINT96Ranges: INT96 values load exactly in the configured unit; a value
// the unit cannot hold is an error naming the file, row group, row, column
// and the setting that reads it, never a wrapped value.
func TestINT96Ranges(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	all := int96Boundaries()
	var inNs []*time.Time
	for _, v := range all {
		if v == nil || inNanoRange(*v) {
			inNs = append(inNs, v)
		}
	}
	// nanosecond digits, and the first and last instants of the ns range
	inNs = append(inNs, tp(time.Date(2001, 2, 3, 4, 5, 6, 789, time.UTC)), tp(time.Unix(0, -1<<63)), tp(time.Unix(0, 1<<63-1)))

	nsPath := filepath.Join(dir, "ns.parquet")
	writeInt96File(t, nsPath, inNs, 4)
	tbl, err := readInt96(t, mem, nsPath, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := tbl.Schema().Field(0).Type; !arrow.TypeEqual(got, &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}) {
		t.Fatalf("type %s", got)
	}
	checkTimes(t, tbl.Column(0).Data(), inNs, arrow.Nanosecond)
	checkListTimes(t, tbl.Column(1).Data(), inNs, arrow.Nanosecond)
	tbl.Release()

	allPath := filepath.Join(dir, "all.parquet")
	writeInt96File(t, allPath, all, 4)
	for _, unit := range []string{"us", "ms", "s"} {
		tbl, err := readInt96(t, mem, allPath, unit)
		if unit != "us" {
			// 1677-09-21 00:12:43.145225 has microseconds.
			if err == nil || !strings.Contains(err.Error(), "row 2: value INT96 1677-09-21 00:12:43.145225 has digits finer") {
				t.Fatalf("unit %s: got %v", unit, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		checkTimes(t, tbl.Column(0).Data(), all, arrow.Microsecond)
		checkListTimes(t, tbl.Column(1).Data(), all, arrow.Microsecond)
		tbl.Release()
	}

	// In nanoseconds the first value out of range stops the read.
	_, err = readInt96(t, mem, allPath, "ns")
	if err == nil || !strings.Contains(err.Error(), "all.parquet, row group 0: column ts: row 1: value INT96 1677-09-21 00:00:00 is outside the range of ns timestamps") ||
		!strings.Contains(err.Error(), `int96_timestamp_unit to "us"`) {
		t.Fatalf("got %v", err)
	}
	late := []*time.Time{tp(time.Unix(0, 0)), nil, tp(time.Date(2262, 4, 12, 0, 0, 0, 0, time.UTC))}
	latePath := filepath.Join(dir, "late.parquet")
	writeInt96File(t, latePath, append(append([]*time.Time{}, late...), late...), 4)
	_, err = readInt96(t, mem, latePath, "ns")
	if err == nil || !strings.Contains(err.Error(), "row group 0: column ts: row 2: value INT96 2262-04-12 00:00:00 is outside") {
		t.Fatalf("got %v", err)
	}
	// In a list, the error names the row holding the element.
	src, err := New(Config{Paths: []string{latePath}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sourcestest.ReadAll(context.Background(), src, sources.OpenOptions{Columns: []string{"tss"}, Mem: mem}); err == nil ||
		!strings.Contains(err.Error(), "row group 0: column tss: row 2: value INT96 2262-04-12 00:00:00 is outside") {
		t.Fatalf("got %v", err)
	}
	// Microseconds refuse nanosecond digits rather than drop them.
	_, err = readInt96(t, mem, nsPath, "us")
	if err == nil || !strings.Contains(err.Error(), "INT96 2001-02-03 04:05:06.000000789 has digits finer than the source's int96_timestamp_unit \"us\"") {
		t.Fatalf("got %v", err)
	}
	if _, err := New(Config{Paths: []string{"x"}, INT96TimestampUnit: "days"}); err == nil || !strings.Contains(err.Error(), "int96_timestamp_unit") {
		t.Fatalf("bad unit accepted: %v", err)
	}
}

// checkListTimes compares a List<Timestamp> column with vals: each row holds
// its value twice, a NULL row an empty list.
func checkListTimes(t *testing.T, col *arrow.Chunked, vals []*time.Time, unit arrow.TimeUnit) {
	t.Helper()
	i := 0
	for _, c := range col.Chunks() {
		l := c.(*array.List)
		ts := l.ListValues().(*array.Timestamp)
		for j := 0; j < l.Len(); j, i = j+1, i+1 {
			start, end := l.ValueOffsets(j)
			if vals[i] == nil {
				if end != start {
					t.Fatalf("row %d: %d elements, want none", i, end-start)
				}
				continue
			}
			if end-start != 2 {
				t.Fatalf("row %d: %d elements, want 2", i, end-start)
			}
			for k := start; k < end; k++ {
				if got := ts.Value(int(k)).ToTime(unit); !got.Equal(*vals[i]) {
					t.Fatalf("row %d: got %v, want %v", i, got, *vals[i])
				}
			}
		}
	}
}

// TestINT96ToUnitEdges checks the conversion at the int64 limits of each unit
// against time.Time arithmetic.
func TestINT96ToUnitEdges(t *testing.T) {
	enc := func(jd uint32, nanos uint64) []byte {
		v := parquet.NewInt96([3]uint32{uint32(nanos), uint32(nanos >> 32), jd})
		return v[:]
	}
	minNs, maxNs := time.Unix(0, -1<<63).UTC(), time.Unix(0, 1<<63-1).UTC()
	for _, c := range []struct {
		v    time.Time
		want int96Problem
	}{{minNs, int96OK}, {maxNs, int96OK}, {minNs.Add(-time.Nanosecond), int96OutOfRange}, {maxNs.Add(time.Nanosecond), int96OutOfRange}} {
		i96 := toInt96(c.v)
		got, problem := int96ToUnit(i96[:], arrow.Nanosecond)
		if problem != c.want || (problem == int96OK && got != c.v.UnixNano()) {
			t.Errorf("%v: got %d, %d", c.v, got, problem)
		}
	}
	if _, p := int96ToUnit(enc(2_440_588, uint64(nanosPerDay)), arrow.Second); p != int96Invalid {
		t.Errorf("nanoseconds of a whole day accepted: %d", p)
	}
	if v, p := int96ToUnit(enc(0, 0), arrow.Second); p != int96OK || v != -2_440_588*86_400 {
		t.Errorf("Julian day 0: %d, %d", v, p)
	}
	if v, p := int96ToUnit(enc(1<<32-1, 0), arrow.Millisecond); p != int96OK || v != (1<<32-1-2_440_588)*86_400_000 {
		t.Errorf("last Julian day: %d, %d", v, p)
	}
	if _, p := int96ToUnit(enc(1<<32-1, 0), arrow.Microsecond); p != int96OutOfRange {
		t.Errorf("last Julian day in us: %d", p)
	}
}
