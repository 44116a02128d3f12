package duckread

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// TestParseSplitsFiles: header lines and rows go to the right file, and a
// short or long output is an error, not a silent truncation.
func TestParseSplitsFiles(t *testing.T) {
	out := `{"file":"/a","columns":[{"name":"x","type":"BIGINT"}],"rows":2}
["1"]
[null]
{"file":"/b","columns":[{"name":"y","type":"VARCHAR[]"}],"rows":1}
[["a",null]]
`
	files, err := parse(bytes.NewBufferString(out), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Path != "a" || files[1].Path != "b" {
		t.Fatalf("files %+v", files)
	}
	if want := [][]any{{"1"}, {nil}}; !reflect.DeepEqual(files[0].Rows, want) {
		t.Errorf("a rows %v, want %v", files[0].Rows, want)
	}
	if want := [][]any{{[]any{"a", nil}}}; !reflect.DeepEqual(files[1].Rows, want) {
		t.Errorf("b rows %v, want %v", files[1].Rows, want)
	}
	if _, err := parse(bytes.NewBufferString(out[:len(out)-12]), []string{"a", "b"}); err == nil {
		t.Error("short output parsed without error")
	}
	if _, err := parse(bytes.NewBufferString(out), []string{"a"}); err == nil {
		t.Error("output with an extra file parsed without error")
	}
}

// TestReadValuesExactly writes edge values with arrow-go and checks DuckDB
// gives each back in the documented text form, derived here from the value
// written.
func TestReadValuesExactly(t *testing.T) {
	Require(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "u64", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 18, Scale: 4}},
		{Name: "bin", Type: arrow.BinaryTypes.Binary},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
		{Name: "l", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	i64 := []int64{math.MinInt64, math.MaxInt64, 0}
	u64 := []uint64{math.MaxUint64, 0, 1}
	f32 := []float32{0.1, float32(math.Inf(-1)), float32(math.NaN())}
	f64 := []float64{math.Copysign(0, -1), 1e300, 5e-324}
	dec := []int64{-1234, 5, 999999999999999999}
	bin := [][]byte{{0, 0xff}, {}, []byte("é")}
	ts := []int64{-1, 0, 1700000000123}
	b.Field(0).(*array.Int64Builder).AppendValues(i64, []bool{true, true, false})
	b.Field(1).(*array.Uint64Builder).AppendValues(u64, nil)
	b.Field(2).(*array.Float32Builder).AppendValues(f32, nil)
	b.Field(3).(*array.Float64Builder).AppendValues(f64, nil)
	for _, d := range dec {
		b.Field(4).(*array.Decimal128Builder).Append(decimal128.FromI64(d))
	}
	b.Field(5).(*array.BinaryBuilder).AppendValues(bin, nil)
	for _, v := range ts {
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(v))
	}
	lb := b.Field(7).(*array.ListBuilder)
	for r := 0; r < 3; r++ {
		lb.Append(true)
		for j := 0; j < r; j++ {
			lb.ValueBuilder().AppendNull()
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "edge.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, parquet.NewWriterProperties(parquet.WithAllocator(mem)), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := Read(t, path)[0]
	if got.NumRows != 3 || len(got.Rows) != 3 {
		t.Fatalf("rows %d (%d)", got.NumRows, len(got.Rows))
	}
	floatText := func(v float64, bits int) string {
		if v == 0 && math.Signbit(v) {
			return "-0"
		}
		if math.IsInf(v, 1) {
			return "Infinity"
		}
		if math.IsInf(v, -1) {
			return "-Infinity"
		}
		return strconv.FormatFloat(v, 'g', -1, bits)
	}
	for r := 0; r < 3; r++ {
		want := []any{
			strconv.FormatInt(i64[r], 10), strconv.FormatUint(u64[r], 10),
			"", floatText(f64[r], 64), decimal128.FromI64(dec[r]).ToString(4),
			"", strconv.FormatInt(ts[r]*1000, 10), make([]any, r),
		}
		if r == 2 {
			want[0] = nil
		}
		want[5] = ""
		for _, c := range bin[r] {
			want[5] = want[5].(string) + strconv.FormatUint(uint64(c>>4), 16) + strconv.FormatUint(uint64(c&15), 16)
		}
		// A FLOAT comes back as the double it widens to: parse it and narrow.
		if v, err := strconv.ParseFloat(got.Rows[r][2].(string), 64); err != nil || math.Float32bits(float32(v)) != math.Float32bits(f32[r]) {
			t.Errorf("row %d f32: duckdb %v, wrote %v", r, got.Rows[r][2], f32[r])
		}
		want[2] = got.Rows[r][2]
		if !reflect.DeepEqual(got.Rows[r], want) {
			t.Errorf("row %d:\nduckdb %#v\nwrote  %#v", r, got.Rows[r], want)
		}
	}
	if c := got.Columns[got.Col("ts")].Type; c != "TIMESTAMP WITH TIME ZONE" {
		t.Errorf("ts typed %q", c)
	}
}

// TestReadEachNamesUnreadableFile: each file DuckDB cannot read carries
// DuckDB's message, in the order asked, and reading goes on past it.
func TestReadEachNamesUnreadableFile(t *testing.T) {
	Require(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.parquet")
	if err := os.WriteFile(bad, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.parquet")
	files := ReadEach(t, bad, missing)
	if len(files) != 2 || files[0].Err == "" || files[1].Err == "" {
		t.Fatalf("files %+v", files)
	}
	if files[0].Path != bad || files[1].Path != missing {
		t.Errorf("paths %s %s", files[0].Path, files[1].Path)
	}
}
