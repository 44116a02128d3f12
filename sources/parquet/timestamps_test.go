package parquet

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/chload/chload/sources"
	"github.com/chload/chload/sources/sourcestest"
)

// TestTimestampKinds writes timestamp columns the Arrow writer cannot
// produce (isAdjustedToUTC=false, legacy converted types, INT96 next to
// INT64) with the low-level Parquet writer and reads them back.
func TestTimestampKinds(t *testing.T) {
	const (
		base    = int64(1_700_000_000_123_456_789) // ns since the epoch
		rows    = 100
		nsInDay = int64(86_400_000_000_000)
	)
	ts := func(row int, per int64) int64 { return (base + int64(row)*3_600_000_000_007) / per }
	tests := []struct {
		name     string
		node     func() (*schema.PrimitiveNode, error)
		want     arrow.DataType
		perNanos int64
	}{
		{"ms_local", func() (*schema.PrimitiveNode, error) {
			return schema.NewPrimitiveNodeLogical("ms_local", parquet.Repetitions.Optional, schema.NewTimestampLogicalType(false, schema.TimeUnitMillis), parquet.Types.Int64, -1, -1)
		}, &arrow.TimestampType{Unit: arrow.Millisecond}, 1_000_000},
		{"us_local", func() (*schema.PrimitiveNode, error) {
			return schema.NewPrimitiveNodeLogical("us_local", parquet.Repetitions.Optional, schema.NewTimestampLogicalType(false, schema.TimeUnitMicros), parquet.Types.Int64, -1, -1)
		}, &arrow.TimestampType{Unit: arrow.Microsecond}, 1_000},
		{"ns_local", func() (*schema.PrimitiveNode, error) {
			return schema.NewPrimitiveNodeLogical("ns_local", parquet.Repetitions.Optional, schema.NewTimestampLogicalType(false, schema.TimeUnitNanos), parquet.Types.Int64, -1, -1)
		}, &arrow.TimestampType{Unit: arrow.Nanosecond}, 1},
		{"us_utc", func() (*schema.PrimitiveNode, error) {
			return schema.NewPrimitiveNodeLogical("us_utc", parquet.Repetitions.Required, schema.NewTimestampLogicalType(true, schema.TimeUnitMicros), parquet.Types.Int64, -1, -1)
		}, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, 1_000},
		{"legacy_millis", func() (*schema.PrimitiveNode, error) {
			return schema.NewPrimitiveNodeConverted("legacy_millis", parquet.Repetitions.Optional, parquet.Types.Int64, schema.ConvertedTypes.TimestampMillis, 0, 0, 0, -1)
		}, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, 1_000_000},
		{"int96", func() (*schema.PrimitiveNode, error) {
			return schema.NewInt96Node("int96", parquet.Repetitions.Optional, -1), nil
		}, arrow.FixedWidthTypes.Timestamp_ns, 1},
	}

	fields := make(schema.FieldList, len(tests))
	for i, tt := range tests {
		n, err := tt.node()
		if err != nil {
			t.Fatalf("column %s: %v", tt.name, err)
		}
		fields[i] = n
	}
	root, err := schema.NewGroupNode("schema", parquet.Repetitions.Required, fields, -1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ts.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := file.NewParquetWriter(f, root)
	for g := 0; g < 2; g++ { // two row groups
		rg := w.AppendRowGroup()
		for i, tt := range tests {
			cw, err := rg.NextColumn()
			if err != nil {
				t.Fatal(err)
			}
			var defs []int16
			var i64 []int64
			var i96 []parquet.Int96
			for r := g * rows; r < (g+1)*rows; r++ {
				if fields[i].RepetitionType() == parquet.Repetitions.Optional {
					if r%5 == 2 {
						defs = append(defs, 0)
						continue
					}
					defs = append(defs, 1)
				}
				v := ts(r, tt.perNanos)
				if tt.name == "int96" {
					days, nanos := v/nsInDay, v%nsInDay
					i96 = append(i96, parquet.NewInt96([3]uint32{uint32(nanos), uint32(nanos >> 32), uint32(2_440_588 + days)}))
				} else {
					i64 = append(i64, v)
				}
			}
			switch cw := cw.(type) {
			case *file.Int64ColumnChunkWriter:
				_, err = cw.WriteBatch(i64, defs, nil)
			case *file.Int96ColumnChunkWriter:
				_, err = cw.WriteBatch(i96, defs, nil)
			}
			if err != nil {
				t.Fatalf("write %s: %v", tt.name, err)
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

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src, err := New(Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := sourcestest.ReadAll(context.Background(), src, sources.OpenOptions{Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tbl.Schema().Field(i).Type; !arrow.TypeEqual(got, tt.want) {
				t.Fatalf("type %s, want %s", got, tt.want)
			}
			arr := column(t, mem, tbl, i)
			defer arr.Release()
			col := arr.(*array.Timestamp)
			if col.Len() != 2*rows {
				t.Fatalf("%d rows, want %d", col.Len(), 2*rows)
			}
			for r := 0; r < col.Len(); r++ {
				optional := fields[i].RepetitionType() == parquet.Repetitions.Optional
				if optional && r%5 == 2 {
					if !col.IsNull(r) {
						t.Fatalf("row %d is %v, want null", r, col.Value(r))
					}
					continue
				}
				if want := ts(r, tt.perNanos); int64(col.Value(r)) != want {
					t.Fatalf("row %d is %d, want %d", r, col.Value(r), want)
				}
			}
		})
	}
	conform(t, Config{Paths: []string{path}}, 0)
}

// TestNestedLocalTimestamps reads a list of isAdjustedToUTC=false
// timestamps: the list's element type loses the zone like a plain column.
func TestNestedLocalTimestamps(t *testing.T) {
	elem, err := schema.NewPrimitiveNodeLogical("element", parquet.Repetitions.Optional, schema.NewTimestampLogicalType(false, schema.TimeUnitMicros), parquet.Types.Int64, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	list, err := schema.NewGroupNode("list", parquet.Repetitions.Repeated, schema.FieldList{elem}, -1)
	if err != nil {
		t.Fatal(err)
	}
	col, err := schema.NewGroupNodeLogical("times", parquet.Repetitions.Optional, schema.FieldList{list}, schema.ListLogicalType{}, -1)
	if err != nil {
		t.Fatal(err)
	}
	root, err := schema.NewGroupNode("schema", parquet.Repetitions.Required, schema.FieldList{col}, -1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "nested.parquet")
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
	// Rows: [10, 11], null, [], [null, 12].
	values := []int64{10, 11, 12}
	defs := []int16{3, 3, 0, 1, 2, 3}
	reps := []int16{0, 1, 0, 0, 0, 1}
	if _, err := cw.(*file.Int64ColumnChunkWriter).WriteBatch(values, defs, reps); err != nil {
		t.Fatal(err)
	}
	for _, c := range []interface{ Close() error }{cw, rg, w} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src, err := New(Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := sourcestest.ReadAll(context.Background(), src, sources.OpenOptions{Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	want := arrow.ListOf(&arrow.TimestampType{Unit: arrow.Microsecond})
	if got := tbl.Schema().Field(0).Type; !arrow.TypeEqual(got, want) {
		t.Fatalf("type %s, want %s", got, want)
	}
	arr := column(t, mem, tbl, 0)
	defer arr.Release()
	if got, wantS := arr.String(), "[[10 11] (null) [] [(null) 12]]"; got != wantS {
		t.Errorf("values %s, want %s", got, wantS)
	}
	conform(t, Config{Paths: []string{path}}, 0)
}
