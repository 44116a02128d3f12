package testenv

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// recordingTB captures Fatalf and Skipf instead of ending the real test.
type recordingTB struct {
	testing.TB
	mu      sync.Mutex
	fatal   string
	skipped string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recordingTB) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// runHelper calls f with a recordingTB on its own goroutine, as Fatalf and
// Skipf end the goroutine that calls them.
func runHelper(t *testing.T, f func(tb testing.TB)) *recordingTB {
	r := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// closedAddr returns a 127.0.0.1 address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("close listener: %v", err)
	}
	return addr
}

func TestSwitch(t *testing.T) {
	down := closedAddr(t)
	tests := []struct {
		name      string
		e2e       string
		addr      string
		cluster   string
		call      func(tb testing.TB)
		wantSkip  bool
		wantFatal string // substring; "" means the helper returns normally
	}{
		{name: "single skipped", e2e: "0", addr: down, call: func(tb testing.TB) { ClickHouseAddr(tb) }, wantSkip: true},
		{name: "single down unset", e2e: "", addr: down, call: func(tb testing.TB) { ClickHouseAddr(tb) }, wantFatal: "chenv.sh start single"},
		{name: "single down required", e2e: "1", addr: down, call: func(tb testing.TB) { ClickHouseAddr(tb) }, wantFatal: "CHLOAD_E2E=0 to skip"},
		{name: "cluster skipped", e2e: "0", cluster: down, call: func(tb testing.TB) { ClusterAddrs(tb) }, wantSkip: true},
		{name: "cluster one down", e2e: "1", cluster: "127.0.0.1:19101," + down, call: func(tb testing.TB) { ClusterAddrs(tb) }, wantFatal: down},
		{name: "cluster bad list", e2e: "1", cluster: "nonsense", call: func(tb testing.TB) { ClusterAddrs(tb) }, wantFatal: "CHLOAD_CLUSTER_ADDRS"},
		{name: "connto skipped", e2e: "0", call: func(tb testing.TB) { ConnTo(tb, down) }, wantSkip: true},
		{name: "connto down", e2e: "1", call: func(tb testing.TB) { ConnTo(tb, down) }, wantFatal: down},
		{name: "client skipped", e2e: "0", call: func(tb testing.TB) { ClickHouseClient(tb) }, wantSkip: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(E2EEnv, tc.e2e)
			t.Setenv(AddrEnv, tc.addr)
			t.Setenv(ClusterAddrsEnv, tc.cluster)
			r := runHelper(t, tc.call)
			if got := r.skipped != ""; got != tc.wantSkip {
				t.Fatalf("skipped = %v (%q), want %v", got, r.skipped, tc.wantSkip)
			}
			switch {
			case tc.wantFatal == "" && r.fatal != "":
				t.Fatalf("unexpected failure: %s", r.fatal)
			case tc.wantFatal != "" && !strings.Contains(r.fatal, tc.wantFatal):
				t.Fatalf("failure = %q, want it to contain %q", r.fatal, tc.wantFatal)
			}
		})
	}
}

func TestParseAddrs(t *testing.T) {
	def := []string{"127.0.0.1:1"}
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: def},
		{in: "  ", want: def},
		{in: "a:1", want: []string{"a:1"}},
		{in: "a:1, b:2 ,", want: []string{"a:1", "b:2"}},
		{in: "[::1]:9000", want: []string{"[::1]:9000"}},
		{in: "a", wantErr: true},
		{in: ",", wantErr: true},
	}
	for _, tc := range tests {
		got, err := parseAddrs(tc.in, def)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseAddrs(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && !slices.Equal(got, tc.want) {
			t.Errorf("parseAddrs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSingleNode(t *testing.T) {
	conn := Conn(t)
	ctx := context.Background()

	var dbName string
	t.Run("scratch db", func(t *testing.T) {
		db := ScratchDB(t, conn)
		dbName = db
		if !strings.HasPrefix(db, "chload_test_") {
			t.Fatalf("scratch database %q lacks prefix chload_test_", db)
		}
		ddl := fmt.Sprintf("CREATE TABLE %s.t (k UInt64, s LowCardinality(String), d Date) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY k", db)
		if err := conn.Exec(ctx, ddl); err != nil {
			t.Fatalf("create table: %v", err)
		}
		b, err := conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.t (k, s, d)", db))
		if err != nil {
			t.Fatalf("prepare batch: %v", err)
		}
		for i := range 10 {
			if err := b.Append(uint64(i), "x", time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
		if err := b.Send(); err != nil {
			t.Fatalf("send batch: %v", err)
		}
		if n := count(t, conn, db+".t", ""); n != 10 {
			t.Fatalf("count = %d, want 10", n)
		}
		var tz string
		if err := conn.QueryRow(ctx, "SELECT timezone()").Scan(&tz); err != nil {
			t.Fatalf("query timezone: %v", err)
		}
		if !strings.HasSuffix(tz, "UTC") {
			t.Fatalf("server timezone = %q, want UTC", tz)
		}
	})
	if n := count(t, conn, "system.databases", fmt.Sprintf("name = '%s'", dbName)); n != 0 {
		t.Fatalf("scratch database %s still exists after its test ended", dbName)
	}
}

func TestClickHouseClient(t *testing.T) {
	client := ClickHouseClient(t)
	host, port, err := net.SplitHostPort(ClickHouseAddr(t))
	if err != nil {
		t.Fatalf("split address: %v", err)
	}
	out, err := exec.Command(client, "--host", host, "--port", port, "--query", "SELECT 40 + 2").CombinedOutput()
	if err != nil {
		t.Fatalf("run clickhouse-client: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "42" {
		t.Fatalf("clickhouse-client output = %q, want 42", got)
	}
}

func TestCluster(t *testing.T) {
	addrs := ClusterAddrs(t)
	if len(addrs) != 4 {
		t.Fatalf("got %d cluster addresses, want 4", len(addrs))
	}
	s1r1, s1r2, s2r1 := ConnTo(t, addrs[0]), ConnTo(t, addrs[1]), ConnTo(t, addrs[2])
	ctx := context.Background()

	for _, c := range []struct {
		cluster string
		weights string
	}{{ClusterName, "1,1"}, {WeightedClusterName, "1,3"}} {
		var got string
		q := fmt.Sprintf("SELECT arrayStringConcat(groupArray(toString(w)), ',') FROM (SELECT shard_num, any(shard_weight) AS w FROM system.clusters WHERE cluster = '%s' GROUP BY shard_num ORDER BY shard_num)", c.cluster)
		if err := s1r1.QueryRow(ctx, q).Scan(&got); err != nil {
			t.Fatalf("query system.clusters for %s: %v", c.cluster, err)
		}
		if got != c.weights {
			t.Errorf("cluster %s shard weights = %s, want %s", c.cluster, got, c.weights)
		}
	}

	db := ClusterScratchDB(t, s1r1, ClusterName)
	ddl := fmt.Sprintf("CREATE TABLE %s.t ON CLUSTER %s (k UInt64, s LowCardinality(String)) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/%s.t', '{replica}') ORDER BY k", db, ClusterName, db)
	if err := s1r1.Exec(ctx, ddl); err != nil {
		t.Fatalf("create replicated table on cluster: %v", err)
	}
	b, err := s1r1.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.t (k, s)", db))
	if err != nil {
		t.Fatalf("prepare batch: %v", err)
	}
	for i := range 5 {
		if err := b.Append(uint64(i), "v"); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatalf("send batch: %v", err)
	}
	// SYNC REPLICA waits until the other replica has fetched the part.
	if err := s1r2.Exec(ctx, fmt.Sprintf("SYSTEM SYNC REPLICA %s.t", db)); err != nil {
		t.Fatalf("sync replica s1r2: %v", err)
	}
	if n := count(t, s1r2, db+".t", ""); n != 5 {
		t.Fatalf("rows on the other replica of shard 1 = %d, want 5", n)
	}
	if n := count(t, s2r1, db+".t", ""); n != 0 {
		t.Fatalf("rows on shard 2 = %d, want 0", n)
	}
}

// count returns the number of rows of table matching where ("" for all).
func count(t *testing.T, conn driver.Conn, table, where string) uint64 {
	t.Helper()
	q := "SELECT count() FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var n uint64
	if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("count rows of %s: %v", table, err)
	}
	return n
}
