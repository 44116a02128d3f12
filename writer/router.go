package writer

import (
	"fmt"
	"hash/fnv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/transform"
)

// Router gives each row its shard, as ClickHouse's Distributed engine
// would: the sharding key's value modulo the shards' total weight, or for
// rand() a generator seeded by the row's place in the source, so a rerun
// routes every row to the same shard. It reads no server; safe for
// concurrent use.
type Router struct {
	topo *Topology
	key  *transform.Expr // nil for rand()
}

// Shards returns the shard index (into Topology.Shards) of every row of rec,
// a canonical record holding the sharding key's columns. seed names the
// split the rows come from (SplitSeed) and firstRow is rec's first row
// within it. Errors name the sharding key.
func (r *Router) Shards(rec arrow.Record, seed uint64, firstRow int64, mem memory.Allocator) ([]uint16, error) {
	n := int(rec.NumRows())
	out := make([]uint16, n)
	if r.key == nil {
		for i := range out {
			out[i] = uint16(r.topo.ShardOf(splitmix64(seed + uint64(firstRow) + uint64(i))))
		}
		return out, nil
	}
	key, err := r.key.Eval(rec, mem)
	if err != nil {
		return nil, fmt.Errorf("evaluate sharding key %s: %w", r.key, err)
	}
	defer key.Release()
	vals, err := transform.ShardKeyUint64(key)
	if err != nil {
		return nil, fmt.Errorf("sharding key %s: %w", r.key, err)
	}
	for i, v := range vals {
		out[i] = uint16(r.topo.ShardOf(v))
	}
	return out, nil
}

// SplitSeed derives a rand() routing seed from a split's stable identity.
func SplitSeed(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64() << 20
}

// splitmix64 is a fast, well-mixed hash of x.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
