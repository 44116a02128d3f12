package parquet

import (
	"encoding/binary"
	"fmt"
	"github.com/chload/chload/sources"
	"math"
	"math/bits"
	"reflect"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// INT96 timestamps (Impala, Hive and Spark wrote them) are 8 bytes of
// nanoseconds within the day and 4 bytes of Julian day number, both little
// endian. pqarrow decodes them only into Timestamp(ns), whose range is
// 1677-09-21 to 2262-04-11, and fails the whole column chunk on any value
// outside it, naming neither the row nor the column. ArrowReadProperties has
// no unit option (Arrow C++'s coerce_int96_timestamp_unit has no Go
// counterpart in v18.8.0).
//
// So the split reader asks pqarrow for INT96 leaves as int96Raw, an
// extension type over Int64: pqarrow then hands over the column's value
// buffer as it is (12 bytes a slot, nulls included), and decodeInt96 turns
// it into a Timestamp of the unit Config.INT96TimestampUnit names, refusing,
// with the row and the fix, a value the unit cannot hold exactly.

const (
	julianUnixEpoch = 2_440_588 // Julian day number of 1970-01-01
	nanosPerDay     = 86_400 * int64(time.Second)
	int96Size       = 12
)

// int96Raw is the extension type the split reader reads INT96 leaves as.
// Arrays of it are only seen inside this package.
type int96Raw struct {
	arrow.ExtensionBase
}

func newInt96Raw() *int96Raw {
	return &int96Raw{ExtensionBase: arrow.ExtensionBase{Storage: arrow.PrimitiveTypes.Int64}}
}

// int96RawArray is the array type of int96Raw.
type int96RawArray struct {
	array.ExtensionArrayBase
}

// ArrayType is part of arrow.ExtensionType.
func (*int96Raw) ArrayType() reflect.Type { return reflect.TypeOf(int96RawArray{}) }

// ExtensionName is part of arrow.ExtensionType.
func (*int96Raw) ExtensionName() string { return "chload.parquet.int96_raw" }

// Serialize is part of arrow.ExtensionType.
func (*int96Raw) Serialize() string { return "" }

// Deserialize is part of arrow.ExtensionType.
func (*int96Raw) Deserialize(arrow.DataType, string) (arrow.ExtensionType, error) {
	return newInt96Raw(), nil
}

// ExtensionEquals is part of arrow.ExtensionType.
func (*int96Raw) ExtensionEquals(other arrow.ExtensionType) bool {
	_, ok := other.(*int96Raw)
	return ok
}

// int96Units are the accepted values of Config.INT96TimestampUnit.
var int96Units = map[string]arrow.TimeUnit{"": arrow.Nanosecond, "ns": arrow.Nanosecond, "us": arrow.Microsecond, "ms": arrow.Millisecond, "s": arrow.Second}

// int96Type is the Arrow type INT96 timestamps come out as.
func int96Type(unit arrow.TimeUnit) arrow.DataType {
	return &arrow.TimestampType{Unit: unit, TimeZone: "UTC"}
}

// int96Range describes the instants a unit holds, for messages.
func int96Range(unit arrow.TimeUnit) string {
	if unit == arrow.Nanosecond {
		return "1677-09-21 00:12:43.145224192 to 2262-04-11 23:47:16.854775807"
	}
	return "about 290,000 years either side of 1970"
}

// int96Problem says why one INT96 value cannot be read in a unit.
type int96Problem int

const (
	int96OK int96Problem = iota
	int96Invalid
	int96Inexact
	int96OutOfRange
)

// int96ToUnit converts one INT96 value into a count of unit since the epoch.
func int96ToUnit(v []byte, unit arrow.TimeUnit) (int64, int96Problem) {
	nanos := binary.LittleEndian.Uint64(v[:8])
	jd := binary.LittleEndian.Uint32(v[8:12])
	if nanos >= uint64(nanosPerDay) {
		return 0, int96Invalid
	}
	per := unitsPerSecond(unit)
	sub := uint64(int64(time.Second) / per)
	if nanos%sub != 0 {
		return 0, int96Inexact
	}
	q := nanos / sub                    // units into the day, below dayUnits
	dayUnits := uint64(86_400 * per)    // units in a day
	days := int64(jd) - julianUnixEpoch // |days| < 2^32
	if days >= 0 {
		hi, lo := bits.Mul64(uint64(days), dayUnits)
		if hi != 0 || lo > math.MaxInt64-q {
			return 0, int96OutOfRange
		}
		return int64(lo + q), int96OK
	}
	hi, lo := bits.Mul64(uint64(-days), dayUnits)
	if hi != 0 || lo-q > 1<<63 { // lo >= dayUnits > q
		return 0, int96OutOfRange
	}
	return -int64(lo-q-1) - 1, int96OK // -(lo-q) without overflow at 1<<63
}

func unitsPerSecond(unit arrow.TimeUnit) int64 {
	return int64(time.Second / unit.Multiplier())
}

// formatInt96 prints an INT96 value for a message.
func formatInt96(v []byte) string {
	nanos := binary.LittleEndian.Uint64(v[:8])
	jd := binary.LittleEndian.Uint32(v[8:12])
	if nanos >= uint64(nanosPerDay) {
		return fmt.Sprintf("(Julian day %d, %d ns into the day)", jd, nanos)
	}
	days := int64(jd) - julianUnixEpoch
	t := time.Unix(days*86_400, int64(nanos)).UTC()
	return t.Format("2006-01-02 15:04:05.999999999")
}

// decodeInt96 turns an int96Raw array into a Timestamp array of type dst.
// rowOf maps an index of a to its row in the split, for messages.
func decodeInt96(a arrow.Array, dst *arrow.TimestampType, mem memory.Allocator, rowOf func(int) int64) (arrow.Array, error) {
	d := a.Data()
	n, off := d.Len(), d.Offset()
	raw := d.Buffers()[1]
	if n > 0 && (raw == nil || raw.Len() < (off+n)*int96Size) {
		return nil, fmt.Errorf("INT96 column holds %d bytes for %d values", raw.Len(), off+n)
	}
	out := memory.NewResizableBuffer(mem)
	defer out.Release()
	out.Resize(n * arrow.Int64SizeBytes)
	vals := arrow.Int64Traits.CastFromBytes(out.Bytes())
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			vals[i] = 0
			continue
		}
		v := raw.Bytes()[(off+i)*int96Size : (off+i+1)*int96Size]
		t, problem := int96ToUnit(v, dst.Unit)
		if problem == int96OK {
			vals[i] = t
			continue
		}
		row := rowOf(i)
		bad := &sources.ValueError{Row: row, Value: "INT96 " + formatInt96(v)}
		switch problem {
		case int96Invalid:
			bad.Reason, bad.Fix = "is not a timestamp: a day has fewer nanoseconds", "fix the file"
		case int96Inexact:
			bad.Reason = fmt.Sprintf("has digits finer than the source's int96_timestamp_unit %q", dst.Unit.String())
			bad.Fix = "set int96_timestamp_unit to a finer unit (ns keeps every digit)"
		default:
			bad.Reason = fmt.Sprintf("is outside the range of %s timestamps (%s)", dst.Unit.String(), int96Range(dst.Unit))
			bad.Fix = "the value is beyond what any ClickHouse date type holds; fix the file"
			if dst.Unit == arrow.Nanosecond {
				bad.Fix = `set the source's int96_timestamp_unit to "us" (or "ms", "s") to read it`
			}
		}
		return nil, bad
	}
	var valid *memory.Buffer
	if d.NullN() > 0 {
		valid = memory.NewResizableBuffer(mem)
		defer valid.Release()
		valid.Resize(int(bitutil.BytesForBits(int64(n))))
		bitutil.CopyBitmap(d.Buffers()[0].Bytes(), off, n, valid.Bytes(), 0)
	}
	data := array.NewData(dst, n, []*memory.Buffer{valid, out}, nil, d.NullN(), 0)
	defer data.Release()
	return array.MakeFromData(data), nil
}
