// Package memch is an in-memory ClickHouse behind chload's door
// (writer.Dialer and writer.Node), for tests of the whole pipeline without a
// server. Product code never imports it.
//
// A House holds servers by address, each with its tables, the clusters of
// its configuration (as system.clusters would list them) and the inserts it
// took. An insert behaves as the real one does where the pipeline can see
// it: it needs the table on that server, refuses columns that do not match
// the table's, sorts the batch by the sorting key the way writer/chserver
// does, encodes every column that has a Native encoder (chcol.AppendNative,
// so a column not in its canonical Arrow form fails as it would on the
// wire), and makes one part of one partition. It does not check values
// against their types beyond that: the plan's converters did. Faults are
// injected per server: down, the next inserts failing with a chosen error
// (committed or not), down after some inserts, read-only or loaded
// (SetLoad), and a hook before each insert. Nothing here waits on a clock,
// so tests that use it make no timed assertions.
//
// Every method of every type here is safe for concurrent use. Inserted
// values are copied (boxed, see Value), never retained: a run's allocator
// holds nothing of them afterwards.
package memch

import (
	"fmt"
	"strings"
	"sync"

	"github.com/chload/chload/writer"
)

// Defaults of a server added without them.
const (
	DefaultVersion  = "18.16.1"
	DefaultTimezone = "UTC"
	DefaultCores    = 4
)

// House is a set of in-memory ClickHouse servers reached by address, the
// clusters their configuration names, and a log of every insert.
type House struct {
	mu       sync.Mutex
	servers  map[string]*Server
	clusters map[string][]writer.Shard
	inserts  []Insert // committed, in commit order
	failed   []Insert // attempts that returned an error
	open     int      // connections dialled and not closed
}

// NewHouse returns an empty house.
func NewHouse() *House {
	return &House{servers: map[string]*Server{}, clusters: map[string][]writer.Shard{}}
}

// ServerParams describe a server to add.
type ServerParams struct {
	// Addr is the "host:port" the server answers at.
	Addr string
	// Version is version(). Optional, defaults to DefaultVersion.
	Version string
	// Timezone is timezone(). Optional, defaults to DefaultTimezone.
	Timezone string
	// Cores is max_threads. Optional, defaults to DefaultCores.
	Cores int
}

// AddServer adds a server, up, idle and without tables, and returns it.
// Adding an address twice replaces the first server.
func (h *House) AddServer(p ServerParams) *Server {
	if p.Version == "" {
		p.Version = DefaultVersion
	}
	if p.Timezone == "" {
		p.Timezone = DefaultTimezone
	}
	if p.Cores == 0 {
		p.Cores = DefaultCores
	}
	s := &Server{h: h, p: p, tables: map[string]writer.TableDesc{}, parts: map[string]map[string]writer.PartitionState{}, downAfter: -1}
	h.mu.Lock()
	h.servers[p.Addr] = s
	h.mu.Unlock()
	return s
}

// Server returns the server at addr, or nil.
func (h *House) Server(addr string) *Server {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.servers[addr]
}

// ClusterShard is one shard of a cluster: its weight and its replicas'
// addresses in replica order.
type ClusterShard struct {
	// Weight is shard_weight. Optional, defaults to 1.
	Weight uint64
	// Replicas are the replicas' "host:port" addresses; an address no
	// server answers at is a replica that is down.
	Replicas []string
}

// AddCluster adds a cluster to every server's configuration: shards are
// numbered from 1 in the order given, replicas from 1 within their shard.
// Adding a name twice replaces the first cluster.
func (h *House) AddCluster(name string, shards ...ClusterShard) {
	out := make([]writer.Shard, len(shards))
	for i, s := range shards {
		w := s.Weight
		if w == 0 {
			w = 1
		}
		out[i] = writer.Shard{Num: i + 1, Weight: w}
		for j, a := range s.Replicas {
			out[i].Replicas = append(out[i].Replicas, writer.Replica{Addr: a, Shard: i + 1, Num: j + 1})
		}
	}
	h.mu.Lock()
	h.clusters[name] = out
	h.mu.Unlock()
}

// cluster returns a copy of the named cluster's shards (nil when unknown).
func (h *House) cluster(name string) []writer.Shard {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []writer.Shard
	for _, s := range h.clusters[name] {
		s.Replicas = append([]writer.Replica(nil), s.Replicas...)
		out = append(out, s)
	}
	return out
}

// replicaServers lists the servers of a cluster's replicas, skipping
// addresses no server answers at; an unknown cluster is an error.
func (h *House) replicaServers(cluster string) ([]*Server, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	shards, ok := h.clusters[cluster]
	if !ok {
		return nil, fmt.Errorf("memch: no cluster %s", cluster)
	}
	var out []*Server
	for _, sh := range shards {
		for _, r := range sh.Replicas {
			if s := h.servers[r.Addr]; s != nil {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// CreateOnCluster creates the table d on every server of the cluster, as
// CREATE TABLE ... ON CLUSTER does.
func (h *House) CreateOnCluster(cluster string, d writer.TableDesc) error {
	servers, err := h.replicaServers(cluster)
	if err != nil {
		return err
	}
	for _, s := range servers {
		s.CreateTable(d)
	}
	return nil
}

// CreateDistributed creates, on every server of the cluster, a Distributed
// table database.name over the cluster's local table localDB.local, with
// the local table's columns (CREATE TABLE ... AS local ENGINE =
// Distributed(cluster, localDB, local[, key])); an empty key omits the
// sharding key. Each server must hold the local table.
func (h *House) CreateDistributed(cluster, database, name, localDB, local, key string) error {
	servers, err := h.replicaServers(cluster)
	if err != nil {
		return err
	}
	full := fmt.Sprintf("Distributed(%s, %s, %s", cluster, localDB, local)
	if key != "" {
		full += ", " + key
	}
	full += ")"
	for _, s := range servers {
		ld, ok := s.table(localDB, local)
		if !ok {
			return fmt.Errorf("memch: server %s has no table %s.%s", s.p.Addr, localDB, local)
		}
		s.CreateTable(writer.TableDesc{Database: database, Name: name, Engine: "Distributed", EngineFull: full, Columns: ld.Columns})
	}
	return nil
}

// Inserts returns every committed insert, in the order they were
// committed: the rows the house holds.
func (h *House) Inserts() []Insert {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Insert(nil), h.inserts...)
}

// Failed returns every insert attempt that returned an error, in order,
// with its error; one that committed its rows anyway (an unknown outcome
// that went through) is in Inserts too.
func (h *House) Failed() []Insert {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Insert(nil), h.failed...)
}

// OpenConns is the number of connections dialled and not closed yet.
func (h *House) OpenConns() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.open
}

// Table builds the description of a table: name is "database.table";
// columns are "name Type" with the type as ClickHouse prints it
// ("d Date", "v Nullable(String)"); the keys are as system.tables prints
// them ("toYYYYMM(d)", "s, id"), empty for none. EngineFull is built from
// the engine and the keys.
func Table(name, engine, partitionKey, sortingKey string, columns ...string) writer.TableDesc {
	db, tbl, _ := strings.Cut(name, ".")
	d := writer.TableDesc{Database: db, Name: tbl, Engine: engine, PartitionKey: partitionKey, SortingKey: sortingKey}
	full := engine
	if partitionKey != "" {
		full += " PARTITION BY " + partitionKey
	}
	if sortingKey != "" {
		full += " ORDER BY (" + sortingKey + ")"
	} else {
		full += " ORDER BY tuple()"
	}
	d.EngineFull = full
	for _, c := range columns {
		n, t, _ := strings.Cut(strings.TrimSpace(c), " ")
		d.Columns = append(d.Columns, writer.Column{Name: n, TypeName: strings.TrimSpace(t)})
	}
	return d
}
