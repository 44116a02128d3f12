package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/testenv"
	"github.com/chload/chload/sources"
)

// countingStandIn is a source whose splits promise one number of rows and
// deliver another, as a reader that ends a row group early without an error
// (arrow/go v15 on a bad page) or a file that changed would.
type countingStandIn struct {
	Promised  []int64 `yaml:"promised"`
	Delivered []int64 `yaml:"delivered"`
}

func init() {
	sources.Register("rowcount-standin", func(decode sources.Decoder) (sources.Source, error) {
		s := &countingStandIn{}
		if err := decode(s); err != nil {
			return nil, err
		}
		if len(s.Promised) != len(s.Delivered) {
			return nil, errors.New("promised and delivered differ in length")
		}
		return s, nil
	})
}

var standInSchema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)

func (s *countingStandIn) Schema(context.Context) (*arrow.Schema, error) { return standInSchema, nil }

func (s *countingStandIn) Splits(context.Context) ([]sources.Split, error) {
	out := make([]sources.Split, len(s.Promised))
	for i, n := range s.Promised {
		out[i] = sources.Split{ID: fmt.Sprint(i), Name: fmt.Sprintf("stand-in split %d", i), Payload: i, Rows: n, Bytes: n * 8}
	}
	return out, nil
}

func (s *countingStandIn) Open(_ context.Context, sp sources.Split, _ sources.OpenOptions) (array.RecordReader, error) {
	var recs []arrow.Record
	i := sp.Payload.(int)
	first := int64(i) * 1_000_000
	for done := int64(0); done < s.Delivered[i]; {
		n := min(1000, s.Delivered[i]-done)
		b := array.NewInt64Builder(memory.DefaultAllocator)
		for i := int64(0); i < n; i++ {
			b.Append(first + done + i)
		}
		col := b.NewArray()
		b.Release()
		recs = append(recs, array.NewRecord(standInSchema, []arrow.Array{col}, n))
		col.Release()
		done += n
	}
	rr, err := array.NewRecordReader(standInSchema, recs)
	for _, r := range recs {
		r.Release()
	}
	return rr, err
}

func (s *countingStandIn) Close() error { return nil }

// TestRowCountsAreChecked: a split that delivers fewer or more rows than it
// promises fails the run with a source error (exit 6) naming the split and
// both numbers; a source that keeps its promises loads every row.
func TestRowCountsAreChecked(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	addr := testenv.ClickHouseAddr(t)
	list := func(v []int64) string {
		s := make([]string, len(v))
		for i, n := range v {
			s[i] = fmt.Sprint(n)
		}
		return "[" + strings.Join(s, ", ") + "]"
	}
	for _, tc := range []struct {
		name                string
		promised, delivered []int64
		wantSplit           string // "" when the run must succeed
		wantText            string
	}{
		{"kept", []int64{2500, 1000}, []int64{2500, 1000}, "", ""},
		{"fewer", []int64{2500, 3000, 1000}, []int64{2500, 2000, 1000}, "stand-in split 1", "delivered 2000 rows but the split's metadata promises 3000"},
		{"more", []int64{2500, 1000}, []int64{2500, 1500}, "stand-in split 1", "(1500 so far, 1000 promised)"},
		{"empty", []int64{500}, []int64{0}, "stand-in split 0", "delivered 0 rows but the split's metadata promises 500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := db + ".rc_" + tc.name
			exec(t, conn, "CREATE TABLE "+table+" (id Int64) ENGINE = MergeTree ORDER BY id")
			text := fmt.Sprintf("version: 1\nname: rc\nsource:\n  type: rowcount-standin\n  promised: %s\n  delivered: %s\ntarget:\n  clickhouse:\n    hosts: [%q]\n  table: %s\nwrite:\n  batch_rows: 1000\n",
				list(tc.promised), list(tc.delivered), addr, table)
			job, err := Parse([]byte(text), LoadOptions{Env: func(string) (string, bool) { return "", false }})
			if err != nil {
				t.Fatal(err)
			}
			sum, err := Run(context.Background(), job, RunParams{Logger: testLogger(t)})
			if tc.wantSplit == "" {
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				var want int64
				for _, n := range tc.delivered {
					want += n
				}
				var got uint64
				if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+table).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if sum.RowsRead != want || sum.RowsWritten != want || int64(got) != want {
					t.Fatalf("read %d, wrote %d, table holds %d; want %d each", sum.RowsRead, sum.RowsWritten, got, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("run succeeded with a split that broke its promise; summary %+v", sum)
			}
			var se *SourceError
			var rc *RowCountError
			if !errors.As(err, &se) || !errors.As(err, &rc) {
				t.Fatalf("error is not a source error with a row count: %T %v", err, err)
			}
			if rc.Split != tc.wantSplit || !strings.Contains(err.Error(), tc.wantSplit) || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("error %q does not name split %q and %q", err, tc.wantSplit, tc.wantText)
			}
			// What the failed run reports written is what the table holds,
			// in all and per partition.
			var inTable uint64
			if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+table).Scan(&inTable); err != nil {
				t.Fatal(err)
			}
			var perPartition int64
			for _, p := range sum.Partitions {
				perPartition += p.Rows
			}
			if sum.RowsWritten != int64(inTable) || perPartition != int64(inTable) {
				t.Fatalf("summary says %d rows written (%d over its partitions); the table holds %d", sum.RowsWritten, perPartition, inTable)
			}
		})
	}
}

// TestDryRunWithoutPartitionKey: a table with no PARTITION BY has no key
// column to read, and the dry run still counts the rows and batches the
// run makes, reading one column.
func TestDryRunWithoutPartitionKey(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	addr := testenv.ClickHouseAddr(t)
	table := db + ".nokey"
	exec(t, conn, "CREATE TABLE "+table+" (id Int64) ENGINE = MergeTree ORDER BY tuple()")
	text := fmt.Sprintf("version: 1\nname: nokey\nsource:\n  type: rowcount-standin\n  promised: [2500, 1000]\n  delivered: [2500, 1000]\ntarget:\n  clickhouse:\n    hosts: [%q]\n  table: %s\nwrite:\n  batch_rows: 1000\n", addr, table)
	job, err := Parse([]byte(text), LoadOptions{Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := DryRun(context.Background(), job, RunParams{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if rep.Rows != 3500 || rep.Batches != 4 {
		t.Fatalf("dry run counts %d rows in %d batches, want 3500 in 4", rep.Rows, rep.Batches)
	}
}
