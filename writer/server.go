// Package writer holds everything that talks to ClickHouse: the server's
// version and capabilities, the target table's schema and keys, batching per
// partition, sorting by the table key, and columnar inserts.
package writer

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ConnParams says how to reach a server.
type ConnParams struct {
	// Addrs are "host:port" addresses of the native protocol, tried in
	// order.
	Addrs []string
	// User and Password authenticate; Password is never logged.
	User, Password string
	// Compression is lz4, zstd, none, or auto: none for a loopback address
	// (the copy costs CPU that nothing wins back on one machine), lz4 for
	// any other.
	Compression string
	// DialTimeout bounds connecting. Optional, defaults to 10s.
	DialTimeout time.Duration
	// MaxConns caps open connections. Optional, defaults to 4.
	MaxConns int
	// Logger receives the client library's own messages at debug level.
	Logger *slog.Logger
	// DriverInserts makes NewInserter send every batch through
	// clickhouse-go's columns, also where chload's own Native encoder would
	// take the table. Optional, defaults to false; tests use it to compare
	// the two paths.
	DriverInserts bool
}

// compression resolves Compression: lz4, zstd or none.
func (p ConnParams) compression() string {
	switch p.Compression {
	case "auto":
		if len(p.Addrs) > 0 && isLoopback(p.Addrs[0]) {
			return "none"
		}
		return "lz4"
	case "zstd", "none":
		return p.Compression
	}
	return "lz4"
}

// Connect opens a native-protocol connection pool and pings the server.
func Connect(ctx context.Context, p ConnParams) (driver.Conn, error) {
	method := clickhouse.CompressionLZ4
	switch p.compression() {
	case "zstd":
		method = clickhouse.CompressionZSTD
	case "none":
		method = clickhouse.CompressionNone
	}
	if p.DialTimeout == 0 {
		p.DialTimeout = 10 * time.Second
	}
	if p.MaxConns == 0 {
		p.MaxConns = 4
	}
	opts := &clickhouse.Options{
		Addr:             p.Addrs,
		Auth:             clickhouse.Auth{Username: p.User, Password: p.Password},
		Compression:      &clickhouse.Compression{Method: method},
		DialTimeout:      p.DialTimeout,
		MaxOpenConns:     p.MaxConns,
		MaxIdleConns:     p.MaxConns,
		ConnMaxLifetime:  time.Hour,
		ConnOpenStrategy: clickhouse.ConnOpenInOrder,
	}
	if p.Logger != nil {
		// The client's own messages (such as its warning that 18.16 is older
		// than it supports) are details: log them at debug level.
		opts.Logger = slog.New(debugHandler{p.Logger.Handler()}).With("component", "clickhouse-go")
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, &ServerError{Op: "connect to " + strings.Join(p.Addrs, ", "), Err: err}
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, &ServerError{Op: "connect to " + strings.Join(p.Addrs, ", "), Err: err}
	}
	return conn, nil
}

// ServerInfo is what chload needs to know of a server, detected once per
// run: its version, its time zone and the capabilities that choose a path.
type ServerInfo struct {
	// Version is the server's version string, e.g. "18.16.1".
	Version string
	// Major and Minor are the first two parts of Version.
	Major, Minor int
	// Timezone is the server's default time zone, used for DateTime columns
	// declared without one.
	Timezone string
	// Types lists the column types the server knows that 18.16 lacks.
	HasDateTime64, HasDate32, HasBool, HasIP, HasMap bool
	// HasDedupToken says INSERT accepts insert_deduplication_token.
	HasDedupToken bool
}

// AtLeast reports whether the server is version major.minor or newer.
func (s ServerInfo) AtLeast(major, minor int) bool {
	return s.Major > major || s.Major == major && s.Minor >= minor
}

// DetectServer reads the server's version and time zone and derives its
// capabilities.
func DetectServer(ctx context.Context, conn driver.Conn) (ServerInfo, error) {
	var info ServerInfo
	row := conn.QueryRow(ctx, "SELECT version(), timezone()")
	if err := row.Scan(&info.Version, &info.Timezone); err != nil {
		return info, &ServerError{Op: "read server version", Err: err}
	}
	parts := strings.SplitN(info.Version, ".", 3)
	if len(parts) >= 2 {
		info.Major, _ = strconv.Atoi(parts[0])
		info.Minor, _ = strconv.Atoi(parts[1])
	}
	if info.Major == 0 {
		return info, fmt.Errorf("read server version: cannot parse %q", info.Version)
	}
	// Versions where each capability appeared (ClickHouse changelogs).
	info.HasDateTime64 = info.AtLeast(20, 1)
	info.HasDate32 = info.AtLeast(21, 9)
	info.HasBool = info.AtLeast(21, 12)
	info.HasIP = info.AtLeast(21, 4)
	info.HasMap = info.AtLeast(21, 3)
	info.HasDedupToken = info.AtLeast(22, 2)
	return info, nil
}

// debugHandler logs every record at debug level.
type debugHandler struct{ slog.Handler }

func (h debugHandler) Enabled(ctx context.Context, _ slog.Level) bool {
	return h.Handler.Enabled(ctx, slog.LevelDebug)
}

func (h debugHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Level = slog.LevelDebug
	return h.Handler.Handle(ctx, r)
}

func (h debugHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return debugHandler{h.Handler.WithAttrs(as)}
}

func (h debugHandler) WithGroup(name string) slog.Handler {
	return debugHandler{h.Handler.WithGroup(name)}
}

// isLoopback reports whether addr ("host:port") names this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
