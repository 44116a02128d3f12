package memch

import (
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/loadmon"
)

// Server is one in-memory ClickHouse server of a House: its tables, the
// parts its inserts made, its load and the faults it is told to show.
type Server struct {
	h *House
	p ServerParams

	// Guarded by h.mu.
	tables    map[string]writer.TableDesc                 // "db.table"
	parts     map[string]map[string]writer.PartitionState // "db.table" -> partition
	down      bool
	downAfter int // inserts to commit before going down; -1: never
	load      loadmon.NodeLoad
	faults    []fault
	before    func(b *batch.Batch)
}

// fault is one insert's injected failure.
type fault struct {
	err       error
	committed bool // the rows are written before err is returned
}

// Addr is the server's address.
func (s *Server) Addr() string { return s.p.Addr }

// CreateTable creates d on the server, replacing a table of the same name
// (so a test can change a table during a run, as ALTER would).
func (s *Server) CreateTable(d writer.TableDesc) {
	d.Columns = append([]writer.Column(nil), d.Columns...)
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.tables[d.Database+"."+d.Name] = d
}

// DropTable drops database.name and its parts.
func (s *Server) DropTable(database, name string) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	delete(s.tables, database+"."+name)
	delete(s.parts, database+"."+name)
}

// table returns database.name's description.
func (s *Server) table(database, name string) (writer.TableDesc, bool) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	d, ok := s.tables[database+"."+name]
	return d, ok
}

// SetDown takes the server down (true) or brings it back: while down,
// Dial to it fails, and Load, Partitions and Insert on connections made
// before fail with a retryable *writer.ServerError, as a network failure
// would.
func (s *Server) SetDown(down bool) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.down = down
	if !down {
		s.downAfter = -1
	}
}

// DownAfter lets the next k inserts commit, then takes the server down.
func (s *Server) DownAfter(k int) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.downAfter = k
	if k == 0 {
		s.down = true
	}
}

// SetLoad sets what Load reports from now on (Addr, Shard, Replica, Limit,
// Reason, Err and At are the load monitor's and ignored). The default is
// an idle server.
func (s *Server) SetLoad(l loadmon.NodeLoad) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.load = l
}

// SetReadOnly makes the server a read-only replica (system.replicas
// is_readonly), which the load monitor never writes to, or a writable one.
func (s *Server) SetReadOnly(ro bool) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.load.ReadOnly = ro
}

// FailNext makes the next n inserts on the server that pass its checks
// (up, table and columns as planned) fail with err, writing nothing. A *writer.ServerError without an Op gets the insert's; build
// one with Exception, TransientException, NetworkError or OutcomeUnknown.
func (s *Server) FailNext(n int, err error) { s.addFaults(n, err, false) }

// FailNextCommitted makes the next n inserts on the server write their
// rows and then return err: an insert whose answer was lost after the
// server wrote it (use OutcomeUnknown).
func (s *Server) FailNextCommitted(n int, err error) { s.addFaults(n, err, true) }

func (s *Server) addFaults(n int, err error, committed bool) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	for i := 0; i < n; i++ {
		s.faults = append(s.faults, fault{err: err, committed: committed})
	}
}

// BeforeInsert sets a hook every insert on the server calls first, with
// the batch, before it looks at anything else (nil removes it). The hook
// may change the server (a table, a fault) or cancel the run's context;
// an insert whose context has ended then fails as the real one does.
func (s *Server) BeforeInsert(f func(b *batch.Batch)) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.before = f
}

// Partitions returns what database.table holds on the server per
// partition: the parts its inserts made and their rows.
func (s *Server) Partitions(database, table string) map[string]writer.PartitionState {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	out := map[string]writer.PartitionState{}
	for p, st := range s.parts[database+"."+table] {
		out[p] = st
	}
	return out
}

// Inserts returns the inserts committed on the server, in commit order.
func (s *Server) Inserts() []Insert {
	var out []Insert
	for _, in := range s.h.Inserts() {
		if in.Server == s.p.Addr {
			out = append(out, in)
		}
	}
	return out
}
