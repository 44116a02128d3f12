package writer

// Replica is one node of a shard, as system.clusters lists it.
type Replica struct {
	// Addr is "host:port" of the node's native protocol.
	Addr string
	// Shard and Num are the node's shard_num and replica_num.
	Shard, Num int
}

// Shard is one shard of a cluster.
type Shard struct {
	// Num is the shard's shard_num; Weight its shard_weight.
	Num    int
	Weight uint64
	// Replicas are the shard's nodes in replica_num order.
	Replicas []Replica
}

// Addrs lists the shard's replicas' addresses.
func (s Shard) Addrs() []string {
	out := make([]string, len(s.Replicas))
	for i, r := range s.Replicas {
		out[i] = r.Addr
	}
	return out
}

// Topology is a cluster's shards and how rows map to them.
type Topology struct {
	// Cluster is the cluster's name.
	Cluster string
	// Shards are in shard_num order.
	Shards []Shard
	// TotalWeight is the sum of the shards' weights.
	TotalWeight uint64
	slots       []int // slot (key % TotalWeight) -> index into Shards
}

// NewTopology builds a cluster's layout from its shards, as
// system.clusters lists them (Node.Cluster), in shard_num order. No shard
// is an error naming the cluster.
func NewTopology(cluster string, shards []Shard) (*Topology, error) {
	t := &Topology{Cluster: cluster, Shards: shards}
	if len(t.Shards) == 0 {
		return nil, &TargetError{Table: cluster, Problem: "no such cluster in system.clusters", Fix: "check the cluster name (target.cluster or the Distributed table's engine)"}
	}
	for i, s := range t.Shards {
		t.TotalWeight += s.Weight
		for k := uint64(0); k < s.Weight; k++ {
			t.slots = append(t.slots, i)
		}
	}
	if t.TotalWeight == 0 {
		return nil, &TargetError{Table: cluster, Problem: "every shard has weight 0"}
	}
	return t, nil
}

// ShardOf maps a sharding key value to the index of its shard in Shards,
// as ClickHouse does: slot = key % total weight, and each shard owns as many
// consecutive slots as its weight, in shard_num order.
func (t *Topology) ShardOf(key uint64) int { return t.slots[key%t.TotalWeight] }
