package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/eventsgen"
	"github.com/chload/chload/internal/testenv"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(context.Background(), &state{
		args: args, stdout: &out, stderr: &errb,
		lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const jobText = `version: 1
name: events_daily
source:
  type: parquet
  paths: ["${DATA_DIR}/*.parquet"]
target:
  clickhouse:
    hosts: ["${CH_HOST:-127.0.0.1}:${CH_PORT:-9000}"]
    user: ${CH_USER:-default}
    password: ${CH_PASSWORD:-}
  table: ${TABLE:-analytics.events}
write:
  mode: append
  batch_rows: 1000000
`

func TestExitCodesWithoutServer(t *testing.T) {
	dir := t.TempDir()
	job := writeFile(t, dir, "job.yaml", jobText)
	unknown := writeFile(t, dir, "unknown.yaml", strings.Replace(jobText, "mode: append", "mode: append\n  batch_sise: 5", 1))
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		out  []string // in stdout
		err  []string // in stderr
	}{
		{"no args", nil, []string{"run"}, exitConfig, nil, []string{"takes 1 argument"}},
		{"bad flag", nil, []string{"run", "--nope", job}, exitConfig, nil, []string{"unknown flag"}},
		{"unknown command", nil, []string{"runn", job}, exitConfig, nil, []string{`unknown command "runn"`}},
		{"missing variable", nil, []string{"validate", job}, exitConfig, nil, []string{"DATA_DIR (line 5)"}},
		{"unknown key", map[string]string{"DATA_DIR": dir}, []string{"validate", unknown}, exitConfig, nil, []string{"write.batch_sise (line 14): unknown key"}},
		{"missing file", nil, []string{"validate", filepath.Join(dir, "nope.yaml")}, exitConfig, nil, []string{"nope.yaml"}},
		{"valid, password masked", map[string]string{"DATA_DIR": dir, "CH_PASSWORD": "hunter2"}, []string{"validate", job}, exitOK, []string{"is valid", "******", "batch_rows: 1000000"}, nil},
		{"var flag wins", map[string]string{"DATA_DIR": "/env"}, []string{"validate", "--var", "DATA_DIR=/flag", job}, exitOK, []string{"/flag/*.parquet"}, nil},
		{"bad output", map[string]string{"DATA_DIR": dir}, []string{"run", "-o", "xml", job}, exitConfig, nil, []string{"--output"}},
		{"no files", map[string]string{"DATA_DIR": dir, "CH_PORT": "1"}, []string{"dry-run", job}, exitSource, nil, []string{"matches no files"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, c.env, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out, errs)
			}
			for _, w := range c.out {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range c.err {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if strings.Contains(out+errs, "hunter2") {
				t.Errorf("password printed")
			}
		})
	}
}

func TestRunAndDryRunAgainstServer(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	if err := conn.Exec(context.Background(), eventsgen.TableDDL(db+".events")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := (eventsgen.Dataset{Params: eventsgen.Params{Rows: 20_000, Seed: 3, Months: 2}, ParquetDir: dir, Files: 2, RowGroupRows: 5000}).Write(context.Background(), memory.DefaultAllocator); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(testenv.ClickHouseAddr(t), ":")
	env := map[string]string{"DATA_DIR": dir, "CH_HOST": host, "CH_PORT": port, "TABLE": db + ".events"}
	job := writeFile(t, t.TempDir(), "job.yaml", jobText)

	code, out, errs := runCLI(t, env, "dry-run", "-o", "json", job)
	if code != exitOK {
		t.Fatalf("dry-run exit %d: %s", code, errs)
	}
	var rep struct {
		Rows       int64 `json:"rows"`
		Batches    int   `json:"batches"`
		Partitions []struct {
			Partition string `json:"partition"`
			Rows      int64  `json:"rows"`
		} `json:"partitions"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("dry-run json: %v\n%s", err, out)
	}
	if rep.Rows != 20_000 || rep.Batches != 2 || len(rep.Partitions) != 2 {
		t.Fatalf("dry run %+v", rep)
	}
	code, out, errs = runCLI(t, env, "dry-run", job)
	if code != exitOK || !strings.Contains(out, "batches (new parts)") || !strings.Contains(out, "202401") {
		t.Fatalf("dry-run text exit %d:\n%s\n%s", code, out, errs)
	}

	code, out, errs = runCLI(t, env, "run", job)
	if code != exitOK {
		t.Fatalf("run exit %d:\n%s\n%s", code, out, errs)
	}
	for _, w := range []string{"rows read 20000, rows written 20000, batches 2, parts created 2", "rows/s", "202401", "202402"} {
		if !strings.Contains(out, w) {
			t.Errorf("summary lacks %q:\n%s", w, out)
		}
	}
	code, out, _ = runCLI(t, env, "run", "-o", "json", job)
	var sum struct {
		Status      string `json:"status"`
		RowsWritten int64  `json:"rows_written"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &sum) != nil || sum.Status != "ok" || sum.RowsWritten != 20_000 {
		t.Fatalf("run json exit %d: %s", code, out)
	}

	// A missing table is a target error.
	env["TABLE"] = db + ".nope"
	if code, _, errs = runCLI(t, env, "run", job); code != exitTarget || !strings.Contains(errs, "does not exist") {
		t.Fatalf("missing table: exit %d %s", code, errs)
	}
	// A server that does not answer is a server error.
	env["TABLE"], env["CH_PORT"] = db+".events", "1"
	if code, _, errs = runCLI(t, env, "run", job); code != exitServer {
		t.Fatalf("no server: exit %d %s", code, errs)
	}
}
