package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ClusterNodeNames are the cluster's instances in the order of ClusterAddrs.
var ClusterNodeNames = []string{"s1r1", "s1r2", "s2r1", "s2r2"}

func stateDir() string {
	if d := os.Getenv("CHLOAD_TESTENV_DIR"); d != "" {
		return d
	}
	return "/tmp/chload-testenv"
}

// KillClusterNode kills one cluster instance (s1r1, s1r2, s2r1 or s2r2)
// with SIGKILL, as a crash would, and registers a cleanup that starts the
// cluster again (StartCluster), so later tests find it whole.
func KillClusterNode(t testing.TB, name string) {
	t.Helper()
	t.Cleanup(func() { StartCluster(t) })
	if err := Kill(name); err != nil {
		t.Fatal(err)
	}
}

// Kill kills a cluster instance with SIGKILL and waits until it is gone.
// Safe from any goroutine; the caller arranges for StartCluster afterwards.
func Kill(name string) error {
	pf := filepath.Join(stateDir(), "cluster", name, "clickhouse.pid")
	b, err := os.ReadFile(pf)
	if err != nil {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("kill %s: pid file %s: %w", name, pf, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s (pid %d): %w", name, pid, err)
	}
	// Wait until the process is gone (or a zombie), so its ports are closed.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("kill %s: pid %d still running after 10s", name, pid)
}

// StartCluster starts every cluster instance that is not running (the
// project's chenv.sh start cluster; idempotent).
func StartCluster(t testing.TB) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "chenv.sh")
	out, err := exec.Command("bash", script, "start", "cluster").CombinedOutput()
	if err != nil {
		t.Fatalf("start cluster: %v\n%s", err, out)
	}
}
