package main

import (
	"context"
	"errors"

	"github.com/chload/chload/jobs"
	"github.com/chload/chload/writer"
)

// Exit codes; the README's table lists the same. This is the one place
// errors become exit codes.
const (
	exitOK          = 0
	exitInternal    = 1   // a bug or an unexpected failure
	exitConfig      = 2   // bad command line or job file
	exitData        = 3   // a source value that cannot be written
	exitTarget      = 4   // the target table is missing or does not fit the source
	exitServer      = 5   // ClickHouse refused a request or the connection failed
	exitSource      = 6   // the source cannot be read
	exitInterrupted = 130 // SIGINT or SIGTERM
)

// exitKinds names each exit code in `-o json` output; the README's table
// lists the same words.
var exitKinds = map[int]string{
	exitOK:          "ok",
	exitInternal:    "internal",
	exitConfig:      "config",
	exitData:        "data",
	exitTarget:      "target",
	exitServer:      "server",
	exitSource:      "source",
	exitInterrupted: "interrupted",
}

// exitKind names an exit code.
func exitKind(code int) string {
	if k, ok := exitKinds[code]; ok {
		return k
	}
	return "internal"
}

type usageError struct{ error }

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var (
		ce *jobs.ConfigError
		de *jobs.DataError
		te *writer.TargetError
		se *writer.ServerError
		so *jobs.SourceError
		ue usageError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &ue), errors.As(err, &ce):
		return exitConfig
	case errors.As(err, &de):
		return exitData
	case errors.As(err, &te):
		return exitTarget
	case errors.As(err, &se):
		return exitServer
	case errors.As(err, &so):
		return exitSource
	}
	return exitInternal
}
