package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/chload/chload/internal/eventsgen"
	"github.com/chload/chload/internal/memch"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/loadmon"
)

// shardOfKey is the shard index ClickHouse's Distributed engine picks for a
// sharding key value: key modulo the total weight, each shard owning as
// many consecutive slots as its weight, in shard order.
func shardOfKey(key uint64, weights []uint64) int {
	var total uint64
	for _, w := range weights {
		total += w
	}
	slot := key % total
	for i, w := range weights {
		if slot < w {
			return i
		}
		slot -= w
	}
	panic("unreachable")
}

// shardIndex maps each server address of servers to its shard index.
func shardIndex(servers [][]*memch.Server) map[string]int {
	out := map[string]int{}
	for i, row := range servers {
		for _, s := range row {
			out[s.Addr()] = i
		}
	}
	return out
}

// TestMemRouting: rows go to the shard ClickHouse would pick for the
// sharding key, with shards of weights 1 and 3, through a Distributed table
// (resolved to its local table, never inserted into) or a local table
// named with a cluster and a key; rand() spreads rows over both shards and
// a rerun routes each row the same way.
func TestMemRouting(t *testing.T) {
	glob, _ := generate(t, 12_000, 2, 2_000)
	weights := []uint64{1, 3}
	userOf := map[string]uint64{}
	ids, users := parquetColumn(t, glob, "event_id"), parquetColumn(t, glob, "user_id")
	for i := range ids {
		userOf[ids[i].(string)] = users[i].(uint64)
	}
	for _, tc := range []struct {
		name   string
		target string // the job's table
		extra  string // target keys
		dist   string // a Distributed table's sharding key; "-" for none
		key    func(user uint64) uint64
	}{
		{"Distributed intHash64", "db.events", "", "intHash64(user_id)", eventsgen.IntHash64},
		{"Distributed plain column", "db.events", "", "user_id", func(u uint64) uint64 { return u }},
		{"local table with cluster and key", "db.events_local", "  cluster: c\n  sharding_key: intHash64(user_id)\n", "-", eventsgen.IntHash64},
		{"rand()", "db.events_local", "  cluster: c\n", "-", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var placements []map[string]int
			for run := 0; run < 2; run++ {
				house := memch.NewHouse()
				servers := newMemCluster(house, "c", weights, 2)
				if err := house.CreateOnCluster("c", eventsTable("db.events_local", "ReplicatedMergeTree")); err != nil {
					t.Fatal(err)
				}
				if tc.dist != "-" {
					if err := house.CreateDistributed("c", "db", "events", "db", "events_local", tc.dist); err != nil {
						t.Fatal(err)
					}
				}
				job := clusterJob(t, glob, tc.target, tc.extra, "  batch_rows: 1000\n", "s2r1:9000")
				if _, err := memRun(t, house, job); err != nil {
					t.Fatal(err)
				}
				shardOf := shardIndex(servers)
				inserts := house.Inserts()
				checkEveryRowOnce(t, glob, inserts)
				placed := map[string]int{}
				perShard := make([]int, len(weights))
				for _, in := range inserts {
					if in.Table != "events_local" {
						t.Fatalf("insert into %s.%s: rows must go straight to the local table", in.Database, in.Table)
					}
					if shardOf[in.Server] != in.Shard {
						t.Fatalf("batch of shard %d inserted on %s", in.Shard, in.Server)
					}
					for _, id := range in.Column("event_id") {
						id := id.(string)
						placed[id] = in.Shard
						perShard[in.Shard]++
						if tc.key != nil {
							if want := shardOfKey(tc.key(userOf[id]), weights); in.Shard != want {
								t.Fatalf("row %s (user_id %d) on shard %d, ClickHouse puts it on %d", id, userOf[id], in.Shard+1, want+1)
							}
						}
					}
				}
				if perShard[0] == 0 || perShard[1] == 0 {
					t.Errorf("rows per shard %v: want rows on both", perShard)
				}
				if tc.key != nil && perShard[1] < 2*perShard[0] {
					t.Errorf("rows per shard %v: want about 1:3", perShard)
				}
				placements = append(placements, placed)
			}
			for id, s := range placements[0] {
				if placements[1][id] != s {
					t.Fatalf("row %s on shard %d, then on %d", id, s+1, placements[1][id]+1)
				}
			}
		})
	}
}

// TestMemDistributedWithoutKey: a Distributed table without a sharding
// key over two shards is refused before anything is written, as ClickHouse
// refuses such inserts.
func TestMemDistributedWithoutKey(t *testing.T) {
	glob, _ := generate(t, 1_000, 1, 1_000)
	house := memch.NewHouse()
	newMemCluster(house, "c", []uint64{1, 1}, 1)
	if err := house.CreateOnCluster("c", eventsTable("db.events_local", "MergeTree")); err != nil {
		t.Fatal(err)
	}
	if err := house.CreateDistributed("c", "db", "events", "db", "events_local", ""); err != nil {
		t.Fatal(err)
	}
	_, err := memRun(t, house, clusterJob(t, glob, "db.events", "", "", "s1r1:9000"))
	var te *writer.TargetError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "sharding key") {
		t.Fatalf("error %v (%T), want a target error about the sharding key", err, err)
	}
	if n := len(house.Inserts()) + len(house.Failed()); n != 0 {
		t.Fatalf("%d inserts", n)
	}
}

// failoverEnv is a 2-shard x 2-replica cluster "c" with a
// ReplicatedMergeTree local table and a Distributed table over it keyed by
// intHash64(user_id), and a job writing to it.
type failoverEnv struct {
	house   *memch.House
	servers [][]*memch.Server
	glob    string
	job     *Job
}

func newFailoverEnv(t *testing.T, engine, write string) *failoverEnv {
	t.Helper()
	glob, _ := generate(t, 12_000, 2, 2_000)
	house := memch.NewHouse()
	servers := newMemCluster(house, "c", []uint64{1, 1}, 2)
	if err := house.CreateOnCluster("c", eventsTable("db.events_local", engine)); err != nil {
		t.Fatal(err)
	}
	if err := house.CreateDistributed("c", "db", "events", "db", "events_local", "intHash64(user_id)"); err != nil {
		t.Fatal(err)
	}
	if write == "" {
		write = "  batch_rows: 1000\n"
	}
	return &failoverEnv{house: house, servers: servers, glob: glob, job: clusterJob(t, glob, "db.events", "", write, "s1r1:9000", "s2r1:9000")}
}

// checkShardsComplete checks every row landed once and each insert on a
// replica of its own shard.
func (e *failoverEnv) checkShardsComplete(t *testing.T) {
	t.Helper()
	checkEveryRowOnce(t, e.glob, e.house.Inserts())
	shardOf := shardIndex(e.servers)
	for _, in := range e.house.Inserts() {
		if shardOf[in.Server] != in.Shard {
			t.Fatalf("batch of shard %d inserted on %s", in.Shard, in.Server)
		}
	}
}

// TestMemFailoverChoices: the replica choices of the door, observed in
// what the servers took.
func TestMemFailoverChoices(t *testing.T) {
	t.Run("replica down at open is skipped", func(t *testing.T) {
		e := newFailoverEnv(t, "ReplicatedMergeTree", "")
		e.servers[0][0].SetDown(true)
		if _, err := memRun(t, e.house, e.job); err != nil {
			t.Fatal(err)
		}
		e.checkShardsComplete(t)
		if n := len(e.servers[0][0].Inserts()); n != 0 {
			t.Fatalf("the replica that was down took %d inserts", n)
		}
		if len(e.servers[0][1].Inserts()) == 0 {
			t.Fatalf("shard 1 was not written through its other replica")
		}
	})
	t.Run("retryable failure goes to the other replica", func(t *testing.T) {
		e := newFailoverEnv(t, "ReplicatedMergeTree", "")
		e.servers[0][0].FailNext(1, memch.TransientException(252, "Too many parts (300). Merges are processing significantly slower than inserts."))
		if _, err := memRun(t, e.house, e.job); err != nil {
			t.Fatal(err)
		}
		e.checkShardsComplete(t)
		failed := e.house.Failed()
		if len(failed) != 1 || failed[0].Server != e.servers[0][0].Addr() {
			t.Fatalf("failed attempts %+v, want one on %s", failed, e.servers[0][0].Addr())
		}
		f := failed[0]
		var took []string
		for _, in := range e.house.Inserts() {
			if in.Shard == f.Shard && in.Partition == f.Partition && in.Seq == f.Seq {
				took = append(took, in.Server)
			}
		}
		if len(took) != 1 || took[0] != e.servers[0][1].Addr() {
			t.Fatalf("the failed batch was then inserted on %v, want once on %s", took, e.servers[0][1].Addr())
		}
	})
	t.Run("replica down after some inserts", func(t *testing.T) {
		e := newFailoverEnv(t, "ReplicatedMergeTree", "")
		e.servers[1][0].DownAfter(2)
		if _, err := memRun(t, e.house, e.job); err != nil {
			t.Fatal(err)
		}
		e.checkShardsComplete(t)
		if n := len(e.servers[1][0].Inserts()); n != 2 {
			t.Fatalf("the replica took %d inserts before going down, want 2", n)
		}
	})
	t.Run("non-retryable failure fails the run with that error", func(t *testing.T) {
		e := newFailoverEnv(t, "ReplicatedMergeTree", "")
		e.servers[0][0].FailNext(1, memch.Exception(53, "Type mismatch in IN or VALUES section."))
		_, err := memRun(t, e.house, e.job)
		var se *writer.ServerError
		if !errors.As(err, &se) || se.Code != 53 || !strings.Contains(err.Error(), "Type mismatch") {
			t.Fatalf("error %v (%T), want the server's exception 53", err, err)
		}
		// The other inserts in flight end with the run's context.
		var refused []memch.Insert
		for _, f := range e.house.Failed() {
			if errors.As(f.Err, &se) && se.Code == 53 {
				refused = append(refused, f)
			} else if !errors.Is(f.Err, context.Canceled) {
				t.Errorf("insert failed with %v", f.Err)
			}
		}
		if len(refused) != 1 {
			t.Fatalf("%d refused inserts, want 1", len(refused))
		}
		f := refused[0]
		for _, in := range e.house.Inserts() {
			if in.Shard == f.Shard && in.Partition == f.Partition && in.Seq == f.Seq {
				t.Fatalf("the refused batch was inserted on %s too", in.Server)
			}
		}
	})
	t.Run("read-only replica is never chosen", func(t *testing.T) {
		e := newFailoverEnv(t, "ReplicatedMergeTree", "")
		e.servers[0][0].SetReadOnly(true)
		e.servers[1][1].SetReadOnly(true)
		if _, err := memRun(t, e.house, e.job); err != nil {
			t.Fatal(err)
		}
		e.checkShardsComplete(t)
		for _, s := range []*memch.Server{e.servers[0][0], e.servers[1][1]} {
			if n := len(s.Inserts()); n != 0 {
				t.Fatalf("read-only replica %s took %d inserts", s.Addr(), n)
			}
		}
	})
	t.Run("whole shard down fails before anything is written", func(t *testing.T) {
		e := newFailoverEnv(t, "ReplicatedMergeTree", "")
		e.servers[1][0].SetDown(true)
		e.servers[1][1].SetDown(true)
		_, err := memRun(t, e.house, e.job)
		var se *writer.ServerError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "shard 2") || !strings.Contains(err.Error(), "nothing was written") {
			t.Fatalf("error %v (%T), want a server error naming shard 2", err, err)
		}
		if n := len(e.house.Inserts()) + len(e.house.Failed()); n != 0 {
			t.Fatalf("%d inserts before the run failed", n)
		}
	})
	t.Run("without internal replication every replica is written", func(t *testing.T) {
		e := newFailoverEnv(t, "MergeTree", "")
		sum, err := memRun(t, e.house, e.job)
		if err != nil {
			t.Fatal(err)
		}
		if sum.PartsCreated != 2*sum.Batches || len(e.house.Inserts()) != sum.PartsCreated {
			t.Fatalf("%d batches, %d parts created, %d inserts: want two parts per batch", sum.Batches, sum.PartsCreated, len(e.house.Inserts()))
		}
		for i, row := range e.servers {
			a := batchContents(t, row[0].Inserts(), "db.events_local")
			b := batchContents(t, row[1].Inserts(), "db.events_local")
			if len(a) == 0 || len(a) != len(b) {
				t.Fatalf("shard %d: replicas took %d and %d batches", i+1, len(a), len(b))
			}
			for k, rows := range a {
				if b[k] != rows {
					t.Fatalf("shard %d: batch %+v differs between the replicas", i+1, k)
				}
			}
			checkEveryRowOnce(t, e.glob, append(e.servers[0][i%2].Inserts(), e.servers[1][i%2].Inserts()...))
		}
	})
}

// TestMemNoWritableReplica: a shard whose replicas are all read-only fails
// the run with a server error (exit code 5) naming the shard, and nothing
// is inserted on the read-only replicas.
func TestMemNoWritableReplica(t *testing.T) {
	e := newFailoverEnv(t, "ReplicatedMergeTree", "")
	e.servers[1][0].SetReadOnly(true)
	e.servers[1][1].SetReadOnly(true)
	_, err := memRun(t, e.house, e.job)
	var se *writer.ServerError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "shard 2") || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("error %v (%T), want a server error naming shard 2 and read-only replicas", err, err)
	}
	for _, s := range e.servers[1] {
		if n := len(s.Inserts()); n != 0 {
			t.Fatalf("read-only replica %s took %d inserts", s.Addr(), n)
		}
	}
}

// TestMemPausedReplicaIsPassedOver: a replica whose fullest partition is
// near parts_to_delay_insert is paused, and its shard's batches go to the
// other replica.
func TestMemPausedReplicaIsPassedOver(t *testing.T) {
	e := newFailoverEnv(t, "ReplicatedMergeTree", "")
	e.servers[0][1].SetLoad(loadmon.NodeLoad{MaxParts: 290, PartsToDelay: 150, PartsToThrow: 300})
	if _, err := memRun(t, e.house, e.job); err != nil {
		t.Fatal(err)
	}
	e.checkShardsComplete(t)
	if n := len(e.servers[0][1].Inserts()); n != 0 {
		t.Fatalf("the paused replica took %d inserts", n)
	}
}

// TestMemDryRunOnCluster: a dry run of a Distributed target names the
// cluster and key, shows every node's load (a read-only replica as such),
// would send each shard's batches to a writable replica, and inserts
// nothing.
func TestMemDryRunOnCluster(t *testing.T) {
	e := newFailoverEnv(t, "ReplicatedMergeTree", "")
	e.servers[1][0].SetReadOnly(true)
	rep, err := memDryRun(t, e.house, e.job)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.house.Inserts()) + len(e.house.Failed()); n != 0 {
		t.Fatalf("the dry run made %d inserts", n)
	}
	if rep.Cluster != "c" || rep.Distributed != "db.events" || rep.ShardingKey != "intHash64(user_id)" || len(rep.Nodes) != 4 {
		t.Fatalf("dry run of cluster %q, Distributed %q, key %q, %d nodes", rep.Cluster, rep.Distributed, rep.ShardingKey, len(rep.Nodes))
	}
	for _, n := range rep.Nodes {
		if ro := n.Addr == e.servers[1][0].Addr(); n.ReadOnly != ro || ro != (n.Limit == 0) {
			t.Errorf("node %s: read-only %v, limit %d", n.Addr, n.ReadOnly, n.Limit)
		}
	}
	shards := map[int]bool{}
	for _, p := range rep.Partitions {
		shards[p.Shard] = true
		if p.Replica == e.servers[1][0].Addr() || p.Replica == "" {
			t.Errorf("shard %d partition %s would go to %q", p.Shard, p.Partition, p.Replica)
		}
	}
	if !shards[1] || !shards[2] {
		t.Errorf("dry run partitions on shards %v, want 1 and 2", shards)
	}
}
