package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chload/chload/internal/memch"
)

// TestJSONOnEarlyFailure: with -o json, a run or dry run that fails before
// the run starts prints one JSON object on stdout that holds the error, its
// kind and the exit code the process exits with.
func TestJSONOnEarlyFailure(t *testing.T) {
	events := eventsDir(t)
	job := writeFile(t, t.TempDir(), "job.yaml", jobText)
	env := func(kv ...string) map[string]string {
		m := map[string]string{"DATA_DIR": events, "CH_HOST": "ch1", "CH_PORT": "9000", "TABLE": "db.events"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		setup func(srv *memch.Server)
		env   map[string]string
		args  []string
		code  int
		kind  string
		err   string
	}{
		{name: "config: missing variable", env: map[string]string{}, args: []string{"run", "-o", "json", job}, code: exitConfig, kind: "config", err: "DATA_DIR"},
		{name: "config: no job file", env: env(), args: []string{"run", "-o", "json"}, code: exitConfig, kind: "config", err: "takes 1 argument"},
		{name: "target: missing table", env: env("TABLE", "db.nope"), args: []string{"run", "-o", "json", job}, code: exitTarget, kind: "target", err: "db.nope"},
		{name: "target: missing table in a dry run", env: env("TABLE", "db.nope"), args: []string{"dry-run", "-o", "json", job}, code: exitTarget, kind: "target", err: "does not exist"},
		{name: "server: down", setup: func(srv *memch.Server) { srv.SetDown(true) }, env: env(), args: []string{"run", "-o", "json", job}, code: exitServer, kind: "server", err: "ch1:9000"},
		{name: "source: no files", env: env("DATA_DIR", t.TempDir()), args: []string{"run", "-o", "json", job}, code: exitSource, kind: "source", err: "matches no files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			house, srv := eventsHouse()
			if tc.setup != nil {
				tc.setup(srv)
			}
			code, out, errs := runMem(t, context.Background(), house, tc.env, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errs)
			}
			var got map[string]any
			dec := json.NewDecoder(strings.NewReader(out))
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("stdout is not one JSON object: %v\n%q", err, out)
			}
			if dec.More() {
				t.Fatalf("stdout holds more than one JSON value:\n%s", out)
			}
			if got["status"] != "failed" || got["kind"] != tc.kind || got["exit_code"] != float64(code) {
				t.Errorf("status %v, kind %v, exit_code %v; want failed, %s, %d", got["status"], got["kind"], got["exit_code"], tc.kind, code)
			}
			if msg, _ := got["error"].(string); !strings.Contains(msg, tc.err) || !strings.Contains(errs, msg) {
				t.Errorf("error %q: want it to hold %q and to be what stderr says:\n%s", msg, tc.err, errs)
			}
		})
	}
}

// TestJSONOnRunFailure: a run that fails after it started reports the
// failure once, in its summary, with the same kind and exit code.
func TestJSONOnRunFailure(t *testing.T) {
	house, srv := eventsHouse()
	srv.FailNext(1, memch.Exception(53, "Type mismatch"))
	env := map[string]string{"DATA_DIR": eventsDir(t), "CH_HOST": "ch1", "CH_PORT": "9000", "TABLE": "db.events"}
	code, out, errs := runMem(t, context.Background(), house, env, "run", "-o", "json", writeFile(t, t.TempDir(), "job.yaml", jobText))
	if code != exitServer {
		t.Fatalf("exit %d, want %d: %s", code, exitServer, errs)
	}
	var got map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&got); err != nil || dec.More() {
		t.Fatalf("stdout is not one JSON object (%v):\n%s", err, out)
	}
	if got["status"] != "failed" || got["kind"] != "server" || got["exit_code"] != float64(exitServer) || got["rows_read"] == nil {
		t.Errorf("summary %v: want a failed summary of kind server, exit code %d", got, exitServer)
	}
}
