package transform

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/testenv"
)

// shardingKeys are the sharding keys of the Distributed tables in
// TestShardParity.
var shardingKeys = []string{
	"cityHash64(s)", "sipHash64(s, n)", "intHash64(n)", "n", "n % 7 + 3", "i8", "i32",
	"murmurHash3_64(s, d)", "intHash32(u)", "cityHash64(s, n, d)", "abs(n) % 5", "u",
}

type parityRow struct {
	id  uint32
	s   string
	n   int64
	i8  int8
	i32 int32
	u   uint32
	d   time.Time
}

// clusterShard is one shard of a cluster as system.clusters describes it.
type clusterShard struct {
	num    uint32
	weight uint32
	ports  []string
}

// TestShardParity inserts rows through Distributed tables with several
// sharding keys over the test cluster (equal weights) and the weighted one
// (weights 1 and 3), reads which shard each row landed on, and checks that
// Eval, ShardKeyUint64 and the modulo-weights routing predict every row.
func TestShardParity(t *testing.T) {
	addrs := testenv.ClusterAddrs(t)
	conn := testenv.ConnTo(t, addrs[0])
	db := testenv.ClusterScratchDB(t, conn, testenv.ClusterName)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := conn.Exec(ctx, "CREATE TABLE "+db+".local ON CLUSTER "+testenv.ClusterName+
		" (case_id UInt16, id UInt32, s String, n Int64, i8 Int8, i32 Int32, u UInt32, d Date) ENGINE = MergeTree ORDER BY (case_id, id)"); err != nil {
		t.Fatalf("create local tables: %v", err)
	}
	rows := parityRows()

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := parityRecord(mem, rows)
	defer rec.Release()

	type testCase struct {
		id      uint16
		cluster string
		key     string
		want    []uint32 // predicted shard_num per row
	}
	var cases []testCase
	for _, cluster := range []string{testenv.ClusterName, testenv.WeightedClusterName} {
		shards := clusterShards(t, conn, cluster)
		for _, key := range shardingKeys {
			c := testCase{id: uint16(len(cases)), cluster: cluster, key: key}
			c.want = predictShards(t, rec, key, shards, mem)
			dist := fmt.Sprintf("%s.dist_%d", db, c.id)
			if err := conn.Exec(ctx, "CREATE TABLE "+dist+" AS "+db+".local ENGINE = Distributed("+
				cluster+", "+db+", local, "+key+")"); err != nil {
				t.Fatalf("create distributed table with key %s: %v", key, err)
			}
			insertParity(t, ctx, conn, dist, c.id, rows)
			cases = append(cases, c)
		}
	}

	// Where each row landed: shard numbers of the nodes holding it.
	shardOfPort := map[string]uint32{}
	for _, sh := range clusterShards(t, conn, testenv.ClusterName) {
		for _, p := range sh.ports {
			shardOfPort[p] = sh.num
		}
	}
	landed := map[[2]uint32]map[uint32]bool{}
	for _, addr := range addrs {
		port := addr[strings.LastIndexByte(addr, ':')+1:]
		shard, ok := shardOfPort[port]
		if !ok {
			t.Fatalf("node %s is not in cluster %s", addr, testenv.ClusterName)
		}
		node := testenv.ConnTo(t, addr)
		res, err := node.Query(ctx, "SELECT case_id, id FROM "+db+".local")
		if err != nil {
			t.Fatalf("read rows of node %s: %v", addr, err)
		}
		for res.Next() {
			var c uint16
			var id uint32
			if err := res.Scan(&c, &id); err != nil {
				t.Fatalf("scan: %v", err)
			}
			k := [2]uint32{uint32(c), id}
			if landed[k] == nil {
				landed[k] = map[uint32]bool{}
			}
			landed[k][shard] = true
		}
		if err := res.Err(); err != nil {
			t.Fatalf("read rows of node %s: %v", addr, err)
		}
		res.Close()
	}

	for _, c := range cases {
		t.Run(c.cluster+"/"+c.key, func(t *testing.T) {
			bad := 0
			for i, r := range rows {
				got := landed[[2]uint32{uint32(c.id), r.id}]
				if len(got) == 1 && got[c.want[i]] {
					continue
				}
				bad++
				if bad <= 5 {
					t.Errorf("row %d (s=%q n=%d i8=%d i32=%d u=%d d=%s): landed on shards %v, predicted %d",
						r.id, r.s, r.n, r.i8, r.i32, r.u, r.d.Format("2006-01-02"), sortedShards(got), c.want[i])
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d rows mispredicted", bad, len(rows))
			}
		})
	}
}

func parityRows() []parityRow {
	rnd := rand.New(rand.NewSource(11))
	edge := []int64{0, 1, -1, 2, -2, 3, -3, 6, -6, 7, -7, math.MaxInt64, math.MinInt64, math.MaxInt32, math.MinInt32, 255, -255}
	rows := make([]parityRow, 300)
	for i := range rows {
		r := &rows[i]
		r.id = uint32(i)
		r.n = int64(rnd.Uint64()) >> uint(rnd.Intn(64))
		if i < len(edge) {
			r.n = edge[i]
		}
		r.i8, r.i32 = int8(r.n), int32(r.n)
		r.u = rnd.Uint32() >> uint(rnd.Intn(32))
		b := make([]byte, rnd.Intn(30))
		for k := range b {
			b[k] = byte('a' + rnd.Intn(26))
		}
		r.s = string(b) + strconv.Itoa(i)
		r.d = time.Unix(rnd.Int63n(40000)*86400, 0).UTC()
	}
	return rows
}

func parityRecord(mem memory.Allocator, rows []parityRow) arrow.Record {
	b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32},
		{Name: "u", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32},
	}, nil))
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.s)
		b.Field(1).(*array.Int64Builder).Append(r.n)
		b.Field(2).(*array.Int8Builder).Append(r.i8)
		b.Field(3).(*array.Int32Builder).Append(r.i32)
		b.Field(4).(*array.Uint32Builder).Append(r.u)
		b.Field(5).(*array.Date32Builder).Append(arrow.Date32(r.d.Unix() / secondsPerDay))
	}
	return b.NewRecord()
}

// clusterShards reads the shards of cluster in shard_num order.
func clusterShards(t *testing.T, conn driver.Conn, cluster string) []clusterShard {
	t.Helper()
	res, err := conn.Query(context.Background(),
		"SELECT shard_num, shard_weight, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num", cluster)
	if err != nil {
		t.Fatalf("read cluster %s: %v", cluster, err)
	}
	defer res.Close()
	var out []clusterShard
	for res.Next() {
		var num, weight uint32
		var port uint16
		if err := res.Scan(&num, &weight, &port); err != nil {
			t.Fatalf("scan cluster %s: %v", cluster, err)
		}
		if len(out) == 0 || out[len(out)-1].num != num {
			out = append(out, clusterShard{num: num, weight: weight})
		}
		out[len(out)-1].ports = append(out[len(out)-1].ports, strconv.Itoa(int(port)))
	}
	if err := res.Err(); err != nil {
		t.Fatalf("read cluster %s: %v", cluster, err)
	}
	if len(out) < 2 {
		t.Fatalf("cluster %s has %d shards, want at least 2", cluster, len(out))
	}
	return out
}

// predictShards evaluates key on rec and routes every row as a Distributed
// table does: slot = key % total weight, shards owning consecutive slots.
func predictShards(t *testing.T, rec arrow.Record, key string, shards []clusterShard, mem memory.Allocator) []uint32 {
	t.Helper()
	e, err := Parse(key)
	if err != nil {
		t.Fatalf("parse sharding key %s: %v", key, err)
	}
	arr, err := e.Eval(rec, mem)
	if err != nil {
		t.Fatalf("evaluate sharding key %s: %v", key, err)
	}
	defer arr.Release()
	vals, err := ShardKeyUint64(arr)
	if err != nil {
		t.Fatalf("sharding key %s: %v", key, err)
	}
	var slots []uint32
	for _, sh := range shards {
		for w := uint32(0); w < sh.weight; w++ {
			slots = append(slots, sh.num)
		}
	}
	out := make([]uint32, len(vals))
	for i, v := range vals {
		out[i] = slots[v%uint64(len(slots))]
	}
	return out
}

func insertParity(t *testing.T, ctx context.Context, conn driver.Conn, table string, caseID uint16, rows []parityRow) {
	t.Helper()
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" (case_id, id, s, n, i8, i32, u, d)")
	if err != nil {
		t.Fatalf("prepare insert into %s: %v", table, err)
	}
	for _, r := range rows {
		if err := batch.Append(caseID, r.id, r.s, r.n, r.i8, r.i32, r.u, r.d); err != nil {
			t.Fatalf("append row %d: %v", r.id, err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatalf("insert into %s: %v", table, err)
	}
}

func sortedShards(m map[uint32]bool) []uint32 {
	out := make([]uint32, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
