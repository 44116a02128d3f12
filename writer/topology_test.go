package writer

import (
	"testing"

	"github.com/chload/chload/transform"
)

func TestParseDistributed(t *testing.T) {
	cases := []struct {
		in   string
		want DistributedEngine
	}{
		{"Distributed(test_cluster, default, events_local, cityHash64(k))", DistributedEngine{"test_cluster", "default", "events_local", "cityHash64(k)"}},
		{"Distributed('c', 'db', 't', sipHash64(a, concat(b, ',')), 'policy')", DistributedEngine{"c", "db", "t", "sipHash64(a, concat(b, ','))"}},
		{"Distributed(c, db, t)", DistributedEngine{"c", "db", "t", ""}},
		{"Distributed(`c`, `d b`, t, rand())", DistributedEngine{"c", "d b", "t", "rand()"}},
	}
	for _, c := range cases {
		got, err := ParseDistributed(c.in)
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"MergeTree", "Distributed(c, db)", "Distributed c"} {
		if _, err := ParseDistributed(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestShardOfFollowsWeights(t *testing.T) {
	topo := &Topology{Shards: []Shard{{Num: 1, Weight: 1}, {Num: 2, Weight: 3}}, TotalWeight: 4, slots: []int{0, 1, 1, 1}}
	for key, want := range map[uint64]int{0: 0, 1: 1, 2: 1, 3: 1, 4: 0, 5: 1, 1<<63 + 4: 0} {
		if got := topo.ShardOf(key); got != want {
			t.Errorf("key %d: shard %d, want %d", key, got, want)
		}
	}
}

func TestRandShardingKeys(t *testing.T) {
	for in, want := range map[string]bool{"rand()": true, " rand( ) ": true, "rand(1)": true, "rand64()": false, "intHash64(rand())": false, "cityHash64(k)": false} {
		e, err := transform.Parse(in)
		if err != nil {
			if want {
				t.Errorf("parse %q: %v", in, err)
			}
			continue // not rand(), and refused as a sharding key as it should be
		}
		if e.IsRand() != want {
			t.Errorf("%q IsRand = %v", in, !want)
		}
	}
}

func TestNewTopologyUsesWeights(t *testing.T) {
	topo, err := NewTopology("c", []Shard{{Num: 1, Weight: 1}, {Num: 2, Weight: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if topo.TotalWeight != 4 || topo.ShardOf(0) != 0 || topo.ShardOf(3) != 1 {
		t.Fatalf("topology %+v", topo)
	}
	if _, err := NewTopology("c", nil); err == nil {
		t.Fatal("a cluster without shards was accepted")
	}
	if _, err := NewTopology("c", []Shard{{Num: 1}}); err == nil {
		t.Fatal("a cluster whose shards all weigh 0 was accepted")
	}
}
