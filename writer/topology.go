package writer

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/chload/chload/transform"
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

// ReadTopology reads a cluster's layout from system.clusters.
func ReadTopology(ctx context.Context, conn driver.Conn, cluster string) (*Topology, error) {
	rows, err := conn.Query(ctx, "SELECT shard_num, shard_weight, replica_num, host_name, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num", cluster)
	if err != nil {
		return nil, &ServerError{Op: "read cluster " + cluster + " from system.clusters", Err: err}
	}
	defer rows.Close()
	t := &Topology{Cluster: cluster}
	for rows.Next() {
		var shardNum, weight, replicaNum uint32
		var host string
		var port uint16
		if err := rows.Scan(&shardNum, &weight, &replicaNum, &host, &port); err != nil {
			return nil, &ServerError{Op: "read cluster " + cluster, Err: err}
		}
		if n := len(t.Shards); n == 0 || t.Shards[n-1].Num != int(shardNum) {
			t.Shards = append(t.Shards, Shard{Num: int(shardNum), Weight: uint64(weight)})
		}
		s := &t.Shards[len(t.Shards)-1]
		s.Replicas = append(s.Replicas, Replica{Addr: net.JoinHostPort(host, strconv.Itoa(int(port))), Shard: int(shardNum), Num: int(replicaNum)})
	}
	if err := rows.Err(); err != nil {
		return nil, &ServerError{Op: "read cluster " + cluster, Err: err}
	}
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

// Destination is where a run writes: one table on one node, or the local
// table on every shard of a cluster.
type Destination struct {
	// Table is the table rows are inserted into (the local table for a
	// cluster), as described by the first node.
	Table *Table
	// Distributed names the Distributed table the target was resolved
	// from, if any.
	Distributed string
	// Topology is nil for a single node.
	Topology *Topology
	// ShardingKey routes rows to shards; nil for a single node or when
	// Rand is set.
	ShardingKey *transform.Expr
	// Rand says the sharding key is rand(): rows are spread evenly by a
	// generator seeded per row, so reruns route them the same way.
	Rand bool
	// InternalReplication says each batch goes to one replica of its shard
	// (the replicas replicate it); otherwise to every replica.
	InternalReplication bool
}

// RowKeys are the expressions evaluated on every row besides the table's
// own partition and sorting keys: the sharding key, when there is one.
func (d *Destination) RowKeys() []*transform.Expr {
	if d.ShardingKey == nil {
		return nil
	}
	return []*transform.Expr{d.ShardingKey}
}

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

// DestinationParams say what the job names as its target.
type DestinationParams struct {
	// Database and Table name the target table.
	Database, Table string
	// Cluster, for a local table, names the cluster whose shards hold it.
	Cluster string
	// ShardingKey, with Cluster, routes rows; empty means rand().
	ShardingKey string
	// InternalReplication overrides what the engine implies (nil: a
	// Replicated* table replicates itself, any other writes every replica).
	InternalReplication *bool
}

// ResolveDestination describes the target: a plain table, a Distributed
// table (resolved to its cluster and local table; no row is ever inserted
// through it), or a local table on a named cluster.
func ResolveDestination(ctx context.Context, conn driver.Conn, p DestinationParams) (*Destination, error) {
	table, err := DescribeTable(ctx, conn, p.Database, p.Table)
	if err != nil {
		return nil, err
	}
	d := &Destination{Table: table}
	cluster, shardingKey := p.Cluster, p.ShardingKey
	if table.Engine == "Distributed" {
		var engineFull string
		if err := conn.QueryRow(ctx, "SELECT engine_full FROM system.tables WHERE database = ? AND name = ?", p.Database, p.Table).Scan(&engineFull); err != nil {
			return nil, &ServerError{Op: "read engine of " + p.Database + "." + p.Table, Err: err}
		}
		e, err := ParseDistributed(engineFull)
		if err != nil {
			return nil, &TargetError{Table: p.Database + "." + p.Table, Problem: err.Error()}
		}
		if p.Cluster != "" && p.Cluster != e.Cluster {
			return nil, &TargetError{Table: p.Database + "." + p.Table, Problem: fmt.Sprintf("target.cluster is %s but the Distributed table uses cluster %s", p.Cluster, e.Cluster), Fix: "drop target.cluster or make it match"}
		}
		if e.Database == "" {
			e.Database = p.Database
		}
		d.Distributed = p.Database + "." + p.Table
		cluster, shardingKey = e.Cluster, e.ShardingKey
		if d.Table, err = DescribeTable(ctx, conn, e.Database, e.Table); err != nil {
			return nil, err
		}
		if d.Table.Engine == "Distributed" {
			return nil, &TargetError{Table: d.Distributed, Problem: "its local table " + e.Database + "." + e.Table + " is Distributed too", Fix: "point the Distributed table at the shards' local tables"}
		}
	}
	if cluster == "" {
		return d, nil
	}
	if d.Topology, err = ReadTopology(ctx, conn, cluster); err != nil {
		return nil, err
	}
	replicated := strings.HasPrefix(d.Table.Engine, "Replicated")
	d.InternalReplication = replicated
	if p.InternalReplication != nil {
		d.InternalReplication = *p.InternalReplication
	}
	switch {
	case shardingKey == "" && len(d.Topology.Shards) > 1 && d.Distributed != "":
		return nil, &TargetError{Table: d.Distributed, Problem: fmt.Sprintf("has no sharding key and cluster %s has %d shards", cluster, len(d.Topology.Shards)), Fix: "give the Distributed table a sharding key (ClickHouse itself refuses such inserts)"}
	case shardingKey == "" || isRand(shardingKey):
		d.Rand = true
	default:
		expr, err := transform.Parse(shardingKey)
		if err != nil {
			return nil, &TargetError{Table: d.Table.Database + "." + d.Table.Name, Problem: fmt.Sprintf("sharding key %s: %v", shardingKey, err), Fix: "this sharding key is not supported yet"}
		}
		d.ShardingKey = expr
	}
	return d, nil
}

// isRand reports whether a sharding key is rand() (with or without an
// argument), which spreads rows evenly: chload draws the numbers itself.
func isRand(key string) bool {
	k := strings.ToLower(strings.ReplaceAll(key, " ", ""))
	return strings.HasPrefix(k, "rand(") && strings.HasSuffix(k, ")") && strings.Count(k, "(") == 1
}
