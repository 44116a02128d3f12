package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chload/chload/sources"
	"github.com/chload/chload/sources/parquet"
	"github.com/chload/chload/writer/chcol"
)

// parquetSplit is split n of the Parquet file at path, as the source lists
// it: what a run's error about that split must name.
func parquetSplit(t *testing.T, path string, n int) sources.Split {
	t.Helper()
	src, err := parquet.New(parquet.Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	splits, err := src.Splits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n >= len(splits) {
		t.Fatalf("%s has %d splits, want split %d", path, len(splits), n)
	}
	return splits[n]
}

// fits reports whether ra admits n more bytes for split without waiting: a
// reservation that would wait fails at once with a context already done.
func fits(t *testing.T, ra *readAhead, split int, n int64) bool {
	t.Helper()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	err := ra.reserve(done, split, n)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("reserve: %v", err)
	}
	return err == nil
}

// TestReadAheadBudget: splits ahead of the one being consumed hold at most
// the budget; the one being consumed is held back only while records of it
// wait for the consumer (so it cannot pile up records while the consumer
// is busy, yet always makes progress), and no split is held back when
// nothing is held (so a split larger than the budget still loads).
func TestReadAheadBudget(t *testing.T) {
	ra := newReadAhead(100)
	ra.advance(0)
	if !fits(t, ra, 1, 60) || !fits(t, ra, 2, 40) {
		t.Fatal("reservations within the budget wait")
	}
	if fits(t, ra, 3, 1) {
		t.Fatal("a split ahead got bytes beyond the budget")
	}
	if !fits(t, ra, 0, 500) {
		t.Fatal("the split being consumed was held back with none of its records waiting")
	}
	ra.queue(0, 500)
	if fits(t, ra, 0, 1) {
		t.Fatal("the split being consumed got bytes beyond the budget while its records wait")
	}
	ra.taken(0, 500)
	if !fits(t, ra, 0, 1) {
		t.Fatal("the split being consumed was held back once the consumer took its records")
	}
	ra.release(1)
	ra.release(60)
	if !fits(t, ra, 3, 60) {
		t.Fatal("released bytes were not given out again")
	}
	if fits(t, ra, 4, 1) {
		t.Fatal("a split ahead got bytes beyond the budget")
	}
	ra.advance(4)
	if !fits(t, ra, 4, 1) {
		t.Fatal("the split that became the one consumed was held back")
	}
	ra.release(40 + 60 + 1)
	if ra.held != 0 {
		t.Fatalf("%d bytes held after everything was released", ra.held)
	}
	if !fits(t, ra, 9, 1000) {
		t.Fatal("a split larger than the budget waits with nothing held")
	}
}

// TestSplitBudget: a split reserves what it promises before it is read;
// its records use that up before they reserve more; what it promised but
// did not deliver is given back; once the consumer has released every
// record, nothing is held.
func TestSplitBudget(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		promised int64
		records  []int64
	}{
		{"unknown size", -1, []int64{10, 20}},
		{"as promised", 30, []int64{10, 20}},
		{"less than promised", 50, []int64{10, 20}},
		{"more than promised", 15, []int64{10, 20}},
		{"promise over the budget", 1000, []int64{400, 400}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ra := newReadAhead(100)
			ra.advance(0)
			b := &splitBudget{ra: ra, split: 0}
			if err := b.start(ctx, tc.promised); err != nil {
				t.Fatal(err)
			}
			if want := min(max(tc.promised, 0), 100); ra.held != want {
				t.Fatalf("%d bytes held before reading, want the promise %d", ra.held, want)
			}
			var delivered int64
			for _, n := range tc.records {
				if err := b.take(ctx, n); err != nil {
					t.Fatal(err)
				}
				delivered += n
				if ra.held < n {
					t.Fatalf("%d bytes held with a record of %d delivered and not consumed", ra.held, n)
				}
				ra.taken(0, n)
			}
			b.finish()
			if ra.held != 0 {
				t.Fatalf("%d bytes held after the consumer took every record", ra.held)
			}
		})
	}
}

// TestSplitErrNamesTheSplitOnce: an error the source already made a
// *sources.SplitError passes unchanged; any other is made one.
func TestSplitErrNamesTheSplitOnce(t *testing.T) {
	sp := sources.Split{ID: "7", Name: "id in [1000, 2000)"}
	named := &sources.SplitError{Op: "read", Split: sp, Err: errors.New("connection reset")}
	for _, err := range []error{named, fmt.Errorf("decode: %w", named), errors.New("connection reset")} {
		got := splitErr("read", sp, err)
		var se *sources.SplitError
		if !errors.As(got, &se) || se.Split.ID != sp.ID {
			t.Errorf("splitErr(%q) = %q, not a *sources.SplitError for the split", err, got)
		}
		if n := strings.Count(got.Error(), sp.String()); n != 1 {
			t.Errorf("splitErr(%q) = %q names the split %d times", err, got, n)
		}
	}
}

// TestDataErrorNamesTheSplit: a bad value is reported in the split's own
// words, whatever kind of split it is, with its row and column.
func TestDataErrorNamesTheSplit(t *testing.T) {
	sp := sources.Split{ID: "orders:1000", Name: "id in [1000, 2000)"}
	err := &DataError{Split: sp, Row: 7, Column: "amount", Err: &chcol.ValueError{Value: "-1", Reason: "does not fit UInt8"}}
	msg := err.Error()
	for _, w := range []string{sp.Name, "row 7", "column amount", "does not fit UInt8"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q lacks %q", msg, w)
		}
	}
	if strings.Contains(msg, "row group") {
		t.Errorf("message %q speaks of row groups for a split that has none", msg)
	}
}
