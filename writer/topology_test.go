package writer

import (
	"testing"

	"github.com/chload/chload/transform"
)

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
