package jobs

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/sources"
	"github.com/chload/chload/transform"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/chcol"
)

// session is what a run and a dry run share: the open source, its splits,
// the server, the destination (one table, or a cluster's local tables), the
// plan that maps the source onto it, a connection to every node written and
// the monitor of their load.
type session struct {
	job    *Job
	log    *slog.Logger
	mem    memory.Allocator
	src    sources.Source
	schema *arrow.Schema
	splits []sources.Split
	conn   driver.Conn // the first host that answered
	server writer.ServerInfo
	dest   *writer.Destination
	table  *writer.Table
	plan   *writer.Plan
	// nodes are the nodes written: the one host, or every replica that
	// answered; shards lists, per shard index, its replicas' addresses.
	nodes   []writer.Node
	shards  [][]string
	monitor *writer.LoadMonitor
	// hostCores is, per host, the cores its server uses.
	hostCores map[string]int
}

func openSession(ctx context.Context, job *Job, log *slog.Logger, mem memory.Allocator) (*session, error) {
	if mem == nil {
		// Freed buffers are kept for reuse, up to an eighth of the
		// buffer budget (measured: about 5% less CPU, no more memory).
		mem = newBufferPool(int(job.Write.MaxBufferBytes) / 8)
	}
	s := &session{job: job, log: log, mem: mem}
	src, err := sources.New(job.Source.Type, job.Source.Decoder())
	if err != nil {
		return nil, &ConfigError{Path: job.Path, Err: err}
	}
	s.src = src
	if a, ok := src.(sources.AllocatorUser); ok {
		a.UseAllocator(mem)
	}
	if err := s.open(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *session) open(ctx context.Context) error {
	job, log := s.job, s.log
	var err error
	if s.schema, err = s.src.Schema(ctx); err != nil {
		return &SourceError{Err: err}
	}
	if s.splits, err = s.src.Splits(ctx); err != nil {
		return &SourceError{Err: err}
	}
	ch := job.Target.ClickHouse
	if s.conn, err = writer.Connect(ctx, s.connParams(ch.Hosts)); err != nil {
		return err
	}
	if s.server, err = writer.DetectServer(ctx, s.conn); err != nil {
		return err
	}
	log.Info("connected", "server", s.server.Version, "timezone", s.server.Timezone, "hosts", ch.Hosts)
	s.dest, err = writer.ResolveDestination(ctx, s.conn, writer.DestinationParams{
		Database: job.Target.Database(), Table: job.Target.TableName(), Cluster: job.Target.Cluster,
		ShardingKey: job.Target.ShardingKey, InternalReplication: job.Target.InternalReplication,
	})
	if err != nil {
		return err
	}
	s.table = s.dest.Table
	if err := s.connectNodes(ctx); err != nil {
		return err
	}
	s.readHostCores(ctx)
	if s.plan, err = writer.NewPlan(s.table, s.server, s.schema, job.Source.IgnoreExtraColumns, s.dest.RowKeys()...); err != nil {
		return err
	}
	if job.Source.NullAsDefault {
		if err := s.plan.UseNullAsDefault(); err != nil {
			return err
		}
	}
	if k, ok := s.src.(sources.DictionaryKeeper); ok {
		k.KeepDictionaries(s.plan.DictionaryColumns())
	}
	s.monitor = writer.NewLoadMonitor(s.nodes, s.table.Database, s.table.Name, writer.LoadPolicy{
		Fixed: int(job.Write.Concurrency), PerNodeCap: job.Write.NodeConcurrency, GlobalCap: s.globalCap(),
	}, log)
	if err := s.monitor.Poll(ctx); err != nil {
		return err
	}
	return nil
}

// globalCap is the most inserts in flight over all nodes: write.max_concurrency
// when set; else, under auto, each host's cores (the max_threads its server
// reports), shared by the nodes on that host, and at most the per-node cap
// per node; with a fixed concurrency, that number per node.
func (s *session) globalCap() int {
	if s.job.Write.MaxConcurrency > 0 {
		return s.job.Write.MaxConcurrency
	}
	if s.job.Write.Concurrency != Auto {
		return max(1, int(s.job.Write.Concurrency)*len(s.nodes))
	}
	nodesOnHost := map[string]int{}
	for _, n := range s.nodes {
		nodesOnHost[hostOf(n.Addr)]++
	}
	total := 0
	for host, n := range nodesOnHost {
		total += min(s.hostCores[host], n*s.job.Write.NodeConcurrency)
	}
	return max(1, total)
}

// hostOf is the host part of "host:port".
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// readHostCores records, per host, the cores its server uses (max_threads),
// so that nodes sharing a host share its concurrency.
func (s *session) readHostCores(ctx context.Context) {
	s.hostCores = map[string]int{}
	for _, n := range s.nodes {
		host := hostOf(n.Addr)
		if _, done := s.hostCores[host]; done {
			continue
		}
		cores := s.job.Write.NodeConcurrency
		var v string
		if err := n.Conn.QueryRow(ctx, "SELECT value FROM system.settings WHERE name = 'max_threads'").Scan(&v); err == nil {
			if c := leadingNumber(v); c > 0 {
				cores = c
			}
		}
		s.hostCores[host] = cores
	}
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

func (s *session) connParams(addrs []string) writer.ConnParams {
	ch := s.job.Target.ClickHouse
	perNode := max(int(s.job.Write.Concurrency), s.job.Write.NodeConcurrency)
	return writer.ConnParams{
		Addrs: addrs, User: ch.User, Password: string(ch.Password),
		Compression: ch.Compression, DialTimeout: ch.DialTimeout,
		MaxConns: perNode + 2, Logger: s.log,
	}
}

// connectNodes connects to every replica of every shard. A replica that does
// not answer is left out (its shard is written through another); a shard
// with no replica answering fails the run before anything is written.
func (s *session) connectNodes(ctx context.Context) error {
	topo := s.dest.Topology
	if topo == nil {
		addr := s.job.Target.ClickHouse.Hosts[0]
		s.nodes = []writer.Node{{Addr: addr, Shard: 1, Replica: 1, Conn: s.conn}}
		s.shards = [][]string{{addr}}
		return nil
	}
	var down []string
	for _, sh := range topo.Shards {
		var up []string
		var lastErr error
		for _, r := range sh.Replicas {
			conn, err := writer.Connect(ctx, s.connParams([]string{r.Addr}))
			if err == nil {
				_, err = writer.DescribeTable(ctx, conn, s.table.Database, s.table.Name)
				if err != nil {
					conn.Close()
					return fmt.Errorf("shard %d replica %s: %w", sh.Num, r.Addr, err)
				}
			}
			if err != nil {
				s.log.Warn("replica does not answer: its shard is written through another replica", "shard", sh.Num, "replica", r.Addr, "error", err)
				lastErr = err
				continue
			}
			s.nodes = append(s.nodes, writer.Node{Addr: r.Addr, Shard: sh.Num, Replica: r.Num, Conn: conn})
			up = append(up, r.Addr)
		}
		if len(up) == 0 {
			down = append(down, fmt.Sprintf("shard %d (%s): %v", sh.Num, strings.Join(sh.Addrs(), ", "), lastErr))
		}
		s.shards = append(s.shards, up)
	}
	if len(down) > 0 {
		return &writer.ServerError{Op: "connect to cluster " + topo.Cluster, Err: fmt.Errorf("no replica answers for %s; nothing was written", strings.Join(down, "; "))}
	}
	s.log.Info("cluster", "cluster", topo.Cluster, "shards", len(topo.Shards), "nodes", len(s.nodes),
		"distributed", s.dest.Distributed, "local_table", s.table.Database+"."+s.table.Name,
		"internal_replication", s.dest.InternalReplication, "sharding_key", shardingKeyText(s.dest))
	return nil
}

func shardingKeyText(d *writer.Destination) string {
	switch {
	case d.Rand:
		return "rand()"
	case d.ShardingKey != nil:
		return d.ShardingKey.String()
	}
	return ""
}

// connTo is the connection to the node at addr.
func (s *session) connTo(addr string) driver.Conn {
	for _, n := range s.nodes {
		if n.Addr == addr {
			return n.Conn
		}
	}
	return nil
}

func (s *session) close() {
	for _, n := range s.nodes {
		if n.Conn != s.conn {
			n.Conn.Close()
		}
	}
	if s.conn != nil {
		s.conn.Close()
	}
	if s.src != nil {
		s.src.Close()
	}
}

// converted is one source record after conversion, split by shard and
// partition (and sorted within each piece, when asked for).
type converted struct {
	rows   int64
	pieces writer.Pieces
}

func (c converted) release() { c.pieces.Release() }

// splitChunkRows is a lower bound on the rows of one record a source
// yields, for sizing the channel that holds a split's records.
const splitChunkRows = 4096

// splitChanCap is the capacity of the channel for sp's records: room for
// all of them when the source says how many rows it has (a reader then
// never waits within a split), within bounds a corrupt row count cannot
// push.
func splitChanCap(sp sources.Split) int {
	if sp.Rows <= 0 {
		return 2
	}
	return int(min(sp.Rows/splitChunkRows+2, 1024))
}

// readConverted reads every split with plan's columns, converts records and
// evaluates the partition key on `workers` goroutines, and hands the results
// to consume in split order and row order: the same source gives the same
// sequence. consume owns each item. It runs on the calling goroutine.
// With sorted, each record also comes with its rows' order by the table's
// sorting key, computed on the reading goroutines.
func (s *session) readConverted(parent context.Context, plan *writer.Plan, workers int, sorted bool, progress *Progress, consume func(converted) error) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	// Each split's channel holds all its records, so a reader never waits
	// for the consumer within a split (which left a core idle while the
	// consumer caught up). Instead, a reader starts split i only once the
	// consumer has started split i-workers: at most workers splits are
	// read ahead of the one being consumed.
	// A split's channel is made by its reader when it starts the split
	// (ready[i] is closed then), so only the splits in flight hold one.
	outs := make([]chan converted, len(s.splits))
	ready := make([]chan struct{}, len(s.splits))
	started := make([]chan struct{}, len(s.splits))
	for i := range s.splits {
		ready[i] = make(chan struct{})
		started[i] = make(chan struct{})
	}
	errs := make(chan error, workers)
	cols := plan.SourceColumns()
	for w := 0; w < workers; w++ {
		go func(w int) {
			var err error
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("internal error reading splits: %v\n%s", r, debug.Stack())
				}
				if err != nil {
					cancel(err)
				}
				errs <- err
			}()
			for i := w; i < len(s.splits); i += workers {
				if i >= workers {
					select {
					case <-started[i-workers]:
					case <-ctx.Done():
						err = ctx.Err()
						return
					}
				}
				outs[i] = make(chan converted, splitChanCap(s.splits[i]))
				close(ready[i])
				if err = s.readSplit(ctx, plan, cols, sorted, s.splits[i], outs[i]); err != nil {
					return
				}
				if progress != nil {
					progress.SplitsDone.Add(1)
				}
			}
		}(w)
	}
	var consumeErr error
loop:
	for i := range outs {
		close(started[i])
		select {
		case <-ready[i]:
		case <-ctx.Done():
			break loop
		}
		for {
			var item converted
			var ok bool
			select {
			case item, ok = <-outs[i]:
			case <-ctx.Done():
				break loop
			}
			if !ok {
				break
			}
			if consumeErr = consume(item); consumeErr != nil {
				cancel(consumeErr)
				break loop
			}
		}
	}
	cancel(nil)
	var first error
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil && first == nil && !errors.Is(err, context.Canceled) {
			first = err
		}
	}
	// Drain what readers left behind (every reader has returned).
	for i, ch := range outs {
		select {
		case <-ready[i]:
		default:
			continue // never started
		}
	drain:
		for {
			select {
			case item, ok := <-ch:
				if !ok {
					break drain
				}
				item.release()
			default:
				break drain
			}
		}
	}
	if consumeErr != nil {
		return consumeErr
	}
	if first != nil {
		return first
	}
	return parent.Err()
}

func (s *session) readSplit(ctx context.Context, plan *writer.Plan, cols []string, sorted bool, sp sources.Split, out chan<- converted) error {
	defer close(out)
	rr, err := s.src.Open(ctx, sp, cols)
	if err != nil {
		return &SourceError{Err: splitErr("open", sp, err)}
	}
	defer rr.Release()
	var row int64
	for rr.Next() {
		rec := rr.Record()
		if sp.Rows >= 0 && row+rec.NumRows() > sp.Rows {
			return &SourceError{Err: &RowCountError{Split: sp.String(), Promised: sp.Rows, Delivered: row + rec.NumRows()}}
		}
		item, err := s.convert(plan, rec, sp, row, sorted)
		if err != nil {
			return err
		}
		row += rec.NumRows()
		select {
		case out <- item:
		case <-ctx.Done():
			item.release()
			return ctx.Err()
		}
	}
	if err := rr.Err(); err != nil {
		var bad *sources.ValueError
		if errors.As(err, &bad) {
			return &DataError{Path: sp.Path, Split: sp.Index, Row: bad.Row, Column: bad.Column,
				Err: &chcol.ValueError{Row: int(bad.Row), Value: bad.Value, Reason: bad.Reason, Fix: bad.Fix}}
		}
		return &SourceError{Err: splitErr("read", sp, err)}
	}
	// Every split delivers what its metadata promises: a reader that ends
	// early without an error (arrow/go v15 did, on a bad page) must not
	// pass for a complete read.
	if sp.Rows >= 0 && row != sp.Rows {
		return &SourceError{Err: &RowCountError{Split: sp.String(), Promised: sp.Rows, Delivered: row}}
	}
	return nil
}

func (s *session) convert(plan *writer.Plan, rec arrow.Record, sp sources.Split, firstRow int64, sorted bool) (converted, error) {
	out, err := plan.Convert(rec, s.mem)
	if err != nil {
		var ve *writer.ColumnValueError
		if errors.As(err, &ve) {
			return converted{}, &DataError{Path: sp.Path, Split: sp.Index, Row: firstRow + int64(ve.Err.Row), Column: ve.Column, Err: ve.Err}
		}
		return converted{}, fmt.Errorf("convert %s: %w", sp, err)
	}
	defer out.Release()
	keys, err := writer.EvalKeys(plan.Table.Partition, out, s.mem)
	if err != nil {
		return converted{}, fmt.Errorf("%s: %w", sp, err)
	}
	defer func() {
		for _, k := range keys {
			k.Release()
		}
	}()
	r := writer.Rows{Record: out, Keys: keys}
	if s.dest.Topology != nil {
		if r.Shards, err = s.route(out, sp, firstRow); err != nil {
			return converted{}, err
		}
	}
	if sorted {
		if r.Order, err = writer.SortPermutation([]arrow.Record{out}, plan.Table.Sorting, s.mem); err != nil {
			return converted{}, fmt.Errorf("%s: %w", sp, err)
		}
	}
	pieces, err := writer.SplitRows(context.Background(), r, s.mem)
	if err != nil {
		return converted{}, fmt.Errorf("%s: %w", sp, err)
	}
	return converted{rows: out.NumRows(), pieces: pieces}, nil
}

// route gives each row of a canonical record its shard: the sharding key's
// value modulo the total weight, as ClickHouse computes it, or for rand() a
// generator seeded by the split and row, so a rerun routes rows the same way.
func (s *session) route(rec arrow.Record, sp sources.Split, firstRow int64) ([]uint16, error) {
	topo := s.dest.Topology
	n := int(rec.NumRows())
	out := make([]uint16, n)
	if s.dest.Rand {
		seed := splitSeed(sp)
		for i := range out {
			out[i] = uint16(topo.ShardOf(splitmix64(seed + uint64(firstRow) + uint64(i))))
		}
		return out, nil
	}
	key, err := s.dest.ShardingKey.Eval(rec, s.mem)
	if err != nil {
		return nil, fmt.Errorf("%s: evaluate sharding key %s: %w", sp, s.dest.ShardingKey, err)
	}
	defer key.Release()
	vals, err := transform.ShardKeyUint64(key)
	if err != nil {
		return nil, fmt.Errorf("%s: sharding key %s: %w", sp, s.dest.ShardingKey, err)
	}
	for i, v := range vals {
		out[i] = uint16(topo.ShardOf(v))
	}
	return out, nil
}

// splitSeed derives a generator seed from a split's identity.
func splitSeed(sp sources.Split) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d", sp.Path, sp.Index)
	return h.Sum64() << 20
}

// splitmix64 is a fast, well-mixed hash of x.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// splitErr is err from opening or reading sp, naming the split once: the
// source contract has its errors name the split already, and one that does
// not gets it added.
func splitErr(op string, sp sources.Split, err error) error {
	if strings.Contains(err.Error(), sp.String()) {
		return err
	}
	return fmt.Errorf("%s %s: %w", op, sp, err)
}
