package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	pq := filepath.Join(dir, "pq")
	sumFile := filepath.Join(dir, "sum")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string // substring of stdout
		wantErrOut string // substring of stderr
	}{
		{name: "version", args: []string{"-version"}, wantOut: "events-v"},
		{name: "ddl", args: []string{"-ddl", "db.t"}, wantOut: "CREATE TABLE db.t (event_id String"},
		{name: "checksum query", args: []string{"-checksum-query", "db.t"}, wantOut: "SELECT count(), sum(cityHash64(event_id))"},
		{name: "generate", args: []string{"-q", "-rows", "3000", "-files", "2", "-row-group-rows", "1000", "-out", pq,
			"-native", filepath.Join(dir, "e.native"), "-checksum-out", sumFile}},
		{name: "checksum of dir", args: []string{"-checksum", "-out", pq}, wantOut: "3000\t"},
		{name: "checksum of files", args: []string{"-checksum", filepath.Join(pq, "events-0000.parquet")}, wantOut: "1500\t"},
		{name: "checksum of nothing", args: []string{"-checksum"}, wantCode: 1, wantErrOut: "no files given"},
		{name: "nothing to write", args: []string{"-rows", "10"}, wantCode: 1, wantErrOut: "nothing to write"},
		{name: "bad start", args: []string{"-rows", "10", "-out", pq, "-start", "2024"}, wantCode: 1, wantErrOut: "want YYYY-MM"},
		{name: "negative rows", args: []string{"-rows", "-1", "-out", pq}, wantCode: 1, wantErrOut: "rows: -1"},
		{name: "unknown flag", args: []string{"-bogus"}, wantCode: 2, wantErrOut: "bogus"},
		{name: "stray argument", args: []string{"-out", pq, "x"}, wantCode: 1, wantErrOut: "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errOut)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.wantCode, errOut.String())
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Fatalf("stdout %q lacks %q", out.String(), tc.wantOut)
			}
			if !strings.Contains(errOut.String(), tc.wantErrOut) {
				t.Fatalf("stderr %q lacks %q", errOut.String(), tc.wantErrOut)
			}
		})
	}

	// The checksum read back from the Parquet files equals the one written
	// while generating.
	var out bytes.Buffer
	if code := run(context.Background(), []string{"-checksum", "-out", pq}, &out, &out); code != 0 {
		t.Fatalf("checksum: exit %d: %s", code, out.String())
	}
	want, err := os.ReadFile(sumFile)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Fatalf("parquet checksum %q, generated %q", out.String(), want)
	}
}
