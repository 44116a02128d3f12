package memch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/chsql"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/loadmon"
)

var kvSchema = arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Uint64}, {Name: "s", Type: arrow.BinaryTypes.String}}, nil)

// kvTable is db.kv (k UInt64, s String) ordered by s.
func kvTable() writer.TableDesc { return Table("db.kv", "MergeTree", "", "s", "k UInt64", "s String") }

// kvInsert plans an INSERT of every column of d.
func kvInsert(t *testing.T, d writer.TableDesc) *writer.Insert {
	t.Helper()
	tbl, err := writer.NewTable(d)
	if err != nil {
		t.Fatal(err)
	}
	return &writer.Insert{Table: tbl, Columns: tbl.Columns, Sorting: tbl.Sorting}
}

// kvBatch is a batch of one chunk per slice of s values, k numbering the
// rows in arrival order.
func kvBatch(mem memory.Allocator, seq int, chunks ...[]string) *batch.Batch {
	b := &batch.Batch{Partition: "tuple()", Seq: seq}
	k := uint64(0)
	for _, vals := range chunks {
		rb := array.NewRecordBuilder(mem, kvSchema)
		for _, v := range vals {
			rb.Field(0).(*array.Uint64Builder).Append(k)
			rb.Field(1).(*array.StringBuilder).Append(v)
			k++
		}
		b.Chunks = append(b.Chunks, rb.NewRecord())
		rb.Release()
		b.Rows += int64(len(vals))
	}
	return b
}

func dial(t *testing.T, h *House, addrs ...string) writer.Node {
	t.Helper()
	n, err := h.Dialer().Dial(context.Background(), writer.ConnParams{Addrs: addrs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestInsertSortsAndRecords: an insert is sorted by the sorting key, ties
// in arrival order, recorded with its values, and counted as one part.
func TestInsertSortsAndRecords(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	h := NewHouse()
	srv := h.AddServer(ServerParams{Addr: "a:9000"})
	srv.CreateTable(kvTable())
	n := dial(t, h, "a:9000")
	ins := kvInsert(t, kvTable())
	b := kvBatch(mem, 0, []string{"c", "a", "b"}, []string{"a", "c"})
	defer b.Release()
	if err := n.Insert(context.Background(), ins, b); err != nil {
		t.Fatal(err)
	}
	got := h.Inserts()
	if len(got) != 1 || got[0].Rows != 5 || got[0].Server != "a:9000" || got[0].Table != "kv" {
		t.Fatalf("inserts %v", got)
	}
	s, k := got[0].Column("s"), got[0].Column("k")
	want := []struct {
		s string
		k uint64
	}{{"a", 1}, {"a", 3}, {"b", 2}, {"c", 0}, {"c", 4}}
	for i, w := range want {
		if s[i] != w.s || k[i] != w.k {
			t.Fatalf("row %d is (%v, %v), want (%s, %d)", i, s[i], k[i], w.s, w.k)
		}
	}
	st, err := n.Partitions(context.Background(), ins.Table)
	if err != nil || st["tuple()"] != (writer.PartitionState{Parts: 1, Rows: 5}) {
		t.Fatalf("partitions %v, %v", st, err)
	}
}

// TestInsertRefusals: what the real server refuses, memch refuses with the
// same kind of error.
func TestInsertRefusals(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	h := NewHouse()
	srv := h.AddServer(ServerParams{Addr: "a:9000"})
	n := dial(t, h, "a:9000")
	ins := kvInsert(t, kvTable())
	b := kvBatch(mem, 0, []string{"x"})
	defer b.Release()
	var se *writer.ServerError
	if err := n.Insert(context.Background(), ins, b); !errors.As(err, &se) || se.Code != 60 || se.Retryable() {
		t.Fatalf("missing table: %v", err)
	}
	srv.CreateTable(Table("db.kv", "MergeTree", "", "s", "k UInt64", "other String"))
	if err := n.Insert(context.Background(), ins, b); !errors.As(err, &se) || se.Code != 16 {
		t.Fatalf("unknown column: %v", err)
	}
	srv.CreateTable(Table("db.kv", "MergeTree", "", "s", "k UInt32", "s String"))
	var te *writer.TargetError
	if err := n.Insert(context.Background(), ins, b); !errors.As(err, &te) {
		t.Fatalf("changed type: %v (%T)", err, err)
	}
	srv.CreateTable(Table("db.kv", "MergeTree", "", "s", "k UInt64", "s LowCardinality(String)"))
	if err := n.Insert(context.Background(), ins, b); err != nil {
		t.Fatalf("a LowCardinality difference is accepted: %v", err)
	}
	// A chunk not in the canonical type of its column fails to encode.
	wrong := kvInsert(t, Table("db.kv", "MergeTree", "", "s", "k UInt8", "s String"))
	srv.CreateTable(Table("db.kv", "MergeTree", "", "s", "k UInt8", "s String"))
	if err := n.Insert(context.Background(), wrong, b); err == nil {
		t.Fatalf("a UInt64 array encoded as UInt8")
	}
	if len(h.Inserts()) != 1 || len(h.Failed()) != 4 {
		t.Fatalf("%d inserts, %d failed; want 1 and 4", len(h.Inserts()), len(h.Failed()))
	}
}

// TestFaults: the injected faults do what they say.
func TestFaults(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	h := NewHouse()
	srv := h.AddServer(ServerParams{Addr: "a:9000"})
	srv.CreateTable(kvTable())
	n := dial(t, h, "a:9000")
	ins := kvInsert(t, kvTable())
	b := kvBatch(mem, 0, []string{"x", "y"})
	defer b.Release()
	insert := func() error { return n.Insert(ctx, ins, b) }

	srv.FailNext(2, Exception(53, "Type mismatch"))
	for i := 0; i < 2; i++ {
		var se *writer.ServerError
		if err := insert(); !errors.As(err, &se) || se.Code != 53 || se.Retryable() || se.Op == "" {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	if err := insert(); err != nil {
		t.Fatalf("third insert: %v", err)
	}
	srv.FailNextCommitted(1, OutcomeUnknown(srv.Addr()))
	if err := insert(); !errors.Is(err, writer.ErrOutcomeUnknown) {
		t.Fatalf("outcome unknown: %v", err)
	}
	if got := len(h.Inserts()); got != 2 {
		t.Fatalf("%d inserts committed, want 2 (the success and the unknown one)", got)
	}
	srv.DownAfter(1)
	if err := insert(); err != nil {
		t.Fatal(err)
	}
	var se *writer.ServerError
	if err := insert(); !errors.As(err, &se) || !se.Retryable() {
		t.Fatalf("insert on a server gone down: %v", err)
	}
	if _, err := n.Load(ctx, "db", "kv"); !errors.As(err, &se) || !se.Retryable() {
		t.Fatalf("load of a server down: %v", err)
	}
	if _, err := h.Dialer().Dial(ctx, writer.ConnParams{Addrs: []string{"a:9000"}}); !errors.As(err, &se) {
		t.Fatalf("dial to a server down: %v", err)
	}
	srv.SetDown(false)
	srv.SetReadOnly(true)
	if l, err := n.Load(ctx, "db", "kv"); err != nil || !l.ReadOnly {
		t.Fatalf("load %+v, %v: want read-only", l, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	srv.BeforeInsert(func(*batch.Batch) { cancel() })
	if err := n.Insert(cctx, ins, b); !errors.Is(err, context.Canceled) {
		t.Fatalf("insert cancelled by its hook: %v", err)
	}
}

// TestDialDescribeCluster: Dial takes the first server up; Describe,
// Cluster and a Distributed table read as the door expects; Close is
// counted.
func TestDialDescribeCluster(t *testing.T) {
	ctx := context.Background()
	h := NewHouse()
	a := h.AddServer(ServerParams{Addr: "a:9000", Cores: 8})
	h.AddServer(ServerParams{Addr: "b:9000"})
	h.AddCluster("c", ClusterShard{Weight: 2, Replicas: []string{"a:9000"}}, ClusterShard{Replicas: []string{"b:9000", "gone:9000"}})
	if err := h.CreateOnCluster("c", kvTable()); err != nil {
		t.Fatal(err)
	}
	if err := h.CreateDistributed("c", "db", "dist", "db", "kv", "intHash64(k)"); err != nil {
		t.Fatal(err)
	}
	a.SetDown(true)
	n, err := h.Dialer().Dial(ctx, writer.ConnParams{Addrs: []string{"nowhere:1", "a:9000", "b:9000"}})
	if err != nil {
		t.Fatal(err)
	}
	if h.OpenConns() != 1 {
		t.Fatalf("%d connections open", h.OpenConns())
	}
	info, err := n.Server(ctx)
	if err != nil || info.Version != DefaultVersion || info.Timezone != DefaultTimezone || info.Cores != DefaultCores || info.Major != 18 {
		t.Fatalf("server %+v, %v: want b's defaults", info, err)
	}
	d, err := n.Describe(ctx, "db", "dist")
	if err != nil || d.Engine != "Distributed" || len(d.Columns) != 2 {
		t.Fatalf("describe %+v, %v", d, err)
	}
	e, err := chsql.ParseDistributed(d.EngineFull)
	if err != nil || e != (chsql.Distributed{Cluster: "c", Database: "db", Table: "kv", ShardingKey: "intHash64(k)"}) {
		t.Fatalf("engine %q parses as %+v, %v", d.EngineFull, e, err)
	}
	var te *writer.TargetError
	if _, err := n.Describe(ctx, "db", "nope"); !errors.As(err, &te) {
		t.Fatalf("describe a missing table: %v", err)
	}
	shards, err := n.Cluster(ctx, "c")
	if err != nil || len(shards) != 2 || shards[0].Weight != 2 || shards[1].Weight != 1 || shards[1].Replicas[1] != (writer.Replica{Addr: "gone:9000", Shard: 2, Num: 2}) {
		t.Fatalf("cluster %+v, %v", shards, err)
	}
	if none, err := n.Cluster(ctx, "other"); err != nil || none != nil {
		t.Fatalf("unknown cluster: %+v, %v", none, err)
	}
	n.Close()
	n.Close()
	if h.OpenConns() != 0 {
		t.Fatalf("%d connections open after Close", h.OpenConns())
	}
	if _, err := n.Server(ctx); err == nil {
		t.Fatalf("a closed connection answered")
	}
}

// TestConcurrentInserts: inserts from many goroutines on several
// connections are all recorded, with parts counted per partition.
func TestConcurrentInserts(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	h := NewHouse()
	srv := h.AddServer(ServerParams{Addr: "a:9000"})
	srv.CreateTable(kvTable())
	ins := kvInsert(t, kvTable())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := h.Dialer().Dial(context.Background(), writer.ConnParams{Addrs: []string{"a:9000"}})
			if err != nil {
				errs <- err
				return
			}
			defer n.Close()
			for i := 0; i < 20; i++ {
				b := kvBatch(mem, i, []string{fmt.Sprint(g), "z"})
				b.Partition = fmt.Sprint(i % 2)
				if err := n.Insert(context.Background(), ins, b); err != nil {
					errs <- err
				}
				b.Release()
				if i%5 == 0 {
					srv.SetLoad(srv.loadCopy())
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	parts := srv.Partitions("db", "kv")
	if len(h.Inserts()) != 160 || parts["0"].Parts != 80 || parts["1"].Rows != 160 {
		t.Fatalf("%d inserts, partitions %+v", len(h.Inserts()), parts)
	}
}

// loadCopy returns the load SetLoad set.
func (s *Server) loadCopy() loadmon.NodeLoad {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.load
}
