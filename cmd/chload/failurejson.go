package main

import "io"

// failureOut is what `-o json` prints when a command fails before it has a
// report of its own to print (a bad command line or job file, a target or
// server refused before the run started, a source that cannot be listed):
// a script reading stdout always gets one JSON object.
type failureOut struct {
	Status   string `json:"status"`
	Error    string `json:"error"`
	Kind     string `json:"kind"`
	ExitCode int    `json:"exit_code"`
}

// writeFailureJSON prints err as a failureOut.
func writeFailureJSON(w io.Writer, err error) error {
	code := exitCode(err)
	return writeJSON(w, failureOut{Status: "failed", Error: err.Error(), Kind: exitKind(code), ExitCode: code})
}
