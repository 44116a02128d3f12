package chserver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/sqlquote"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/chcol"
	"github.com/chload/chload/writer/chnative"
)

// Inserter sorts batches by the table's sorting key and inserts each as one
// columnar INSERT over the native protocol. Safe for concurrent use: each
// Insert takes its own connection from a pool.
//
// When every column has a Native encoder (chcol.NativeSupported), blocks are
// encoded straight from the Arrow buffers into the socket buffer on chload's
// own connections (chnative); otherwise they go through clickhouse-go's
// columns on conn.
type Inserter struct {
	conn   driver.Conn
	native *nativePool // nil: insert through conn
	ins    *writer.Insert
	query  string
	mem    memory.Allocator
}

// NewInserter prepares inserts of ins's columns into its table on the node
// p.Addrs[0], through conn (a pool of clickhouse-go connections to it) or
// chload's own native connections made with p. Close releases the latter.
func NewInserter(conn driver.Conn, p writer.ConnParams, ins *writer.Insert, mem memory.Allocator) *Inserter {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	names := make([]string, len(ins.Columns))
	native := len(p.Addrs) > 0 && !p.DriverInserts
	for i, c := range ins.Columns {
		names[i] = sqlquote.Backquote(c.Name)
		native = native && chcol.NativeSupported(c.Type)
	}
	w := &Inserter{
		conn:  conn,
		ins:   ins,
		query: fmt.Sprintf("INSERT INTO %s (%s)", ins.Table.QualifiedName(), strings.Join(names, ", ")),
		mem:   mem,
	}
	if native {
		w.native = newNativePool(p)
	}
	return w
}

// Native reports whether inserts encode blocks themselves (true) or go
// through clickhouse-go's columns.
func (w *Inserter) Native() bool { return w.native != nil }

// Close closes the idle connections of the Inserter's own pool. Inserts must
// have returned.
func (w *Inserter) Close() {
	if w.native != nil {
		w.native.close()
	}
}

// Insert sorts b and sends it as one INSERT, so the server makes one part.
// It does not release b. Errors are *ServerError for the server's refusals
// and broken connections.
func (w *Inserter) Insert(ctx context.Context, b *batch.Batch) error {
	order := batch.SortPermutation
	if b.SortedChunks {
		order = batch.MergePermutation
	}
	perm, err := order(b.Chunks, w.ins.Sorting, w.mem)
	if err != nil {
		return fmt.Errorf("sort batch %d of partition %s: %w", b.Seq, b.Partition, err)
	}
	if perm == nil {
		perm = batch.Identity(int(b.Rows))
	}
	op := fmt.Sprintf("insert batch %d of partition %s (%d rows)", b.Seq, b.Partition, b.Rows)
	if w.native != nil {
		return w.insertNative(ctx, b, perm, op)
	}
	// The batch goes out as blocks of blockRows rows within one INSERT, so
	// the client never holds a second copy of the whole batch. The server
	// squashes them back into one block, so one part, because
	// min_insert_block_size_rows is past the batch's size (squashRows) and
	// the byte threshold is off. The blocks are consecutive runs of the sorted order, so the
	// squashed block is sorted too.
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"min_insert_block_size_rows":  squashRows(b),
		"min_insert_block_size_bytes": 0,
	}))
	sender, err := w.conn.PrepareBatch(ctx, w.query)
	if err != nil {
		return serverError(op, err)
	}
	defer sender.Abort()
	cols := make([]arrow.Array, len(b.Chunks))
	step := blockRowsOf(b)
	for start := 0; start < len(perm); start += step {
		part := perm[start:min(start+step, len(perm))]
		for i, col := range w.ins.Columns {
			for k, c := range b.Chunks {
				cols[k] = c.Column(i)
			}
			if err := chcol.Append(sender.Column(i), col.Type, cols, part); err != nil {
				return fmt.Errorf("%s: column %s: %w", op, col.Name, err)
			}
		}
		if start+step < len(perm) {
			if err := sender.Flush(); err != nil {
				return serverError(op, err)
			}
		}
	}
	if err := sender.Send(); err != nil {
		return serverError(op, err)
	}
	return nil
}

// insertNative sends b in the order perm as blocks of blockRows rows of one
// INSERT on a chnative connection, with the same settings (and so the same
// single part) as the clickhouse-go path.
func (w *Inserter) insertNative(ctx context.Context, b *batch.Batch, perm []uint32, op string) error {
	settings := []chnative.Setting{
		{Name: "min_insert_block_size_rows", Value: squashRows(b)},
		{Name: "min_insert_block_size_bytes", Value: 0},
	}
	var in *chnative.Insert
	for {
		conn, reused, err := w.native.get(ctx)
		if err != nil {
			return serverError(op, err)
		}
		in, err = conn.BeginInsert(ctx, w.query+" VALUES", settings)
		if err == nil {
			defer w.native.put(conn)
			break
		}
		w.native.put(conn)
		var ex *clickhouse.Exception
		if !reused || ctx.Err() != nil || errors.As(err, &ex) {
			return serverError(op, err)
		}
		// An idle connection the server has since closed: nothing was
		// inserted, so start again on a new one.
	}
	types, err := w.headerTypes(in.Columns())
	if err != nil {
		in.Abort()
		return err
	}
	lens := make([]int, len(b.Chunks))
	for k, c := range b.Chunks {
		lens[k] = int(c.NumRows())
	}
	cols := make([]arrow.Array, len(b.Chunks))
	var encodeErr error
	step := blockRowsOf(b)
	for start := 0; start < len(perm); start += step {
		part := perm[start:min(start+step, len(perm))]
		refs, err := chcol.LocateRows(lens, part)
		if err != nil {
			in.Abort()
			return fmt.Errorf("%s: %w", op, err)
		}
		err = in.WriteBlock(len(part), func(dst []byte, i int) ([]byte, error) {
			col := w.ins.Columns[i]
			for k, c := range b.Chunks {
				cols[k] = c.Column(i)
			}
			dst, err := chcol.AppendNative(dst, types[i], cols, refs)
			if err != nil {
				encodeErr = fmt.Errorf("%s: column %s: %w", op, col.Name, err)
			}
			return dst, err
		})
		if encodeErr != nil {
			return encodeErr
		}
		if err != nil {
			return serverError(op, err)
		}
	}
	if err := in.Finish(); err != nil {
		return serverError(op, err)
	}
	return nil
}

// headerTypes checks the columns the server asks the INSERT for against the
// plan and returns the type to encode each as: the plan's, or the server's
// where the two differ only in LowCardinality (a server set with
// low_cardinality_allow_in_native_format=0 asks for plain values). Any
// other difference means the table changed since the run planned it: the
// bytes would be read as another type, so it is a *TargetError.
func (w *Inserter) headerTypes(header []chnative.Column) ([]*chcol.Type, error) {
	table := w.ins.Table.Database + "." + w.ins.Table.Name
	changed := func(problem string) error {
		return &writer.TargetError{Table: table, Problem: "the table changed during the run: " + problem, Fix: "run the job again, which plans the load for the table as it is now"}
	}
	if len(header) != len(w.ins.Columns) {
		return nil, changed(fmt.Sprintf("the server expects %d columns, chload planned %d", len(header), len(w.ins.Columns)))
	}
	types := make([]*chcol.Type, len(header))
	for i, col := range w.ins.Columns {
		h := header[i]
		if h.Name != col.Name {
			return nil, changed(fmt.Sprintf("the server expects column %s where chload planned %s", h.Name, col.Name))
		}
		types[i] = col.Type
		if h.Type == col.TypeName || col.TypeName == "" {
			continue
		}
		ht, err := chcol.ParseType(h.Type)
		if err == nil && sameButLowCardinality(ht, col.Type) && chcol.NativeSupported(ht) {
			types[i] = ht
			continue
		}
		return nil, changed(fmt.Sprintf("column %s is %s on the server, chload planned %s", h.Name, h.Type, col.TypeName))
	}
	return types, nil
}

// sameButLowCardinality reports whether a and b are the same type up to the
// top-level LowCardinality wrapper.
func sameButLowCardinality(a, b *chcol.Type) bool {
	x, y := *a, *b
	x.LowCardinality, y.LowCardinality = false, false
	return x.String() == y.String()
}

// squashRows is the min_insert_block_size_rows of b's INSERT: one more than
// its rows, so the server squashes all its blocks into one and writes that
// part only at the end of the data. With exactly its rows, the server would
// write the part on the last block, before the INSERT ends, and an insert
// given up at that moment would still leave the whole batch written.
func squashRows(b *batch.Batch) int { return int(b.Rows) + 1 }

// blockRows is the most rows in one of the blocks a batch is sent in.
const blockRows = 65536

// blockBytes is about the most bytes of one block: a block is encoded
// whole in memory before it is sent, so wide rows go out in fewer rows
// per block and the encoding takes about blockBytes whatever the row size.
const blockBytes = 8 << 20

// blockRowsOf is the rows per block for b: blockRows, or fewer when its
// rows are wide.
func blockRowsOf(b *batch.Batch) int {
	if b.Rows <= 0 || b.Bytes <= 0 {
		return blockRows
	}
	return int(max(1, min(blockRows, blockBytes*b.Rows/b.Bytes)))
}
