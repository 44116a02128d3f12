package memch

import (
	"fmt"

	"github.com/chload/chload/writer"
)

// Exception is a server exception the same request would meet again: not
// retryable (for example 53, TYPE_MISMATCH, or 60, UNKNOWN_TABLE). Its Op
// is filled in with the insert's when it is injected (FailNext).
func Exception(code int32, msg string) *writer.ServerError {
	return &writer.ServerError{Err: fmt.Errorf("code: %d, message: %s", code, msg), Code: code}
}

// TransientException is a server exception that passes (for example 252,
// TOO_MANY_PARTS, or 202, TOO_MANY_SIMULTANEOUS_QUERIES): retryable.
func TransientException(code int32, msg string) *writer.ServerError {
	e := Exception(code, msg)
	e.Transient = true
	return e
}

// NetworkError is a connection to addr that broke: retryable, no code.
func NetworkError(addr string) *writer.ServerError {
	return &writer.ServerError{Err: fmt.Errorf("read tcp %s: connection reset by peer", addr), Transient: true}
}

// OutcomeUnknown is an insert whose rows all reached addr but whose answer
// did not: it wraps writer.ErrOutcomeUnknown and is retryable, as the
// timeout that causes it is.
func OutcomeUnknown(addr string) *writer.ServerError {
	return &writer.ServerError{Err: fmt.Errorf("%w: read insert result from %s: i/o timeout", writer.ErrOutcomeUnknown, addr), Transient: true}
}

// withOp returns err with op as its Op when err is a *writer.ServerError
// without one (a copy: injected errors are shared), else err.
func withOp(err error, op string) error {
	if se, ok := err.(*writer.ServerError); ok && se.Op == "" {
		c := *se
		c.Op = op
		return &c
	}
	return err
}
