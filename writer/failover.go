package writer

import (
	"context"
	"errors"
	"fmt"

	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/loadmon"
)

// Write inserts b, one partition of one shard, as one part: with internal
// replication on the healthiest, least loaded replica of its shard, moving
// to another replica when a replica fails; without it on every replica.
// Each insert holds a slot of its node's concurrency, which the load
// monitor sets. Write does not release b. Safe for concurrent use; the run
// calls it from its insert workers.
//
// An error is the last replica's: a *ServerError or *TargetError from the
// node, ctx's error, or a *ServerError saying no replica is writable (all
// read-only or down). One that wraps ErrOutcomeUnknown means the batch may
// be in the table.
func (t *Target) Write(ctx context.Context, ins *Insert, b *batch.Batch) error {
	replicas := t.shards[b.Shard]
	if !t.dest.InternalReplication {
		for _, addr := range replicas {
			if err := t.insertOn(ctx, addr, ins, b, true); err != nil {
				return err
			}
		}
		return nil
	}
	tried := map[string]bool{}
	var lastErr error
	for {
		addr, ok := t.monitor.Choose(replicas, tried)
		if !ok {
			if lastErr == nil {
				// Nothing was tried: the servers say no replica takes
				// writes now, a server's refusal like any other.
				lastErr = &ServerError{Op: "choose a replica", Err: errors.New("no replica is writable (all read-only or down)"), Transient: true}
			}
			return fmt.Errorf("shard %d: batch %d of partition %s: %w", t.ShardNum(b.Shard), b.Seq, b.Partition, lastErr)
		}
		lastResort := len(tried)+1 >= len(replicas)
		err := t.insertOn(ctx, addr, ins, b, lastResort)
		if err == nil {
			return nil
		}
		var se *ServerError
		down := errors.Is(err, loadmon.ErrNodeDown)
		if ctx.Err() != nil || !down && (!errors.As(err, &se) || !se.Retryable()) {
			return err
		}
		// The same batch goes to another replica. A Replicated table keeps
		// one copy even if the first insert got through: the block is the
		// same, so its checksum deduplicates it.
		t.monitor.MarkFailed(addr, err)
		t.log.Warn("insert failed: trying another replica", "shard", t.ShardNum(b.Shard), "replica", addr, "partition", b.Partition, "batch", b.Seq, "error", err)
		tried[addr] = true
		lastErr = err
	}
}

// insertOn inserts b on one node within the node's concurrency. When the
// monitor says the node is down, the insert is refused with ErrNodeDown so
// that another replica takes it, unless this is the last replica to try
// (lastResort): then the insert is tried anyway, and either the node was
// only slow to answer a poll or the insert fails with the real error.
func (t *Target) insertOn(ctx context.Context, addr string, ins *Insert, b *batch.Batch, lastResort bool) error {
	release, err := t.monitor.Acquire(ctx, addr)
	switch {
	case errors.Is(err, loadmon.ErrNodeDown) && lastResort:
		release = func() {}
	case err != nil:
		return err
	}
	defer release()
	if err := t.byAddr[addr].Insert(ctx, ins, b); err != nil {
		return err
	}
	t.parts.Add(1)
	t.log.Debug("batch inserted", "node", addr, "shard", t.ShardNum(b.Shard), "partition", b.Partition, "batch", b.Seq, "rows", b.Rows, "forced", b.Forced)
	return nil
}
