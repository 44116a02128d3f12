package chserver

import (
	"context"
	"sync"

	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/chnative"
)

// nativePool keeps chload's own native connections to one node for reuse
// by the Inserter. Safe for concurrent use.
type nativePool struct {
	opts chnative.Options
	max  int // idle connections kept

	mu   sync.Mutex
	idle []*chnative.Conn
}

func newNativePool(p writer.ConnParams) *nativePool {
	if p.MaxConns == 0 {
		p.MaxConns = 4
	}
	return &nativePool{opts: nativeOptions(p), max: p.MaxConns}
}

// nativeOptions are chload's own connections to p.Addrs[0].
func nativeOptions(p writer.ConnParams) chnative.Options {
	return chnative.Options{
		Addr: p.Addrs[0], User: p.User, Password: p.Password,
		Compression: compression(p), DialTimeout: p.DialTimeout, TLS: p.TLS,
	}
}

// get returns an idle connection (reused true) or dials a new one.
func (p *nativePool) get(ctx context.Context) (c *chnative.Conn, reused bool, err error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, true, nil
	}
	p.mu.Unlock()
	c, err = chnative.Dial(ctx, p.opts)
	return c, false, err
}

// put keeps c for reuse, or closes it when it is broken or enough are idle.
func (p *nativePool) put(c *chnative.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.Broken() || len(p.idle) >= p.max {
		c.Close()
		return
	}
	p.idle = append(p.idle, c)
}

func (p *nativePool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.idle {
		c.Close()
	}
	p.idle = nil
}
