package main

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/chload/chload/jobs"
	"github.com/chload/chload/sources"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/chcol"
)

// TestExitCodes: each kind of failure maps to its documented exit code,
// also when wrapped; a split that broke its row-count promise is a source
// error (6), never a success or an internal error.
func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errors.New("boom"), exitInternal},
		{&jobs.ConfigError{Path: "j.yaml", Err: errors.New("bad")}, exitConfig},
		{&jobs.DataError{Split: sources.Split{ID: "f"}, Err: &chcol.ValueError{Reason: "x"}}, exitData},
		{&writer.TargetError{Table: "t", Problem: "p"}, exitTarget},
		{&writer.ServerError{Op: "insert", Err: errors.New("down")}, exitServer},
		{&jobs.SourceError{Err: &jobs.RowCountError{Split: "f, row group 1", Promised: 10, Delivered: 7}}, exitSource},
		{fmt.Errorf("run: %w", &jobs.SourceError{Err: &jobs.RowCountError{Split: "f, row group 1", Promised: 10, Delivered: 11}}), exitSource},
		{context.Canceled, exitInterrupted},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
