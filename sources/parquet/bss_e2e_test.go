package parquet_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/testenv"
	"github.com/chload/chload/jobs"
	"github.com/chload/chload/sources/parquet"
)

// TestByteStreamSplitLoads loads the BYTE_STREAM_SPLIT file into the
// single test node through a job run and compares the table with what was
// written, value by value and bit for bit.
func TestByteStreamSplitLoads(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	ctx := context.Background()
	table := db + ".bss"
	ddl := "CREATE TABLE " + table + " (id Int64, f32 Float32, f32n Nullable(Float32), f64 Float64, f64n Nullable(Float64)) ENGINE = MergeTree ORDER BY id"
	if err := conn.Exec(ctx, ddl); err != nil {
		t.Fatalf("%s: %v", ddl, err)
	}
	path := filepath.Join(t.TempDir(), "bss.parquet")
	rec := parquet.WriteByteStreamSplitFile(t, memory.NewGoAllocator(), path)
	defer rec.Release()

	text := fmt.Sprintf("version: 1\nname: bss\nsource:\n  type: parquet\n  paths: [%q]\ntarget:\n  clickhouse:\n    hosts: [%q]\n  table: %s\n",
		path, testenv.ClickHouseAddr(t), table)
	job, err := jobs.Parse([]byte(text), jobs.LoadOptions{Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("job: %v\n%s", err, text)
	}
	sum, err := jobs.Run(ctx, job, jobs.RunParams{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if sum.RowsRead != parquet.ByteStreamSplitRows || sum.RowsWritten != parquet.ByteStreamSplitRows {
		t.Fatalf("rows read %d, written %d, want %d", sum.RowsRead, sum.RowsWritten, parquet.ByteStreamSplitRows)
	}

	rows, err := conn.Query(ctx, "SELECT id, f32, f32n, f64, f64n FROM "+table+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	f32 := rec.Column(1).(*array.Float32)
	f32n := rec.Column(2).(*array.Float32)
	f64 := rec.Column(3).(*array.Float64)
	f64n := rec.Column(4).(*array.Float64)
	n := 0
	for ; rows.Next(); n++ {
		var (
			id int64
			a  float32
			an *float32
			b  float64
			bn *float64
		)
		if err := rows.Scan(&id, &a, &an, &b, &bn); err != nil {
			t.Fatal(err)
		}
		if id != int64(n) {
			t.Fatalf("row %d has id %d", n, id)
		}
		if math.Float32bits(a) != math.Float32bits(f32.Value(n)) {
			t.Errorf("row %d: f32 %v, wrote %v", n, a, f32.Value(n))
		}
		if (an == nil) != f32n.IsNull(n) || an != nil && math.Float32bits(*an) != math.Float32bits(f32n.Value(n)) {
			t.Errorf("row %d: f32n %v, wrote %v", n, an, f32n.ValueStr(n))
		}
		if math.Float64bits(b) != math.Float64bits(f64.Value(n)) {
			t.Errorf("row %d: f64 %v, wrote %v", n, b, f64.Value(n))
		}
		if (bn == nil) != f64n.IsNull(n) || bn != nil && math.Float64bits(*bn) != math.Float64bits(f64n.Value(n)) {
			t.Errorf("row %d: f64n %v, wrote %v", n, bn, f64n.ValueStr(n))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != parquet.ByteStreamSplitRows {
		t.Fatalf("the table holds %d rows, want %d", n, parquet.ByteStreamSplitRows)
	}
}
