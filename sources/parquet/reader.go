package parquet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/chload/chload/sources"
)

// splitReader streams one row group of one file. It opens the file at the
// first Next and closes it when the row group is exhausted, on an error, or
// at the last Release.
type splitReader struct {
	refs   atomic.Int64
	ctx    context.Context
	src    *Source
	file   *fileInfo
	split  sources.Split
	rg     int // the row group split reads
	mem    memory.Allocator
	leaves []int
	schema *arrow.Schema
	// keepDict are the columns Next may leave as dictionaries
	// (sources.OpenOptions.KeepDictionaries).
	keepDict map[string]bool
	// recordBytes is sources.OpenOptions.RecordBytes.
	recordBytes int64

	pf  *file.Reader
	rr  rowGroupReader // pqarrow's, or parallelReader with Source.Parallel
	cur arrow.Record
	own arrow.Record // cur when Next built it (expanded dictionaries)
	// dicts are the dictionaries of the kept dictionary columns, by column,
	// shared by the split's records while they are equal.
	dicts map[int]arrow.Array
	err   error
	done  bool
	rows  int64 // rows of the split before cur
}

func newSplitReader(ctx context.Context, src *Source, f *fileInfo, sp sources.Split, rg int, o sources.OpenOptions, leaves []int, schema *arrow.Schema) *splitReader {
	r := &splitReader{ctx: ctx, src: src, file: f, split: sp, rg: rg, mem: o.Mem, leaves: leaves, schema: schema, recordBytes: o.RecordBytes}
	if r.mem == nil {
		r.mem = memory.DefaultAllocator
	}
	if len(o.KeepDictionaries) > 0 {
		r.keepDict = make(map[string]bool, len(o.KeepDictionaries))
		for _, c := range o.KeepDictionaries {
			r.keepDict[c] = true
		}
	}
	r.refs.Store(1)
	return r
}

// Schema returns the schema of the records, known before the first Next.
func (r *splitReader) Schema() *arrow.Schema { return r.schema }

// Record returns the current record, valid until the next call to Next or
// Release. The caller retains it to keep it longer.
func (r *splitReader) Record() arrow.Record { return r.cur }

// RecordBatch is Record (array.RecordReader).
func (r *splitReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Err returns the error that ended the reading, or nil at the end of the
// row group.
func (r *splitReader) Err() error { return r.err }

// Next moves to the next record of the row group.
func (r *splitReader) Next() bool {
	r.cur = nil
	r.dropOwn()
	if r.done {
		return false
	}
	if err := r.ctx.Err(); err != nil {
		return r.fail(r.splitError("read", err))
	}
	ok, err := r.step()
	if err != nil {
		return r.fail(err)
	}
	if !ok {
		r.finish()
		return false
	}
	rec := r.rr.Record()
	cols := rec.Columns()
	base := r.rows
	r.rows += rec.NumRows()
	var expanded []arrow.Array
	for i, c := range cols {
		d, ok := c.(*array.Dictionary)
		want := r.schema.Field(i).Type
		if !ok && arrow.TypeEqual(c.DataType(), want) {
			continue
		}
		name := rec.Schema().Field(i).Name
		var out arrow.Array
		var err error
		if !ok {
			// INT96 and legacy lists (reshape.go).
			out, err = reshape(c, want, r.mem, func(row int) int64 { return base + int64(row) })
		} else if r.keepDict[name] && d.DataType().(*arrow.DictionaryType).ValueType.ID() == arrow.STRING {
			if err = checkIndices(d); err == nil {
				out = r.shareDictionary(i, d)
			}
		} else {
			out, err = expandDictionary(d, r.mem)
		}
		if err != nil {
			if expanded != nil {
				releaseExpanded(expanded, cols)
			}
			var bad *sources.ValueError
			if errors.As(err, &bad) {
				bad.Column = name
				return r.fail(r.splitError("read", err))
			}
			return r.fail(r.splitError("read", &columnError{column: name, err: err}))
		}
		if out == c {
			continue
		}
		if expanded == nil {
			expanded = slices.Clone(cols)
		}
		expanded[i] = out
	}
	if expanded == nil {
		r.cur = rec
		return true
	}
	r.own = array.NewRecord(recordSchema(r.schema, expanded), expanded, rec.NumRows())
	releaseExpanded(expanded, cols)
	r.cur = r.own
	return true
}

// shareDictionary returns d, or d's indices over the dictionary an earlier
// record of the split had for column i when the two are equal: pqarrow
// hands out a copy of the column chunk's dictionary with every record, and
// one copy for the whole row group keeps the inserts' lookups in cache.
func (r *splitReader) shareDictionary(i int, d *array.Dictionary) arrow.Array {
	if r.dicts == nil {
		r.dicts = map[int]arrow.Array{}
	}
	prev := r.dicts[i]
	if prev != nil && prev.Len() == d.Dictionary().Len() && array.Equal(prev, d.Dictionary()) {
		return array.NewDictionaryArray(d.DataType(), d.Indices(), prev)
	}
	if prev != nil {
		prev.Release()
	}
	d.Dictionary().Retain()
	r.dicts[i] = d.Dictionary()
	return d
}

// releaseExpanded releases the arrays of expanded that are not cols'.
func releaseExpanded(expanded, cols []arrow.Array) {
	for i, a := range expanded {
		if a != cols[i] {
			a.Release()
		}
	}
}

// dropOwn releases the record Next built from expanded dictionaries.
func (r *splitReader) dropOwn() {
	if r.own != nil {
		r.own.Release()
		r.own = nil
	}
}

// step opens the file if needed and advances the column readers. A decoder
// panic on a corrupt file becomes an error (with Source.Parallel,
// parallelReader does the same on its goroutines).
func (r *splitReader) step() (ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			ok, err = false, r.decodeError(fmt.Errorf("corrupt data: %v", p))
		}
	}()
	if r.rr == nil {
		if err := r.open(); err != nil {
			return false, err
		}
	}
	if r.rr.Next() {
		return true, nil
	}
	if err := r.rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return false, r.decodeError(err)
	}
	return false, nil
}

// open opens the file and builds the column readers of the row group.
func (r *splitReader) open() error {
	if err := r.checkPages(); err != nil {
		return err
	}
	rp := readerProperties()
	rp.MaxCompressedPageSize, rp.MaxUncompressedPageSize = r.src.pageLimits()
	pf, err := file.OpenParquetFile(r.file.path, false,
		file.WithReadProps(rp), file.WithMetadata(r.file.meta))
	if err != nil {
		return r.splitError("open", err)
	}
	r.pf = pf
	// Source.Parallel is served by parallelReader, which recovers decoder
	// panics; pqarrow's parallel mode would not.
	// Top-level string columns whose pages are all dictionary-encoded are
	// read as dictionaries and expanded in Next (dict.go); the records still
	// hold plain strings.
	rg := r.file.meta.RowGroup(r.rg)
	props := pqarrow.ArrowReadProperties{BatchSize: recordRows(rg, r.leaves, r.src.batchSize(), r.recordBytes)}
	keepDict := map[int]bool{}
	for _, leaf := range r.leaves {
		col := r.file.meta.Schema.Column(leaf)
		if col.PhysicalType() != parquet.Types.ByteArray || len(col.ColumnPath()) != 1 {
			continue
		}
		if cc, err := rg.ColumnChunk(leaf); err == nil && dictOnly(cc) {
			props.SetReadDict(leaf, true)
			keepDict[leaf] = true
		}
	}
	fr, err := pqarrow.NewFileReader(pf, props, r.mem)
	if err != nil {
		return r.splitError("open", fmt.Errorf("map schema to arrow: %w", err))
	}
	normalizeManifest(fr.Manifest, r.file.meta.Schema, keepDict, normalizeOptions{reading: true, int96Unit: r.src.int96Unit()})
	if r.src.Parallel && r.schema.NumFields() > 1 {
		p := &parallelReader{}
		for _, f := range r.schema.Fields() {
			leaves := appendLeaves(nil, &r.file.fields[r.file.index[f.Name]])
			rr, err := fr.GetRecordReader(r.ctx, leaves, []int{r.rg})
			if err != nil {
				p.Release()
				return r.splitError("open", &columnError{column: f.Name, err: r.src.explainPageLimit(err)})
			}
			p.parts, p.names = append(p.parts, rr), append(p.names, f.Name)
		}
		r.rr = p
		return nil
	}
	rr, err := fr.GetRecordReader(r.ctx, r.leaves, []int{r.rg})
	if err != nil {
		return r.splitError("open", r.src.explainPageLimit(err))
	}
	r.rr = rr
	return nil
}

// splitError is err from doing op on the reader's split, naming the split.
func (r *splitReader) splitError(op string, err error) error {
	return &sources.SplitError{Op: op, Split: r.split, Err: err}
}

func (r *splitReader) fail(err error) bool {
	r.err = err
	r.finish()
	return false
}

// finish releases the column readers and closes the file.
func (r *splitReader) finish() {
	r.done = true
	r.cur = nil
	r.dropOwn()
	for _, d := range r.dicts {
		d.Release()
	}
	r.dicts = nil
	if r.rr != nil {
		r.rr.Release()
		r.rr = nil
	}
	if r.pf != nil {
		if err := r.pf.Close(); err != nil && r.err == nil {
			r.err = r.splitError("close", err)
		}
		r.pf = nil
	}
}

// Retain adds a reference to the reader.
func (r *splitReader) Retain() { r.refs.Add(1) }

// Release drops a reference; the last one frees the current record and
// closes the file.
func (r *splitReader) Release() {
	if r.refs.Add(-1) == 0 {
		r.finish()
	}
}

// recordSchema is schema with the types of cols, which differ from it only
// where a column stays a dictionary.
func recordSchema(schema *arrow.Schema, cols []arrow.Array) *arrow.Schema {
	fields := schema.Fields()
	changed := false
	for i, c := range cols {
		if !arrow.TypeEqual(fields[i].Type, c.DataType()) {
			fields[i].Type = c.DataType()
			changed = true
		}
	}
	if !changed {
		return schema
	}
	md := schema.Metadata()
	return arrow.NewSchema(fields, &md)
}
