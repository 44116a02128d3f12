// Package hashinput says how ClickHouse's hash functions read a column of a
// given ClickHouse type, for the types whose canonical Arrow array alone does
// not say it (a Date32 and a Date share Arrow's Date32; a DateTime64(0) and a
// DateTime share a Timestamp in seconds). The ClickHouse type families
// (writer/chcol) register a Reader for their type names; transform's hash
// functions look one up by the ClickHouse type an argument column carries in
// its field metadata, and otherwise read the column by its Arrow type.
//
// It is a leaf package so that the families can provide readers and
// transform consume them without either importing the other. The readers
// exist only in a binary that links writer/chcol (every chload binary does,
// through the writer); a column that names its ClickHouse type in a binary
// without them is refused (Ready), never hashed by its Arrow type alone.
package hashinput

import (
	"math"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// Input is one argument column as ClickHouse's FunctionsHashing reads it:
// either as fixed-width numbers (Pod) whose little-endian bytes or integer
// value are hashed, or as a byte string per row (Value).
type Input struct {
	// Arr is the column read.
	Arr arrow.Array
	// Type is the ClickHouse type name, for messages.
	Type string

	// Pod marks fixed-width numbers: Raw holds each value's bits
	// zero-extended from Width bytes; Signed and Float tell how ClickHouse
	// reads them.
	Pod    bool
	Raw    []uint64
	Width  int
	Signed bool
	Float  bool

	// Value returns row i's bytes (read only) when Pod is false.
	Value func(i int) []byte
}

// Reader reads a column a of one ClickHouse type; typ is the type as the
// column's metadata names it (for example "DateTime64(3, 'UTC')"). An error
// says why ClickHouse's hash functions cannot take the type. No inputs and no
// error mean: read the column by its Arrow type (for an array that is not of
// the type's canonical Arrow type).
type Reader func(a arrow.Array, typ string) ([]Input, error)

var (
	mu      sync.RWMutex
	readers = map[string]Reader{}
)

// Register makes r the reader of the ClickHouse type name (without
// parameters, as "DateTime64"). Families call it from init; a name
// registered twice is a programming error and panics.
func Register(name string, r Reader) {
	mu.Lock()
	defer mu.Unlock()
	if readers[name] != nil {
		panic("hashinput: reader for " + name + " registered twice")
	}
	readers[name] = r
}

// Ready reports whether any family registered its readers, that is whether
// writer/chcol is linked in.
func Ready() bool {
	mu.RLock()
	defer mu.RUnlock()
	return len(readers) > 0
}

// Lookup returns the reader registered for the ClickHouse type typ (its name
// before any parameters), or nil when the column is read by its Arrow type.
func Lookup(typ string) Reader {
	name, _, _ := strings.Cut(typ, "(")
	mu.RLock()
	defer mu.RUnlock()
	return readers[strings.TrimSpace(name)]
}

// Ints reads integer values of width bytes, zero-extending their bits, as
// ClickHouse type name.
func Ints[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64](a arrow.Array, name string, vals []T, width int, signed bool) []Input {
	raw := make([]uint64, len(vals))
	mask := uint64(math.MaxUint64) >> (64 - 8*width)
	for i, v := range vals {
		raw[i] = uint64(v) & mask
	}
	return []Input{{Arr: a, Type: name, Pod: true, Raw: raw, Width: width, Signed: signed}}
}

// FixedRows returns the rows of a buffer of w-byte values, for Value.
func FixedRows(buf []byte, w int) func(i int) []byte {
	return func(i int) []byte { return buf[w*i : w*i+w] }
}
