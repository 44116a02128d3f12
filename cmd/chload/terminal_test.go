package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/eventsgen"
	"github.com/chload/chload/internal/testenv"
)

// tmux runs tmux with args and returns its output.
func tmux(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("tmux", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var (
	readBar  = regexp.MustCompile(`^read\s+(\[[=> ]*\] )?\d+/`)
	writeBar = regexp.MustCompile(`^write\s+(\[[=> ]*\] )?\d+/`)
	logLine  = regexp.MustCompile(`\bmsg=`)
	barText  = regexp.MustCompile(`\[[=>]+ *\]|\d/\d+ rows|rows/s`)
)

// checkScreen asserts what any screen of a run must show: bars no wider
// than the terminal (wrapped lines are joined, so an overlong bar shows as
// one line; log lines may wrap), at most one reading bar and one writing
// bar, and no log line sharing a line with a bar.
func checkScreen(t *testing.T, what string, screen string, width int) (reads, writes int) {
	t.Helper()
	for _, line := range strings.Split(screen, "\n") {
		bar := readBar.MatchString(line) || writeBar.MatchString(line)
		if n := len([]rune(line)); bar && n > width {
			t.Errorf("%s: a bar of %d columns, wider than the terminal's %d:\n%q", what, n, width, line)
		}
		if readBar.MatchString(line) {
			reads++
		}
		if writeBar.MatchString(line) {
			writes++
		}
		if logLine.MatchString(line) && barText.MatchString(line) {
			t.Errorf("%s: a log line shares its line with a bar:\n%q", what, line)
		}
	}
	if reads > 1 || writes > 1 {
		t.Errorf("%s: %d reading and %d writing bars (stacked bars):\n%s", what, reads, writes, screen)
	}
	return reads, writes
}

// TestProgressInATerminal runs the built chload in a real terminal (tmux,
// 80 columns) against the single-node server and checks every screen it
// draws: one reading and one writing bar, each within the width, log lines
// above them and never inside a bar line, and, at the end, both bars full
// with the file's row count. It asserts on what the screen shows, never on
// timing.
func TestProgressInATerminal(t *testing.T) {
	conn := testenv.Conn(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("this test needs tmux for a real terminal: install it (apt-get install tmux)")
	}
	db := testenv.ScratchDB(t, conn)
	if err := conn.Exec(context.Background(), eventsgen.TableDDL(db+".events")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const rows = 1_500_000
	if _, err := (eventsgen.Dataset{Params: eventsgen.Params{Rows: rows, Seed: 5, Months: 3}, ParquetDir: dir, Files: 6, RowGroupRows: 50_000}).Write(context.Background(), memory.DefaultAllocator); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "chload")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build chload: %v\n%s", err, out)
	}
	host, port, _ := strings.Cut(testenv.ClickHouseAddr(t), ":")
	job := writeFile(t, t.TempDir(), "job.yaml", strings.Replace(jobText, "batch_rows: 1000000", "batch_rows: 100000\n  readers: 1", 1))
	done := filepath.Join(t.TempDir(), "exit")
	for _, width := range []int{80, 44} {
		t.Run(fmt.Sprint(width, " columns"), func(t *testing.T) {
			if err := conn.Exec(context.Background(), "TRUNCATE TABLE "+db+".events"); err != nil {
				t.Fatal(err)
			}
			os.Remove(done)
			session := fmt.Sprintf("chload-progress-%d-%d", os.Getpid(), width)
			script := fmt.Sprintf("DATA_DIR=%s CH_HOST=%s CH_PORT=%s TABLE=%s %s run %s >/dev/null; echo $? > %s; sleep 600",
				dir, host, port, db+".events", bin, job, done)
			tmux(t, "new-session", "-d", "-s", session, "-x", fmt.Sprint(width), "-y", "24", "sh", "-c", script)
			defer exec.Command("tmux", "kill-session", "-t", session).Run()
			captures := 0
			for {
				_, err := os.Stat(done)
				finished := err == nil
				checkScreen(t, "during the run", tmux(t, "capture-pane", "-p", "-J", "-t", session), width)
				captures++
				if finished {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			code, _ := os.ReadFile(done)
			history := tmux(t, "capture-pane", "-p", "-J", "-S", "-", "-t", session)
			if strings.TrimSpace(string(code)) != "0" {
				t.Fatalf("chload exited %s:\n%s", code, history)
			}
			reads, writes := checkScreen(t, "the whole history", history, width)
			if reads != 1 || writes != 1 {
				t.Fatalf("the run left %d reading and %d writing bars, want one of each:\n%s", reads, writes, history)
			}
			// Log lines sit above the bars: the bars are the last lines.
			lines := strings.Split(strings.TrimRight(history, "\n"), "\n")
			var last []string
			for i := len(lines) - 1; i >= 0 && len(last) < 2; i-- {
				if strings.TrimSpace(lines[i]) != "" {
					last = append(last, lines[i])
				}
			}
			if len(last) < 2 || !writeBar.MatchString(last[0]) || !readBar.MatchString(last[1]) {
				t.Errorf("the bars are not the last lines, below the log:\n%s", history)
			}
			if !strings.Contains(history, "msg=plan") {
				t.Errorf("the log is missing from the screen:\n%s", history)
			}
			if width >= 80 {
				for _, bar := range last {
					if !strings.Contains(bar, fmt.Sprintf("%d/%d rows", rows, rows)) {
						t.Errorf("a finished bar does not show all %d rows:\n%q", rows, bar)
					}
				}
			}
			t.Logf("%d screens checked; the last:\n%s", captures, tmux(t, "capture-pane", "-p", "-J", "-t", session))
		})
	}
}
