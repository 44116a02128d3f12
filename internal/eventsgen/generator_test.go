package eventsgen

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// checkedAlloc returns an allocator that fails t if anything is left
// allocated when the test ends.
func checkedAlloc(t *testing.T) *memory.CheckedAllocator {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// generate returns all rows of p, produced chunk rows at a time, as one
// record per chunk. The records are released when the test ends.
func generate(t *testing.T, p Params, chunk int, mem memory.Allocator) []arrow.Record {
	t.Helper()
	g, err := NewGenerator(p, mem)
	if err != nil {
		t.Fatal(err)
	}
	var recs []arrow.Record
	for rec := g.Next(chunk); rec != nil; rec = g.Next(chunk) {
		recs = append(recs, rec)
	}
	t.Cleanup(func() {
		for _, r := range recs {
			r.Release()
		}
	})
	if g.Remaining() != 0 {
		t.Fatalf("remaining = %d after the last record", g.Remaining())
	}
	return recs
}

// column returns column i of recs as strings, one per row.
func column(recs []arrow.Record, i int) []string {
	var out []string
	for _, r := range recs {
		for j := 0; j < int(r.NumRows()); j++ {
			out = append(out, r.Column(i).ValueStr(j))
		}
	}
	return out
}

func TestGeneratorDeterministic(t *testing.T) {
	mem := checkedAlloc(t)
	base := Params{Rows: 5000, Seed: 7, Months: 3}
	ref := generate(t, base, 5000, mem)
	refSum := mustChecksum(t, ref)
	tests := []struct {
		name   string
		p      Params
		chunk  int
		wantEq bool
	}{
		{name: "same seed one chunk", p: base, chunk: 5000, wantEq: true},
		{name: "same seed small chunks", p: base, chunk: 333, wantEq: true},
		{name: "same seed oversized chunk", p: base, chunk: 1 << 20, wantEq: true},
		{name: "other seed", p: Params{Rows: 5000, Seed: 8, Months: 3}, chunk: 5000, wantEq: false},
		{name: "other months", p: Params{Rows: 5000, Seed: 7, Months: 4}, chunk: 5000, wantEq: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := generate(t, tc.p, tc.chunk, mem)
			if sum := mustChecksum(t, got); (sum.String() == refSum.String()) != tc.wantEq {
				t.Fatalf("checksum equal = %v, want %v:\n%s\n%s", !tc.wantEq, tc.wantEq, sum, refSum)
			}
			if tc.wantEq {
				for i := range Columns {
					if !slices.Equal(column(got, i), column(ref, i)) {
						t.Fatalf("column %s differs", Columns[i].Name)
					}
				}
			}
		})
	}
}

func mustChecksum(t *testing.T, recs []arrow.Record) *Checksum {
	t.Helper()
	c, err := NewChecksum(Schema())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := c.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestGeneratorShape(t *testing.T) {
	mem := checkedAlloc(t)
	tests := []struct {
		name   string
		p      Params
		months []string // YYYY-MM every row must fall in, each about equally often
	}{
		{name: "default start", p: Params{Rows: 12000, Seed: 1, Months: 6},
			months: []string{"2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"}},
		{name: "one month", p: Params{Rows: 2000, Seed: 2, Months: 1}, months: []string{"2024-01"}},
		{name: "over a year end", p: Params{Rows: 3000, Seed: 3, Months: 3, Start: time.Date(2023, 11, 1, 0, 0, 0, 0, time.UTC)},
			months: []string{"2023-11", "2023-12", "2024-01"}},
		{name: "default months", p: Params{Rows: 6000, Seed: 4},
			months: []string{"2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs := generate(t, tc.p, 1000, mem)
			perMonth := map[string]int{}
			distinct := map[int]map[string]bool{}
			var rows int
			for _, r := range recs {
				ts := r.Column(colEventTime).(*array.Timestamp)
				day := r.Column(colEventDate).(*array.Date32)
				for i := 0; i < int(r.NumRows()); i++ {
					when := time.UnixMilli(int64(ts.Value(i))).UTC()
					if int64(ts.Value(i))%1000 != 0 {
						t.Fatalf("event_time %d is not whole seconds", ts.Value(i))
					}
					if got := day.Value(i).ToTime().Format(time.DateOnly); got != when.Format(time.DateOnly) {
						t.Fatalf("event_date %s, event_time %s", got, when)
					}
					perMonth[when.Format("2006-01")]++
					for _, c := range []int{colEventType, colCountry, colDevice} {
						if distinct[c] == nil {
							distinct[c] = map[string]bool{}
						}
						distinct[c][r.Column(c).ValueStr(i)] = true
					}
					if id := r.Column(colEventID).ValueStr(i); len(id) != 36 || strings.Count(id, "-") != 4 {
						t.Fatalf("event_id %q is not uuid-like", id)
					}
					if p := r.Column(colProperties).ValueStr(i); !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") {
						t.Fatalf("properties %q is not a JSON object", p)
					}
				}
				rows += int(r.NumRows())
			}
			if int64(rows) != tc.p.Rows {
				t.Fatalf("rows = %d, want %d", rows, tc.p.Rows)
			}
			if len(perMonth) != len(tc.months) {
				t.Fatalf("rows per month %v, want months %v", perMonth, tc.months)
			}
			want := rows / len(tc.months)
			for _, m := range tc.months {
				if n := perMonth[m]; n < want*8/10 || n > want*12/10 {
					t.Fatalf("month %s has %d rows, want about %d (%v)", m, n, want, perMonth)
				}
			}
			if n := len(distinct[colEventType]); n != 10 {
				t.Errorf("event_type has %d distinct values, want 10", n)
			}
			if n := len(distinct[colDevice]); n != 5 {
				t.Errorf("device has %d distinct values, want 5", n)
			}
			if n := len(distinct[colCountry]); n < 40 || n > 60 {
				t.Errorf("country has %d distinct values, want about 50", n)
			}
		})
	}
}

func TestGeneratorUnsorted(t *testing.T) {
	mem := checkedAlloc(t)
	recs := generate(t, Params{Rows: 1000, Seed: 1}, 1000, mem)
	tests := []struct {
		name string
		col  int
	}{
		{"event_time", colEventTime},
		{"event_type", colEventType},
		{"user_id", colUserID},
		{"event_date", colEventDate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vals := column(recs, tc.col)
			if tc.col == colUserID {
				// compare numerically through fixed-width strings
				for i, v := range vals {
					vals[i] = strings.Repeat("0", 20-len(v)) + v
				}
			}
			if slices.IsSorted(vals) || slices.IsSortedFunc(vals, func(a, b string) int { return strings.Compare(b, a) }) {
				t.Fatalf("%s is in sorted order", tc.name)
			}
		})
	}
}

func TestGeneratorParams(t *testing.T) {
	tests := []struct {
		name    string
		p       Params
		wantErr string
	}{
		{name: "ok", p: Params{Rows: 1}},
		{name: "zero rows", p: Params{}},
		{name: "negative rows", p: Params{Rows: -1}, wantErr: "rows: -1"},
		{name: "negative months", p: Params{Rows: 1, Months: -2}, wantErr: "months: -2"},
		{name: "both", p: Params{Rows: -1, Months: -2}, wantErr: "months: -2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := NewGenerator(tc.p, memory.DefaultAllocator)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				rec := g.Next(10)
				if tc.p.Rows == 0 && rec != nil {
					t.Fatal("record from an empty generator")
				}
				if rec != nil {
					rec.Release()
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestTableDDL(t *testing.T) {
	got := TableDDL("db.t")
	for _, want := range []string{"CREATE TABLE db.t (event_id String, event_time DateTime,", "properties String)",
		"PARTITION BY toYYYYMM(event_date) ORDER BY (event_type, user_id, event_time)"} {
		if !strings.Contains(got, want) {
			t.Errorf("DDL %q lacks %q", got, want)
		}
	}
}
