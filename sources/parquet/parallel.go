package parquet

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// rowGroupReader is what the split reader needs of a record reader over
// one row group: pqarrow's, or parallelReader.
type rowGroupReader interface {
	Next() bool
	Err() error
	Record() arrow.Record
	Release()
}

// parallelReader decodes the columns of one row group on one goroutine
// each (Source.Parallel). pqarrow's own parallel mode decodes on
// goroutines that do not recover, so a corrupt page would crash the
// process; here every column has a record reader of its own, each Next
// runs them on goroutines that turn panics into errors, and the records
// are joined. The readers yield the same number of rows per record: each
// reads the batch size, or what is left of the row group.
type parallelReader struct {
	parts  []pqarrow.RecordReader // one per top-level column
	names  []string               // of the columns of parts
	schema *arrow.Schema          // of the joined records; nil until the first
	cur    arrow.Record
	err    error
}

// Next decodes the next batch of every column.
func (p *parallelReader) Next() bool {
	if p.cur != nil {
		p.cur.Release()
		p.cur = nil
	}
	if p.err != nil {
		return false
	}
	ok := make([]bool, len(p.parts))
	errs := make([]error, len(p.parts))
	var wg sync.WaitGroup
	for i, rr := range p.parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					errs[i] = &columnError{column: p.names[i], err: fmt.Errorf("corrupt data: %v", r)}
				}
			}()
			if ok[i] = rr.Next(); !ok[i] {
				if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
					errs[i] = &columnError{column: p.names[i], err: err}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			p.err = err // the first column's; the others often fail alike
			return false
		}
	}
	n := 0
	for _, o := range ok {
		if o {
			n++
		}
	}
	if n == 0 {
		return false
	}
	if n < len(p.parts) {
		p.err = errors.New("corrupt data: some columns end before the others")
		return false
	}
	cols := make([]arrow.Array, 0, len(p.parts))
	fields := make([]arrow.Field, 0, len(p.parts))
	rows := p.parts[0].RecordBatch().NumRows()
	for _, rr := range p.parts {
		rec := rr.RecordBatch()
		if rec.NumRows() != rows {
			p.err = fmt.Errorf("corrupt data: columns disagree on the rows of a batch (%d and %d)", rows, rec.NumRows())
			return false
		}
		cols = append(cols, rec.Columns()...)
		if p.schema == nil {
			fields = append(fields, rec.Schema().Fields()...)
		}
	}
	// Each column's reader keeps one schema for all its records.
	if p.schema == nil {
		p.schema = arrow.NewSchema(fields, nil)
	}
	p.cur = array.NewRecordBatch(p.schema, cols, rows)
	return true
}

// Err returns the first error of a column, or nil at the end.
func (p *parallelReader) Err() error { return p.err }

// Record returns the joined record, valid until the next Next or Release.
func (p *parallelReader) Record() arrow.Record { return p.cur }

// Release frees the current record and the column readers.
func (p *parallelReader) Release() {
	if p.cur != nil {
		p.cur.Release()
		p.cur = nil
	}
	for _, rr := range p.parts {
		rr.Release()
	}
	p.parts = nil
}
