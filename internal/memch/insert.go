package memch

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/chcol"
)

// Insert is one INSERT a server took: one part of one partition.
type Insert struct {
	// Server is the address of the server inserted into.
	Server string
	// Database and Table name the table.
	Database, Table string
	// Partition, Shard and Seq are the batch's: its partition as
	// system.parts prints it, its shard index and its number within the
	// partition.
	Partition string
	Shard     int
	Seq       int
	// Order numbers the house's inserts in the order they were committed
	// or failed, from 0.
	Order int
	// Rows counts the rows.
	Rows int
	// Columns are the INSERT's column names; Values holds, per column, the
	// rows' values in the order they were inserted (sorted by the sorting
	// key), boxed by Value.
	Columns []string
	Values  [][]any
	// Err is the error the insert returned (nil for a success); Committed
	// says the rows are in the table.
	Err       error
	Committed bool
}

// String names the insert without its values.
func (in Insert) String() string {
	s := fmt.Sprintf("insert #%d on %s into %s.%s: shard %d, partition %s, batch %d, %d rows", in.Order, in.Server, in.Database, in.Table, in.Shard, in.Partition, in.Seq, in.Rows)
	if in.Err != nil {
		s += fmt.Sprintf(", failed (committed %v): %v", in.Committed, in.Err)
	}
	return s
}

// Column returns the values of the named column, or nil.
func (in Insert) Column(name string) []any {
	for i, c := range in.Columns {
		if c == name {
			return in.Values[i]
		}
	}
	return nil
}

// Insert takes b as one part, as the real node does: the table must exist
// (else a non-retryable exception 60, UNKNOWN_TABLE), every column the
// INSERT names must be in it (else exception 16) with the planned type up
// to LowCardinality (else a *writer.TargetError: the table changed), the
// rows are sorted by ins.Sorting, and every column is encoded in the
// Native format. It does not release b.
func (c *conn) Insert(ctx context.Context, ins *writer.Insert, b *batch.Batch) error {
	op := fmt.Sprintf("insert batch %d of partition %s (%d rows)", b.Seq, b.Partition, b.Rows)
	h, s := c.s.h, c.s
	h.mu.Lock()
	before := s.before
	h.mu.Unlock()
	if before != nil {
		before(b)
	}
	rec := Insert{Server: s.p.Addr, Database: ins.Table.Database, Table: ins.Table.Name, Partition: b.Partition, Shard: b.Shard, Seq: b.Seq, Rows: int(b.Rows)}
	h.mu.Lock()
	if err := c.checkLocked(ctx, op); err != nil {
		h.mu.Unlock()
		return h.fail(rec, err)
	}
	desc, ok := s.tables[rec.Database+"."+rec.Table]
	h.mu.Unlock()
	if !ok {
		return h.fail(rec, withOp(Exception(60, fmt.Sprintf("Table %s.%s doesn't exist.", rec.Database, rec.Table)), op))
	}
	if err := checkColumns(ins, desc, op); err != nil {
		return h.fail(rec, err)
	}
	var f *fault
	h.mu.Lock()
	if len(s.faults) > 0 {
		f = &s.faults[0]
		s.faults = s.faults[1:]
	}
	h.mu.Unlock()
	if f != nil && !f.committed {
		return h.fail(rec, withOp(f.err, op))
	}
	cols, vals, err := sortAndEncode(ins, b, op)
	if err != nil {
		return h.fail(rec, err)
	}
	rec.Columns, rec.Values = cols, vals
	if !h.commit(s, rec) {
		// The server went down while the insert was on its way.
		rec.Columns, rec.Values = nil, nil
		return h.fail(rec, withOp(NetworkError(s.p.Addr), op))
	}
	if f != nil {
		rec.Committed = true
		return h.fail(rec, withOp(f.err, op))
	}
	return nil
}

// fail records a failed attempt and returns err.
func (h *House) fail(rec Insert, err error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	rec.Err = err
	rec.Order = len(h.inserts) + len(h.failed)
	h.failed = append(h.failed, rec)
	return err
}

// commit adds rec's rows to its server's table, unless the server is
// down (false).
func (h *House) commit(s *Server, rec Insert) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.down {
		return false
	}
	rec.Committed = true
	rec.Order = len(h.inserts) + len(h.failed)
	h.inserts = append(h.inserts, rec)
	key := rec.Database + "." + rec.Table
	if s.parts[key] == nil {
		s.parts[key] = map[string]writer.PartitionState{}
	}
	st := s.parts[key][rec.Partition]
	st.Parts++
	st.Rows += int64(rec.Rows)
	s.parts[key][rec.Partition] = st
	if s.downAfter > 0 {
		s.downAfter--
		if s.downAfter == 0 {
			s.down = true
		}
	}
	return true
}

// checkColumns checks the INSERT's columns against the table's, as the
// server's answer to an INSERT and chserver's check of its header do.
func checkColumns(ins *writer.Insert, desc writer.TableDesc, op string) error {
	table := desc.Database + "." + desc.Name
	for _, col := range ins.Columns {
		var found *writer.Column
		for i := range desc.Columns {
			if desc.Columns[i].Name == col.Name {
				found = &desc.Columns[i]
				break
			}
		}
		if found == nil {
			return withOp(Exception(16, fmt.Sprintf("No such column %s in table %s", col.Name, table)), op)
		}
		if found.TypeName == col.TypeName || col.TypeName == "" {
			continue
		}
		ht, err := chcol.ParseType(found.TypeName)
		if err == nil && col.Type != nil && sameButLowCardinality(ht, col.Type) {
			continue
		}
		return &writer.TargetError{Table: table, Problem: fmt.Sprintf("the table changed during the run: column %s is %s on the server, chload planned %s", col.Name, found.TypeName, col.TypeName),
			Fix: "run the job again, which plans the load for the table as it is now"}
	}
	return nil
}

// sameButLowCardinality reports whether a and b are the same type up to the
// top-level LowCardinality wrapper.
func sameButLowCardinality(a, b *chcol.Type) bool {
	x, y := *a, *b
	x.LowCardinality, y.LowCardinality = false, false
	return x.String() == y.String()
}

// sortAndEncode orders b's rows as the real inserter does, encodes every
// column the Native encoder takes (which checks it is in canonical form),
// and returns the columns' names and values in that order.
func sortAndEncode(ins *writer.Insert, b *batch.Batch, op string) ([]string, [][]any, error) {
	for _, c := range b.Chunks {
		if int(c.NumCols()) != len(ins.Columns) {
			return nil, nil, fmt.Errorf("%s: a chunk has %d columns, the insert names %d", op, c.NumCols(), len(ins.Columns))
		}
	}
	order := batch.SortPermutation
	if b.SortedChunks {
		order = batch.MergePermutation
	}
	perm, err := order(b.Chunks, ins.Sorting, memory.DefaultAllocator)
	if err != nil {
		return nil, nil, fmt.Errorf("sort batch %d of partition %s: %w", b.Seq, b.Partition, err)
	}
	lens := make([]int, len(b.Chunks))
	total := 0
	for k, c := range b.Chunks {
		lens[k] = int(c.NumRows())
		total += lens[k]
	}
	if int64(total) != b.Rows {
		return nil, nil, fmt.Errorf("%s: the chunks hold %d rows", op, total)
	}
	refs, err := chcol.LocateRows(lens, perm)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	names := make([]string, len(ins.Columns))
	vals := make([][]any, len(ins.Columns))
	arrs := make([]arrow.Array, len(b.Chunks))
	for i, col := range ins.Columns {
		names[i] = col.Name
		for k, c := range b.Chunks {
			arrs[k] = c.Column(i)
		}
		if col.Type != nil && chcol.NativeSupported(col.Type) {
			if _, err := chcol.AppendNative(nil, col.Type, arrs, refs); err != nil {
				return nil, nil, fmt.Errorf("%s: column %s: %w", op, col.Name, err)
			}
		}
		v := make([]any, refs.Len())
		for j := range v {
			v[j] = Value(arrs[refs.Chunk[j]], int(refs.Row[j]))
		}
		vals[i] = v
	}
	return names, vals, nil
}

// Value boxes row i of a: nil for NULL; int64 for signed integers, uint64
// for unsigned ones, float64, bool, string for String and FixedString
// bytes, int32 days for Date32, int64 for a Timestamp in its unit; any
// other type as its text (ValueStr).
func Value(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return uint64(a.Value(i))
	case *array.Uint16:
		return uint64(a.Value(i))
	case *array.Uint32:
		return uint64(a.Value(i))
	case *array.Uint64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		// Value views the array's buffer, which the run recycles: copy it.
		return strings.Clone(a.Value(i))
	case *array.Binary:
		return string(a.Value(i))
	case *array.FixedSizeBinary:
		return string(a.Value(i))
	case *array.Date32:
		return int32(a.Value(i))
	case *array.Timestamp:
		return int64(a.Value(i))
	}
	return a.ValueStr(i)
}
