package writer

import (
	"context"
	"fmt"
	"strings"

	"github.com/chload/chload/internal/chsql"
	"github.com/chload/chload/transform"
)

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

// ShardingKeyText is the sharding key as a report shows it: rand(), the
// expression, or empty on a single node.
func (d *Destination) ShardingKeyText() string {
	switch {
	case d.Rand:
		return "rand()"
	case d.ShardingKey != nil:
		return d.ShardingKey.String()
	}
	return ""
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

// describe reads and parses a table on n.
func describe(ctx context.Context, n Node, database, table string) (*Table, error) {
	d, err := n.Describe(ctx, database, table)
	if err != nil {
		return nil, err
	}
	return NewTable(d)
}

// resolveDestination describes the target: a plain table, a Distributed
// table (resolved to its cluster and local table; no row is ever inserted
// through it), or a local table on a named cluster.
func resolveDestination(ctx context.Context, n Node, p DestinationParams) (*Destination, error) {
	table, err := describe(ctx, n, p.Database, p.Table)
	if err != nil {
		return nil, err
	}
	d := &Destination{Table: table}
	cluster, shardingKey := p.Cluster, p.ShardingKey
	if table.Engine == "Distributed" {
		e, err := chsql.ParseDistributed(table.EngineFull)
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
		if d.Table, err = describe(ctx, n, e.Database, e.Table); err != nil {
			return nil, err
		}
		if d.Table.Engine == "Distributed" {
			return nil, &TargetError{Table: d.Distributed, Problem: "its local table " + e.Database + "." + e.Table + " is Distributed too", Fix: "point the Distributed table at the shards' local tables"}
		}
	}
	if cluster == "" {
		return d, nil
	}
	shards, err := n.Cluster(ctx, cluster)
	if err != nil {
		return nil, err
	}
	if d.Topology, err = NewTopology(cluster, shards); err != nil {
		return nil, err
	}
	replicated := strings.HasPrefix(d.Table.Engine, "Replicated")
	d.InternalReplication = replicated
	if p.InternalReplication != nil {
		d.InternalReplication = *p.InternalReplication
	}
	if shardingKey == "" {
		if len(d.Topology.Shards) > 1 && d.Distributed != "" {
			return nil, &TargetError{Table: d.Distributed, Problem: fmt.Sprintf("has no sharding key and cluster %s has %d shards", cluster, len(d.Topology.Shards)), Fix: "give the Distributed table a sharding key (ClickHouse itself refuses such inserts)"}
		}
		d.Rand = true
		return d, nil
	}
	expr, err := transform.Parse(shardingKey)
	if err != nil {
		return nil, &TargetError{Table: d.Table.Database + "." + d.Table.Name, Problem: fmt.Sprintf("sharding key %s: %v", shardingKey, err), Fix: "this sharding key is not supported yet"}
	}
	if expr.IsRand() {
		d.Rand = true
	} else {
		d.ShardingKey = expr
	}
	return d, nil
}
