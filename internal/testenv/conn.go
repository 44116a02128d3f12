package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ddlTimeout bounds CREATE/DROP DATABASE, including ON CLUSTER DDL that waits
// for every node.
const ddlTimeout = 3 * time.Minute

// Conn returns an open native (LZ4) connection to the single test node, closed
// when the test ends. It skips or fails the test as ClickHouseAddr does.
func Conn(t testing.TB) driver.Conn {
	t.Helper()
	return ConnTo(t, ClickHouseAddr(t))
}

// ConnTo returns an open native (LZ4) connection to addr as user default,
// closed when the test ends. It skips the test when CHLOAD_E2E=0 and fails it
// when addr does not answer.
func ConnTo(t testing.TB, addr string) driver.Conn {
	t.Helper()
	requireE2E(t)
	conn, err := clickhouse.Open(options(addr, 5*time.Second))
	if err != nil {
		t.Fatalf("open connection to clickhouse %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if err := conn.Ping(ctx); err != nil {
		t.Fatalf("ping clickhouse %s: %v\n"+startHint, addr, err, "all")
	}
	return conn
}

// ScratchDB creates a uniquely named database chload_test_<random> through
// conn and drops it when the test ends. Register it after the connection (as
// Conn does) so the drop runs before the connection closes.
func ScratchDB(t testing.TB, conn driver.Conn) string {
	t.Helper()
	return scratchDB(t, conn, "")
}

// ClusterScratchDB is ScratchDB with CREATE and DROP run ON CLUSTER cluster,
// so the database exists on every node of that cluster (e.g. ClusterName).
func ClusterScratchDB(t testing.TB, conn driver.Conn, cluster string) string {
	t.Helper()
	return scratchDB(t, conn, " ON CLUSTER "+cluster)
}

func scratchDB(t testing.TB, conn driver.Conn, onCluster string) string {
	t.Helper()
	name := "chload_test_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), ddlTimeout)
	defer cancel()
	if err := conn.Exec(ctx, "CREATE DATABASE "+name+onCluster); err != nil {
		t.Fatalf("create scratch database %s%s: %v", name, onCluster, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ddlTimeout)
		defer cancel()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+onCluster); err != nil {
			t.Errorf("drop scratch database %s%s: %v", name, onCluster, err)
		}
	})
	return name
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("read random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

// options are the connection options every helper uses.
func options(addr string, dialTimeout time.Duration) *clickhouse.Options {
	return &clickhouse.Options{
		Protocol:    clickhouse.Native,
		Addr:        []string{addr},
		Auth:        clickhouse.Auth{Database: "default", Username: "default"},
		Compression: &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
		DialTimeout: dialTimeout,
	}
}
