package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/memch"
	"github.com/chload/chload/writer"
)

// TestMemDeadFirstHost lists a host that is down before one that answers:
// the dry run says the first does not answer and the second is used, the
// node it reports (and would write) is the second, and the run writes
// every row there.
func TestMemDeadFirstHost(t *testing.T) {
	house := memch.NewHouse()
	dead := house.AddServer(memch.ServerParams{Addr: "ch0:9000"})
	dead.CreateTable(eventsTable("db.events", "MergeTree"))
	dead.SetDown(true)
	live := house.AddServer(memch.ServerParams{Addr: "ch1:9000"})
	live.CreateTable(eventsTable("db.events", "MergeTree"))
	glob, _ := generate(t, 5_000, 1, 5_000)
	job := clusterJob(t, glob, "db.events", "", "  batch_rows: 2000\n", dead.Addr(), live.Addr())

	rep, err := memDryRun(t, house, job)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Hosts) != 2 {
		t.Fatalf("dry run reports %d hosts, want 2: %+v", len(rep.Hosts), rep.Hosts)
	}
	if h := rep.Hosts[0]; h.Addr != dead.Addr() || h.Answered || h.Used || h.Error == "" {
		t.Errorf("dead host reported as %+v; want not answering, with its error", h)
	}
	if h := rep.Hosts[1]; h.Addr != live.Addr() || !h.Answered || !h.Used || h.Error != "" {
		t.Errorf("live host reported as %+v; want answering and used", h)
	}
	if len(rep.Nodes) != 1 || rep.Nodes[0].Addr != live.Addr() || rep.Nodes[0].Error != "" {
		t.Errorf("dry run nodes %+v; want the live host only", rep.Nodes)
	}
	for _, p := range rep.Partitions {
		if p.Replica != live.Addr() {
			t.Errorf("partition %s would go to %q, want %s", p.Partition, p.Replica, live.Addr())
		}
	}

	if _, err := memRun(t, house, job); err != nil {
		t.Fatal(err)
	}
	checkEveryRowOnce(t, glob, house.Inserts())
	for _, in := range house.Inserts() {
		if in.Server != live.Addr() {
			t.Errorf("insert %s went to %s", in, in.Server)
		}
	}
}

// TestMemHostsAllDown: no listed host answering is a server error naming
// each host, before anything is read.
func TestMemHostsAllDown(t *testing.T) {
	house := memch.NewHouse()
	glob, _ := generate(t, 100, 1, 100)
	_, err := memRun(t, house, clusterJob(t, glob, "db.events", "", "", "ch0:9000", "ch1:9000"))
	var se *writer.ServerError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "ch0:9000") || !strings.Contains(err.Error(), "ch1:9000") {
		t.Fatalf("error %v; want a server error naming both hosts", err)
	}
}

// TestMemClusterDiscoveryThroughNextHost lists a replica that is down
// first: the cluster is discovered through the next listed host, the dry
// run reports both, and the run writes every row on the shards' live
// replicas.
func TestMemClusterDiscoveryThroughNextHost(t *testing.T) {
	house := memch.NewHouse()
	servers := newMemCluster(house, "c", []uint64{1, 1}, 2)
	if err := house.CreateOnCluster("c", eventsTable("db.events_local", "ReplicatedMergeTree")); err != nil {
		t.Fatal(err)
	}
	if err := house.CreateDistributed("c", "db", "events", "db", "events_local", "intHash64(user_id)"); err != nil {
		t.Fatal(err)
	}
	servers[0][0].SetDown(true)
	glob, _ := generate(t, 5_000, 1, 5_000)
	job := clusterJob(t, glob, "db.events", "", "  batch_rows: 2000\n", servers[0][0].Addr(), servers[1][0].Addr())
	rep, err := memDryRun(t, house, job)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Hosts) != 2 || rep.Hosts[0].Answered || !rep.Hosts[1].Used {
		t.Fatalf("dry run hosts %+v; want the first down and the second used", rep.Hosts)
	}
	if _, err := memRun(t, house, job); err != nil {
		t.Fatal(err)
	}
	checkEveryRowOnce(t, glob, house.Inserts())
	for _, in := range house.Inserts() {
		if in.Server == servers[0][0].Addr() {
			t.Errorf("insert %s went to the replica that is down", in)
		}
	}
}

// brokenDialer dials through d, but the node of addr loses its connection
// on the first query (a transient server error).
type brokenDialer struct {
	d    writer.Dialer
	addr string
}

func (b brokenDialer) Dial(ctx context.Context, p writer.ConnParams) (writer.Node, error) {
	n, err := b.d.Dial(ctx, p)
	if err != nil || len(p.Addrs) != 1 || p.Addrs[0] != b.addr {
		return n, err
	}
	return brokenNode{n, b.addr}, nil
}

type brokenNode struct {
	writer.Node
	addr string
}

func (n brokenNode) Server(context.Context) (writer.ServerInfo, error) {
	err := memch.NetworkError(n.addr)
	err.Op = "read server version"
	return writer.ServerInfo{}, err
}

// TestMemDiscoveryPassesOverBrokenHost: a host that answers but whose
// connection breaks while the server is read is passed over for the next
// host, which the run then writes to.
func TestMemDiscoveryPassesOverBrokenHost(t *testing.T) {
	house := memch.NewHouse()
	var servers []*memch.Server
	for _, addr := range []string{"ch0:9000", "ch1:9000"} {
		s := house.AddServer(memch.ServerParams{Addr: addr})
		s.CreateTable(eventsTable("db.events", "MergeTree"))
		servers = append(servers, s)
	}
	glob, _ := generate(t, 3_000, 1, 3_000)
	job := clusterJob(t, glob, "db.events", "", "", "ch0:9000", "ch1:9000")
	dialer := brokenDialer{house.Dialer(), "ch0:9000"}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	if _, err := Run(context.Background(), job, RunParams{Logger: testLogger(t), ClickHouse: dialer, Mem: mem}); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
	checkEveryRowOnce(t, glob, house.Inserts())
	for _, in := range house.Inserts() {
		if in.Server != "ch1:9000" {
			t.Errorf("insert %s went to %s", in, in.Server)
		}
	}
	if n := house.OpenConns(); n != 0 {
		t.Errorf("%d connections left open", n)
	}
	rep, err := DryRun(context.Background(), job, RunParams{Logger: testLogger(t), ClickHouse: dialer, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Hosts) != 2 || rep.Hosts[0].Used || !strings.Contains(rep.Hosts[0].Error, "connection reset") || !rep.Hosts[1].Used {
		t.Fatalf("dry run hosts %+v; want ch0 passed over with its error, ch1 used", rep.Hosts)
	}
}
