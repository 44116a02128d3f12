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
	"github.com/apache/arrow-go/v18/arrow/memory"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Split is one independently readable unit of a source: for Parquet, one row
// group of one file.
type Split struct {
	// Path is the file or object the split reads, as the user would name it.
	Path string
	// Index is the split's number within Path (the row group for Parquet).
	Index int
	// Rows is the number of rows in the split, or -1 when unknown.
	Rows int64
	// Bytes is the uncompressed size of the split, or -1 when unknown.
	Bytes int64
}

// String names the split in messages: "path, row group N".
func (s Split) String() string { return fmt.Sprintf("%s, row group %d", s.Path, s.Index) }

// Source lists independent splits and streams each as Arrow records.
type Source interface {
	// Schema returns the Arrow schema of the rows the source yields, read
	// from metadata only. Called once per run, before Splits. Errors mean the
	// source cannot be read at all (no files, unreadable metadata,
	// files whose schemas disagree).
	Schema(ctx context.Context) (*arrow.Schema, error)
	// Splits lists the work in a deterministic order (the same input gives
	// the same list). No row data is read. Called once per run.
	Splits(ctx context.Context) ([]Split, error)
	// Open returns a reader over one split that yields only the named
	// columns, in the order given. It does not start reading before the
	// first Next. The caller releases every record it takes and the reader
	// itself. Records come in the split's row order, so the caller can
	// number rows. Errors while reading come from the reader's Err and name
	// the split.
	Open(ctx context.Context, s Split, columns []string) (array.RecordReader, error)
	// Close releases what the source holds. Called once, after every reader
	// it returned was released.
	Close() error
}

// Decoder decodes the connector's part of the job file into v strictly:
// unknown keys are errors naming the key and its line.
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

// AllocatorUser is a Source that allocates the Arrow arrays it yields from
// an allocator its user chooses. The session calls UseAllocator once, before
// Splits, with the allocator its records are released to.
type AllocatorUser interface {
	UseAllocator(mem memory.Allocator)
}

// DictionaryKeeper is a Source that can deliver string columns as Arrow
// dictionaries (int32 indices into a String dictionary) instead of plain
// String arrays, where its data is dictionary-encoded anyway. The session
// calls KeepDictionaries once, before the first Open, with the columns its plan
// passes through unconverted (writer.Plan.DictionaryColumns). Records may
// then carry any of those columns as such a dictionary, record by record,
// every index of a non-NULL row pointing into the dictionary (the source
// checks it); Schema still states their value type.
type DictionaryKeeper interface {
	KeepDictionaries(columns []string)
}
