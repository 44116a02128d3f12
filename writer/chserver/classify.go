package chserver

import (
	"database/sql"
	"errors"
	"net"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/chnative"
)

// serverError wraps a client error as the door's *writer.ServerError,
// classified here, the one place that classifies server errors: its
// exception code, and whether the same request may succeed if sent again
// later.
func serverError(op string, err error) *writer.ServerError {
	if errors.Is(err, chnative.ErrOutcomeUnknown) {
		err = outcomeUnknown{err}
	}
	e := &writer.ServerError{Op: op, Err: err, Transient: Retryable(err)}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		e.Code = ex.Code
	}
	return e
}

// outcomeUnknown marks chnative's unknown outcome as the door's
// writer.ErrOutcomeUnknown.
type outcomeUnknown struct{ error }

func (o outcomeUnknown) Unwrap() error { return o.error }

func (o outcomeUnknown) Is(target error) bool { return target == writer.ErrOutcomeUnknown }

// Retryable classifies any error from the ClickHouse clients: network
// failures and the server exceptions that mean overload or a passing state
// are worth retrying.
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

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
