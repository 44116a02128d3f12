package chserver

import (
	"context"
	"fmt"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/testenv"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/plan"
)

// insertBatch builds a batch of two chunks of rows (k, s) = (i, "s-i") for
// i in [first, first+rows), converted by plan.
func insertBatch(t *testing.T, plan *plan.Plan, mem memory.Allocator, first, rows int) *batch.Batch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Uint64}, {Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	b := &batch.Batch{Partition: "tuple()"}
	for _, n := range []int{rows / 3, rows - rows/3} {
		rb := array.NewRecordBuilder(mem, schema)
		for i := first; i < first+n; i++ {
			// Descending keys, so the inserter's sort matters.
			rb.Field(0).(*array.Uint64Builder).Append(uint64(1<<40 - i))
			rb.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("s-%d", i))
		}
		rec := rb.NewRecord()
		rb.Release()
		conv, err := plan.Convert(rec, mem)
		rec.Release()
		if err != nil {
			t.Fatalf("convert: %v", err)
		}
		b.Chunks = append(b.Chunks, conv)
		b.Rows += conv.NumRows()
		first += n
	}
	return b
}

// TestInserterPaths inserts batches larger than one block through both
// insert paths: chload's own connections and Native encoder (for a String
// and a LowCardinality(String) column), and clickhouse-go's columns (asked
// for with DriverInserts). Each batch must land whole, as one part; a pooled
// connection the server has since dropped must be replaced, not fail the
// insert.
func TestInserterPaths(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	ctx := context.Background()
	node := NewNode(conn, writer.ConnParams{})
	server, err := node.Server(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, sType string
		native      bool
	}{
		{"native", "String", true},
		{"native_lc", "LowCardinality(String)", true},
		{"clickhouse_go", "LowCardinality(String)", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ddl := fmt.Sprintf("CREATE TABLE %s.%s (k UInt64, s %s) ENGINE = MergeTree ORDER BY k SETTINGS index_granularity = 8192", db, tt.name, tt.sType)
			create := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}))
			if err := conn.Exec(create, ddl); err != nil {
				t.Fatalf("create table: %v", err)
			}
			desc, err := node.Describe(ctx, db, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			table, err := writer.NewTable(desc)
			if err != nil {
				t.Fatal(err)
			}
			src := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Uint64}, {Name: "s", Type: arrow.BinaryTypes.String}}, nil)
			pl, err := plan.New(table, server, src, false)
			if err != nil {
				t.Fatal(err)
			}
			addr := testenv.ClickHouseAddr(t)
			w := NewInserter(conn, writer.ConnParams{Addrs: []string{addr}, User: "default", Compression: "lz4", DriverInserts: !tt.native}, pl.Insert(), mem)
			defer w.Close()
			if w.Native() != tt.native {
				t.Fatalf("Native() = %v, want %v", w.Native(), tt.native)
			}
			const rows = 150000 // three blocks
			for round := 0; round < 2; round++ {
				if round == 1 && tt.native {
					// The server drops the idle connection.
					if len(w.native.idle) != 1 {
						t.Fatalf("%d idle connections after an insert, want 1", len(w.native.idle))
					}
					w.native.idle[0].Close()
				}
				b := insertBatch(t, pl, mem, round*rows, rows)
				err := w.Insert(ctx, b)
				b.Release()
				if err != nil {
					t.Fatalf("insert round %d: %v", round, err)
				}
			}
			var count, distinct, matching uint64
			q := fmt.Sprintf("SELECT count(), uniqExact(s), sum(s = concat('s-', toString(%d - k))) FROM %s.%s", uint64(1<<40), db, tt.name)
			if err := conn.QueryRow(ctx, q).Scan(&count, &distinct, &matching); err != nil {
				t.Fatal(err)
			}
			if count != 2*rows || distinct != 2*rows || matching != 2*rows {
				t.Errorf("count %d, distinct %d, matching %d; want %d each", count, distinct, matching, 2*rows)
			}
			var parts uint64
			q = fmt.Sprintf("SELECT count() FROM system.parts WHERE database = '%s' AND table = '%s' AND active", db, tt.name)
			if err := conn.QueryRow(ctx, q).Scan(&parts); err != nil {
				t.Fatal(err)
			}
			if parts != 2 {
				t.Errorf("%d parts, want one per insert (2)", parts)
			}
		})
	}
}
