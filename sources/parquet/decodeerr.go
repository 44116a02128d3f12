package parquet

import (
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// columnError is a decoding error of one top-level column.
type columnError struct {
	column string
	err    error
}

func (e *columnError) Error() string { return fmt.Sprintf("column %s: %v", e.column, e.err) }

func (e *columnError) Unwrap() error { return e.err }

// decodeError wraps an error of the row group's decoders for the user: it
// names the split, the setting to raise for a page over a cap, and the
// column that fails when the decoders did not say.
func (r *splitReader) decodeError(err error) error {
	var col *columnError
	if errors.As(err, &col) {
		return r.splitError("read", &columnError{column: col.column, err: withFix(r.src.explainPageLimit(col.err))})
	}
	if r.ctx.Err() != nil {
		return r.splitError("read", err)
	}
	err = withFix(r.src.explainPageLimit(err))
	if name := r.failingColumn(); name != "" {
		err = &columnError{column: name, err: err}
	}
	return r.splitError("read", err)
}

// withFix adds what to do to a decoder's error, which says only what
// failed; a page over a cap already names its setting.
func withFix(err error) error {
	var limit *pageLimitError
	if errors.As(err, &limit) {
		return err
	}
	return fmt.Errorf("%w; the data cannot be decoded: the file is damaged or written in a way this reader does not know; check it with another reader and load an intact copy", err)
}

// failingColumn reads the row group again one top-level column at a time
// and returns the first column that fails to decode, or "" when none does
// alone. It runs only after a failure, so a corrupt split costs a second
// read and a good one nothing.
func (r *splitReader) failingColumn() (name string) {
	defer func() {
		if recover() != nil {
			name = "" // runs while a decoder panic is handled: must not panic itself
		}
	}()
	if r.pf == nil {
		return "" // the file did not open: no column is to blame
	}
	if r.schema.NumFields() == 1 {
		return r.schema.Field(0).Name
	}
	fr, err := pqarrow.NewFileReader(r.pf, pqarrow.ArrowReadProperties{BatchSize: r.src.batchSize()}, r.mem)
	if err != nil {
		return ""
	}
	normalizeManifest(fr.Manifest, r.file.meta.Schema, nil, normalizeOptions{reading: true, int96Unit: r.src.int96Unit()})
	for _, f := range r.schema.Fields() {
		if r.columnFails(fr, f.Name) {
			return f.Name
		}
	}
	return ""
}

// columnFails reports whether decoding the named column of the split
// fails, panics, or yields other than the row group's rows.
func (r *splitReader) columnFails(fr *pqarrow.FileReader, name string) (failed bool) {
	defer func() {
		if recover() != nil {
			failed = true
		}
	}()
	leaves := appendLeaves(nil, &r.file.fields[r.file.index[name]])
	rr, err := fr.GetRecordReader(r.ctx, leaves, []int{r.rg})
	if err != nil {
		return true
	}
	defer rr.Release()
	var rows int64
	for rr.Next() {
		rows += rr.RecordBatch().NumRows()
	}
	err = rr.Err()
	return err != nil && !errors.Is(err, io.EOF) || rows != r.split.Rows
}
