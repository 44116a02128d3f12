package memch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/loadmon"
)

// Dialer returns the house's writer.Dialer: pass it as
// jobs.RunParams.ClickHouse.
func (h *House) Dialer() writer.Dialer { return dialer{h} }

type dialer struct{ h *House }

// Dial connects to the first of p.Addrs with a server that is up; none is
// a retryable *writer.ServerError, as a refused connection is.
func (d dialer) Dial(ctx context.Context, p writer.ConnParams) (writer.Node, error) {
	op := "connect to " + strings.Join(p.Addrs, ", ")
	if err := ctx.Err(); err != nil {
		return nil, &writer.ServerError{Op: op, Err: err}
	}
	h := d.h
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for _, a := range p.Addrs {
		s := h.servers[a]
		if s == nil || s.down {
			errs = append(errs, fmt.Errorf("dial tcp %s: connect: connection refused", a))
			continue
		}
		h.open++
		return &conn{s: s}, nil
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("no address given"))
	}
	return nil, &writer.ServerError{Op: op, Err: errors.Join(errs...), Transient: true}
}

// conn is one connection to a Server: a writer.Node.
type conn struct {
	s      *Server
	closed atomic.Bool
}

// check fails when the connection is closed, the server down or ctx over.
// h.mu is held.
func (c *conn) checkLocked(ctx context.Context, op string) error {
	switch {
	case ctx.Err() != nil:
		return &writer.ServerError{Op: op, Err: ctx.Err()}
	case c.closed.Load():
		return &writer.ServerError{Op: op, Err: errors.New("connection is closed")}
	case c.s.down:
		return withOp(NetworkError(c.s.p.Addr), op)
	}
	return nil
}

func (c *conn) check(ctx context.Context, op string) error {
	c.s.h.mu.Lock()
	defer c.s.h.mu.Unlock()
	return c.checkLocked(ctx, op)
}

// Server reports the server's version, time zone and cores.
func (c *conn) Server(ctx context.Context) (writer.ServerInfo, error) {
	if err := c.check(ctx, "read server version"); err != nil {
		return writer.ServerInfo{}, err
	}
	p := c.s.p
	return writer.NewServerInfo(p.Version, p.Timezone, p.Cores)
}

// Describe returns the table as created, or the *writer.TargetError the
// real node gives for a table that does not exist.
func (c *conn) Describe(ctx context.Context, database, table string) (writer.TableDesc, error) {
	if err := c.check(ctx, "describe table "+database+"."+table); err != nil {
		return writer.TableDesc{}, err
	}
	d, ok := c.s.table(database, table)
	if !ok {
		return writer.TableDesc{Database: database, Name: table}, &writer.TargetError{Table: database + "." + table, Problem: "table does not exist", Fix: "create it first, or correct target.table"}
	}
	d.Columns = append([]writer.Column(nil), d.Columns...)
	return d, nil
}

// Cluster lists the house's cluster, the same from every server.
func (c *conn) Cluster(ctx context.Context, name string) ([]writer.Shard, error) {
	if err := c.check(ctx, "read cluster "+name+" from system.clusters"); err != nil {
		return nil, err
	}
	return c.s.h.cluster(name), nil
}

// Load reports the load set with SetLoad.
func (c *conn) Load(ctx context.Context, database, table string) (loadmon.NodeLoad, error) {
	c.s.h.mu.Lock()
	defer c.s.h.mu.Unlock()
	if err := c.checkLocked(ctx, "poll load of "+c.s.p.Addr); err != nil {
		return loadmon.NodeLoad{}, err
	}
	l := c.s.load
	l.Limit, l.Reason, l.Err = 0, "", nil
	return l, nil
}

// Partitions reports the parts the server's inserts made in t.
func (c *conn) Partitions(ctx context.Context, t *writer.Table) (map[string]writer.PartitionState, error) {
	if err := c.check(ctx, "read parts of "+t.Database+"."+t.Name); err != nil {
		return nil, err
	}
	return c.s.Partitions(t.Database, t.Name), nil
}

// Close closes the connection; the server stays.
func (c *conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.s.h.mu.Lock()
	c.s.h.open--
	c.s.h.mu.Unlock()
	return nil
}
