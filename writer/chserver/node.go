package chserver

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/chnative"
	"github.com/chload/chload/writer/loadmon"
)

// Dialer connects to ClickHouse over the native protocol.
type Dialer struct{}

// Dial connects to the first of p.Addrs that answers: chload's own hello
// first (which tells an HTTP port or a certificate problem at once), then a
// clickhouse-go pool, pinged. The node's queries and inserts all go to the
// address reached (Node.Addr). When none answers, the error names each
// address with its own error.
func (Dialer) Dial(ctx context.Context, p writer.ConnParams) (writer.Node, error) {
	if len(p.Addrs) == 0 {
		return nil, &writer.ServerError{Op: "connect to ClickHouse", Err: errors.New("no host given")}
	}
	var errs []error
	transient := true
	for _, addr := range p.Addrs {
		n, err := dialAddr(ctx, p, addr)
		if err == nil {
			return n, nil
		}
		if len(p.Addrs) == 1 || ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
		transient = transient && err.Transient
	}
	return nil, &writer.ServerError{Op: "connect to any of " + strings.Join(p.Addrs, ", "), Err: errors.Join(errs...), Transient: transient}
}

// dialAddr connects to addr alone.
func dialAddr(ctx context.Context, p writer.ConnParams, addr string) (*Node, *writer.ServerError) {
	p.Addrs = []string{addr}
	nc, err := chnative.Dial(ctx, nativeOptions(p))
	if err != nil {
		return nil, connectError(addr, err)
	}
	nc.Close()
	conn, err := Connect(ctx, p)
	if err != nil {
		se, ok := err.(*writer.ServerError)
		if !ok {
			se = serverError("connect to "+addr, err)
		}
		return nil, se
	}
	return NewNode(conn, p), nil
}

// Node is one server reached through conn (a clickhouse-go pool) and,
// for inserts, chload's own native connections made with p (p.Addrs[0],
// the address reached).
type Node struct {
	conn driver.Conn
	p    writer.ConnParams

	mu        sync.Mutex
	inserters map[*writer.Insert]*Inserter
}

// NewNode wraps an open connection as a writer.Node; Close closes conn.
func NewNode(conn driver.Conn, p writer.ConnParams) *Node {
	return &Node{conn: conn, p: p, inserters: map[*writer.Insert]*Inserter{}}
}

// Addr is the "host:port" the node reached.
func (n *Node) Addr() string { return n.p.Addrs[0] }

// Server reads the server's version, time zone and max_threads.
func (n *Node) Server(ctx context.Context) (writer.ServerInfo, error) {
	var version, tz string
	if err := n.conn.QueryRow(ctx, "SELECT version(), timezone()").Scan(&version, &tz); err != nil {
		return writer.ServerInfo{}, serverError("read server version", err)
	}
	cores := 0
	var v string
	if err := n.conn.QueryRow(ctx, "SELECT value FROM system.settings WHERE name = 'max_threads'").Scan(&v); err == nil {
		cores = leadingNumber(v)
	}
	return writer.NewServerInfo(version, tz, cores)
}

// leadingNumber reads the first run of digits in s ("8", "'auto(8)'").
func leadingNumber(s string) int {
	n, seen := 0, false
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n, seen = n*10+int(r-'0'), true
		} else if seen {
			break
		}
	}
	return n
}

// Cluster reads a cluster's shards and replicas from system.clusters.
func (n *Node) Cluster(ctx context.Context, cluster string) ([]writer.Shard, error) {
	rows, err := n.conn.Query(ctx, "SELECT shard_num, shard_weight, replica_num, host_name, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num", cluster)
	if err != nil {
		return nil, serverError("read cluster "+cluster+" from system.clusters", err)
	}
	defer rows.Close()
	var shards []writer.Shard
	for rows.Next() {
		var shardNum, weight, replicaNum uint32
		var host string
		var port uint16
		if err := rows.Scan(&shardNum, &weight, &replicaNum, &host, &port); err != nil {
			return nil, serverError("read cluster "+cluster, err)
		}
		if k := len(shards); k == 0 || shards[k-1].Num != int(shardNum) {
			shards = append(shards, writer.Shard{Num: int(shardNum), Weight: uint64(weight)})
		}
		s := &shards[len(shards)-1]
		s.Replicas = append(s.Replicas, writer.Replica{Addr: net.JoinHostPort(host, strconv.Itoa(int(port))), Shard: int(shardNum), Num: int(replicaNum)})
	}
	if err := rows.Err(); err != nil {
		return nil, serverError("read cluster "+cluster, err)
	}
	return shards, nil
}

// Load polls the node's load of database.table.
func (n *Node) Load(ctx context.Context, database, table string) (loadmon.NodeLoad, error) {
	return pollNode(ctx, n.conn, database, table)
}

// Insert inserts b through the node's inserter for ins, made on first use.
func (n *Node) Insert(ctx context.Context, ins *writer.Insert, b *batch.Batch) error {
	n.mu.Lock()
	in, ok := n.inserters[ins]
	if !ok {
		in = NewInserter(n.conn, n.p, ins, n.p.Mem)
		n.inserters[ins] = in
	}
	n.mu.Unlock()
	return in.Insert(ctx, b)
}

// Close closes the inserters' connections and the pool.
func (n *Node) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, in := range n.inserters {
		in.Close()
	}
	n.inserters = map[*writer.Insert]*Inserter{}
	return n.conn.Close()
}
