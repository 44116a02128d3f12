package jobs

import (
	"errors"
	"strings"
	"testing"

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
