// Package sourcestest holds the conformance suite every connector's tests
// run against a source over test data: Run checks the sources.Source
// contract, ReadAll reads a whole source into a table to compare values.
package sourcestest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/chload/chload/sources"
)

// Run checks that src keeps the sources.Source contract: Schema and Splits
// succeed and Splits is the same on two calls; every split opens with all
// columns in schema order and in reverse order, yielding records whose
// columns match the requested names and the schema's types, and as many rows
// as Split.Rows when that is known; a projection to a subset yields the same
// values as the full read; an unknown column is an error; splits can be read
// from several goroutines at once. Every record and reader Run takes is
// released, so a source built on a memory.CheckedAllocator must show zero
// bytes once Run returns. src needs at least one split with rows. Run does
// not Close src.
func Run(t *testing.T, src sources.Source) {
	t.Helper()
	ctx := context.Background()
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

	t.Run("read", func(t *testing.T) {
		for _, sp := range splits {
			full := readSplit(t, ctx, src, sp, schema, names)
			if sp.Rows >= 0 && full.NumRows() != sp.Rows {
				t.Errorf("split %s: read %d rows, split says %d", sp, full.NumRows(), sp.Rows)
			}
			rev := readSplit(t, ctx, src, sp, schema, reversed)
			sameColumns(t, sp, full, rev, reversed)
			rev.Release()
			sub := readSplit(t, ctx, src, sp, schema, subset)
			sameColumns(t, sp, full, sub, subset)
			sub.Release()
			full.Release()
		}
	})

	t.Run("unknown column", func(t *testing.T) {
		const bogus = "no_such_column_sourcestest"
		if seen[bogus] {
			t.Skip("schema has the bogus column name")
		}
		rr, err := src.Open(ctx, splits[0], []string{names[0], bogus})
		if err != nil {
			return
		}
		defer rr.Release()
		for rr.Next() {
		}
		if rr.Err() == nil {
			t.Errorf("split %s: reading unknown column %q gave no error", splits[0], bogus)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, len(splits))
		sem := make(chan struct{}, 4)
		for i, sp := range splits {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				n, err := countRows(ctx, src, sp, names)
				if err == nil && sp.Rows >= 0 && n != sp.Rows {
					err = fmt.Errorf("read %d rows, split says %d", n, sp.Rows)
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
func readSplit(t *testing.T, ctx context.Context, src sources.Source, sp sources.Split, schema *arrow.Schema, columns []string) arrow.Table {
	t.Helper()
	rr, err := src.Open(ctx, sp, columns)
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

func countRows(ctx context.Context, src sources.Source, sp sources.Split, columns []string) (int64, error) {
	rr, err := src.Open(ctx, sp, columns)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	var n int64
	for rr.Next() {
		n += rr.Record().NumRows()
	}
	return n, rr.Err()
}

// ReadAll reads every split of src in order, with the given columns (all of
// the schema's columns when nil), into one table. The caller releases it.
func ReadAll(ctx context.Context, src sources.Source, columns []string) (arrow.Table, error) {
	schema, err := src.Schema(ctx)
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	if columns == nil {
		for _, f := range schema.Fields() {
			columns = append(columns, f.Name)
		}
	}
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
		if err := appendSplit(ctx, src, sp, columns, fields, &recs); err != nil {
			return nil, err
		}
	}
	// Splits may differ in nullability; the table takes the source's.
	return array.NewTableFromRecords(arrow.NewSchema(fields, nil), recs), nil
}

func appendSplit(ctx context.Context, src sources.Source, sp sources.Split, columns []string, fields []arrow.Field, recs *[]arrow.Record) error {
	rr, err := src.Open(ctx, sp, columns)
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
