// Package writer is chload's one door to ClickHouse. A run opens a Target
// (Open): the servers are found, the target table described, a cluster's
// shards and replicas connected and their load watched; the run then hands
// it batches (Target.Write), each inserted as one part on a replica chosen by
// load, failing over to another replica when one fails, and closes it.
//
// Everything that talks to a server sits behind the Dialer and Node
// interfaces: writer/chserver implements them over the native protocol, and
// internal/memch keeps tables in memory for tests. This package imports no
// client library: it decides (discovery, routing, failover, concurrency)
// and the Node carries out. Its neighbours hold the work that needs no
// server: writer/plan maps source columns onto the table, writer/batch cuts
// and sorts batches per partition, writer/loadmon turns node loads into
// insert slots, writer/chcol knows the ClickHouse types.
package writer

import (
	"context"
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/chload/chload/transform"
	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/loadmon"
)

// Dialer connects to ClickHouse servers. Open calls it with one address
// at a time: for the job's hosts in order until one answers (for every
// host in a dry run), and once per replica of a cluster.
type Dialer interface {
	// Dial connects to the first of p.Addrs that answers and checks it
	// answers queries. Its errors are *ServerError.
	Dial(ctx context.Context, p ConnParams) (Node, error)
}

// Node is one connected ClickHouse server. Its methods are safe for
// concurrent use; errors from the server or the network are *ServerError,
// classified (Retryable) by the implementation, and problems with the table
// are *TargetError.
type Node interface {
	// Server reads the server's version, time zone and cores; Open calls it
	// once per node.
	Server(ctx context.Context) (ServerInfo, error)
	// Describe reads a table's columns, engine and keys. A table that does
	// not exist is a *TargetError. Open calls it for the target (and a
	// Distributed table's local table) on the first node, and on every
	// replica to check that the table exists there (its columns are taken
	// from the first node, not compared).
	Describe(ctx context.Context, database, table string) (TableDesc, error)
	// Cluster lists a cluster's shards and replicas from system.clusters,
	// in shard_num and replica_num order; none for an unknown cluster.
	Cluster(ctx context.Context, name string) ([]Shard, error)
	// Load polls the node's load on database.table (merges, queries, parts,
	// replica state); Limit and Reason are left to the load monitor, which
	// calls it every few seconds.
	Load(ctx context.Context, database, table string) (loadmon.NodeLoad, error)
	// Partitions reads the active parts of t per partition, keyed by the
	// partition as system.parts prints it; dry runs call it.
	Partitions(ctx context.Context, t *Table) (map[string]PartitionState, error)
	// Insert sorts b by ins.Sorting and sends it as one INSERT of ins's
	// columns, so the server makes one part. It does not release b. An
	// insert whose data all reached the server but whose answer did not
	// wraps ErrOutcomeUnknown.
	Insert(ctx context.Context, ins *Insert, b *batch.Batch) error
	// Close closes the node's connections; every call must have returned.
	Close() error
}

// ConnParams says how to reach a server.
type ConnParams struct {
	// Addrs are "host:port" addresses of the native protocol, tried in
	// order: the node is the first that answers.
	Addrs []string
	// User and Password authenticate; Password is never logged.
	User, Password string
	// Compression is lz4, zstd, none, or auto: none for a loopback address
	// (the copy costs CPU that nothing wins back on one machine), lz4 for
	// any other.
	Compression string
	// DialTimeout bounds connecting. Optional, defaults to 10s.
	DialTimeout time.Duration
	// TLS, when set, encrypts the native protocol (every connection, the
	// queries' and the inserts'). Optional, defaults to none: plain TCP.
	TLS *tls.Config
	// MaxConns caps open connections. Optional, defaults to 4.
	MaxConns int
	// Logger receives the client library's own messages at debug level.
	Logger *slog.Logger
	// Mem allocates what inserts compute (sort keys, permutations).
	// Optional, defaults to memory.DefaultAllocator.
	Mem memory.Allocator
	// DriverInserts makes inserts go through clickhouse-go's columns, also
	// where chload's own Native encoder would take the table. Optional,
	// defaults to false; tests use it to compare the two paths.
	DriverInserts bool
}

// Insert is what every INSERT of a run names: the table, the columns in
// order with the types their canonical Arrow arrays hold, and the sorting
// key rows are ordered by (writer/plan builds it).
type Insert struct {
	// Table is the table inserted into.
	Table *Table
	// Columns are the INSERT's columns, in the order of a batch's record
	// columns.
	Columns []Column
	// Sorting orders a batch's rows: the table's sorting key.
	Sorting []*transform.Expr
}

// PartitionState is what a table holds in one partition.
type PartitionState struct {
	// Parts and Rows count the active parts and their rows.
	Parts, Rows int64
}
