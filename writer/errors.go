package writer

import (
	"database/sql"
	"errors"
	"fmt"
	"github.com/chload/chload/writer/chnative"
	"net"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ServerError is a failure talking to ClickHouse: a connection that could
// not be made or broke, or an exception the server raised.
type ServerError struct {
	// Op says what was being done, e.g. "insert batch 3 of partition 202401".
	Op string
	// Err is the client's error; a server exception is a *clickhouse.Exception.
	Err error
}

func (e *ServerError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *ServerError) Unwrap() error { return e.Err }

// Code is the server's exception code, or 0 when the error is not an
// exception (a network failure, say).
func (e *ServerError) Code() int32 {
	var ex *clickhouse.Exception
	if errors.As(e.Err, &ex) {
		return ex.Code
	}
	return 0
}

// Retryable reports whether the same request may succeed if sent again
// later: network failures and the server exceptions that mean overload or a
// passing state. This is the one place that classifies server errors.
func (e *ServerError) Retryable() bool {
	return Retryable(e.Err)
}

// Retryable classifies any error from the ClickHouse client.
func Retryable(err error) bool {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		switch ex.Code {
		case 3, // UNEXPECTED_END_OF_FILE
			159, // TIMEOUT_EXCEEDED
			164, // READONLY (a replica lost ZooKeeper for a while)
			202, // TOO_MANY_SIMULTANEOUS_QUERIES
			209, // SOCKET_TIMEOUT
			210, // NETWORK_ERROR
			241, // MEMORY_LIMIT_EXCEEDED
			242, // TABLE_IS_READ_ONLY
			252, // TOO_MANY_PARTS
			999, // KEEPER_EXCEPTION
			425, // SYSTEM_ERROR
			319: // UNKNOWN_STATUS_OF_INSERT
			return true
		}
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe") || strings.Contains(msg, "EOF")
}

// ErrOutcomeUnknown is in the error of an insert whose rows all reached
// the server but whose answer did not: the server may have written them.
var ErrOutcomeUnknown = chnative.ErrOutcomeUnknown

// TargetError is a target table chload cannot write as it stands: missing,
// an engine or type not supported, or columns that do not match the source.
type TargetError struct {
	// Table is database.table.
	Table string
	// Problem says what is wrong; Fix what the user can do.
	Problem, Fix string
}

func (e *TargetError) Error() string {
	if e.Fix == "" {
		return fmt.Sprintf("target %s: %s", e.Table, e.Problem)
	}
	return fmt.Sprintf("target %s: %s; %s", e.Table, e.Problem, e.Fix)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
