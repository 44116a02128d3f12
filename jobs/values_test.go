package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/chload/chload/internal/testenv"
)

// writeParquet writes rec to path with row groups of rowGroup rows.
func writeParquet(t *testing.T, path string, rec arrow.Record, rowGroup int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tbl := array.NewTableFromRecords(rec.Schema(), []arrow.Record{rec})
	defer tbl.Release()
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(rowGroup))
	if err := pqarrow.WriteTable(tbl, f, rowGroup, props, pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
}

// TestBadValuesNameFileRowGroupRowColumn: each kind of value that cannot
// be stored stops the run with a DataError naming where it is and the fix.
func TestBadValuesNameFileRowGroupRowColumn(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	mem := memory.NewGoAllocator()
	type column struct {
		chType string
		build  func(b array.Builder) // appends 8 rows; row 6 is the bad one
		want   []string
	}
	cases := map[string]column{
		"overflow": {"UInt8", func(b array.Builder) {
			b.(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4, 5, 6, 300, 8}, nil)
		}, []string{"300", "UInt8"}},
		"impossible date": {"Date", func(b array.Builder) {
			b.(*array.Date32Builder).AppendValues([]arrow.Date32{1, 2, 3, 4, 5, 6, 70000, 8}, nil)
		}, []string{"Date"}},
		"null into non-Nullable": {"UInt32", func(b array.Builder) {
			b.(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4, 5, 6, 0, 8}, []bool{true, true, true, true, true, true, false, true})
		}, []string{"NULL", "Nullable"}},
		"string too long": {"FixedString(3)", func(b array.Builder) {
			b.(*array.StringBuilder).AppendValues([]string{"a", "b", "c", "d", "e", "f", "toolong", "h"}, nil)
		}, []string{"toolong", "FixedString(3)"}},
		"fraction into integer": {"Int32", func(b array.Builder) {
			b.(*array.Float64Builder).AppendValues([]float64{1, 2, 3, 4, 5, 6, 2.5, 8}, nil)
		}, []string{"2.5", "Int32"}},
	}
	arrowType := map[string]arrow.DataType{
		"overflow": arrow.PrimitiveTypes.Int64, "impossible date": arrow.FixedWidthTypes.Date32,
		"null into non-Nullable": arrow.PrimitiveTypes.Int64, "string too long": arrow.BinaryTypes.String,
		"fraction into integer": arrow.PrimitiveTypes.Float64,
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			table := db + "." + strings.NewReplacer(" ", "_", "-", "_").Replace(name)
			exec(t, conn, fmt.Sprintf("CREATE TABLE %s (k UInt8, v %s) ENGINE = MergeTree ORDER BY k", table, c.chType))
			schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Uint8}, {Name: "v", Type: arrowType[name], Nullable: true}}, nil)
			b := array.NewRecordBuilder(mem, schema)
			defer b.Release()
			b.Field(0).(*array.Uint8Builder).AppendValues([]uint8{1, 2, 3, 4, 5, 6, 7, 8}, nil)
			c.build(b.Field(1))
			rec := b.NewRecord()
			defer rec.Release()
			dir := t.TempDir()
			path := filepath.Join(dir, "bad.parquet")
			writeParquet(t, path, rec, 4) // row 6 is row 2 of row group 1
			_, err := Run(context.Background(), loadJob(t, path, table, ""), RunParams{Logger: testLogger(t)})
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T), want *DataError", err, err)
			}
			want := parquetSplit(t, path, 1)
			if de.Split.ID != want.ID || de.Row != 2 || de.Column != "v" {
				t.Fatalf("error names %s row %d column %s, want %s row 2 column v: %v", de.Split, de.Row, de.Column, want, err)
			}
			msg := err.Error()
			for _, w := range append(c.want, want.String(), "row 2", "column v") {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if de.Err.Fix == "" {
				t.Errorf("no fix in %v", err)
			}
		})
	}
}
