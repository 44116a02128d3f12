package writer

import (
	"errors"
	"fmt"
)

// ServerError is a failure talking to ClickHouse: a connection that could
// not be made or broke, or an exception the server raised. The Node that
// returns it classifies it (writer/chserver does so in one place).
type ServerError struct {
	// Op says what was being done, e.g. "insert batch 3 of partition 202401".
	Op string
	// Err is the client's error.
	Err error
	// Code is the server's exception code, or 0 when the error is not an
	// exception (a network failure, say).
	Code int32
	// Transient says the same request may succeed if sent again later:
	// network failures and the exceptions that mean overload or a passing
	// state.
	Transient bool
}

func (e *ServerError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *ServerError) Unwrap() error { return e.Err }

// Retryable reports whether the same request may succeed if sent again
// later (Transient).
func (e *ServerError) Retryable() bool { return e.Transient }

// ErrOutcomeUnknown is in the error of an insert whose rows all reached
// the server but whose answer did not: the server may have written them.
var ErrOutcomeUnknown = errors.New("the insert's outcome is unknown: all its rows reached the server, which may have written them")

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
