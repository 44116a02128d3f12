// Package sourcestest holds the conformance suite every connector's tests
// run against a source over test data: Run checks the sources.Source
// contract, ReadAll reads a whole source into a table to compare values.
package sourcestest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/sources"
)

// Params say what Run checks a connector with.
type Params struct {
	// New builds a source over the test data; every call builds a new
	// instance over the same data. Run calls it twice and closes what it
	// builds. The data needs at least one split with rows.
	New func(t *testing.T) sources.Source
	// FileBased is set for connectors that read files: only their split
	// names may speak of row groups.
	FileBased bool
}

// Run checks that the sources built by p.New keep the sources.Source
// contract:
//   - Schema and Splits succeed, Splits is the same on two calls and on two
//     instances over the same data (IDs, names, fingerprints, promises),
//     and a split one instance lists reads through the other;
//     split IDs are non-empty and unique, names non-empty, and only a
//     file-based connector's names say "row group";
//   - every split opens with all columns in schema order and in reverse
//     order, yielding records whose columns match the requested names and
//     the schema's types, and as many rows as Split.Rows when that is known;
//     a projection to a subset yields the same values as the full read;
//   - with every string column in OpenOptions.KeepDictionaries, a column
//     comes as its schema type or as a dictionary of it;
//   - an unknown column is an error that is a *sources.SplitError naming
//     the split;
//   - a reader whose context is cancelled stops with the context's error,
//     before its first record or after one;
//   - a reader released before it is drained (or before its first Next)
//     leaves nothing allocated;
//   - splits can be read from several goroutines at once.
//
// Every record is allocated from a memory.CheckedAllocator Run passes in
// OpenOptions.Mem, which must hold zero bytes once each check is done.
func Run(t *testing.T, p Params) {
	t.Helper()
	ctx := context.Background()
	src := p.New(t)
	defer src.Close()
	schema, err := src.Schema(ctx)
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	if schema.NumFields() == 0 {
		t.Fatal("schema has no columns")
	}
	names := make([]string, schema.NumFields())
	seen := map[string]bool{}
	for i, f := range schema.Fields() {
		if seen[f.Name] {
			t.Fatalf("schema names column %q twice", f.Name)
		}
		seen[f.Name] = true
		names[i] = f.Name
	}

	splits, err := src.Splits(ctx)
	if err != nil {
		t.Fatalf("splits: %v", err)
	}
	again, err := src.Splits(ctx)
	if err != nil {
		t.Fatalf("splits, second call: %v", err)
	}
	if !reflect.DeepEqual(splits, again) {
		t.Fatalf("splits differ between two calls:\n%v\n%v", splits, again)
	}
	if len(splits) == 0 {
		t.Fatal("no splits: the conformance suite needs a source with data")
	}

	reversed := make([]string, len(names))
	for i, n := range names {
		reversed[len(names)-1-i] = n
	}
	subset := []string{names[len(names)-1]}
	if len(names) > 1 {
		subset = append(subset, names[0])
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	noLeak := func(t *testing.T) {
		t.Helper()
		if n := mem.CurrentAlloc(); n != 0 {
			t.Errorf("%d bytes still allocated after the readers were released", n)
		}
	}

	t.Run("identities", func(t *testing.T) {
		ids := map[string]sources.Split{}
		for _, sp := range splits {
			if sp.ID == "" {
				t.Errorf("split %s has no ID", sp)
			}
			if prev, dup := ids[sp.ID]; dup {
				t.Errorf("splits %s and %s share the ID %q", prev, sp, sp.ID)
			}
			ids[sp.ID] = sp
			name := sp.String()
			if name == "" || strings.TrimSpace(name) != name {
				t.Errorf("split %q has the name %q: want a non-empty name without surrounding space", sp.ID, name)
			}
			if !p.FileBased && strings.Contains(name, "row group") {
				t.Errorf("split %q is named %q: only a file-based source speaks of row groups", sp.ID, name)
			}
			if sp.Rows < -1 || sp.Bytes < -1 {
				t.Errorf("split %s promises %d rows, %d bytes: want -1 (unknown) or a count", sp, sp.Rows, sp.Bytes)
			}
		}
		other := p.New(t)
		defer other.Close()
		if _, err := other.Schema(ctx); err != nil {
			t.Fatalf("second instance: schema: %v", err)
		}
		theirs, err := other.Splits(ctx)
		if err != nil {
			t.Fatalf("second instance: splits: %v", err)
		}
		if len(theirs) != len(splits) {
			t.Fatalf("two instances over the same data list %d and %d splits", len(splits), len(theirs))
		}
		for i, a := range splits {
			b := theirs[i]
			if a.ID != b.ID || a.String() != b.String() || !a.Fingerprint.Equal(b.Fingerprint) || a.Rows != b.Rows || a.Bytes != b.Bytes {
				t.Errorf("split %d differs between two instances over the same data:\n%+v\n%+v", i, a, b)
			}
		}
		// A split listed by one instance reads through the other.
		n, err := readRows(ctx, theirs[0], src, sources.OpenOptions{Columns: names, Mem: mem}, nil)
		if err == nil && theirs[0].Rows >= 0 && n != theirs[0].Rows {
			err = fmt.Errorf("read %d rows, split promises %d", n, theirs[0].Rows)
		}
		if err != nil {
			t.Errorf("split %s of a second instance, read through the first: %v", theirs[0], err)
		}
		noLeak(t)
	})

	t.Run("read", func(t *testing.T) {
		defer noLeak(t)
		for _, sp := range splits {
			full := readSplit(t, ctx, src, sp, schema, sources.OpenOptions{Columns: names, Mem: mem})
			if sp.Rows >= 0 && full.NumRows() != sp.Rows {
				t.Errorf("split %s: read %d rows, split promises %d", sp, full.NumRows(), sp.Rows)
			}
			rev := readSplit(t, ctx, src, sp, schema, sources.OpenOptions{Columns: reversed, Mem: mem})
			sameColumns(t, sp, full, rev, reversed)
			rev.Release()
			sub := readSplit(t, ctx, src, sp, schema, sources.OpenOptions{Columns: subset, Mem: mem})
			sameColumns(t, sp, full, sub, subset)
			sub.Release()
			full.Release()
		}
	})

	t.Run("keep dictionaries", func(t *testing.T) {
		defer noLeak(t)
		var keep []string
		for _, f := range schema.Fields() {
			if f.Type.ID() == arrow.STRING {
				keep = append(keep, f.Name)
			}
		}
		if len(keep) == 0 {
			t.Skip("no string column")
		}
		for _, sp := range splits {
			n, err := readRows(ctx, sp, src, sources.OpenOptions{Columns: names, Mem: mem, KeepDictionaries: keep}, func(rec arrow.Record) error {
				for i, f := range schema.Fields() {
					got := rec.Column(i).DataType()
					if arrow.TypeEqual(got, f.Type) {
						continue
					}
					d, ok := got.(*arrow.DictionaryType)
					if !ok || !arrow.TypeEqual(d.ValueType, f.Type) || !slices.Contains(keep, f.Name) {
						return fmt.Errorf("column %s is %s, want %s or, kept, a dictionary of it", f.Name, got, f.Type)
					}
				}
				return nil
			})
			if err == nil && sp.Rows >= 0 && n != sp.Rows {
				err = fmt.Errorf("read %d rows, split promises %d", n, sp.Rows)
			}
			if err != nil {
				t.Errorf("split %s with dictionaries kept: %v", sp, err)
			}
		}
	})

	t.Run("unknown column", func(t *testing.T) {
		defer noLeak(t)
		const bogus = "no_such_column_sourcestest"
		if seen[bogus] {
			t.Skip("schema has the bogus column name")
		}
		_, err := readRows(ctx, splits[0], src, sources.OpenOptions{Columns: []string{names[0], bogus}, Mem: mem}, nil)
		if err == nil {
			t.Fatalf("split %s: reading unknown column %q gave no error", splits[0], bogus)
		}
		var se *sources.SplitError
		if !errors.As(err, &se) || se.Split.ID != splits[0].ID {
			t.Errorf("split %s: error %q (%T) is not a *sources.SplitError naming the split", splits[0], err, err)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		defer noLeak(t)
		sp := splits[0]
		for _, after := range []int{0, 1} {
			cctx, cancel := context.WithCancel(ctx)
			rr, err := src.Open(cctx, sp, sources.OpenOptions{Columns: names, Mem: mem})
			if err != nil {
				cancel()
				t.Fatalf("open %s: %v", sp, err)
			}
			for i := 0; i < after; i++ {
				if !rr.Next() {
					t.Fatalf("split %s: no first record: %v", sp, rr.Err())
				}
			}
			cancel()
			if rr.Next() {
				t.Errorf("split %s, cancelled after %d records: Next returned true", sp, after)
			}
			if err := rr.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("split %s, cancelled after %d records: error %v, want the context's", sp, after, err)
			}
			rr.Release()
		}
	})

	t.Run("released early", func(t *testing.T) {
		defer noLeak(t)
		for _, sp := range splits {
			for _, records := range []int{0, 1} {
				rr, err := src.Open(ctx, sp, sources.OpenOptions{Columns: names, Mem: mem})
				if err != nil {
					t.Fatalf("open %s: %v", sp, err)
				}
				for i := 0; i < records && rr.Next(); i++ {
				}
				rr.Release()
			}
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		defer noLeak(t)
		var wg sync.WaitGroup
		errs := make([]error, len(splits))
		sem := make(chan struct{}, 4)
		for i, sp := range splits {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				n, err := readRows(ctx, sp, src, sources.OpenOptions{Columns: names, Mem: mem}, nil)
				if err == nil && sp.Rows >= 0 && n != sp.Rows {
					err = fmt.Errorf("read %d rows, split promises %d", n, sp.Rows)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("split %s, read concurrently: %v", splits[i], err)
			}
		}
	})
}

// readSplit reads one split into a table, checking each record's columns
// against the requested names and the schema's types.
func readSplit(t *testing.T, ctx context.Context, src sources.Source, sp sources.Split, schema *arrow.Schema, o sources.OpenOptions) arrow.Table {
	t.Helper()
	columns := o.Columns
	rr, err := src.Open(ctx, sp, o)
	if err != nil {
		t.Fatalf("open %s with columns %v: %v", sp, columns, err)
	}
	defer rr.Release()
	want := projected(schema, columns)
	checkFields(t, fmt.Sprintf("split %s: reader schema", sp), rr.Schema(), want)
	var recs []arrow.Record
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for rr.Next() {
		rec := rr.Record()
		if rec == nil {
			t.Fatalf("split %s: Next returned true with a nil record", sp)
		}
		checkFields(t, fmt.Sprintf("split %s: record schema", sp), rec.Schema(), want)
		if int(rec.NumCols()) != len(columns) {
			t.Fatalf("split %s: record has %d columns, want %d", sp, rec.NumCols(), len(columns))
		}
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := rr.Err(); err != nil {
		t.Fatalf("read %s: %v", sp, err)
	}
	if rr.Next() {
		t.Fatalf("split %s: Next returned true after the end", sp)
	}
	return array.NewTableFromRecords(rr.Schema(), recs)
}

// projected returns the schema's fields named in columns, in that order.
func projected(schema *arrow.Schema, columns []string) []arrow.Field {
	out := make([]arrow.Field, len(columns))
	for i, c := range columns {
		idx := schema.FieldIndices(c)
		if len(idx) == 0 {
			out[i] = arrow.Field{Name: c}
			continue
		}
		out[i] = schema.Field(idx[0])
	}
	return out
}

// checkFields compares names and types, not nullability: a split may hold a
// column no null reaches while the source's schema allows nulls.
func checkFields(t *testing.T, what string, got *arrow.Schema, want []arrow.Field) {
	t.Helper()
	if got.NumFields() != len(want) {
		t.Fatalf("%s has %d columns %v, want %d", what, got.NumFields(), got, len(want))
	}
	for i, w := range want {
		g := got.Field(i)
		if g.Name != w.Name || !arrow.TypeEqual(g.Type, w.Type) {
			t.Fatalf("%s: column %d is %s %s, want %s %s", what, i, g.Name, g.Type, w.Name, w.Type)
		}
	}
}

// sameColumns checks that every column of part equals the column of the
// same name in full.
func sameColumns(t *testing.T, sp sources.Split, full, part arrow.Table, columns []string) {
	t.Helper()
	if part.NumRows() != full.NumRows() {
		t.Errorf("split %s with columns %v: %d rows, full read has %d", sp, columns, part.NumRows(), full.NumRows())
		return
	}
	for i, c := range columns {
		j := full.Schema().FieldIndices(c)[0]
		if !array.ChunkedEqual(part.Column(i).Data(), full.Column(j).Data()) {
			t.Errorf("split %s: column %q read with columns %v differs from the full read", sp, c, columns)
		}
	}
}

// readRows reads one split through, handing each record to check when
// check is not nil, and counts its rows.
func readRows(ctx context.Context, sp sources.Split, src sources.Source, o sources.OpenOptions, check func(arrow.Record) error) (int64, error) {
	rr, err := src.Open(ctx, sp, o)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	var n int64
	for rr.Next() {
		if check != nil {
			if err := check(rr.Record()); err != nil {
				return n, err
			}
		}
		n += rr.Record().NumRows()
	}
	return n, rr.Err()
}

// ReadAll reads every split of src in order, with the options given (all of
// the schema's columns when o.Columns is nil), into one table. The caller
// releases it.
func ReadAll(ctx context.Context, src sources.Source, o sources.OpenOptions) (arrow.Table, error) {
	schema, err := src.Schema(ctx)
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	columns := o.Columns
	if columns == nil {
		for _, f := range schema.Fields() {
			columns = append(columns, f.Name)
		}
	}
	o.Columns = columns
	splits, err := src.Splits(ctx)
	if err != nil {
		return nil, fmt.Errorf("list splits: %w", err)
	}
	fields := projected(schema, columns)
	var recs []arrow.Record
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for _, sp := range splits {
		if err := appendSplit(ctx, src, sp, o, fields, &recs); err != nil {
			return nil, err
		}
	}
	// Splits may differ in nullability; the table takes the source's.
	return array.NewTableFromRecords(arrow.NewSchema(fields, nil), recs), nil
}

func appendSplit(ctx context.Context, src sources.Source, sp sources.Split, o sources.OpenOptions, fields []arrow.Field, recs *[]arrow.Record) error {
	rr, err := src.Open(ctx, sp, o)
	if err != nil {
		return err
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.Record()
		if int(rec.NumCols()) != len(fields) {
			return fmt.Errorf("read %s: record has %d columns, want %d", sp, rec.NumCols(), len(fields))
		}
		for i, f := range fields {
			if !arrow.TypeEqual(rec.Column(i).DataType(), f.Type) {
				return fmt.Errorf("read %s: column %q is %s, schema says %s", sp, f.Name, rec.Column(i).DataType(), f.Type)
			}
		}
		rec.Retain()
		*recs = append(*recs, rec)
	}
	return rr.Err()
}
