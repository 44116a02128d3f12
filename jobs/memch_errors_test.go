package jobs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/memch"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/batch"
)

// memSingle is one in-memory server at ch1:9000 holding table.
func memSingle(table writer.TableDesc) (*memch.House, *memch.Server) {
	house := memch.NewHouse()
	srv := house.AddServer(memch.ServerParams{Addr: "ch1:9000"})
	srv.CreateTable(table)
	return house, srv
}

// houseRows counts the rows the house holds.
func houseRows(house *memch.House) int64 {
	var n int64
	for _, in := range house.Inserts() {
		n += int64(in.Rows)
	}
	return n
}

// TestMemBadValues: a value the column cannot hold stops the run with a
// data error naming the file, the row group, the row and the column.
func TestMemBadValues(t *testing.T) {
	for _, tc := range []struct {
		name, chType string
		arrowType    arrow.DataType
		build        func(b array.Builder) // 8 rows; row 6 is bad
		want         []string
	}{
		{"negative into UInt8", "UInt8", arrow.PrimitiveTypes.Int64, func(b array.Builder) {
			b.(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4, 5, 6, -5, 8}, nil)
		}, []string{"-5", "UInt8"}},
		{"too long for FixedString", "FixedString(3)", arrow.BinaryTypes.String, func(b array.Builder) {
			b.(*array.StringBuilder).AppendValues([]string{"a", "b", "c", "d", "e", "f", "toolong", "h"}, nil)
		}, []string{"toolong", "FixedString(3)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			house, _ := memSingle(memch.Table("db.bad", "MergeTree", "", "k", "k UInt8", "v "+tc.chType))
			mem := memory.NewGoAllocator()
			schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Uint8}, {Name: "v", Type: tc.arrowType}}, nil)
			b := array.NewRecordBuilder(mem, schema)
			defer b.Release()
			b.Field(0).(*array.Uint8Builder).AppendValues([]uint8{1, 2, 3, 4, 5, 6, 7, 8}, nil)
			tc.build(b.Field(1))
			rec := b.NewRecord()
			defer rec.Release()
			path := filepath.Join(t.TempDir(), "bad.parquet")
			writeParquet(t, path, rec, 4) // row 6 is row 2 of row group 1
			_, err := memRun(t, house, clusterJob(t, path, "db.bad", "", "", "ch1:9000"))
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T), want a data error", err, err)
			}
			for _, w := range append(tc.want, path, "row group 1", "row 2", "column v") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
			for _, in := range house.Inserts() {
				for _, v := range in.Column("k") {
					if v.(uint64) == 7 {
						t.Fatalf("the bad row was inserted")
					}
				}
			}
		})
	}
}

// smallEvents writes a few thousand events and returns their glob.
func smallEvents(t *testing.T) string {
	glob, _ := generate(t, 5_000, 1, 1_000)
	return glob
}

// TestMemTargetErrors: a missing table, and a table that changed between
// planning and an insert, are target errors.
func TestMemTargetErrors(t *testing.T) {
	glob := smallEvents(t)
	t.Run("missing table", func(t *testing.T) {
		house, _ := memSingle(eventsTable("db.events", "MergeTree"))
		_, err := memRun(t, house, clusterJob(t, glob, "db.nope", "", "", "ch1:9000"))
		var te *writer.TargetError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), "db.nope") || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("error %v (%T), want a target error naming db.nope", err, err)
		}
	})
	t.Run("source column not in the table", func(t *testing.T) {
		narrow := memch.Table("db.narrow", "MergeTree", "toYYYYMM(event_date)", "event_id", "event_id String", "event_date Date")
		house, _ := memSingle(narrow)
		_, err := memRun(t, house, clusterJob(t, glob, "db.narrow", "", "", "ch1:9000"))
		var te *writer.TargetError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), "ignore_extra_columns") {
			t.Fatalf("error %v (%T), want a target error with the fix", err, err)
		}
		// ignore_extra_columns loads the columns the table has.
		job, err := Parse([]byte(fmt.Sprintf("version: 1\nname: t\nsource: {type: parquet, paths: [%q], ignore_extra_columns: true}\ntarget: {table: db.narrow, clickhouse: {hosts: [\"ch1:9000\"]}}\n", glob)), LoadOptions{Env: func(string) (string, bool) { return "", false }})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := memRun(t, house, job)
		if err != nil || sum.RowsWritten != 5_000 || houseRows(house) != 5_000 {
			t.Fatalf("narrow load: %v, %d rows written, %d held", err, sum.RowsWritten, houseRows(house))
		}
		for _, in := range house.Inserts() {
			if len(in.Columns) != 2 {
				t.Fatalf("insert names columns %v", in.Columns)
			}
		}
	})
	t.Run("table changed during the run", func(t *testing.T) {
		house, srv := memSingle(eventsTable("db.events", "MergeTree"))
		changed := eventsTable("db.events", "MergeTree")
		for i, c := range changed.Columns {
			if c.Name == "duration_ms" {
				changed.Columns[i].TypeName = "String"
			}
		}
		srv.BeforeInsert(func(*batch.Batch) { srv.CreateTable(changed) })
		_, err := memRun(t, house, clusterJob(t, glob, "db.events", "", "", "ch1:9000"))
		var te *writer.TargetError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), "changed") || !strings.Contains(err.Error(), "duration_ms") {
			t.Fatalf("error %v (%T), want a target error naming the changed column", err, err)
		}
		if len(house.Inserts()) != 0 {
			t.Fatalf("rows were inserted into the changed table")
		}
	})
}

// TestMemServerErrors: a refusal fails the run with the server's error; an
// insert whose answer was lost is counted in RowsOutcomeUnknown, whether
// the server wrote its rows or not, and never in RowsWritten.
func TestMemServerErrors(t *testing.T) {
	glob := smallEvents(t)
	write := "  batch_rows: 1000\n  concurrency: 1\n"
	t.Run("refusal", func(t *testing.T) {
		house, srv := memSingle(eventsTable("db.events", "MergeTree"))
		srv.FailNext(1, memch.Exception(241, "Memory limit (for query) exceeded"))
		sum, err := memRun(t, house, clusterJob(t, glob, "db.events", "", write, "ch1:9000"))
		var se *writer.ServerError
		if !errors.As(err, &se) || se.Code != 241 {
			t.Fatalf("error %v (%T), want the server's exception 241", err, err)
		}
		if sum == nil || sum.RowsWritten != houseRows(house) || sum.RowsOutcomeUnknown != 0 {
			t.Fatalf("summary %+v; the table holds %d rows", sum, houseRows(house))
		}
	})
	for _, committed := range []bool{false, true} {
		t.Run(fmt.Sprintf("outcome unknown, rows written %v", committed), func(t *testing.T) {
			house, srv := memSingle(eventsTable("db.events", "MergeTree"))
			if committed {
				srv.FailNextCommitted(1, memch.OutcomeUnknown(srv.Addr()))
			} else {
				srv.FailNext(1, memch.OutcomeUnknown(srv.Addr()))
			}
			sum, err := memRun(t, house, clusterJob(t, glob, "db.events", "", write, "ch1:9000"))
			var se *writer.ServerError
			if !errors.Is(err, writer.ErrOutcomeUnknown) || !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want a server error with an unknown outcome", err, err)
			}
			failed := house.Failed()
			if len(failed) != 1 || failed[0].Committed != committed {
				t.Fatalf("failed attempts %+v", failed)
			}
			unknown := int64(failed[0].Rows)
			if sum.RowsOutcomeUnknown != unknown {
				t.Fatalf("%d rows of unknown outcome counted, the batch held %d", sum.RowsOutcomeUnknown, unknown)
			}
			held := houseRows(house)
			if committed {
				held -= unknown
			}
			if sum.RowsWritten != held {
				t.Fatalf("%d rows counted written; the table holds %d besides the unknown batch", sum.RowsWritten, held)
			}
		})
	}
}

// TestMemSourceErrors: a truncated Parquet file, and a split that
// delivers fewer rows than it promises, are source errors.
func TestMemSourceErrors(t *testing.T) {
	t.Run("truncated file", func(t *testing.T) {
		glob := smallEvents(t)
		paths, _ := filepath.Glob(glob)
		data, err := os.ReadFile(paths[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(paths[0], data[:len(data)/2], 0o644); err != nil {
			t.Fatal(err)
		}
		house, _ := memSingle(eventsTable("db.events", "MergeTree"))
		_, err = memRun(t, house, clusterJob(t, glob, "db.events", "", "", "ch1:9000"))
		var se *SourceError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), filepath.Base(paths[0])) {
			t.Fatalf("error %v (%T), want a source error naming the file", err, err)
		}
		if len(house.Inserts()) != 0 {
			t.Fatalf("rows of a corrupt source were inserted")
		}
	})
	t.Run("short split", func(t *testing.T) {
		house, _ := memSingle(memch.Table("db.ids", "MergeTree", "", "id", "id Int64"))
		text := "version: 1\nname: rc\nsource:\n  type: rowcount-standin\n  promised: [2500, 3000]\n  delivered: [2500, 2000]\ntarget:\n  clickhouse:\n    hosts: [\"ch1:9000\"]\n  table: db.ids\nwrite:\n  batch_rows: 1000\n"
		job, err := Parse([]byte(text), LoadOptions{Env: func(string) (string, bool) { return "", false }})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := memRun(t, house, job)
		var se *SourceError
		var rc *RowCountError
		if !errors.As(err, &se) || !errors.As(err, &rc) || rc.Promised != 3000 || rc.Delivered != 2000 {
			t.Fatalf("error %v (%T), want a source error with the row counts", err, err)
		}
		if sum.RowsWritten != houseRows(house) {
			t.Fatalf("summary says %d rows written, the table holds %d", sum.RowsWritten, houseRows(house))
		}
	})
}

// TestMemUnpartitionedTable: a table without a partition key takes
// batches of the one partition tuple(), and the dry run counts the rows
// and batches the run makes.
func TestMemUnpartitionedTable(t *testing.T) {
	house, srv := memSingle(memch.Table("db.ids", "MergeTree", "", "", "id Int64"))
	text := "version: 1\nname: nokey\nsource:\n  type: rowcount-standin\n  promised: [2500, 1000]\n  delivered: [2500, 1000]\ntarget:\n  clickhouse:\n    hosts: [\"ch1:9000\"]\n  table: db.ids\nwrite:\n  batch_rows: 1000\n"
	job, err := Parse([]byte(text), LoadOptions{Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := memDryRun(t, house, job)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := memRun(t, house, job)
	if err != nil {
		t.Fatal(err)
	}
	inserts := house.Inserts()
	for _, in := range inserts {
		if in.Partition != "tuple()" {
			t.Fatalf("insert into partition %q", in.Partition)
		}
	}
	if rep.Rows != 3500 || rep.Batches != len(inserts) || sum.RowsWritten != 3500 || houseRows(house) != 3500 {
		t.Fatalf("dry run %d rows in %d batches; run wrote %d rows in %d inserts", rep.Rows, rep.Batches, sum.RowsWritten, len(inserts))
	}
	if st := srv.Partitions("db", "ids")["tuple()"]; st.Rows != 3500 || st.Parts != int64(len(inserts)) {
		t.Fatalf("partition tuple() holds %+v", st)
	}
}
