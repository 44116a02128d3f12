// Package chserver is the door's real side: writer.Dialer and writer.Node
// over ClickHouse's native protocol. Queries of the system tables go
// through clickhouse-go; inserts through chload's own Native encoder
// (writer/chnative, writer/chcol), or clickhouse-go's columns where the
// encoder does not take a type. Every server error is classified here
// (classify.go).
package chserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/chnative"
)

// compression resolves Compression: lz4, zstd or none.
func compression(p writer.ConnParams) string {
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
// Its errors are *writer.ServerError.
func Connect(ctx context.Context, p writer.ConnParams) (driver.Conn, error) {
	method := clickhouse.CompressionLZ4
	switch compression(p) {
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
		TLS:              p.TLS,
	}
	if p.Logger != nil {
		// The client's own messages (such as its warning that 18.16 is older
		// than it supports) are details: log them at debug level.
		opts.Logger = slog.New(debugHandler{p.Logger.Handler()}).With("component", "clickhouse-go")
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, serverError("connect to "+strings.Join(p.Addrs, ", "), err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, connectError(strings.Join(p.Addrs, ", "), err)
	}
	return conn, nil
}

// connectError classifies a failure to connect to addr, saying what to
// change where the cause is plain: an HTTP port, a certificate the CA does
// not vouch for, TLS on one side only. Those are not retryable.
func connectError(addr string, err error) *writer.ServerError {
	var httpPort *chnative.HTTPPortError
	if errors.As(err, &httpPort) {
		return &writer.ServerError{Op: "connect", Err: err}
	}
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		recordHdr tls.RecordHeaderError
		alert     tls.AlertError
	)
	op := "connect to " + addr
	switch {
	case errors.As(err, &unknownCA):
		return &writer.ServerError{Op: op, Err: fmt.Errorf("%w; set target.clickhouse.ca_file to the CA that signed the server's certificate", err)}
	case errors.As(err, &hostname):
		return &writer.ServerError{Op: op, Err: fmt.Errorf("%w; connect by a name the certificate lists", err)}
	case errors.As(err, &invalid), errors.As(err, &verify):
		return &writer.ServerError{Op: op, Err: err}
	case errors.As(err, &recordHdr):
		return &writer.ServerError{Op: op, Err: fmt.Errorf("%w; the port does not speak TLS: drop target.clickhouse.secure or use the server's secure port (usually 9440)", err)}
	case errors.As(err, &alert):
		return &writer.ServerError{Op: op, Err: fmt.Errorf("%w; the server refused the TLS handshake (a client certificate it does not accept?)", err)}
	}
	return serverError(op, err)
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
