package parquet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/goccy/go-yaml"

	"github.com/chload/chload/sources"
	"github.com/chload/chload/sources/sourcestest"
)

// allTypes is the schema the round-trip tests write: every logical type the
// source promises to read.
func allTypes() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "u8", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
		{Name: "u16", Type: arrow.PrimitiveTypes.Uint16, Nullable: true},
		{Name: "u32", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		{Name: "u64", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "d9", Type: &arrow.Decimal128Type{Precision: 9, Scale: 2}, Nullable: true},
		{Name: "d18", Type: &arrow.Decimal128Type{Precision: 18, Scale: 4}, Nullable: true},
		{Name: "d38", Type: &arrow.Decimal128Type{Precision: 38, Scale: 10}, Nullable: true},
		{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "url", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "category", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, Nullable: true},
		{Name: "blob", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "large", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "hash", Type: &arrow.FixedSizeBinaryType{ByteWidth: 16}, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "ts_ms", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
		// pqarrow writes zone-less timestamps as UTC; TestTimestampKinds
		// covers isAdjustedToUTC=false.
		{Name: "ts_us", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "ts_ns", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "nums", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
		{Name: "words", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	}, nil)
}

var countries = []string{"DE", "FR", "US", "JP", "BR"}

// buildRecord makes n rows of allTypes starting at row number base; every
// nullable column is null in every seventh row.
func buildRecord(mem memory.Allocator, schema *arrow.Schema, base, n int) arrow.Record {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for r := base; r < base+n; r++ {
		null := r%7 == 3
		for i, f := range schema.Fields() {
			fb := b.Field(i)
			if null && f.Nullable {
				fb.AppendNull()
				continue
			}
			appendValue(fb, f.Name, r)
		}
	}
	return b.NewRecord()
}

func appendValue(fb array.Builder, name string, r int) {
	v := int64(r)
	switch fb := fb.(type) {
	case *array.Int64Builder:
		if name == "id" {
			fb.Append(v)
		} else {
			fb.Append(v*1_000_003 - 1<<40)
		}
	case *array.BooleanBuilder:
		fb.Append(r%2 == 0)
	case *array.Int8Builder:
		fb.Append(int8(r%256 - 128))
	case *array.Int16Builder:
		fb.Append(int16(r*37 - 30000))
	case *array.Int32Builder:
		fb.Append(int32(v*7919 - 1<<30))
	case *array.Uint8Builder:
		fb.Append(uint8(r % 256))
	case *array.Uint16Builder:
		fb.Append(uint16(r * 41))
	case *array.Uint32Builder:
		fb.Append(uint32(r)*2654435761 + 1<<31)
	case *array.Uint64Builder:
		fb.Append(uint64(r)*0x9E3779B97F4A7C15 | 1<<63)
	case *array.Float32Builder:
		fb.Append(float32(r) / 3)
	case *array.Float64Builder:
		fb.Append(float64(r)*1.25 - 1e6)
	case *array.Decimal128Builder:
		switch name {
		case "d9":
			fb.Append(decimal128.FromI64(v*13 - 5000))
		case "d18":
			fb.Append(decimal128.FromI64(v*1_000_000_007 - 1<<50))
		default:
			fb.Append(decimal128.New(v-50, uint64(v)*0x9E3779B97F4A7C15))
		}
	case *array.StringBuilder:
		if name == "country" {
			fb.Append(countries[r%len(countries)])
		} else {
			fb.Append(fmt.Sprintf("https://example.com/%d/é", r))
		}
	case *array.LargeStringBuilder:
		fb.Append(fmt.Sprintf("large %d", r))
	case *array.BinaryDictionaryBuilder:
		if err := fb.AppendString(fmt.Sprintf("cat-%d", r%3)); err != nil {
			panic(err)
		}
	case *array.BinaryBuilder:
		fb.Append([]byte{byte(r), 0, byte(r >> 8)})
	case *array.FixedSizeBinaryBuilder:
		h := make([]byte, 16)
		for i := range h {
			h[i] = byte(r + i)
		}
		fb.Append(h)
	case *array.Date32Builder:
		fb.Append(arrow.Date32(18000 + r%1000))
	case *array.TimestampBuilder:
		fb.Append(arrow.Timestamp(1_700_000_000_000 + v*1_001))
	case *array.ListBuilder:
		fb.Append(true)
		switch vb := fb.ValueBuilder().(type) {
		case *array.Int64Builder:
			for k := 0; k < r%4; k++ {
				if k == 1 {
					vb.AppendNull()
				} else {
					vb.Append(v + int64(k))
				}
			}
		case *array.StringBuilder:
			for k := 0; k < r%3; k++ {
				vb.Append(countries[(r+k)%len(countries)])
			}
		}
	default:
		panic(fmt.Sprintf("no test value for %T", fb))
	}
}

// expectedType is the type the source yields for a written column.
func expectedType(f arrow.Field, int96 bool) arrow.DataType {
	switch t := f.Type.(type) {
	case *arrow.DictionaryType:
		return t.ValueType
	case *arrow.LargeStringType:
		return arrow.BinaryTypes.String
	case *arrow.TimestampType:
		if int96 && t.Unit == arrow.Nanosecond {
			return arrow.FixedWidthTypes.Timestamp_ns
		}
	}
	return f.Type
}

// writeFile writes rec to path in row groups of rowGroup rows.
func writeFile(t testing.TB, path string, rec arrow.Record, rowGroup int64, props *parquet.WriterProperties, arrProps pqarrow.ArrowWriterProperties) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tbl := array.NewTableFromRecords(rec.Schema(), []arrow.Record{rec})
	defer tbl.Release()
	if err := pqarrow.WriteTable(tbl, f, rowGroup, props, arrProps); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// readAll reads every column of src and checks the checked allocator of
// the source's arrays when the table is released by the caller.
func readAll(t *testing.T, src *Source, mem memory.Allocator, columns []string) arrow.Table {
	t.Helper()
	tbl, err := sourcestest.ReadAll(context.Background(), src, sources.OpenOptions{Columns: columns, Mem: mem})
	if err != nil {
		t.Fatalf("read source: %v", err)
	}
	return tbl
}

func column(t *testing.T, mem memory.Allocator, tbl arrow.Table, i int) arrow.Array {
	t.Helper()
	chunks := tbl.Column(i).Data().Chunks()
	arr, err := array.Concatenate(chunks, mem)
	if err != nil {
		t.Fatalf("concatenate column %s: %v", tbl.Schema().Field(i).Name, err)
	}
	return arr
}

// plainArray returns arr with a dictionary decoded to its values and a
// large string array turned into a string array.
func plainArray(t *testing.T, mem memory.Allocator, arr arrow.Array) arrow.Array {
	t.Helper()
	if l, ok := arr.(*array.LargeString); ok {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		for i := 0; i < l.Len(); i++ {
			if l.IsNull(i) {
				b.AppendNull()
			} else {
				b.Append(l.Value(i))
			}
		}
		return b.NewArray()
	}
	d, ok := arr.(*array.Dictionary)
	if !ok {
		arr.Retain()
		return arr
	}
	b := array.NewStringBuilder(mem)
	defer b.Release()
	dict := d.Dictionary().(*array.String)
	for i := 0; i < d.Len(); i++ {
		if d.IsNull(i) {
			b.AppendNull()
		} else {
			b.Append(dict.Value(d.GetValueIndex(i)))
		}
	}
	return b.NewArray()
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		props     []parquet.WriterProperty
		arrow     []pqarrow.WriterOption
		int96     bool
		batchSize int64
	}{
		{name: "defaults"},
		{name: "small batches", batchSize: 300},
		{name: "decimals as integers", props: []parquet.WriterProperty{parquet.WithStoreDecimalAsInteger(true)}},
		{name: "no dictionary encoding", props: []parquet.WriterProperty{parquet.WithDictionaryDefault(false)}},
		{name: "dictionary falls back to plain", props: []parquet.WriterProperty{parquet.WithDictionaryPageSizeLimit(64), parquet.WithDataPageSize(256)}},
		{name: "stored arrow schema", arrow: []pqarrow.WriterOption{pqarrow.WithStoreSchema()}},
		{name: "int96 timestamps", arrow: []pqarrow.WriterOption{pqarrow.WithDeprecatedInt96Timestamps(true)}, int96: true},
		{name: "data page v2", props: []parquet.WriterProperty{parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithVersion(parquet.V2_LATEST)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer dataMem.AssertSize(t, 0)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)

			schema := allTypes()
			dir := t.TempDir()
			// b.parquet sorts after a.parquet: its rows come second.
			recA := buildRecord(dataMem, schema, 0, 2500)
			defer recA.Release()
			recB := buildRecord(dataMem, schema, 2500, 1200)
			defer recB.Release()
			props := parquet.NewWriterProperties(tt.props...)
			arrProps := pqarrow.NewArrowWriterProperties(tt.arrow...)
			writeFile(t, filepath.Join(dir, "b.parquet"), recB, 1000, props, arrProps)
			writeFile(t, filepath.Join(dir, "a.parquet"), recA, 1000, props, arrProps)

			src, err := New(Config{Paths: []string{filepath.Join(dir, "*.parquet")}})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			src.BatchSize = tt.batchSize

			got, err := src.Schema(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got.NumFields() != schema.NumFields() {
				t.Fatalf("schema has %d columns, want %d: %s", got.NumFields(), schema.NumFields(), got)
			}
			for i, f := range schema.Fields() {
				g := got.Field(i)
				if g.Name != f.Name || !arrow.TypeEqual(g.Type, expectedType(f, tt.int96)) {
					t.Errorf("column %d is %s %s, want %s %s", i, g.Name, g.Type, f.Name, expectedType(f, tt.int96))
				}
			}

			splits, err := src.Splits(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			wantSplits := []struct {
				path string
				rg   int
				rows int64
			}{
				{filepath.Join(dir, "a.parquet"), 0, 1000},
				{filepath.Join(dir, "a.parquet"), 1, 1000},
				{filepath.Join(dir, "a.parquet"), 2, 500},
				{filepath.Join(dir, "b.parquet"), 0, 1000},
				{filepath.Join(dir, "b.parquet"), 1, 200},
			}
			if len(splits) != len(wantSplits) {
				t.Fatalf("splits %v, want %v", splits, wantSplits)
			}
			for i, s := range splits {
				w := wantSplits[i]
				if pathOf(s) != w.path || rowGroupOf(s) != w.rg || s.Rows != w.rows || s.Bytes <= 0 || s.Fingerprint.Rows != w.rows {
					t.Errorf("split %d is %+v, want %+v with Bytes > 0", i, s, w)
				}
			}

			tbl := readAll(t, src, mem, nil)
			defer tbl.Release()
			if tbl.NumRows() != 3700 {
				t.Fatalf("read %d rows, want 3700", tbl.NumRows())
			}
			for i, f := range schema.Fields() {
				gotArr := column(t, mem, tbl, i)
				wantA, wantB := plainArray(t, dataMem, recA.Column(i)), plainArray(t, dataMem, recB.Column(i))
				want, err := array.Concatenate([]arrow.Array{wantA, wantB}, dataMem)
				if err != nil {
					t.Fatal(err)
				}
				wantA.Release()
				wantB.Release()
				if tt.int96 {
					// INT96 loses the time zone, not the values.
					if ts, ok := f.Type.(*arrow.TimestampType); ok && ts.Unit == arrow.Nanosecond {
						data := want.Data().(*array.Data)
						retyped := array.NewData(arrow.FixedWidthTypes.Timestamp_ns, data.Len(), data.Buffers(), nil, data.NullN(), data.Offset())
						want.Release()
						want = array.MakeFromData(retyped)
						retyped.Release()
					}
				}
				if !array.Equal(gotArr, want) {
					t.Errorf("column %s differs:\ngot  %s\nwant %s", f.Name, head(gotArr), head(want))
				}
				gotArr.Release()
				want.Release()
			}

			conform(t, Config{Paths: []string{filepath.Join(dir, "*.parquet")}}, tt.batchSize)
		})
	}
}

func head(a arrow.Array) string {
	s := a.String()
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func TestProjection(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	schema := allTypes()
	rec := buildRecord(mem, schema, 0, 1500)
	defer rec.Release()
	writeFile(t, filepath.Join(dir, "x.parquet"), rec, 1000, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())

	src, err := New(Config{Paths: []string{filepath.Join(dir, "x.parquet")}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		columns []string
	}{
		{[]string{"id"}},
		{[]string{"words", "id"}},
		{[]string{"nums", "words", "ts_ns", "category"}},
		{[]string{"hash", "d38", "u64", "flag"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.columns, ","), func(t *testing.T) {
			tbl := readAll(t, src, mem, tt.columns)
			defer tbl.Release()
			if tbl.NumRows() != 1500 {
				t.Errorf("read %d rows, want 1500", tbl.NumRows())
			}
			for i, name := range tt.columns {
				if got := tbl.Schema().Field(i).Name; got != name {
					t.Fatalf("column %d is %s, want %s", i, got, name)
				}
				gotArr := column(t, mem, tbl, i)
				want := plainArray(t, mem, rec.Column(schema.FieldIndices(name)[0]))
				if !array.Equal(gotArr, want) {
					t.Errorf("column %s differs", name)
				}
				gotArr.Release()
				want.Release()
			}
		})
	}
}

// smallFile writes a file with the given columns, all int64 or string.
func smallFile(t *testing.T, path string, fields ...arrow.Field) {
	t.Helper()
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for r := 0; r < 10; r++ {
		for i, f := range fields {
			appendValue(b.Field(i), f.Name, r)
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	writeFile(t, path, rec, 4, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	i64 := func(n string) arrow.Field { return arrow.Field{Name: n, Type: arrow.PrimitiveTypes.Int64} }
	i32 := func(n string) arrow.Field { return arrow.Field{Name: n, Type: arrow.PrimitiveTypes.Int32} }
	str := func(n string) arrow.Field {
		return arrow.Field{Name: n, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	smallFile(t, filepath.Join(dir, "a_ok1.parquet"), i64("a"), str("b"))
	smallFile(t, filepath.Join(dir, "a_ok2.parquet"), str("b"), i64("a"))
	smallFile(t, filepath.Join(dir, "type.parquet"), i32("a"), str("b"))
	smallFile(t, filepath.Join(dir, "missing.parquet"), i64("a"))
	smallFile(t, filepath.Join(dir, "extra.parquet"), i64("a"), str("b"), i64("c"))
	if err := os.WriteFile(filepath.Join(dir, "junk.parquet"), []byte("not a parquet file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := func(name string) string { return filepath.Join(dir, name) }

	tests := []struct {
		name  string
		paths []string
		// wantNew is in the error of New, wantLoad in the error of Schema.
		wantNew, wantLoad []string
	}{
		{name: "no paths", wantNew: []string{"at least one path"}},
		{name: "bad pattern", paths: []string{p("[")}, wantNew: []string{"paths[0]", "bad pattern"}},
		{name: "pattern matches nothing", paths: []string{p("a_ok1.parquet"), p("empty/*.parquet")}, wantLoad: []string{`"` + p("empty/*.parquet") + `" matches no files`}},
		{name: "missing file", paths: []string{p("nope.parquet")}, wantLoad: []string{p("nope.parquet"), "no such file"}},
		{name: "directory", paths: []string{p("empty")}, wantLoad: []string{p("empty"), "not a regular file"}},
		{name: "different type", paths: []string{p("a_ok1.parquet"), p("type.parquet")}, wantLoad: []string{"schema of " + p("type.parquet"), `column "a" is int32, not int64`}},
		{name: "missing column", paths: []string{p("a_ok1.parquet"), p("missing.parquet")}, wantLoad: []string{"schema of " + p("missing.parquet"), `column "b" is missing`}},
		{name: "extra column", paths: []string{p("a_ok1.parquet"), p("extra.parquet")}, wantLoad: []string{"schema of " + p("extra.parquet"), `extra column "c" (int64)`}},
		{name: "not parquet", paths: []string{p("junk.parquet")}, wantLoad: []string{"read metadata of " + p("junk.parquet")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := New(Config{Paths: tt.paths})
			if tt.wantNew != nil {
				wantErr(t, err, tt.wantNew)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Schema(context.Background())
			wantErr(t, err, tt.wantLoad)
			_, err = src.Splits(context.Background())
			wantErr(t, err, tt.wantLoad)
		})
	}
}

func wantErr(t *testing.T, err error, parts []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one with %q", parts)
	}
	for _, part := range parts {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not contain %q", err, part)
		}
	}
}

func TestFilesDedupedAndReordered(t *testing.T) {
	dir := t.TempDir()
	smallFile(t, filepath.Join(dir, "a.parquet"), arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64}, arrow.Field{Name: "y", Type: arrow.BinaryTypes.String})
	// Same columns in another order: readable by name.
	smallFile(t, filepath.Join(dir, "b.parquet"), arrow.Field{Name: "y", Type: arrow.BinaryTypes.String, Nullable: true}, arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64})
	src, err := New(Config{Paths: []string{filepath.Join(dir, "b.parquet"), filepath.Join(dir, "*.parquet"), filepath.Join(dir, "a.parquet")}})
	if err != nil {
		t.Fatal(err)
	}
	splits, err := src.Splits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range splits {
		got = append(got, fmt.Sprintf("%s:%d:%d", filepath.Base(pathOf(s)), rowGroupOf(s), s.Rows))
	}
	want := "a.parquet:0:4 a.parquet:1:4 a.parquet:2:2 b.parquet:0:4 b.parquet:1:4 b.parquet:2:2"
	if strings.Join(got, " ") != want {
		t.Errorf("splits %s, want %s", strings.Join(got, " "), want)
	}
	schema, err := src.Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f := schema.Field(1); f.Name != "y" || !f.Nullable {
		t.Errorf("column 1 is %v, want nullable y (nullable in b.parquet)", f)
	}
	conform(t, Config{Paths: []string{filepath.Join(dir, "b.parquet"), filepath.Join(dir, "*.parquet"), filepath.Join(dir, "a.parquet")}}, 0)
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.parquet")
	smallFile(t, path, arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64}, arrow.Field{Name: "y", Type: arrow.BinaryTypes.String})
	src, err := New(Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		split   sources.Split
		columns []string
		want    []string
	}{
		{"unknown column", testSplit(path, 1), []string{"x", "zz"}, []string{path + ", row group 1", `no column "zz"`, "(columns: x, y)"}},
		{"repeated column", testSplit(path, 0), []string{"x", "x"}, []string{`column "x" requested twice`}},
		{"no columns", testSplit(path, 0), nil, []string{"no columns"}},
		{"row group out of range", testSplit(path, 3), []string{"x"}, []string{path + ", row group 3", "has 3 row groups"}},
		{"foreign file", testSplit(filepath.Join(dir, "b.parquet"), 0), []string{"x"}, []string{"b.parquet", "not a file of this source"}},
		{"foreign split", sources.Split{ID: "x", Name: "slice 2 of 8", Payload: 2}, []string{"x"}, []string{"slice 2 of 8", "not a split of this source"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr, err := src.Open(context.Background(), tt.split, sources.OpenOptions{Columns: tt.columns})
			if err == nil {
				rr.Release()
			}
			wantErr(t, err, tt.want)
			if strings.Count(err.Error(), tt.split.String()) != 1 {
				t.Errorf("error %q does not name the split once", err)
			}
		})
	}
}

func TestReadErrorNamesSplit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.parquet")
	smallFile(t, path, arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64})
	src, err := New(Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	splits, err := src.Splits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ctx  func() context.Context
		prep func()
		want []string
	}{
		{"cancelled", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, func() {}, []string{path + ", row group 1", "context canceled"}},
		{"file removed", context.Background, func() {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, []string{"open " + path + ", row group 1", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr, err := src.Open(tt.ctx(), splits[1], sources.OpenOptions{Columns: []string{"x"}})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			tt.prep()
			if rr.Next() {
				t.Fatal("Next returned true")
			}
			wantErr(t, rr.Err(), tt.want)
			if rr.Next() {
				t.Fatal("Next returned true after an error")
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	dir := t.TempDir()
	smallFile(t, filepath.Join(dir, "a.parquet"), arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64})
	tests := []struct {
		name string
		yaml string
		want string // in the error; empty for success
	}{
		{"ok", "paths: [" + filepath.Join(dir, "*.parquet") + "]\n", ""},
		{"unknown key", "paths: [a]\npath: b\n", "path"},
		// The job removes the keys every source has before the connector
		// decodes its section: the connector does not know them.
		{"job-level key", "paths: [a]\nignore_extra_columns: true\n", "ignore_extra_columns"},
		{"no paths", "max_page_bytes: 1MiB\n", "at least one path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decode := func(v any) error { return yaml.UnmarshalWithOptions([]byte(tt.yaml), v, yaml.Strict()) }
			src, err := sources.New("parquet", decode)
			if tt.want != "" {
				wantErr(t, err, []string{tt.want})
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg := src.(*Source).cfg; len(cfg.Paths) != 1 {
				t.Errorf("config %+v, want the one path", cfg)
			}
			sourcestest.Run(t, sourcestest.Params{FileBased: true, New: func(t *testing.T) sources.Source {
				src, err := sources.New("parquet", decode)
				if err != nil {
					t.Fatal(err)
				}
				return src
			}})
		})
	}
}

// rowGroupOf is the row group a split of this source reads.
func rowGroupOf(sp sources.Split) int { return sp.Payload.(rowGroup).index }

// pathOf is the file a split of this source reads, as listed.
func pathOf(sp sources.Split) string { return sp.Payload.(rowGroup).path }

// testSplit is a split of row group rg of the file at path, as Splits would
// list it (without its ID and promises), or a split that names a row group
// the file lacks.
func testSplit(path string, rg int) sources.Split {
	return sources.Split{Name: splitName(path, rg), Payload: rowGroup{path: path, index: rg}, Rows: -1, Bytes: -1}
}

// conform runs the conformance suite on sources built from cfg with the
// given batch size (0 for the default).
func conform(t *testing.T, cfg Config, batchSize int64) {
	t.Helper()
	sourcestest.Run(t, sourcestest.Params{FileBased: true, New: func(t *testing.T) sources.Source {
		src, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		src.BatchSize = batchSize
		return src
	}})
}
