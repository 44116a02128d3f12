// Package duckread reads Parquet files with DuckDB, an independent reader, so
// tests can check the values chload loaded against a second opinion that
// shares no code with arrow-go.
//
// The reading is done by read.mjs beside this file, run with Node.js and the
// npm package @duckdb/node-api pinned in package.json (installed into
// node_modules here by `bash internal/testenv/chenv.sh install`, or by
// `npm ci` in this directory). Like internal/testenv it obeys CHLOAD_E2E:
// "0" skips the calling test; otherwise a missing node or package fails the
// test loudly with the command that installs it.
//
// Product code never imports this package.
package duckread

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// e2eEnv is internal/testenv's three-state switch; "0" skips.
const e2eEnv = "CHLOAD_E2E"

// installHint is the command that installs what Read needs.
const installHint = "run `bash internal/testenv/chenv.sh install` (or `npm ci` in internal/duckread), or set " + e2eEnv + "=0 to skip"

// Column is one column of a file as DuckDB types it.
type Column struct {
	// Name is the column's name.
	Name string `json:"name"`
	// Type is DuckDB's type text, e.g. "BIGINT", "DECIMAL(18,4)",
	// "TIMESTAMP WITH TIME ZONE", "VARCHAR[]".
	Type string `json:"type"`
}

// File is every row of one Parquet file as DuckDB read it.
//
// Each value is nil (NULL), a bool (BOOLEAN), a string (every other scalar, in
// the text form described in read.mjs: integers and decimals exact, floats
// as shortest round-trip text with "-0", "NaN", "Infinity", BLOB as lowercase
// hex, DATE as days since the epoch, timestamps as integers since the epoch in
// the type's unit), []any (LIST) or map[string]any (STRUCT).
type File struct {
	// Path is the file as it was passed to Read.
	Path string `json:"file"`
	// Columns are the file's columns in order.
	Columns []Column `json:"columns"`
	// Rows holds one slice per row, one value per column, in file order.
	Rows [][]any `json:"-"`
	// NumRows is the row count read.mjs announced; it equals len(Rows).
	NumRows int `json:"rows"`
	// Err is DuckDB's message when it could not read the file (then there
	// are no columns and no rows), or "".
	Err string `json:"error"`
}

// Col returns the index of the column named name, or -1.
func (f *File) Col(name string) int {
	for i, c := range f.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Dir returns the directory holding read.mjs and package.json.
func Dir() string {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "internal/duckread"
	}
	return filepath.Dir(self)
}

// Available reports why DuckDB cannot be run here, or nil when it can.
func Available() error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("find node: %w", err)
	}
	pkg := filepath.Join(Dir(), "node_modules", "@duckdb", "node-api", "package.json")
	if _, err := os.Stat(pkg); err != nil {
		return fmt.Errorf("find npm package @duckdb/node-api: %w", err)
	}
	return nil
}

// Require skips t when CHLOAD_E2E=0 and fails it when node or the DuckDB
// package is missing, naming the command that installs them.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv(e2eEnv) == "0" {
		t.Skipf("%s=0: skipping test that needs duckdb", e2eEnv)
	}
	if err := Available(); err != nil {
		t.Fatalf("duckdb reader unavailable: %v\n%s", err, installHint)
	}
}

// Read reads every file in paths with DuckDB in one node process and returns
// them in the same order. It fails t (see Require) when DuckDB is missing or
// any file cannot be read; ReadEach leaves that to the caller.
func Read(t testing.TB, paths ...string) []*File {
	t.Helper()
	files := ReadEach(t, paths...)
	for _, f := range files {
		if f.Err != "" {
			t.Fatalf("read %s with duckdb: %s", f.Path, f.Err)
		}
	}
	return files
}

// ReadEach is Read, except that a file DuckDB cannot read is returned with
// its Err set instead of failing t.
func ReadEach(t testing.TB, paths ...string) []*File {
	t.Helper()
	Require(t)
	files, err := ReadFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// ReadFiles is ReadEach without a test: it returns an error when DuckDB is
// missing or its output cannot be decoded; a file DuckDB cannot read has Err
// set.
func ReadFiles(paths ...string) ([]*File, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	if err := Available(); err != nil {
		return nil, fmt.Errorf("duckdb reader unavailable: %w; %s", err, installHint)
	}
	abs := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", p, err)
		}
		abs[i] = a
	}
	cmd := exec.Command("node", append([]string{filepath.Join(Dir(), "read.mjs")}, abs...)...)
	cmd.Dir = Dir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("read %d parquet files with duckdb: %v: %s", len(paths), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return parse(&stdout, paths)
}

// parse splits read.mjs's output into files: a header line, then its rows.
func parse(out *bytes.Buffer, paths []string) ([]*File, error) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	var files []*File
	for i := 0; i < len(paths); i++ {
		if !sc.Scan() {
			return nil, fmt.Errorf("duckdb output ends before the header of %s", paths[i])
		}
		f := &File{}
		if err := json.Unmarshal(sc.Bytes(), f); err != nil {
			return nil, fmt.Errorf("decode duckdb header for %s: %w", paths[i], err)
		}
		f.Path = paths[i]
		f.Rows = make([][]any, 0, f.NumRows)
		for r := 0; r < f.NumRows; r++ {
			if !sc.Scan() {
				return nil, fmt.Errorf("duckdb output for %s ends at row %d of %d", paths[i], r, f.NumRows)
			}
			var row []any
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				return nil, fmt.Errorf("decode duckdb row %d of %s: %w", r, paths[i], err)
			}
			if len(row) != len(f.Columns) {
				return nil, fmt.Errorf("duckdb row %d of %s has %d values for %d columns", r, paths[i], len(row), len(f.Columns))
			}
			f.Rows = append(f.Rows, row)
		}
		files = append(files, f)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read duckdb output: %w", err)
	}
	if sc.Scan() {
		return nil, fmt.Errorf("duckdb output has more than the %d files asked for", len(paths))
	}
	return files, nil
}
