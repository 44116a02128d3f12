// Package testenv gives integration tests the ClickHouse servers started by
// chenv.sh in this directory: a single node and a 2-shard x 2-replica cluster.
//
// Every helper obeys the three-state switch in CHLOAD_E2E (the same idea as
// ch-go's CH_E2E): "0" skips the calling test; any other value, including unset,
// requires the servers, and a server that does not answer fails the test loudly
// with the command that starts it. A test that needs a server never passes
// silently without one.
//
// Product code never imports this package.
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// E2EEnv is the environment variable holding the three-state switch: "0" skips
// tests that need servers, anything else (or unset) requires them.
const E2EEnv = "CHLOAD_E2E"

// AddrEnv overrides the single node's native "host:port".
const AddrEnv = "CHLOAD_CH_ADDR"

// ClusterAddrsEnv overrides the cluster nodes' native addresses, comma-separated,
// in the order shard 1 replica 1, shard 1 replica 2, shard 2 replica 1, shard 2
// replica 2.
const ClusterAddrsEnv = "CHLOAD_CLUSTER_ADDRS"

// DefaultAddr is the single node's native address when AddrEnv is unset.
const DefaultAddr = "127.0.0.1:19000"

// DefaultClusterAddrs are the cluster nodes' native addresses when
// ClusterAddrsEnv is unset, in the order described at ClusterAddrsEnv.
var DefaultClusterAddrs = []string{"127.0.0.1:19101", "127.0.0.1:19102", "127.0.0.1:19103", "127.0.0.1:19104"}

// ClusterName is the remote_servers cluster of the test cluster: 2 shards x 2
// replicas with internal_replication, macros {shard} (1, 2) and {replica} (r1, r2).
const ClusterName = "chload_cluster"

// WeightedClusterName is a cluster over the same nodes as ClusterName whose
// shards have weights 1 and 3.
const WeightedClusterName = "chload_weighted"

// pingTimeout bounds how long a server may take to answer before the test fails.
const pingTimeout = 5 * time.Second

const startHint = "run `bash internal/testenv/chenv.sh start %s` or `make test`, or set " + E2EEnv + "=0 to skip"

// reachable caches addresses that answered a ping in this process.
var reachable sync.Map

// ClickHouseAddr returns the native "host:port" of the single test node
// (AddrEnv, default DefaultAddr). It skips the test when CHLOAD_E2E=0 and fails
// it when the node does not answer a native ping within a few seconds.
func ClickHouseAddr(t testing.TB) string {
	t.Helper()
	requireE2E(t)
	addr := envOr(AddrEnv, DefaultAddr)
	if err := ping(addr); err != nil {
		t.Fatalf("clickhouse test node %s does not answer: %v\n"+startHint, addr, err, "single")
	}
	return addr
}

// ClusterAddrs returns the native "host:port" of the four cluster nodes
// (ClusterAddrsEnv, default DefaultClusterAddrs) in the order shard 1 replica 1,
// shard 1 replica 2, shard 2 replica 1, shard 2 replica 2. It skips the test when
// CHLOAD_E2E=0 and fails it when any node does not answer.
func ClusterAddrs(t testing.TB) []string {
	t.Helper()
	requireE2E(t)
	addrs, err := parseAddrs(os.Getenv(ClusterAddrsEnv), DefaultClusterAddrs)
	if err != nil {
		t.Fatalf("read %s: %v", ClusterAddrsEnv, err)
	}
	var down []string
	for _, a := range addrs {
		if err := ping(a); err != nil {
			down = append(down, fmt.Sprintf("%s: %v", a, err))
		}
	}
	if len(down) > 0 {
		t.Fatalf("clickhouse cluster nodes do not answer:\n  %s\n"+startHint, strings.Join(down, "\n  "), "cluster")
	}
	return addrs
}

// ClickHouseClient returns the path of the clickhouse-client binary. It skips
// the test when CHLOAD_E2E=0 and fails it when the binary is missing.
func ClickHouseClient(t testing.TB) string {
	t.Helper()
	requireE2E(t)
	p, err := exec.LookPath("clickhouse-client")
	if err != nil {
		t.Fatalf("find clickhouse-client: %v\nrun `bash internal/testenv/chenv.sh install`, or set %s=0 to skip", err, E2EEnv)
	}
	return p
}

// requireE2E skips t when the switch says so.
func requireE2E(t testing.TB) {
	t.Helper()
	if os.Getenv(E2EEnv) == "0" {
		t.Skipf("%s=0: skipping test that needs a clickhouse server", E2EEnv)
	}
}

func envOr(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// parseAddrs splits a comma-separated list of host:port, returning def when the
// list is empty.
func parseAddrs(list string, def []string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return append([]string(nil), def...), nil
	}
	var out []string
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("parse address %q: %w", a, err)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("parse address list %q: no addresses", list)
	}
	return out, nil
}

// ping opens a native connection to addr and pings it; successes are cached.
func ping(addr string) error {
	if _, ok := reachable.Load(addr); ok {
		return nil
	}
	conn, err := clickhouse.Open(options(addr, 3*time.Second))
	if err != nil {
		return fmt.Errorf("open connection: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	reachable.Store(addr, struct{}{})
	return nil
}
