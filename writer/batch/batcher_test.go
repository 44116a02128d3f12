package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/transform"
)

// testRecords makes n records of size rows with columns (p Int32, v Int64),
// p cycling over parts values in a shuffled order, v numbering the rows.
func testRecords(mem memory.Allocator, n, size, parts int, seed int64) []arrow.Record {
	schema := arrow.NewSchema([]arrow.Field{{Name: "p", Type: arrow.PrimitiveTypes.Int32}, {Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rng := rand.New(rand.NewSource(seed))
	var out []arrow.Record
	row := int64(0)
	for r := 0; r < n; r++ {
		b := array.NewRecordBuilder(mem, schema)
		for i := 0; i < size; i++ {
			b.Field(0).(*array.Int32Builder).Append(int32(rng.Intn(parts)))
			b.Field(1).(*array.Int64Builder).Append(row)
			row++
		}
		out = append(out, b.NewRecord())
		b.Release()
	}
	return out
}

type batchSeen struct {
	partition string
	seq       int
	rows      []int64
	forced    bool
}

func runBatcher(t *testing.T, mem memory.Allocator, recs []arrow.Record, p BatcherParams) ([]batchSeen, []PartitionStats) {
	t.Helper()
	var seen []batchSeen
	p.Mem = mem
	b := NewBatcher(p, func(b *Batch) error {
		s := batchSeen{partition: b.Partition, seq: b.Seq, forced: b.Forced}
		var n int64
		for _, c := range b.Chunks {
			s.rows = append(s.rows, c.Column(1).(*array.Int64).Int64Values()...)
			n += c.NumRows()
			for i := 0; i < int(c.NumRows()); i++ {
				if got := fmt.Sprint(c.Column(0).(*array.Int32).Value(i)); got != b.Partition {
					t.Errorf("batch of partition %s holds a row of partition %s", b.Partition, got)
				}
			}
		}
		if n != b.Rows {
			t.Errorf("batch says %d rows, holds %d", b.Rows, n)
		}
		b.Release()
		seen = append(seen, s)
		return nil
	})
	for _, r := range recs {
		if err := addKeyed(t, b, mem, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	return seen, b.Partitions()
}

func TestBatcherCutsFullBatchesOfOnePartitionDeterministically(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs := testRecords(mem, 20, 1000, 5, 1)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	p := BatcherParams{BatchRows: 700, MaxBufferBytes: 1 << 40}
	a, stats := runBatcher(t, mem, recs, p)
	b, _ := runBatcher(t, mem, recs, p)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("two runs over the same records gave different batches")
	}
	var total int64
	perPart := map[string][]batchSeen{}
	all := []int64{}
	for _, s := range a {
		perPart[s.partition] = append(perPart[s.partition], s)
		all = append(all, s.rows...)
	}
	for _, st := range stats {
		total += st.Rows
		bs := perPart[st.Partition]
		if want := int((st.Rows + 699) / 700); len(bs) != want || st.Batches != want {
			t.Errorf("partition %s: %d rows in %d batches (stats %d), want %d", st.Partition, st.Rows, len(bs), st.Batches, want)
		}
		for i, s := range bs {
			if s.seq != i || s.forced {
				t.Errorf("partition %s batch %d: seq %d forced %v", st.Partition, i, s.seq, s.forced)
			}
			if i < len(bs)-1 && len(s.rows) != 700 {
				t.Errorf("partition %s batch %d has %d rows, want 700", st.Partition, i, len(s.rows))
			}
			if !slices.IsSorted(s.rows) {
				t.Errorf("partition %s batch %d: rows out of arrival order", st.Partition, i)
			}
		}
	}
	slices.Sort(all)
	for i, v := range all {
		if v != int64(i) {
			t.Fatalf("row %d missing or duplicated (got %d)", i, v)
		}
	}
	if total != 20_000 {
		t.Fatalf("stats count %d rows", total)
	}
}

func TestBatcherMemoryBudgetFlushesLargestEarly(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs := testRecords(mem, 10, 1000, 3, 2)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	seen, _ := runBatcher(t, mem, recs, BatcherParams{BatchRows: 1 << 30, MaxBufferBytes: 40_000})
	forced, rows := 0, 0
	for _, s := range seen {
		if s.forced {
			forced++
		}
		rows += len(s.rows)
	}
	if forced == 0 || rows != 10_000 {
		t.Fatalf("forced %d batches, %d rows; want some forced and 10000 rows", forced, rows)
	}
}

func TestSortPermutationMatchesReferenceSort(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "i", Type: arrow.PrimitiveTypes.Int64},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	rng := rand.New(rand.NewSource(3))
	type row struct {
		s    string
		null bool
		i    int64
		f    float64
	}
	var rows []row
	var chunks []arrow.Record
	for c := 0; c < 3; c++ {
		b := array.NewRecordBuilder(mem, schema)
		for k := 0; k < 300; k++ {
			r := row{s: string(rune('a' + rng.Intn(4))), null: rng.Intn(10) == 0, i: int64(rng.Intn(7) - 3), f: rng.NormFloat64()}
			if r.null {
				b.Field(0).AppendNull()
			} else {
				b.Field(0).(*array.StringBuilder).Append(r.s)
			}
			b.Field(1).(*array.Int64Builder).Append(r.i)
			b.Field(2).(*array.Float64Builder).Append(r.f)
			rows = append(rows, r)
		}
		chunks = append(chunks, b.NewRecord())
		b.Release()
	}
	defer func() {
		for _, c := range chunks {
			c.Release()
		}
	}()
	db := array.NewStringBuilder(mem)
	db.AppendValues([]string{"d", "b", "c", "a"}, nil)
	dict := db.NewArray()
	db.Release()
	defer dict.Release()
	dictChunks := []arrow.Record{withDictionary(t, mem, chunks[0], dict), chunks[1], withDictionary(t, mem, chunks[2], dict)}
	chunks[1].Retain()
	defer func() {
		for _, c := range dictChunks {
			c.Release()
		}
	}()
	cmpS := func(x, y row) int {
		switch {
		case x.null != y.null: // NULLs last
			if x.null {
				return 1
			}
			return -1
		case !x.null && x.s != y.s:
			return strings.Compare(x.s, y.s)
		}
		return 0
	}
	cmpI := func(x, y row) int { return cmp.Compare(x.i, y.i) }
	cmpF := func(x, y row) int { return cmp.Compare(x.f, y.f) }
	// Each key set takes a different path: several columns compared, one
	// column radix-sorted, columns packed into one integer and radix-sorted.
	for _, c := range []struct {
		key  string
		cmps []func(x, y row) int
	}{
		{"s, i, f", []func(x, y row) int{cmpS, cmpI, cmpF}},
		{"i", []func(x, y row) int{cmpI}},
		{"f", []func(x, y row) int{cmpF}},
		{"s, i", []func(x, y row) int{cmpS, cmpI}},
	} {
		key, err := transform.ParseKey(c.key)
		if err != nil {
			t.Fatal(err)
		}
		perm, err := SortPermutation(chunks, key, mem)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]uint32, len(rows))
		for i := range want {
			want[i] = uint32(i)
		}
		slices.SortStableFunc(want, func(a, b uint32) int {
			for _, f := range c.cmps {
				if r := f(rows[a], rows[b]); r != 0 {
					return r
				}
			}
			return 0
		})
		if !slices.Equal(perm, want) {
			t.Errorf("key %s: permutation differs from the reference sort", c.key)
		}
		// The same rows with s as dictionaries (two chunks sharing one
		// whose entries are not in value order) sort the same way.
		dperm, err := SortPermutation(dictChunks, key, mem)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(dperm, want) {
			t.Errorf("key %s: permutation of dictionary chunks differs from the reference sort", c.key)
		}
	}
}

// withDictionary returns rec with its first column, strings, as a
// dictionary of strings over dict.
func withDictionary(t *testing.T, mem memory.Allocator, rec arrow.Record, dict arrow.Array) arrow.Record {
	t.Helper()
	pos := map[string]int32{}
	for j := 0; j < dict.Len(); j++ {
		pos[dict.(*array.String).Value(j)] = int32(j)
	}
	strs := rec.Column(0).(*array.String)
	ib := array.NewInt32Builder(mem)
	defer ib.Release()
	for i := 0; i < strs.Len(); i++ {
		if strs.IsNull(i) {
			ib.AppendNull()
			continue
		}
		ib.Append(pos[strs.Value(i)])
	}
	idx := ib.NewArray()
	defer idx.Release()
	d := array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, idx, dict)
	defer d.Release()
	cols := append([]arrow.Array{d}, rec.Columns()[1:]...)
	fields := rec.Schema().Fields()
	fields[0].Type = d.DataType()
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// TestMergePermutationOfSortedChunks: chunks sorted one by one merge into
// one sorted order that holds every row once, ties in chunk order.
func TestMergePermutationOfSortedChunks(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key, err := transform.ParseKey("p, v")
	if err != nil {
		t.Fatal(err)
	}
	recs := testRecords(mem, 4, 500, 3, 9)
	var sorted []arrow.Record
	for _, r := range recs {
		order, err := SortPermutation([]arrow.Record{r}, key[:1], mem)
		if err != nil {
			t.Fatal(err)
		}
		idx := make([]int32, len(order))
		for i, o := range order {
			idx[i] = int32(o)
		}
		s, err := takeRecord(context.Background(), r, idx, mem)
		if err != nil {
			t.Fatal(err)
		}
		sorted = append(sorted, s)
		r.Release()
	}
	defer func() {
		for _, s := range sorted {
			s.Release()
		}
	}()
	perm, err := MergePermutation(sorted, key[:1], mem)
	if err != nil {
		t.Fatal(err)
	}
	var ps, vs []int64
	for _, s := range sorted {
		for i := 0; i < int(s.NumRows()); i++ {
			ps = append(ps, int64(s.Column(0).(*array.Int32).Value(i)))
			vs = append(vs, s.Column(1).(*array.Int64).Value(i))
		}
	}
	seen := make([]bool, len(ps))
	for i, p := range perm {
		if seen[p] {
			t.Fatalf("row %d twice", p)
		}
		seen[p] = true
		if i > 0 {
			a, b := perm[i-1], p
			if ps[a] > ps[b] || ps[a] == ps[b] && vs[a] > vs[b] {
				t.Fatalf("position %d: (%d, %d) after (%d, %d)", i, ps[b], vs[b], ps[a], vs[a])
			}
		}
	}
	if len(perm) != len(ps) {
		t.Fatalf("%d rows merged of %d", len(perm), len(ps))
	}
}

// TestRadixSortRowsIsAStableSort: wide keys, many ties and digits all keys
// share give the order of a stable comparison sort.
func TestRadixSortRowsIsAStableSort(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, n := range []int{0, 1, 2, 1000, 70000} {
		for _, spread := range []uint64{1, 3, 1 << 20, math.MaxUint64} {
			k := make([]uint64, n)
			base := rng.Uint64() &^ (1 << 63)
			for i := range k {
				if spread == math.MaxUint64 {
					k[i] = rng.Uint64()
				} else {
					k[i] = base + uint64(rng.Int63n(int64(spread)))<<30
				}
			}
			want := make([]uint32, n)
			for i := range want {
				want[i] = uint32(i)
			}
			slices.SortStableFunc(want, func(a, b uint32) int { return cmp.Compare(k[a], k[b]) })
			if got := radixSortRows(k); !slices.Equal(got, want) {
				t.Errorf("n %d, spread %d: order differs from a stable sort", n, spread)
			}
		}
	}
}

// TestMergePermutationEqualsStableSort: for keys that pack into one integer
// (radix path) and keys that don't (heap path), merging sorted chunks gives
// the stable sort of their concatenation.
func TestMergePermutationEqualsStableSort(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}, {Name: "b", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rng := rand.New(rand.NewSource(11))
	for _, keyText := range []string{"b", "a, b"} {
		key, err := transform.ParseKey(keyText)
		if err != nil {
			t.Fatal(err)
		}
		var sorted []arrow.Record
		for c := 0; c < 7; c++ {
			b := array.NewRecordBuilder(mem, schema)
			for i := 0; i < 300+c*50; i++ {
				b.Field(0).(*array.Int64Builder).Append(int64(rng.Uint64()>>1) * int64(1-2*rng.Intn(2))) // full range: no packing
				b.Field(1).(*array.Int64Builder).Append(int64(rng.Intn(20)))                             // many ties
			}
			rec := b.NewRecord()
			b.Release()
			order, err := SortPermutation([]arrow.Record{rec}, key, mem)
			if err != nil {
				t.Fatal(err)
			}
			idx := make([]int32, len(order))
			for i, o := range order {
				idx[i] = int32(o)
			}
			s, err := takeRecord(context.Background(), rec, idx, mem)
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
			sorted = append(sorted, s)
		}
		merged, err := MergePermutation(sorted, key, mem)
		if err != nil {
			t.Fatal(err)
		}
		want, err := SortPermutation(sorted, key, mem)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(merged, want) {
			t.Errorf("key %s: merge differs from the stable sort", keyText)
		}
		for _, s := range sorted {
			s.Release()
		}
	}
}

// addKeyed adds rec's rows to b, partitioned by column p.
func addKeyed(t *testing.T, b *Batcher, mem memory.Allocator, rec arrow.Record) error {
	t.Helper()
	key, err := transform.ParseKey("p")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := EvalKeys(key, rec, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, k := range keys {
			k.Release()
		}
	}()
	ps, err := SplitRows(context.Background(), Rows{Record: rec, Keys: keys}, mem)
	if err != nil {
		t.Fatal(err)
	}
	return b.AddPieces(context.Background(), ps)
}

// TestBatcherSaysWhenAPartitionIsComplete: Complete comes once per
// partition, right after its last batch, when the caller seals it (before
// the end of the run) or at Close for the rest; rows for a sealed partition
// are refused rather than batched after the partition was reported whole.
func TestBatcherSaysWhenAPartitionIsComplete(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs := testRecords(mem, 4, 500, 3, 7)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var events []string
	emitted := map[string]int{}
	b := NewBatcher(BatcherParams{BatchRows: 200, MaxBufferBytes: 1 << 40, Mem: mem,
		Complete: func(ps PartitionStats) error {
			if emitted[ps.Partition] != ps.Batches {
				t.Errorf("partition %s complete after %d of its %d batches", ps.Partition, emitted[ps.Partition], ps.Batches)
			}
			events = append(events, "complete "+ps.Partition)
			return nil
		}}, func(bt *Batch) error {
		events = append(events, fmt.Sprintf("batch %s/%d", bt.Partition, bt.Seq))
		emitted[bt.Partition]++
		bt.Release()
		return nil
	})
	for _, r := range recs[:2] {
		if err := addKeyed(t, b, mem, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Seal(0, "1"); err != nil {
		t.Fatal(err)
	}
	if events[len(events)-1] != "complete 1" {
		t.Fatalf("Seal did not complete partition 1 at once: %v", events)
	}
	if err := b.Seal(0, "1"); err != nil || strings.Count(strings.Join(events, ","), "complete 1") != 1 {
		t.Fatalf("sealing twice: %v, events %v", err, events)
	}
	if err := b.Seal(0, "9"); err != nil || events[len(events)-1] != "complete 9" {
		t.Fatalf("sealing an unseen partition: %v, events %v", err, events)
	}
	// The next records hold rows of partition 1 too: refused.
	if err := addKeyed(t, b, mem, recs[2]); err == nil || !strings.Contains(err.Error(), "after it was complete") {
		t.Fatalf("rows after Seal: %v", err)
	}
	if err := b.Seal(0, "0"); err != nil {
		t.Fatal(err)
	}
	b.Abort()
	if err := b.Close(); err == nil {
		t.Fatal("Close after Abort completed partitions whose rows were dropped")
	}
	got := map[string]int{}
	for _, e := range events {
		if strings.HasPrefix(e, "complete ") {
			got[e]++
		}
	}
	for p, want := range map[string]int{"0": 1, "1": 1, "2": 0, "9": 1} {
		if got["complete "+p] != want {
			t.Errorf("partition %s completed %d times, want %d: %v", p, got["complete "+p], want, events)
		}
	}
}

// TestBatcherCloseReleasesRowsOnError: when emitting fails during Close,
// the rows of the partitions not emitted yet are released, not leaked.
func TestBatcherCloseReleasesRowsOnError(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs := testRecords(mem, 2, 300, 3, 3)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	b := NewBatcher(BatcherParams{BatchRows: 10_000, MaxBufferBytes: 1 << 40, Mem: mem}, func(bt *Batch) error {
		bt.Release()
		return errors.New("the server went away")
	})
	for _, r := range recs {
		if err := addKeyed(t, b, mem, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err == nil {
		t.Fatal("Close hid the emit error")
	}
}

// TestBatcherKeepsPartitionsThatPrintAlike: a NULL key and the string
// "NULL" print the same but are two ClickHouse partitions: two batches, with
// different partition IDs, each holding one partition's row.
func TestBatcherKeepsPartitionsThatPrintAlike(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "p", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rb := array.NewRecordBuilder(mem, schema)
	rb.Field(0).(*array.StringBuilder).AppendNull()
	rb.Field(0).(*array.StringBuilder).Append("NULL")
	rb.Field(1).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	rec := rb.NewRecord()
	rb.Release()
	defer rec.Release()
	var got []string
	b := NewBatcher(BatcherParams{BatchRows: 100, MaxBufferBytes: 1 << 40, Mem: mem}, func(bt *Batch) error {
		got = append(got, fmt.Sprintf("%d:%s:%d", bt.PartitionID, bt.Partition, bt.Rows))
		bt.Release()
		return nil
	})
	if err := addKeyed(t, b, mem, rec); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] == got[1] || !strings.HasSuffix(got[0], ":1") || !strings.HasSuffix(got[1], ":1") {
		t.Fatalf("batches %v, want two of one row each with different partition IDs", got)
	}
}

// TestBatcherBudgetCountsBatchesInFlight: with InFlight batches kept alive
// after they are emitted (as the insert workers keep them), the rows the
// batcher buffers and the batches alive together stay within
// MaxBufferBytes, from the first batch on.
func TestBatcherBudgetCountsBatchesInFlight(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs := testRecords(mem, 40, 1000, 2, 3)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	const budget, inFlight = 200_000, 3
	var alive []*Batch
	var b *Batcher
	peak := int64(0)
	b = NewBatcher(BatcherParams{BatchRows: 1 << 30, MaxBufferBytes: budget, InFlight: inFlight, Mem: mem}, func(bt *Batch) error {
		alive = append(alive, bt)
		if len(alive) > inFlight {
			alive[0].Release()
			alive = alive[1:]
		}
		var held int64
		for _, a := range alive {
			held += a.Bytes
		}
		peak = max(peak, held+b.total)
		return nil
	})
	for _, r := range recs {
		if err := addKeyed(t, b, mem, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for _, a := range alive {
		a.Release()
	}
	if peak > budget {
		t.Fatalf("buffered rows and %d batches in flight held %d bytes with a budget of %d", inFlight, peak, budget)
	}
}
