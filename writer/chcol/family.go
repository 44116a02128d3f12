package chcol

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// A ClickHouse type family is everything chload knows about one kind of
// column type, held in one file of this package that registers it: how its
// name and parameters parse and print, its canonical Arrow type, which source
// Arrow types convert into it and how, how its canonical arrays are encoded in
// the Native format and handed to clickhouse-go, and (through
// transform/hashinput) how ClickHouse's hash functions read it. The generic
// code (ParseType, Type.String, Type.Arrow, NewConverter, AppendNative,
// Append) looks the family up by Type.Base and dispatches; it names no type.
//
// Ordering: the writer's sort (writer/batch/sort.go) computes keys from the
// canonical Arrow arrays, and their order is ClickHouse's for integers, Enum
// codes, dates and times, floats (NaN last, -0 equal to 0), decimals (by
// value at the column's scale), String and FixedString (memcmp), IPv4 (its
// UInt32) and Tuples (element by element). A family whose canonical array
// sorts differently sets orderKey (see Type.OrderKey): UUID, which
// ClickHouse orders by its second half first.
//
// To add a type: write one file with a family literal registered in the
// file's init, and its tests.

// family is one ClickHouse type family. Fields marked optional may be nil.
type family struct {
	// names are the type names the family parses, as the server prints them.
	names []string
	// parse reads what follows name (parameters, if any) and returns the
	// type; the parser stands right after the name. Optional: without it
	// the type has no parameters and its Base is name.
	parse func(p *typeParser, name string, depth int) (*Type, error)
	// params writes the parameters after the Base name, as ClickHouse
	// prints them ("(18, 4)"). Optional: none.
	params func(t *Type, b *strings.Builder)
	// composite marks Array, Map and Tuple: they cannot be Nullable nor
	// LowCardinality, and their NULLs are refused with their own advice.
	composite bool
	// nullFix is the advice when a NULL meets a non-Nullable composite
	// column. Optional: "make the column Nullable(T) ...".
	nullFix func(t *Type) string
	// arrow returns the canonical Arrow type (see the package comment);
	// an error for a member chload cannot carry yet.
	arrow func(t *Type, serverTZ string) (arrow.DataType, error)
	// kernel returns the conversion of c.src into c.target, or
	// errNoConversion when no value of c.src could ever load.
	kernel func(c *Converter, serverTZ string) (kernelFunc, error)
	// native reports whether encode takes t (below the top level, without
	// its Nullable flag). Optional: encode takes every member; nil encode
	// means none.
	native func(t *Type) bool
	// lowCardinality reports whether LowCardinality(T) of this family is
	// encoded in the Native format; its members then need defaultWidth.
	lowCardinality bool
	// encode appends the rows refs of canonical chunks of t to dst in the
	// Native format of t without its Nullable and LowCardinality wrappers
	// (null rows hold zero values). Optional: no Native encoder.
	encode func(dst []byte, t *Type, chunks []arrow.Array, refs RowRefs) []byte
	// defaultWidth is the number of zero bytes that encode the type's
	// default value in the Native format (1 for String's empty length).
	// Needed when lowCardinality is set.
	defaultWidth func(t *Type) int
	// defaultFill is the little-endian bytes of the default value of a
	// fixed-width canonical array, stored for NULLs by NullAsDefault.
	// Optional: zero bytes.
	defaultFill func(t *Type, width int) []byte
	// goValues builds the Go slice a clickhouse-go column of t takes from
	// canonical chunks (rows perm, nil for all; valid per row, nil when
	// none is NULL). Optional: Append refuses the type.
	goValues func(t *Type, chunks []arrow.Array, perm []uint32, valid []bool) (any, error)
	// orderKey returns how the server orders values of t when sorting the
	// canonical array by its Arrow type would order them differently.
	// Optional: the canonical array's order is the server's.
	orderKey func(t *Type) *OrderKey
}

var (
	// familyByName maps each parsed type name to its family.
	familyByName = map[string]*family{}
	// familyByBase maps Type.Base to its family.
	familyByBase = map[string]*family{}
)

// register adds a family under each of its names; bases are the Base
// values its types carry when they differ from its names. A name taken twice
// is a programming error.
func register(f *family, bases ...string) {
	for _, n := range f.names {
		if familyByName[n] != nil {
			panic("chcol: type name " + n + " registered twice")
		}
		familyByName[n] = f
		familyByBase[n] = f
	}
	for _, b := range bases {
		familyByBase[b] = f
	}
}

// family returns the family of t, or nil for a Type not made by ParseType.
func (t *Type) family() *family { return familyByBase[t.Base] }

// unsupported is the error for a Type whose Base no family knows.
func unsupported(t *Type) error {
	return fmt.Errorf("column type %s is not supported yet", t)
}

// fixedArrow returns an arrow mapping that gives dt for every member.
func fixedArrow(dt arrow.DataType) func(*Type, string) (arrow.DataType, error) {
	return func(*Type, string) (arrow.DataType, error) { return dt, nil }
}

// zeroWidth returns a defaultWidth of n bytes.
func zeroWidth(n int) func(*Type) int { return func(*Type) int { return n } }
