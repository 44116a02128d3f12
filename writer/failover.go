package writer

import (
	"context"
	"errors"
	"fmt"

	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/loadmon"
)

// Write inserts b, one partition of one shard, as one part: with internal
// replication on a replica of its shard, moving to another replica when a
// replica fails; without it on every replica. Each insert holds a slot of
// its node's concurrency, which the load monitor sets; with internal
// replication the batch waits on every replica of its shard at once and
// goes to whichever frees a slot first (the healthiest, least loaded one
// when several are free). Write does not release b. Safe for concurrent
// use; the run calls it from its insert workers.
//
// An error is the last replica's: a *ServerError or *TargetError from the
// node, ctx's error, or a *ServerError saying no replica is writable (all
// read-only or down) or that every replica stayed paused longer than
// OpenParams.MaxPause (it wraps a *loadmon.PauseError naming the replicas
// and their reasons). One that wraps ErrOutcomeUnknown means the batch may
// be in the table.
func (t *Target) Write(ctx context.Context, ins *Insert, b *batch.Batch) error {
	replicas := t.shards[b.Shard]
	if !t.dest.InternalReplication {
		for _, addr := range replicas {
			if _, err := t.insertOnAny(ctx, []string{addr}, ins, b, true); err != nil {
				return t.batchErr(b, err)
			}
		}
		return nil
	}
	tried := map[string]bool{}
	var lastErr error
	for {
		var left []string
		for _, a := range replicas {
			if !tried[a] {
				left = append(left, a)
			}
		}
		if len(left) == 0 {
			return t.batchErr(b, lastErr)
		}
		addr, err := t.insertOnAny(ctx, left, ins, b, false)
		if err == nil {
			return nil
		}
		var se *ServerError
		if addr == "" || ctx.Err() != nil || !errors.As(err, &se) || !se.Retryable() {
			if addr == "" && lastErr != nil && errors.Is(err, loadmon.ErrNodeDown) {
				err = lastErr // nothing more was tried: the last failure says why
			}
			return t.batchErr(b, err)
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

// insertOnAny inserts b on whichever of addrs, replicas of its shard, gets
// a slot first, and returns the replica it tried ("" when none was
// tried). When the only replica left goes down while the batch waits for
// it, or always with force (a batch every replica must take), the insert is
// tried anyway on a node the monitor takes as down: either the node was
// only slow to answer a poll, or the insert fails with the real error.
func (t *Target) insertOnAny(ctx context.Context, addrs []string, ins *Insert, b *batch.Batch, force bool) (string, error) {
	addr, release, err := t.monitor.AcquireAny(ctx, addrs)
	var pe *loadmon.PauseError
	switch {
	case errors.As(err, &pe):
		return "", &ServerError{Op: "wait for a replica", Err: err, Transient: true}
	case errors.Is(err, loadmon.ErrNodeDown) && len(addrs) == 1 && (addr != "" || force):
		addr, release = addrs[0], func() {}
	case errors.Is(err, loadmon.ErrNodeDown):
		// The servers say no replica takes writes now, a server's refusal
		// like any other.
		return "", &ServerError{Op: "choose a replica", Err: fmt.Errorf("no replica is writable (all read-only or down): %w", err), Transient: true}
	case err != nil:
		return "", err
	}
	defer release()
	if err := t.byAddr[addr].Insert(ctx, ins, b); err != nil {
		return addr, err
	}
	t.parts.Add(1)
	t.log.Debug("batch inserted", "node", addr, "shard", t.ShardNum(b.Shard), "partition", b.Partition, "batch", b.Seq, "rows", b.Rows, "forced", b.Forced)
	return addr, nil
}

// batchErr is err from writing b, naming the batch, and its shard on a
// cluster (a single node has no shard number to name).
func (t *Target) batchErr(b *batch.Batch, err error) error {
	if t.dest.Topology == nil {
		return fmt.Errorf("batch %d of partition %s: %w", b.Seq, b.Partition, err)
	}
	return fmt.Errorf("shard %d: batch %d of partition %s: %w", t.ShardNum(b.Shard), b.Seq, b.Partition, err)
}
