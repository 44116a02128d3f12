package writer

import (
	"context"

	"github.com/chload/chload/writer/loadmon"
)

// Inspection is what a dry run shows of the target now: every node's load
// and, per shard, the replica a batch would go to and what the table holds.
type Inspection struct {
	// Nodes is every node's load as last polled.
	Nodes []loadmon.NodeLoad
	// Shards is per shard index (one on a single node).
	Shards []ShardState
}

// ShardState is one shard of an Inspection.
type ShardState struct {
	// Num is the shard_num (0 on a single node).
	Num int
	// Replica is where a batch would go now (empty when none is writable).
	Replica string
	// Partitions is what the table holds per partition, read from the
	// shard's first replica that answered.
	Partitions map[string]PartitionState
}

// Inspect reads the target's state for a dry run; it writes nothing.
func (t *Target) Inspect(ctx context.Context) (*Inspection, error) {
	in := &Inspection{Nodes: t.monitor.Loads()}
	for i, addrs := range t.shards {
		parts, err := t.byAddr[addrs[0]].Partitions(ctx, t.dest.Table)
		if err != nil {
			return nil, err
		}
		replica, _ := t.monitor.Choose(addrs, nil)
		in.Shards = append(in.Shards, ShardState{Num: t.ShardNum(i), Replica: replica, Partitions: parts})
	}
	return in, nil
}
