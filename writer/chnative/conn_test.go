package chnative

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"

	"github.com/chload/chload/internal/testenv"
)

// table creates db.name (n UInt64, s String) and returns its name. It is a
// MergeTree, as chload's targets are: the server squashes an insert's blocks
// and writes them when the insert ends, so an insert cut short writes nothing.
func table(t *testing.T, conn driver.Conn, db, name string) string {
	t.Helper()
	full := db + "." + name
	if err := conn.Exec(context.Background(), "CREATE TABLE "+full+" (n UInt64, s String) ENGINE = MergeTree ORDER BY n"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return full
}

// encodeRows encodes rows first..first+rows-1 of (n, s) = (i, "row-i" padded).
func encodeRows(first, rows int) func(dst []byte, i int) ([]byte, error) {
	return func(dst []byte, i int) ([]byte, error) {
		for r := first; r < first+rows; r++ {
			if i == 0 {
				dst = binary.LittleEndian.AppendUint64(dst, uint64(r))
				continue
			}
			s := fmt.Sprintf("row-%d-%s", r, strings.Repeat("x", r%300))
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		}
		return dst, nil
	}
}

// check asserts that table holds rows 0..rows-1 as encodeRows writes them.
func check(t *testing.T, conn driver.Conn, table string, rows int) {
	t.Helper()
	var count, sum, bytes uint64
	q := "SELECT count(), sum(n), sum(length(s)) FROM " + table
	if err := conn.QueryRow(context.Background(), q).Scan(&count, &sum, &bytes); err != nil {
		t.Fatalf("read back: %v", err)
	}
	var wantBytes uint64
	for r := 0; r < rows; r++ {
		wantBytes += uint64(len(fmt.Sprintf("row-%d-", r)) + r%300)
	}
	if count != uint64(rows) || sum != uint64(rows)*uint64(rows-1)/2 || bytes != wantBytes {
		t.Errorf("table holds count %d sum %d bytes %d, want %d %d %d", count, sum, bytes, rows, uint64(rows)*uint64(rows-1)/2, wantBytes)
	}
}

// TestInsertEachCompression inserts several blocks, one larger than a
// compression frame, with each compression, twice on one connection, and
// checks every row landed once.
func TestInsertEachCompression(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	ctx := context.Background()
	for _, comp := range []string{"none", "lz4", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			c, err := Dial(ctx, Options{Addr: testenv.ClickHouseAddr(t), Compression: comp})
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			defer c.Close()
			if c.Revision() == 0 || c.ServerVersion() == "" {
				t.Errorf("revision %d, server version %q", c.Revision(), c.ServerVersion())
			}
			for round := 0; round < 2; round++ {
				name := table(t, conn, db, fmt.Sprintf("t_%s_%d", comp, round))
				in, err := c.BeginInsert(ctx, "INSERT INTO "+name+" (n, s) VALUES", []Setting{{Name: "max_insert_block_size", Value: 1000000}})
				if err != nil {
					t.Fatalf("begin insert: %v", err)
				}
				if got := fmt.Sprint(in.Columns()); got != "[{n UInt64} {s String}]" {
					t.Errorf("header %s", got)
				}
				sizes := []int{1, 70000, 3}
				first := 0
				for _, n := range sizes {
					if err := in.WriteBlock(n, encodeRows(first, n)); err != nil {
						t.Fatalf("write block: %v", err)
					}
					first += n
				}
				if err := in.Finish(); err != nil {
					t.Fatalf("finish: %v", err)
				}
				if c.Broken() {
					t.Fatalf("connection broken after a finished insert")
				}
				check(t, conn, name, first)
			}
		})
	}
}

// TestServerRefusals checks that the server's exceptions come back as
// *proto.Exception with their codes, at each stage, and leave the
// connection broken.
func TestServerRefusals(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	ctx := context.Background()
	addr := testenv.ClickHouseAddr(t)

	_, err := Dial(ctx, Options{Addr: addr, User: "no_such_user_chload"})
	var ex *proto.Exception
	if !errors.As(err, &ex) || (ex.Code != 192 && ex.Code != 516) { // UNKNOWN_USER, AUTHENTICATION_FAILED
		t.Errorf("unknown user: error %v, want exception 192 or 516", err)
	}

	c, err := Dial(ctx, Options{Addr: addr})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Close()
	_, err = c.BeginInsert(ctx, "INSERT INTO "+db+".missing (n) VALUES", nil)
	if !errors.As(err, &ex) || ex.Code != 60 { // UNKNOWN_TABLE
		t.Errorf("missing table: error %v, want exception 60", err)
	}
	if !c.Broken() {
		t.Errorf("connection not broken after a refused insert")
	}

	// A String whose length runs past the block: the server fails reading
	// it, and nothing lands.
	c2, err := Dial(ctx, Options{Addr: addr})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c2.Close()
	name := table(t, conn, db, "bad")
	in, err := c2.BeginInsert(ctx, "INSERT INTO "+name+" (n, s) VALUES", nil)
	if err != nil {
		t.Fatalf("begin insert: %v", err)
	}
	err = in.WriteBlock(1, func(dst []byte, i int) ([]byte, error) {
		if i == 0 {
			return binary.LittleEndian.AppendUint64(dst, 1), nil
		}
		return binary.AppendUvarint(dst, 1<<40), nil
	})
	if err == nil {
		err = in.Finish()
	}
	if !errors.As(err, &ex) {
		t.Errorf("corrupt block: error %v, want a server exception", err)
	}
	check(t, conn, name, 0)

	// An encoder's error aborts the insert and is returned as it is.
	c3, err := Dial(ctx, Options{Addr: addr})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c3.Close()
	in, err = c3.BeginInsert(ctx, "INSERT INTO "+name+" (n, s) VALUES", nil)
	if err != nil {
		t.Fatalf("begin insert: %v", err)
	}
	boom := errors.New("boom")
	if err := in.WriteBlock(1, func([]byte, int) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("encoder failure: error %v, want boom", err)
	}
	if !c3.Broken() {
		t.Errorf("connection not broken after an aborted insert")
	}
	check(t, conn, name, 0)
}

// TestCancelDropsInsert cancels an insert after its first block: the error
// says so and no row lands.
func TestCancelDropsInsert(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	name := table(t, conn, db, "t")
	ctx, cancel := context.WithCancel(context.Background())
	c, err := Dial(ctx, Options{Addr: testenv.ClickHouseAddr(t)})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Close()
	in, err := c.BeginInsert(ctx, "INSERT INTO "+name+" (n, s) VALUES", nil)
	if err != nil {
		t.Fatalf("begin insert: %v", err)
	}
	if err := in.WriteBlock(10, encodeRows(0, 10)); err != nil {
		t.Fatalf("write block: %v", err)
	}
	cancel()
	err = in.WriteBlock(10, encodeRows(10, 10))
	if err == nil {
		err = in.Finish()
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	c.Close()
	check(t, conn, name, 0)
}

// TestAbortWritesNothing aborts an insert between two blocks: the server
// must drop the rows it has, although servers before 23.3 write them when
// a client just goes away.
func TestAbortWritesNothing(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	name := table(t, conn, db, "t")
	ctx := context.Background()
	for round := 0; round < 3; round++ {
		c, err := Dial(ctx, Options{Addr: testenv.ClickHouseAddr(t)})
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		in, err := c.BeginInsert(ctx, "INSERT INTO "+name+" (n, s) VALUES", nil)
		if err != nil {
			t.Fatalf("begin insert: %v", err)
		}
		if err := in.WriteBlock(10, encodeRows(0, 10)); err != nil {
			t.Fatalf("write block: %v", err)
		}
		in.Abort()
		if !c.Broken() {
			t.Errorf("connection not broken after Abort")
		}
	}
	// The server handles a dropped connection on its own time: wait until
	// it has finished with the three queries before counting.
	if err := conn.Exec(ctx, "SYSTEM FLUSH LOGS"); err != nil {
		t.Fatal(err)
	}
	waitNoInsert(t, conn, name)
	check(t, conn, name, 0)
}

// waitNoInsert waits until no query inserting into table runs.
func waitNoInsert(t *testing.T, conn driver.Conn, table string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		var n uint64
		q := "SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO " + table + "%'"
		if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("inserts into %s still running", table)
}

// TestSquashPastTheRowsWritesAtTheEnd sends every block of an insert whose
// squash threshold is one past its rows, then gives it up before the end
// of the data: nothing may be written. (With the threshold at the rows
// themselves, the server writes the part on the last block, before the
// insert ends; the writer's inserts use one more, see squashRows.)
func TestSquashPastTheRowsWritesAtTheEnd(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	name := table(t, conn, db, "t")
	ctx := context.Background()
	c, err := Dial(ctx, Options{Addr: testenv.ClickHouseAddr(t)})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	const rows = 3000
	in, err := c.BeginInsert(ctx, "INSERT INTO "+name+" (n, s) VALUES", []Setting{
		{Name: "min_insert_block_size_rows", Value: rows + 1},
		{Name: "min_insert_block_size_bytes", Value: 0},
	})
	if err != nil {
		t.Fatalf("begin insert: %v", err)
	}
	for first := 0; first < rows; first += 1000 {
		if err := in.WriteBlock(1000, encodeRows(first, 1000)); err != nil {
			t.Fatalf("write block: %v", err)
		}
	}
	in.Abort()
	waitNoInsert(t, conn, name)
	check(t, conn, name, 0)
}
