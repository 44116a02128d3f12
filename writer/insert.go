package writer

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/chload/chload/writer/chcol"
)

// Inserter sorts batches by the table's sorting key and inserts each as one
// columnar INSERT over the native protocol. Safe for concurrent use: each
// Insert takes its own connection from the pool.
type Inserter struct {
	conn  driver.Conn
	plan  *Plan
	query string
	mem   memory.Allocator
}

// NewInserter prepares inserts of plan's columns into its table through
// conn.
func NewInserter(conn driver.Conn, plan *Plan, mem memory.Allocator) *Inserter {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	names := make([]string, len(plan.Inserts))
	for i, ic := range plan.Inserts {
		names[i] = quoteIdent(ic.Column.Name)
	}
	return &Inserter{
		conn:  conn,
		plan:  plan,
		query: fmt.Sprintf("INSERT INTO %s (%s)", plan.Table.QualifiedName(), strings.Join(names, ", ")),
		mem:   mem,
	}
}

// Insert sorts b and sends it as one INSERT, so the server makes one part.
// It does not release b. Errors are *ServerError for the server's refusals
// and broken connections.
func (w *Inserter) Insert(ctx context.Context, b *Batch) error {
	order := SortPermutation
	if b.SortedChunks {
		order = MergePermutation
	}
	perm, err := order(b.Chunks, w.plan.Table.Sorting, w.mem)
	if err != nil {
		return fmt.Errorf("sort batch %d of partition %s: %w", b.Seq, b.Partition, err)
	}
	if perm == nil {
		perm = make([]uint32, b.Rows)
		for i := range perm {
			perm[i] = uint32(i)
		}
	}
	op := fmt.Sprintf("insert batch %d of partition %s (%d rows)", b.Seq, b.Partition, b.Rows)
	// The batch goes out as blocks of blockRows rows within one INSERT, so
	// the client never holds a second copy of the whole batch. The server
	// squashes them back into one block, so one part, because
	// min_insert_block_size_rows is the batch's size and the byte threshold
	// is off. The blocks are consecutive runs of the sorted order, so the
	// squashed block is sorted too.
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"min_insert_block_size_rows":  int(b.Rows),
		"min_insert_block_size_bytes": 0,
	}))
	batch, err := w.conn.PrepareBatch(ctx, w.query)
	if err != nil {
		return &ServerError{Op: op, Err: err}
	}
	defer batch.Abort()
	cols := make([]arrow.Array, len(b.Chunks))
	for start := 0; start < len(perm); start += blockRows {
		part := perm[start:min(start+blockRows, len(perm))]
		for i, ic := range w.plan.Inserts {
			for k, c := range b.Chunks {
				cols[k] = c.Column(i)
			}
			if err := chcol.Append(batch.Column(i), ic.Column.Type, cols, part); err != nil {
				return fmt.Errorf("%s: column %s: %w", op, ic.Column.Name, err)
			}
		}
		if start+blockRows < len(perm) {
			if err := batch.Flush(); err != nil {
				return &ServerError{Op: op, Err: err}
			}
		}
	}
	if err := batch.Send(); err != nil {
		return &ServerError{Op: op, Err: err}
	}
	return nil
}

// blockRows is the size of the blocks a batch is sent in.
const blockRows = 65536
