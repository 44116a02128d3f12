package jobs

import (
	"context"
	"fmt"
	"sync"

	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/plan"
)

// writeMode is what a run does around its inserts: where batches go and
// what happens once a partition is whole in the table. Append, the only
// mode yet, inserts into the target and does nothing more; a mode that
// replaces partitions would insert into a staging table and swap each
// partition in PartitionWritten.
type writeMode interface {
	// Insert is what the run's batches are inserted as; called once,
	// before the first batch.
	Insert(p *plan.Plan) *writer.Insert
	// PartitionWritten is called once per partition (of a shard) as soon
	// as no more rows will come for it in this run and every batch of it
	// was written, from the goroutine that saw the last of the two; calls
	// for different partitions may run concurrently. An error fails the
	// run.
	PartitionWritten(ctx context.Context, shard int, partition string) error
	// Finish is called once after every partition was written, only when
	// the run succeeded.
	Finish(ctx context.Context) error
}

// appendMode inserts into the target table.
type appendMode struct{}

func (appendMode) Insert(p *plan.Plan) *writer.Insert { return p.Insert() }

func (appendMode) PartitionWritten(context.Context, int, string) error { return nil }

func (appendMode) Finish(context.Context) error { return nil }

// partitionTracker calls the mode's PartitionWritten for a partition when
// both the batcher has said it is complete (how many batches it got) and
// that many of its batches were written. Safe for concurrent use.
type partitionTracker struct {
	mode writeMode
	mu   sync.Mutex
	m    map[int]*partitionProgress // by batch.PartitionStats.ID
}

type partitionProgress struct {
	shard     int
	partition string
	complete  bool
	batches   int // emitted, known once complete
	written   int
	done      bool
}

func newPartitionTracker(mode writeMode) *partitionTracker {
	return &partitionTracker{mode: mode, m: map[int]*partitionProgress{}}
}

func (t *partitionTracker) get(id, shard int, partition string) *partitionProgress {
	p := t.m[id]
	if p == nil {
		p = &partitionProgress{shard: shard, partition: partition}
		t.m[id] = p
	}
	return p
}

// complete records that the batcher emitted all of a partition's batches.
func (t *partitionTracker) complete(ctx context.Context, ps batch.PartitionStats) error {
	t.mu.Lock()
	p := t.get(ps.ID, ps.Shard, ps.Partition)
	p.complete, p.batches = true, ps.Batches
	ready := t.readyLocked(p)
	t.mu.Unlock()
	return t.fire(ctx, ready, p)
}

// written records that one of a partition's batches was written.
func (t *partitionTracker) written(ctx context.Context, b *batch.Batch) error {
	t.mu.Lock()
	p := t.get(b.PartitionID, b.Shard, b.Partition)
	p.written++
	ready := t.readyLocked(p)
	t.mu.Unlock()
	return t.fire(ctx, ready, p)
}

// readyLocked reports whether p has just become whole; t.mu is held.
func (t *partitionTracker) readyLocked(p *partitionProgress) bool {
	if p.done || !p.complete || p.written < p.batches {
		return false
	}
	p.done = true
	return true
}

// fire tells the mode p is written, when ready; p's shard and partition
// never change, so they are read without the lock.
func (t *partitionTracker) fire(ctx context.Context, ready bool, p *partitionProgress) error {
	if !ready {
		return nil
	}
	if err := t.mode.PartitionWritten(ctx, p.shard, p.partition); err != nil {
		return fmt.Errorf("partition %s: %w", p.partition, err)
	}
	return nil
}

// check says whether every partition seen was completed and written.
func (t *partitionTracker) check() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.m {
		if !p.done {
			return fmt.Errorf("internal error: partition %s was not completed: %d of %d batches written", p.partition, p.written, p.batches)
		}
	}
	return nil
}
