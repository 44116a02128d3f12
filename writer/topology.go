package writer

import (
	"fmt"
	"strings"
)

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

// DistributedEngine is a parsed Distributed(cluster, database, table[,
// sharding_key[, policy]]) engine.
type DistributedEngine struct {
	Cluster, Database, Table, ShardingKey string
}

// ParseDistributed parses a Distributed table's engine_full.
func ParseDistributed(engineFull string) (DistributedEngine, error) {
	s := strings.TrimSpace(engineFull)
	open := strings.IndexByte(s, '(')
	if open < 0 || !strings.HasPrefix(s, "Distributed") || !strings.HasSuffix(s, ")") {
		return DistributedEngine{}, fmt.Errorf("engine %q is not Distributed(cluster, database, table[, sharding_key])", engineFull)
	}
	args := splitArgs(s[open+1 : len(s)-1])
	if len(args) < 3 {
		return DistributedEngine{}, fmt.Errorf("engine %q: expected at least cluster, database and table", engineFull)
	}
	e := DistributedEngine{Cluster: unquote(args[0]), Database: unquote(args[1]), Table: unquote(args[2])}
	if len(args) >= 4 {
		e.ShardingKey = strings.TrimSpace(args[3])
	}
	return e, nil
}

// splitArgs splits on commas outside parentheses and quotes.
func splitArgs(s string) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"' || s[0] == '`') && s[len(s)-1] == s[0] {
		return strings.NewReplacer(`\'`, `'`, `\\`, `\`, "\\`", "`", `\"`, `"`).Replace(s[1 : len(s)-1])
	}
	return s
}
