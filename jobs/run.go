package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/sync/errgroup"

	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/chserver"
	"github.com/chload/chload/writer/loadmon"
)

// RunParams are a run's inputs besides the job.
type RunParams struct {
	// Logger receives the run's log; Optional, defaults to slog.Default().
	Logger *slog.Logger
	// Progress, when set, is updated as the run goes.
	Progress *Progress
	// Mem allocates Arrow buffers. Optional, defaults to a pool over Go
	// memory that keeps freed buffers for reuse, up to an eighth of
	// write.max_buffer_bytes.
	Mem memory.Allocator
	// ClickHouse reaches the servers. Optional, defaults to the native
	// protocol (chserver.Dialer); tests pass an in-memory one.
	ClickHouse writer.Dialer
	// probeHosts dials every listed host, to report how each answered (dry
	// runs).
	probeHosts bool
}

// dialer is p.ClickHouse or the native protocol.
func (p RunParams) dialer() writer.Dialer {
	if p.ClickHouse != nil {
		return p.ClickHouse
	}
	return chserver.Dialer{}
}

// Summary is what a run did.
type Summary struct {
	// Job and Table name what ran.
	Job, Table string
	// Server is the server's version.
	Server string
	// RowsRead and RowsWritten count rows; they are equal after a success.
	RowsRead, RowsWritten int64
	// Batches is the inserts made; each insert creates one part.
	Batches int
	// PartsCreated is the parts the inserts created: one per batch, or one
	// per replica written when batches go to every replica.
	PartsCreated int
	// ForcedBatches is how many batches the memory budget cut early.
	ForcedBatches int
	// RowsOutcomeUnknown counts rows of inserts that reached the server but
	// whose answer did not come back: the table may hold them or not. They
	// are not in RowsWritten.
	RowsOutcomeUnknown int64
	// NullsDefaulted counts, per target column, the NULLs stored as the
	// column's default under source.null_as_default; empty otherwise.
	NullsDefaulted map[string]int64
	// Partitions lists rows and batches per partition, first seen first.
	Partitions []PartitionSummary
	// Elapsed is the run's wall time; RowsPerSecond is RowsWritten over it.
	Elapsed       time.Duration
	RowsPerSecond float64
}

// PartitionSummary is one partition's share of a run.
type PartitionSummary struct {
	// Shard is the partition's shard_num on a cluster (0 on one node).
	Shard     int    `json:"shard,omitempty"`
	Partition string `json:"partition"`
	// Rows and Batches count what was written: inserts that succeeded.
	// After a failure they can be less than what was read for the
	// partition.
	Rows int64 `json:"rows"`
	// Bytes is the size in memory of the rows read for the partition, as
	// converted for the target.
	Bytes   int64 `json:"bytes"`
	Batches int   `json:"batches"`
}

// partitionKey names one shard's partition.
type partitionKey struct {
	shard     int
	partition string
}

// writtenCounts counts, per partition, the rows and batches whose inserts
// succeeded; safe for concurrent use.
type writtenCounts struct {
	mu sync.Mutex
	m  map[partitionKey][2]int64
}

func (w *writtenCounts) add(b *batch.Batch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[partitionKey][2]int64{}
	}
	k := partitionKey{b.Shard, b.Partition}
	c := w.m[k]
	w.m[k] = [2]int64{c[0] + b.Rows, c[1] + 1}
}

func (w *writtenCounts) get(shard int, partition string) (rows int64, batches int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.m[partitionKey{shard, partition}]
	return c[0], int(c[1])
}

// Run loads the job's source into its table: every partition's rows in
// batches of at most write.batch_rows, each sorted by the sorting key and
// inserted as one part. The summary is returned with the error too, to say
// how far the run got.
func Run(ctx context.Context, job *Job, p RunParams) (*Summary, error) {
	start := time.Now()
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("job", job.Name)
	progress := p.Progress
	if progress == nil {
		progress = &Progress{}
	}
	sess, err := openSession(ctx, job, log, p)
	if err != nil {
		return nil, err
	}
	defer sess.close()
	sum := &Summary{Job: job.Name, Table: job.Target.Table, Server: sess.target.Server().Version}
	total := int64(0)
	for _, sp := range sess.splits {
		if sp.Rows < 0 {
			total = -1
			break
		}
		total += sp.Rows
	}
	progress.TotalRows.Store(total)
	progress.TotalSplits.Store(int64(len(sess.splits)))
	log.Info("plan", "table", job.Target.Table, "splits", len(sess.splits), "rows", total,
		"columns", len(sess.plan.Inserts), "defaulted", sess.plan.Defaulted, "ignored", sess.plan.Ignored,
		"partition_key", sess.table.PartitionKey, "sorting_key", sess.table.SortingKey)

	g, gctx := errgroup.WithContext(ctx)
	shards := 1
	if sess.dest.Topology != nil {
		shards = len(sess.dest.Topology.Shards)
	}
	workers := insertWorkers(sess.target.MaxInFlight(), shards)
	batches := make(chan *batch.Batch) // unbuffered: at most workers+1 batches out of the buffers
	mode := writeMode(appendMode{})
	ins := mode.Insert(sess.plan)
	partitions := newPartitionTracker(mode)
	var written writtenCounts
	var rowsUnknown atomic.Int64
	for i := 0; i < workers; i++ {
		g.Go(func() (err error) {
			defer recoverTo(&err)
			for b := range batches {
				if err := sess.target.Write(gctx, ins, b); err != nil {
					if errors.Is(err, writer.ErrOutcomeUnknown) {
						rowsUnknown.Add(b.Rows)
					}
					b.Release()
					if pe := (*loadmon.PauseError)(nil); errors.As(err, &pe) {
						err = fmt.Errorf("%w; wait for the servers to catch up (merges, replication) or raise write.max_pause (0s waits forever), then rerun", err)
					}
					return err
				}
				progress.RowsWritten.Add(b.Rows)
				progress.BytesWritten.Add(b.Bytes)
				progress.Batches.Add(1)
				written.add(b)
				err := partitions.written(gctx, b)
				b.Release()
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	batcher := batch.NewBatcher(batch.BatcherParams{
		BatchRows: int64(job.Write.BatchRows), MaxBufferBytes: BufferBudget(job.Write.MaxBufferBytes), Mem: sess.mem,
		InFlight: workers + 1,
		Complete: func(ps batch.PartitionStats) error { return partitions.complete(gctx, ps) },
	}, func(b *batch.Batch) error {
		if b.Forced {
			log.Info("memory budget reached: flushing partition early", "shard", sess.target.ShardNum(b.Shard), "partition", b.Partition, "rows", b.Rows, "bytes", b.Bytes, "max_buffer_bytes", job.Write.MaxBufferBytes.String())
			sum.ForcedBatches++
		}
		select {
		case batches <- b:
			return nil
		case <-gctx.Done():
			b.Release()
			return context.Cause(gctx)
		}
	})
	g.Go(func() (err error) {
		defer recoverTo(&err)
		defer close(batches)
		sorted := len(sess.table.Sorting) > 0
		err = sess.readConverted(gctx, sess.plan, job.Write.Readers, sorted, progress, func(c converted) error {
			sum.RowsRead += c.rows
			progress.RowsRead.Add(c.rows)
			progress.BytesRead.Add(c.bytes)
			return batcher.AddPieces(gctx, c.pieces)
		})
		if err != nil {
			batcher.Abort()
			return err
		}
		return batcher.Close()
	})
	err = g.Wait()
	for b := range batches { // left behind by a failed insert
		b.Release()
	}
	sum.RowsWritten = progress.RowsWritten.Load()
	sum.NullsDefaulted = sess.plan.NullsDefaulted()
	sum.RowsOutcomeUnknown = rowsUnknown.Load()
	sum.Batches = int(progress.Batches.Load())
	sum.PartsCreated = sess.target.PartsCreated()
	for _, ps := range batcher.Partitions() {
		rows, batches := written.get(ps.Shard, ps.Partition)
		sum.Partitions = append(sum.Partitions, PartitionSummary{Shard: sess.target.ShardNum(ps.Shard), Partition: ps.Partition, Rows: rows, Bytes: ps.Bytes, Batches: batches})
	}
	sortPartitions(sum.Partitions, func(p PartitionSummary) (int, string) { return p.Shard, p.Partition })
	sum.Elapsed = time.Since(start)
	if secs := sum.Elapsed.Seconds(); secs > 0 {
		sum.RowsPerSecond = float64(sum.RowsWritten) / secs
	}
	if err != nil {
		return sum, err
	}
	// The run's rows read are the sum of what its splits promise, and every
	// row read was written.
	if total >= 0 && sum.RowsRead != total {
		return sum, &SourceError{Err: fmt.Errorf("the splits promise %d rows in all but %d were read: the source changed while it was read; check it, then rerun", total, sum.RowsRead)}
	}
	if sum.RowsWritten != sum.RowsRead {
		return sum, fmt.Errorf("internal error: read %d rows but wrote %d", sum.RowsRead, sum.RowsWritten)
	}
	if err := partitions.check(); err != nil {
		return sum, err
	}
	if err := mode.Finish(ctx); err != nil {
		return sum, err
	}
	return sum, nil
}

// insertWorkers is how many batches the run writes at once: slots, the
// inserts in flight over all nodes (Target.MaxInFlight), and on a cluster as
// many again, so that batches waiting for a paused shard leave workers to
// the other shards' batches. A waiting batch holds no insert slot; the
// batcher's reserve (BatcherParams.InFlight) counts every worker's batch.
func insertWorkers(slots, shards int) int {
	if shards > 1 {
		return 2 * slots
	}
	return slots
}

// BufferBudget is the share of write.max_buffer_bytes that buffered rows
// may take: five eighths. The rest is for reading splits, for the batches
// being sent and for the garbage collector's headroom.
func BufferBudget(max ByteSize) int64 { return int64(max) / 8 * 5 }

// MemoryLimit is the soft limit for the Go runtime that keeps the whole
// process near write.max_buffer_bytes: seven eighths of it.
func MemoryLimit(max ByteSize) int64 { return int64(max) / 8 * 7 }

// sortPartitions orders partitions for reports people read: by shard, then
// by partition, integers by value ("9" before "10", "-5" before "3") and
// other text as text.
func sortPartitions[T any](ps []T, key func(T) (shard int, partition string)) {
	slices.SortStableFunc(ps, func(a, b T) int {
		sa, pa := key(a)
		sb, pb := key(b)
		if sa != sb {
			return cmp.Compare(sa, sb)
		}
		return comparePartitions(pa, pb)
	})
}

// comparePartitions orders two partition names: integers (any length, with
// an optional minus sign) by value, anything else as text, and integers
// before text. Equal values written differently ("7", "007") fall back to
// text, so the order is total.
func comparePartitions(x, y string) int {
	nx, mx, okx := splitInteger(x)
	ny, my, oky := splitInteger(y)
	switch {
	case okx && oky:
		if c := compareIntegers(nx, mx, ny, my); c != 0 {
			return c
		}
	case okx:
		return -1
	case oky:
		return 1
	}
	return strings.Compare(x, y)
}

// splitInteger reads s as an integer: its sign and its digits without
// leading zeros ("" for zero).
func splitInteger(s string) (neg bool, mag string, ok bool) {
	digits, neg := strings.CutPrefix(s, "-")
	if !isDigits(digits) {
		return false, "", false
	}
	mag = strings.TrimLeft(digits, "0")
	return neg && mag != "", mag, true
}

func compareIntegers(nx bool, mx string, ny bool, my string) int {
	if nx != ny {
		if nx {
			return -1
		}
		return 1
	}
	c := cmp.Compare(len(mx), len(my))
	if c == 0 {
		c = strings.Compare(mx, my)
	}
	if nx {
		return -c
	}
	return c
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// recoverTo turns a panic in a pipeline goroutine into an error.
func recoverTo(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("internal error: %v\n%s", r, debug.Stack())
	}
}
