package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/chload/chload/writer"
)

// shardWriter sends each batch to its shard: with internal replication to
// the healthiest, least loaded replica, moving to another replica when a
// replica fails; without it to every replica. Each insert holds a slot of its
// node's concurrency, which the load monitor sets.
type shardWriter struct {
	s         *session
	inserters map[string]*writer.Inserter
	// inserts counts the inserts made, each of which created one part.
	inserts atomic.Int64
}

func newShardWriter(s *session) *shardWriter {
	w := &shardWriter{s: s, inserters: map[string]*writer.Inserter{}}
	for _, n := range s.nodes {
		w.inserters[n.Addr] = writer.NewInserter(n.Conn, s.connParams([]string{n.Addr}), s.plan, s.mem)
	}
	return w
}

// close closes the inserters' own connections; every write must have
// returned.
func (w *shardWriter) close() {
	for _, in := range w.inserters {
		in.Close()
	}
}

// shardNum is the shard_num of shard index i (0 on a single node).
func (s *session) shardNum(i int) int {
	if s.dest.Topology == nil {
		return 0
	}
	return s.dest.Topology.Shards[i].Num
}

func (w *shardWriter) write(ctx context.Context, b *writer.Batch) error {
	replicas := w.s.shards[b.Shard]
	if !w.s.dest.InternalReplication {
		for _, addr := range replicas {
			if err := w.insertOn(ctx, addr, b, true); err != nil {
				return err
			}
		}
		return nil
	}
	tried := map[string]bool{}
	var lastErr error
	for {
		addr, ok := w.s.monitor.Choose(replicas, tried)
		if !ok {
			if lastErr == nil {
				lastErr = errors.New("no replica is writable (all read-only or down)")
			}
			return fmt.Errorf("shard %d: batch %d of partition %s: %w", w.s.shardNum(b.Shard), b.Seq, b.Partition, lastErr)
		}
		lastResort := len(tried)+1 >= len(replicas)
		err := w.insertOn(ctx, addr, b, lastResort)
		if err == nil {
			return nil
		}
		var se *writer.ServerError
		down := errors.Is(err, writer.ErrNodeDown)
		if ctx.Err() != nil || !down && (!errors.As(err, &se) || !se.Retryable()) {
			return err
		}
		// The same batch goes to another replica. A Replicated table keeps
		// one copy even if the first insert got through: the block is the
		// same, so its checksum deduplicates it.
		w.s.monitor.MarkFailed(addr, err)
		w.s.log.Warn("insert failed: trying another replica", "shard", w.s.shardNum(b.Shard), "replica", addr, "partition", b.Partition, "batch", b.Seq, "error", err)
		tried[addr] = true
		lastErr = err
	}
}

// insertOn inserts b on one node within the node's concurrency. When the
// monitor says the node is down, the insert is refused with ErrNodeDown so
// that another replica takes it, unless this is the last replica to try
// (lastResort): then the insert is tried anyway, and either the node was
// only slow to answer a poll or the insert fails with the real error.
func (w *shardWriter) insertOn(ctx context.Context, addr string, b *writer.Batch, lastResort bool) error {
	release, err := w.s.monitor.Acquire(ctx, addr)
	switch {
	case errors.Is(err, writer.ErrNodeDown) && lastResort:
		release = func() {}
	case err != nil:
		return err
	}
	defer release()
	if err := w.inserters[addr].Insert(ctx, b); err != nil {
		return err
	}
	w.inserts.Add(1)
	w.s.log.Debug("batch inserted", "node", addr, "shard", w.s.shardNum(b.Shard), "partition", b.Partition, "batch", b.Seq, "rows", b.Rows, "forced", b.Forced)
	return nil
}
