// Package bench holds the benchmark scripts behind `make bench`; its tests
// run the cluster section of bench.sh against the test cluster with small data
// and stand-ins for chload, to check the section's DDL, baseline, checks and
// output.
package bench

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chload/chload/internal/testenv"
)

// summaryRE matches the cluster section's summary line when chload ran.
var summaryRE = regexp.MustCompile(`(?m)^bench-cluster: chload ([0-9.]+)s native_distributed ([0-9.]+)s speedup ([0-9.]+) parts_chload ([0-9]+) parts_native ([0-9]+) chload_cpu ([0-9.]+)s$`)

// TestClusterSection runs bench.sh's cluster section with stand-ins for chload
// that load the rows right, on the wrong shards, only in part, or fail. The
// stand-ins copy the rows the native run loaded, so only the section's own
// checks decide the outcome.
func TestClusterSection(t *testing.T) {
	client := testenv.ClickHouseClient(t)
	addrs := testenv.ClusterAddrs(t)
	db := testenv.ClusterScratchDB(t, testenv.ConnTo(t, addrs[0]), testenv.ClusterName)
	cache := t.TempDir()
	entryHost, entryPort, _ := strings.Cut(addrs[0], ":")
	stubDir := t.TempDir()
	jobCopy := filepath.Join(stubDir, "job.yaml")

	// stub writes a stand-in for `chload run JOB` that keeps a copy of the
	// job and then runs body.
	stub := func(name, body string) string {
		p := filepath.Join(stubDir, name)
		script := "#!/usr/bin/env bash\nset -euo pipefail\ncp \"$2\" " + jobCopy + "\n" +
			"ch() { " + client + " --host " + entryHost + " --port " + entryPort + " \"$@\"; }\n" + body + "\n"
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	copyVia := func(target, where string) string {
		return "ch --insert_distributed_sync=1 --query \"INSERT INTO " + db + "." + target +
			" SELECT * FROM " + db + ".events_native" + where + "\""
	}

	tests := []struct {
		name       string
		env        []string
		chload     string
		wantCode   int
		wantOut    []string // substrings of stdout
		wantErrOut []string // substrings of stderr
		wantJob    bool     // the job file must target the Distributed table on every node
	}{
		{
			name:    "baseline only",
			env:     []string{"BENCH_CLUSTER_BASELINE_ONLY=1"},
			chload:  "/nonexistent/chload",
			wantOut: []string{"chload run (Distributed target)     skipped", "bench-cluster: chload skipped native_distributed ", "shard 2: native "},
		},
		{
			name:    "rows routed as the server routes them",
			chload:  stub("routed", copyVia("events_chload", "")),
			wantOut: []string{"shard 1: chload ", "shard 2: chload ", ": same", "native_distributed / chload: "},
			wantJob: true,
		},
		{
			name:       "every row on the first shard",
			chload:     stub("oneshard", copyVia("events_local_chload", "")),
			wantCode:   1,
			wantOut:    []string{": DIFFERENT", "MISMATCH"},
			wantErrOut: []string{"shard 1 holds other rows under chload than under Distributed routing", "bench: FAIL"},
		},
		{
			name:       "half the rows",
			chload:     stub("half", copyVia("events_chload", " WHERE user_id % 2 = 0")),
			wantCode:   1,
			wantOut:    []string{"MISMATCH"},
			wantErrOut: []string{"does not hold the source rows", "bench: FAIL"},
		},
		{
			name:       "chload fails",
			chload:     stub("fails", "echo 'no such table' >&2; exit 3"),
			wantCode:   1,
			wantErrOut: []string{"no such table", "chload run into " + db + ".events_chload failed"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_ = os.Remove(jobCopy)
			cmd := exec.Command("bash", "bench.sh", "-rows", "20000")
			cmd.Env = append(os.Environ(),
				"BENCH_SINGLE=0", "BENCH_CLUSTER=1", "BENCH_FILES=2", "BENCH_ROW_GROUP_ROWS=5000",
				"CHLOAD_BENCH_DIR="+cache, "BENCH_CLUSTER_DB="+db, "BENCH_CLUSTER_ENTRY="+addrs[0],
				"BENCH_CLUSTER_NAME="+testenv.ClusterName, "CHLOAD="+tc.chload)
			cmd.Env = append(cmd.Env, tc.env...)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			code := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			} else if err != nil {
				t.Fatalf("run bench.sh: %v", err)
			}
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, out.String(), errOut.String())
			}
			for _, s := range tc.wantOut {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, out.String())
				}
			}
			for _, s := range tc.wantErrOut {
				if !strings.Contains(errOut.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut.String())
				}
			}
			if tc.wantCode == 0 && !strings.Contains(out.String(), "native, Distributed insert") {
				t.Errorf("stdout lacks the native row:\n%s", out.String())
			}
			if tc.wantJob {
				checkSummary(t, out.String())
				checkJob(t, jobCopy, db, addrs)
			}
		})
	}
}

// checkSummary checks the bench-cluster line: both times positive, the
// speedup their ratio, and parts counted both ways.
func checkSummary(t *testing.T, out string) {
	t.Helper()
	m := summaryRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no bench-cluster summary line in:\n%s", out)
	}
	for i, name := range []string{"", "chload seconds", "native seconds", "speedup", "chload parts", "native parts", "chload CPU seconds"} {
		if i > 0 && strings.Trim(m[i], "0.") == "" {
			t.Errorf("%s is %s in %q", name, m[i], m[0])
		}
	}
}

// checkJob checks the chload job the section wrote.
func checkJob(t *testing.T, path, db string, addrs []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the job the stand-in saw: %v", err)
	}
	job := string(b)
	want := []string{
		"table: " + db + ".events_chload\n",
		"concurrency: auto\n",
		`hosts: ["` + strings.Join(addrs, `", "`) + `"]`,
		"type: parquet\n",
	}
	for _, s := range want {
		if !strings.Contains(job, s) {
			t.Errorf("job lacks %q:\n%s", s, job)
		}
	}
}
