package jobs

import (
	"fmt"

	"github.com/chload/chload/sources"
	"github.com/chload/chload/writer/chcol"
)

// DataError is a source value that cannot be written: it names the split
// (which names its file, where it has one), the row within the split (from
// 0), the column, the value and the fix.
type DataError struct {
	// Split is the split the value was read from.
	Split sources.Split
	// Row counts from 0 within the split.
	Row int64
	// Column is the target column.
	Column string
	// Err says what is wrong with the value and how to fix it.
	Err *chcol.ValueError
}

func (e *DataError) Error() string {
	return fmt.Sprintf("bad value in %s, row %d, column %s: %v", e.Split, e.Row, e.Column, e.Err)
}

func (e *DataError) Unwrap() error { return e.Err }

// SourceError is a source that cannot be read: missing files, unreadable
// metadata or a corrupt split.
type SourceError struct {
	Err error
}

func (e *SourceError) Error() string { return e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// RowCountError is a split that delivered another number of rows than it
// promised (sources.Split.Rows, from the source's metadata: a Parquet row
// group's num_rows). It is always wrapped in a *SourceError: the source
// cannot be trusted, whatever it delivered.
type RowCountError struct {
	// Split is the split, as the source names it.
	Split string
	// Promised is what the split's metadata says; Delivered is what was
	// read, up to the point the mismatch was seen (for too many rows, the
	// count that first went past Promised).
	Promised, Delivered int64
}

func (e *RowCountError) Error() string {
	if e.Delivered > e.Promised {
		return fmt.Sprintf("read %s: the source delivered more rows than the split's metadata promises (%d so far, %d promised): the file is corrupt or changed while it was read; check it or replace it, then rerun",
			e.Split, e.Delivered, e.Promised)
	}
	return fmt.Sprintf("read %s: the source delivered %d rows but the split's metadata promises %d: the file is corrupt or changed while it was read; check it or replace it, then rerun",
		e.Split, e.Delivered, e.Promised)
}
