// Package sources defines the contract every connector implements and the
// registry through which jobs find a connector by its name.
//
// A source enumerates its work without reading data (Splits), then streams
// each split as Arrow records (Open). Splits are independent: the caller may
// open several at once, from different goroutines.
package sources

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Split is one independently readable unit of a source: for Parquet, one row
// group of one file; for a database, a key range; for a search index, a
// slice.
//
// Size contract: the caller holds whole splits in memory while it reads
// ahead of the one being written (up to write.readers splits, within a
// byte budget; a split larger than the budget is read with nothing else
// buffered ahead of it). A connector cuts its work into splits of some
// tens of MiB of Arrow data where it can, so that several fit, and states
// Rows and Bytes when it knows them.
type Split struct {
	// ID identifies the split among the source's splits and across runs: a
	// deterministic function of where the split's data lies (a file and a
	// row group, a table and a key range; never the order of listing, a
	// clock or a random number), so two sources built from the same
	// configuration over the same data give their splits the same IDs, and
	// two splits of one source never share one. Whether the data there
	// changed is the Fingerprint's to tell. Resuming a run and the rand()
	// sharding seed rely on it.
	ID string
	// Name names the split in messages, in the user's words: "data/a.parquet,
	// row group 3", "id in [1000, 2000)", "slice 2 of 8". String returns
	// it. Only a file-based connector speaks of files and row groups.
	Name string
	// Payload is what the connector needs to read the split (a file and a
	// row group, a key range). The caller does not look inside; it hands
	// the split back to Open unchanged.
	Payload any
	// Fingerprint describes the version of the data the split reads.
	Fingerprint Fingerprint
	// Rows is the number of rows the split promises, or -1 when unknown. A
	// split that delivers another number fails the run.
	Rows int64
	// Bytes is the size of the split's data once decoded (uncompressed), or
	// -1 when unknown. It is an estimate that sizes read-ahead, not checked.
	Bytes int64
}

// String names the split in messages: its Name, or its ID when it has none.
func (s Split) String() string {
	if s.Name != "" {
		return s.Name
	}
	return s.ID
}

// Fingerprint is what a connector knows about the version of a split's
// data: a file's size and modification time, an object's ETag, the row
// count its metadata states. A field the connector does not know stays
// zero. Two fingerprints of the same split ID that are not Equal mean the
// split's data changed between the two listings; equal ones mean the
// connector saw no change (it can only see what these fields show).
type Fingerprint struct {
	// Size is the size in bytes of the file or object the split is part of.
	Size int64 `json:"size,omitempty"`
	// ModTime is when the file or object was last modified.
	ModTime time.Time `json:"mod_time,omitzero"`
	// ETag is a version tag or content hash the store gives the data.
	ETag string `json:"etag,omitempty"`
	// Rows is the number of rows the split's metadata states.
	Rows int64 `json:"rows,omitempty"`
}

// Equal reports whether f and g describe the same version of the data.
func (f Fingerprint) Equal(g Fingerprint) bool {
	return f.Size == g.Size && f.ModTime.Equal(g.ModTime) && f.ETag == g.ETag && f.Rows == g.Rows
}

// OpenOptions say how Open reads a split.
type OpenOptions struct {
	// Columns are the top-level columns to read, in the order the records
	// hold them. Required: an unknown or repeated name is an error.
	Columns []string
	// Mem allocates the Arrow arrays the records hold; the caller releases
	// the records to it. Optional, defaults to memory.DefaultAllocator.
	Mem memory.Allocator
	// KeepDictionaries names columns of Columns the reader may deliver as
	// Arrow dictionaries (int32 indices into a String dictionary) instead of
	// plain String arrays, where its data is dictionary-encoded anyway. A
	// record may then carry any of them as such a dictionary, record by
	// record, every index of a non-NULL row pointing into the dictionary
	// (the reader checks it); Schema still states their value type. A
	// connector without dictionaries ignores it. Optional.
	KeepDictionaries []string
	// RecordBytes is roughly the most bytes one record should hold: a
	// reader that knows its rows' sizes yields fewer rows per record when
	// they are wide, so a caller's memory budget holds whatever the row
	// size. A connector that cannot tell ignores it. Optional, 0 for no
	// bound.
	RecordBytes int64
}

// Source lists independent splits and streams each as Arrow records.
type Source interface {
	// Schema returns the Arrow schema of the rows the source yields, read
	// from metadata only. Called once per run, before Splits. Errors mean the
	// source cannot be read at all (no files, unreadable metadata,
	// files whose schemas disagree).
	Schema(ctx context.Context) (*arrow.Schema, error)
	// Splits lists the work in a deterministic order (the same input gives
	// the same list), with IDs unique within the list. No row data is read.
	// Called once per run.
	Splits(ctx context.Context) ([]Split, error)
	// Open returns a reader over one split, which must come from Splits
	// (of this source or of another instance over the same data), that
	// yields only o.Columns, in that order. It does not start reading
	// before the first Next. The run calls it once per split, from several
	// goroutines at once; a split may be opened again. The caller releases
	// every record it takes and the reader itself, possibly before the
	// reader is drained; nothing the reader allocated from o.Mem stays
	// allocated then. Records come in the split's row order, so the caller
	// can number rows, and add up to Split.Rows when that is known.
	//
	// Errors from Open and from the reader's Err are *SplitError (or wrap
	// one), so they name the split once and the caller adds no name; a bad
	// value is reported as a *ValueError inside it. Once ctx is done, Next
	// returns false and Err wraps ctx's error.
	Open(ctx context.Context, s Split, o OpenOptions) (array.RecordReader, error)
	// Close releases what the source holds. Called once, after every reader
	// it returned was released.
	Close() error
}

// SplitError is an error opening or reading one split. It names the split
// once: "read data/a.parquet, row group 3: column x: ...".
type SplitError struct {
	// Op is what was being done: "open", "read" or "close".
	Op string
	// Split is the split that failed.
	Split Split
	// Err is what went wrong.
	Err error
}

func (e *SplitError) Error() string { return fmt.Sprintf("%s %s: %v", e.Op, e.Split, e.Err) }

// Unwrap returns Err.
func (e *SplitError) Unwrap() error { return e.Err }

// Decoder decodes the connector's part of the job file into v strictly:
// unknown keys are errors naming the key and its line. The job-level keys
// of the source section (type, ignore_extra_columns, null_as_default) are
// removed before: a connector's config does not declare them.
type Decoder func(v any) error

// Factory builds a source from its job-file section.
type Factory func(decode Decoder) (Source, error)

var (
	mu       sync.RWMutex
	registry = map[string]Factory{}
)

// Register makes a connector available under name. Connectors call it from
// an init function; registering a name twice panics.
func Register(name string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[name]; dup {
		panic("sources: connector registered twice: " + name)
	}
	registry[name] = f
}

// Names lists the registered connectors, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New builds the connector registered under name. An unknown name is an
// error that lists the known ones.
func New(name string, decode Decoder) (Source, error) {
	mu.RLock()
	f, ok := registry[name]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown source type %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return f(decode)
}
