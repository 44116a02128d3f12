// Package chnative speaks the part of ClickHouse's native TCP protocol that
// an INSERT needs: the handshake, the query, data blocks the caller encodes
// itself, and the server's answer. The writer uses it to encode blocks
// straight from Arrow buffers into the socket buffer, which saves the two
// copies of every value that clickhouse-go's columns make. Everything else
// (queries, schema, load polling) still goes through clickhouse-go.
//
// The packet layouts come from clickhouse-go's lib/proto (the hello, the
// query with its client info and settings, exceptions, progress, profile
// info, blocks), which follow the protocol revision the server and the client
// agree on, so one Conn talks to 18.16 as well as to current servers.
package chnative

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ClickHouse/ch-go/compress"
	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

// Options says how to reach and talk to one server.
type Options struct {
	// Addr is the server's native "host:port".
	Addr string
	// User and Password authenticate. Optional, default to user "default"
	// without a password.
	User, Password string
	// Compression of the data blocks: "none", "lz4" or "zstd". Optional,
	// defaults to none.
	Compression string
	// DialTimeout bounds connecting and the handshake. Optional, defaults to
	// 10s.
	DialTimeout time.Duration
	// ReadTimeout bounds each wait for the server and each write to it.
	// Optional, defaults to 5m (as in clickhouse-go).
	ReadTimeout time.Duration
	// TLS, when set, encrypts the connection (the server's secure native
	// port, usually 9440). Without a ServerName, Addr's host is verified.
	// Optional, defaults to none: plain TCP.
	TLS *tls.Config
}

// Conn is one native-protocol connection running one INSERT at a time. Not
// safe for concurrent use.
type Conn struct {
	opts       Options
	nc         net.Conn
	r          *chproto.Reader
	buf        chproto.Buffer
	revision   uint64
	server     proto.ServerHandshake
	compressor *compress.Writer // nil without compression
	broken     bool
	busy       bool
	torn       bool // a write stopped partway through a packet
}

// Client identity sent in the hello and in each query's client info.
const (
	// clientName is ten bytes long on purpose: its length byte, the hello's
	// second, is then a newline, which ends an HTTP request line, so an HTTP
	// server answers the hello at once (400 Bad Request) instead of waiting
	// for a line end until the dial timeout; Dial recognises that answer.
	clientName  = "chload/1.0"
	clientMajor = 1
	clientMinor = 0
	// clientRevision is the protocol revision chload announces; the server
	// answers with the lower of its own and this one, and both sides use that.
	// It is clickhouse-go's, whose lib/proto encodes the packets.
	clientRevision = proto.DBMS_TCP_PROTOCOL_VERSION
)

// Dial connects to o.Addr and shakes hands. Errors are network errors or the
// server's *proto.Exception (as for a wrong password).
func Dial(ctx context.Context, o Options) (*Conn, error) {
	if o.DialTimeout == 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 5 * time.Minute
	}
	if o.User == "" {
		o.User = "default"
	}
	c := &Conn{opts: o, revision: clientRevision}
	switch o.Compression {
	case "", "none":
	case "lz4":
		c.compressor = compress.NewWriter(compress.LevelZero, compress.LZ4)
	case "zstd":
		c.compressor = compress.NewWriter(compress.LevelZero, compress.ZSTD)
	default:
		return nil, fmt.Errorf("connect to %s: unknown compression %q (want none, lz4 or zstd)", o.Addr, o.Compression)
	}
	d := net.Dialer{Timeout: o.DialTimeout}
	nc, err := d.DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, err
	}
	if o.TLS != nil {
		if nc, err = startTLS(ctx, nc, o); err != nil {
			return nil, err
		}
	}
	c.nc = nc
	c.r = chproto.NewReader(nc)
	if err := c.handshake(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// startTLS runs the TLS handshake on nc within o.DialTimeout; nc is closed
// when it fails.
func startTLS(ctx context.Context, nc net.Conn, o Options) (net.Conn, error) {
	cfg := o.TLS.Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(o.Addr)
		if err != nil {
			host = o.Addr
		}
		cfg.ServerName = host
	}
	tc := tls.Client(nc, cfg)
	hctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", o.Addr, err)
	}
	return tc, nil
}

// HTTPPortError is Dial's error when Addr answered the hello as an HTTP
// server does: the address is ClickHouse's HTTP port, not its native one.
type HTTPPortError struct {
	// Addr is the address dialled.
	Addr string
	// Status is the HTTP status line it answered, e.g. "HTTP/1.1 400 Bad
	// Request".
	Status string
}

func (e *HTTPPortError) Error() string {
	return e.Addr + " is ClickHouse's HTTP port; chload speaks the native protocol (usually port 9000, or 9440 with secure: true)"
}

// httpAnswer reads the rest of an HTTP status line whose first byte, first,
// was already read, and returns it as an *HTTPPortError; nil when the
// answer is not HTTP after all.
func (c *Conn) httpAnswer(first byte) error {
	line := []byte{first}
	for len(line) < 64 {
		b, err := c.r.ReadByte()
		if err != nil || b == '\r' || b == '\n' {
			break
		}
		line = append(line, b)
	}
	if !bytes.HasPrefix(line, []byte("HTTP/")) {
		return nil
	}
	return &HTTPPortError{Addr: c.opts.Addr, Status: string(line)}
}

func (c *Conn) handshake(ctx context.Context) error {
	deadline := time.Now().Add(c.opts.DialTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.nc.SetDeadline(deadline)
	defer c.nc.SetDeadline(time.Time{})
	c.buf.PutByte(proto.ClientHello)
	proto.ClientHandshake{
		ProtocolVersion: clientRevision,
		ClientName:      clientName,
		ClientVersion:   proto.Version{Major: clientMajor, Minor: clientMinor},
	}.Encode(&c.buf)
	c.buf.PutString("") // database: the user's default
	c.buf.PutString(c.opts.User)
	c.buf.PutString(c.opts.Password)
	if err := c.flush(); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	packet, err := c.r.ReadByte()
	if err != nil {
		if c.opts.TLS == nil {
			// A TLS port drops a plain hello.
			return fmt.Errorf("read hello: %w (if %s is the server's secure port, usually 9440, set secure: true)", err, c.opts.Addr)
		}
		return fmt.Errorf("read hello: %w", err)
	}
	switch packet {
	case proto.ServerHello:
		if err := c.server.Decode(c.r); err != nil {
			return fmt.Errorf("read hello: %w", err)
		}
	case proto.ServerException:
		return c.exception()
	case 'H':
		if err := c.httpAnswer(packet); err != nil {
			return err
		}
		return fmt.Errorf("read hello: unexpected packet %d", packet)
	default:
		return fmt.Errorf("read hello: unexpected packet %d", packet)
	}
	if c.server.Revision < proto.DBMS_MIN_REVISION_WITH_CLIENT_INFO {
		return fmt.Errorf("server revision %d is too old", c.server.Revision)
	}
	c.revision = min(c.revision, c.server.Revision)
	if c.revision >= proto.DBMS_MIN_PROTOCOL_VERSION_WITH_ADDENDUM {
		c.buf.PutString("") // quota key
		if err := c.flush(); err != nil {
			return fmt.Errorf("send addendum: %w", err)
		}
	}
	return nil
}

// Revision is the protocol revision in use: the lower of the server's and
// the client's.
func (c *Conn) Revision() uint64 { return c.revision }

// ServerVersion is the server's version as it states it in the hello.
func (c *Conn) ServerVersion() string { return c.server.Version.String() }

// Broken reports whether the connection failed or was left mid-insert, so
// it must be closed rather than reused.
func (c *Conn) Broken() bool { return c.broken || c.busy }

// Close closes the connection. One left broken or mid-insert is reset
// rather than shut down: servers before 23.3 take an orderly close between
// packets for the end of an insert's data, and a reset makes them fail it.
func (c *Conn) Close() error {
	if c.broken || c.busy {
		return closeReset(c.nc)
	}
	return c.nc.Close()
}

// closeReset closes nc with a reset (SO_LINGER 0) where it can. Under TLS
// it closes the TCP connection beneath without TLS's close_notify, which a
// server would read as an orderly end of the data.
func closeReset(nc net.Conn) error {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	return nc.Close()
}

// Setting is a query-level setting with a numeric value (18.16 takes
// settings in a binary form that clickhouse-go writes for numbers only).
type Setting struct {
	Name  string
	Value int
}

// Column is a column of an insert's blocks, named and typed as the server
// states them in the header it sends.
type Column struct {
	Name, Type string
}

// Insert is one INSERT in flight on a Conn: BeginInsert starts it,
// WriteBlock sends its rows, Finish ends it. Any error leaves the Conn
// broken.
type Insert struct {
	c    *Conn
	ctx  context.Context
	stop func() bool
	cols []Column

	// mu and armed let end disarm the cancellation callback for good: a
	// callback that starts late finds armed false and leaves the deadline
	// alone.
	mu    sync.Mutex
	armed bool
}

// BeginInsert sends query, an INSERT without data (such as "INSERT INTO t
// (a, b) VALUES"), with settings, and reads the header of the blocks the
// server expects. Errors are network errors (with ctx's error when ctx ended)
// or the server's *proto.Exception.
func (c *Conn) BeginInsert(ctx context.Context, query string, settings []Setting) (*Insert, error) {
	if c.Broken() {
		return nil, errors.New("begin insert: connection is broken")
	}
	c.busy = true
	in := &Insert{c: c, ctx: ctx, armed: true}
	// A done ctx makes every blocked read and write fail at once.
	in.stop = context.AfterFunc(ctx, func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		if in.armed {
			c.nc.SetDeadline(time.Unix(1, 0))
		}
	})
	fail := func(err error) (*Insert, error) {
		in.end()
		return nil, in.wrap(err)
	}
	c.buf.PutByte(proto.ClientQuery)
	q := proto.Query{
		ClientTCPProtocolVersion: clientRevision,
		ClientName:               clientName,
		ClientVersion:            proto.Version{Major: clientMajor, Minor: clientMinor},
		Body:                     query,
		Compression:              c.compressor != nil,
		InitialAddress:           c.nc.LocalAddr().String(),
	}
	for _, s := range settings {
		q.Settings = append(q.Settings, proto.Setting{Key: s.Name, Value: s.Value, Important: true})
	}
	if err := q.Encode(&c.buf, c.revision); err != nil {
		return fail(fmt.Errorf("encode query: %w", err))
	}
	// An empty block ends the (absent) external tables.
	if err := c.putBlock(0, nil, nil); err != nil {
		return fail(err)
	}
	if err := c.setDeadline(ctx); err != nil {
		return fail(err)
	}
	if err := c.flush(); err != nil {
		return fail(c.serverError(err))
	}
	for {
		packet, err := c.r.ReadByte()
		if err != nil {
			return fail(fmt.Errorf("read insert header: %w", err))
		}
		switch packet {
		case proto.ServerData:
			b, err := c.readBlock(true)
			if err != nil {
				return fail(fmt.Errorf("read insert header: %w", err))
			}
			names := b.ColumnsNames()
			for i, col := range b.Columns {
				in.cols = append(in.cols, Column{Name: names[i], Type: string(col.Type())})
			}
			return in, nil
		case proto.ServerEndOfStream:
			return fail(errors.New("read insert header: the server ended the query without asking for data"))
		default:
			if err := c.skip(packet); err != nil {
				return fail(err)
			}
		}
	}
}

// Columns are the columns of every block, in order.
func (in *Insert) Columns() []Column { return in.cols }

// WriteBlock sends one block of rows. encode appends the Native-format data
// of column i (rows values, in Columns' order) to dst and returns it; its
// error aborts the insert. The data goes out before WriteBlock returns.
func (in *Insert) WriteBlock(rows int, encode func(dst []byte, i int) ([]byte, error)) error {
	c := in.c
	if err := c.setDeadline(in.ctx); err != nil {
		return in.abort(err)
	}
	if err := c.putBlock(rows, in.cols, encode); err != nil {
		return in.abort(err)
	}
	if err := c.flush(); err != nil {
		return in.abort(c.serverError(err))
	}
	return nil
}

// ErrOutcomeUnknown wraps the error of an insert whose data all reached the
// server but whose result did not come back: the server may have written
// the rows or not.
var ErrOutcomeUnknown = errors.New("the insert's outcome is unknown: all its rows reached the server, which may have written them")

// Finish ends the insert with an empty block and waits until the server
// has written the data. Once that block is out, the server writes the rows
// unless it fails the insert, so Finish waits for its answer whatever ctx
// says, within the read timeout: giving up then would leave rows in the
// table that the caller counts as not written. Errors are as for
// BeginInsert; an answer that does not arrive is ErrOutcomeUnknown.
func (in *Insert) Finish() error {
	c := in.c
	if err := c.putBlock(0, nil, nil); err != nil {
		return in.abort(err)
	}
	if err := c.setDeadline(in.ctx); err != nil {
		return in.abort(err)
	}
	if err := c.flush(); err != nil {
		return in.abort(c.serverError(err))
	}
	in.end() // ctx no longer cuts the connection
	unknown := func(err error) error {
		c.broken = true
		c.nc.Close()
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
	}
	for {
		c.nc.SetDeadline(time.Now().Add(c.opts.ReadTimeout))
		packet, err := c.r.ReadByte()
		if err != nil {
			return unknown(fmt.Errorf("read insert result: %w", err))
		}
		if packet == proto.ServerEndOfStream {
			c.nc.SetDeadline(time.Time{})
			c.busy = false
			return nil
		}
		if err := c.skip(packet); err != nil {
			var ex *proto.Exception
			if errors.As(err, &ex) { // the server failed the insert: nothing written
				c.broken = true
				c.nc.Close()
				return err
			}
			return unknown(err)
		}
	}
}

// Abort gives up the insert and closes the connection, making sure the
// server writes nothing of it. Servers before 23.3 treat a connection closed
// between packets, or a Cancel packet, as the end of the data and write the
// rows received so far (ClickHouse #27667, fixed by #46681). So unless a
// packet was cut short (which fails the insert on every version), Abort
// first sends a packet type no server knows: the server then fails the
// insert with UNKNOWN_PACKET_FROM_CLIENT and drops its rows. It then resets
// the connection instead of closing it in order, which fails the insert too
// should the packet not get through.
func (in *Insert) Abort() {
	in.end()
	c := in.c
	if !c.broken && !c.torn {
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		c.nc.Write([]byte{poisonPacket})
	}
	c.broken = true
	// Should the packet not get through, the reset still fails the insert.
	closeReset(c.nc)
}

// poisonPacket is a client packet type that no server version knows.
const poisonPacket = 0x7f

func (in *Insert) abort(err error) error {
	in.Abort()
	return in.wrap(err)
}

// wrap puts ctx's error in front of an I/O error caused by ctx ending.
func (in *Insert) wrap(err error) error {
	if ctxErr := in.ctx.Err(); ctxErr != nil {
		var ex *proto.Exception
		if !errors.As(err, &ex) {
			return fmt.Errorf("%w (%v)", ctxErr, err)
		}
	}
	return err
}

func (in *Insert) end() {
	if in.stop != nil {
		in.stop()
		in.stop = nil
	}
	in.mu.Lock()
	in.armed = false
	in.mu.Unlock()
	in.c.nc.SetDeadline(time.Time{})
}

// setDeadline bounds the next reads and writes by the read timeout, and fails
// at once when ctx is done (checked after setting, so a cancellation that
// races with it still cuts the I/O short).
func (c *Conn) setDeadline(ctx context.Context) error {
	c.nc.SetDeadline(time.Now().Add(c.opts.ReadTimeout))
	return ctx.Err()
}

// putBlock appends a Data packet with a block of rows rows to the buffer,
// compressed when compression is on. encode writes each column's data.
func (c *Conn) putBlock(rows int, cols []Column, encode func(dst []byte, i int) ([]byte, error)) error {
	c.buf.PutByte(proto.ClientData)
	c.buf.PutString("") // table name
	start := len(c.buf.Buf)
	if c.revision > 0 {
		// Block info: field 1 is_overflows, field 2 bucket_num, 0 ends.
		c.buf.PutUVarInt(1)
		c.buf.PutBool(false)
		c.buf.PutUVarInt(2)
		c.buf.PutInt32(-1)
		c.buf.PutUVarInt(0)
	}
	c.buf.PutUVarInt(uint64(len(cols)))
	c.buf.PutUVarInt(uint64(rows))
	for i, col := range cols {
		c.buf.PutString(col.Name)
		c.buf.PutString(col.Type)
		if c.revision >= proto.DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION {
			c.buf.PutBool(false)
		}
		var err error
		if c.buf.Buf, err = encode(c.buf.Buf, i); err != nil {
			return err
		}
		if c.compressor != nil && len(c.buf.Buf)-start >= maxFrame {
			if err := c.compress(start); err != nil {
				return err
			}
			start = len(c.buf.Buf)
		}
	}
	if c.compressor != nil && len(c.buf.Buf) > start {
		return c.compress(start)
	}
	return nil
}

// maxFrame is the size of data compressed into one frame; the server takes
// frames of up to 1 GiB, and ClickHouse's own client writes 1 MiB frames.
const maxFrame = 1 << 20

// compress replaces the buffer from start on with compressed frames.
func (c *Conn) compress(start int) error {
	data := c.buf.Buf[start:]
	var out []byte
	for len(data) > 0 {
		n := min(len(data), maxFrame)
		if err := c.compressor.Compress(data[:n]); err != nil {
			return fmt.Errorf("compress block: %w", err)
		}
		out = append(out, c.compressor.Data...)
		data = data[n:]
	}
	c.buf.Buf = append(c.buf.Buf[:start], out...)
	return nil
}

func (c *Conn) flush() error {
	n, err := c.nc.Write(c.buf.Buf)
	if err != nil && n > 0 {
		c.torn = true
	}
	c.buf.Reset()
	return err
}

// serverError returns the exception the server sent before it closed the
// connection on which a write failed, or the write's error.
func (c *Conn) serverError(writeErr error) error {
	c.nc.SetReadDeadline(time.Now().Add(time.Second))
	if packet, err := c.r.ReadByte(); err == nil && packet == proto.ServerException {
		return c.exception()
	}
	return fmt.Errorf("send block: %w", writeErr)
}

// skip reads a packet that carries nothing an insert needs, and returns the
// server's exception as an error.
func (c *Conn) skip(packet byte) error {
	switch packet {
	case proto.ServerException:
		return c.exception()
	case proto.ServerProgress:
		var p proto.Progress
		return wrapRead("progress", p.Decode(c.r, c.revision))
	case proto.ServerProfileInfo:
		var p proto.ProfileInfo
		return wrapRead("profile info", p.Decode(c.r, c.revision))
	case proto.ServerTableColumns:
		var t proto.TableColumns
		return wrapRead("table columns", t.Decode(c.r, c.revision))
	case proto.ServerLog, proto.ServerProfileEvents:
		_, err := c.readBlock(false)
		return wrapRead("log block", err)
	case proto.ServerData, proto.ServerTotals, proto.ServerExtremes:
		_, err := c.readBlock(true)
		return wrapRead("data block", err)
	}
	return fmt.Errorf("unexpected packet %d from the server", packet)
}

func wrapRead(what string, err error) error {
	if err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	return nil
}

// readBlock reads a block packet after its type; data blocks are compressed
// when compression is on, log and profile event blocks never are.
func (c *Conn) readBlock(data bool) (*proto.Block, error) {
	if _, err := c.r.Str(); err != nil { // table name
		return nil, err
	}
	if data && c.compressor != nil {
		c.r.EnableCompression()
		defer c.r.DisableCompression()
	}
	b := &proto.Block{ServerContext: &column.ServerContext{
		Revision:     c.revision,
		VersionMajor: c.server.Version.Major,
		VersionMinor: c.server.Version.Minor,
		VersionPatch: c.server.Version.Patch,
		Timezone:     c.server.Timezone,
	}}
	if err := b.Decode(c.r, c.revision); err != nil {
		return nil, err
	}
	return b, nil
}

// exception reads the server's exception and returns it as the error.
func (c *Conn) exception() error {
	c.broken = true
	var e proto.Exception
	if err := e.Decode(c.r); err != nil {
		return fmt.Errorf("read server exception: %w", err)
	}
	return &e
}
