package transform

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/chload/chload/internal/arrowbuf"
)

// ClickHouseTypeKey is the Arrow field metadata key that names a column's
// ClickHouse type, e.g. "Date32" or "DateTime64(3, 'UTC')". Hash functions
// read it for column arguments whose Arrow type stands for several
// ClickHouse types that hash differently: an Arrow Date32 column is hashed as
// a ClickHouse Date (UInt16 day number) unless the key says Date32, and an
// Arrow Timestamp in seconds as a DateTime (UInt32) unless the key says
// DateTime64. Optional; without it those defaults apply.
const ClickHouseTypeKey = "clickhouse.type"

// hashInput is one argument of a hash function, read the way ClickHouse's
// FunctionsHashing reads its column: either as a fixed-width number (pod)
// whose little-endian bytes or integer value are hashed, or as a byte string
// per row.
type hashInput struct {
	arr    arrow.Array
	chType string // ClickHouse type name, for messages

	// Fixed-width numbers: raw holds each value's bits zero-extended from
	// width bytes; signed and float tell how ClickHouse reads them.
	pod    bool
	raw    []uint64
	width  int
	signed bool
	float  bool

	// Byte strings: value returns row i's bytes (read only).
	value func(i int) []byte
}

// hashInputs reads one argument column, flattening a tuple (Arrow struct)
// into its elements as ClickHouse does. hint is the column's ClickHouse type
// from ClickHouseTypeKey, or "".
func hashInputs(a arrow.Array, hint string) ([]hashInput, error) {
	switch a := a.(type) {
	case *array.Struct:
		var out []hashInput
		for i := 0; i < a.NumField(); i++ {
			f := a.Field(i)
			if f.NullN() > 0 {
				return nil, fmt.Errorf("tuple element %d has NULL values, which are not supported in hashes", i+1)
			}
			in, err := hashInputs(f, "")
			if err != nil {
				return nil, err
			}
			out = append(out, in...)
		}
		return out, nil
	case *array.Int8:
		return podInput(a, "Int8", a.Int8Values(), 1, true), nil
	case *array.Int16:
		return podInput(a, "Int16", a.Int16Values(), 2, true), nil
	case *array.Int32:
		return podInput(a, "Int32", a.Int32Values(), 4, true), nil
	case *array.Int64:
		return podInput(a, "Int64", a.Int64Values(), 8, true), nil
	case *array.Uint8:
		return podInput(a, "UInt8", a.Uint8Values(), 1, false), nil
	case *array.Uint16:
		return podInput(a, "UInt16", a.Uint16Values(), 2, false), nil
	case *array.Uint32:
		return podInput(a, "UInt32", a.Uint32Values(), 4, false), nil
	case *array.Uint64:
		return podInput(a, "UInt64", a.Uint64Values(), 8, false), nil
	case *array.Float32:
		raw := make([]uint64, a.Len())
		for i, v := range a.Float32Values() {
			raw[i] = uint64(math.Float32bits(v))
		}
		return []hashInput{{arr: a, chType: "Float32", pod: true, raw: raw, width: 4, signed: true, float: true}}, nil
	case *array.Float64:
		raw := make([]uint64, a.Len())
		for i, v := range a.Float64Values() {
			raw[i] = math.Float64bits(v)
		}
		return []hashInput{{arr: a, chType: "Float64", pod: true, raw: raw, width: 8, signed: true, float: true}}, nil
	case *array.Boolean:
		raw := make([]uint64, a.Len())
		for i := range raw {
			if a.Value(i) {
				raw[i] = 1
			}
		}
		return []hashInput{{arr: a, chType: "Bool", pod: true, raw: raw, width: 1}}, nil
	case *array.Date32:
		if strings.HasPrefix(hint, "Date32") {
			raw := make([]uint64, a.Len())
			for i, v := range a.Date32Values() {
				raw[i] = uint64(uint32(v))
			}
			return []hashInput{{arr: a, chType: "Date32", pod: true, raw: raw, width: 4, signed: true}}, nil
		}
		// ClickHouse Date is a UInt16 day number.
		raw := make([]uint64, a.Len())
		for i, v := range a.Date32Values() {
			raw[i] = uint64(uint16(v))
		}
		return []hashInput{{arr: a, chType: "Date", pod: true, raw: raw, width: 2}}, nil
	case *array.Timestamp:
		typ := a.DataType().(*arrow.TimestampType)
		vals := a.TimestampValues()
		if typ.Unit == arrow.Second && !strings.HasPrefix(hint, "DateTime64") {
			raw := make([]uint64, len(vals))
			for i, v := range vals {
				raw[i] = uint64(uint32(v))
			}
			return []hashInput{{arr: a, chType: "DateTime", pod: true, raw: raw, width: 4}}, nil
		}
		// DateTime64 is a Decimal64 of ticks: ClickHouse hashes its 8 bytes.
		buf := make([]byte, 8*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint64(buf[8*i:], uint64(v))
		}
		return []hashInput{{arr: a, chType: "DateTime64", value: fixedRows(buf, 8)}}, nil
	case *array.Decimal128:
		typ := a.DataType().(*arrow.Decimal128Type)
		w := 16
		switch {
		case typ.Precision <= 9:
			w = 4
		case typ.Precision <= 18:
			w = 8
		}
		buf := make([]byte, w*a.Len())
		for i := 0; i < a.Len(); i++ {
			v := a.Value(i)
			var b [16]byte
			binary.LittleEndian.PutUint64(b[:], v.LowBits())
			binary.LittleEndian.PutUint64(b[8:], uint64(v.HighBits()))
			copy(buf[w*i:], b[:w])
		}
		return []hashInput{{arr: a, chType: "Decimal", value: fixedRows(buf, w)}}, nil
	case *array.String:
		return []hashInput{{arr: a, chType: "String", value: func(i int) []byte { return arrowbuf.Bytes(a.Value(i)) }}}, nil
	case *array.LargeString:
		return []hashInput{{arr: a, chType: "String", value: func(i int) []byte { return arrowbuf.Bytes(a.Value(i)) }}}, nil
	case *array.Binary:
		return []hashInput{{arr: a, chType: "String", value: a.Value}}, nil
	case *array.LargeBinary:
		return []hashInput{{arr: a, chType: "String", value: a.Value}}, nil
	case *array.FixedSizeBinary:
		if strings.HasPrefix(hint, "UUID") {
			return nil, fmt.Errorf("hashing UUID columns is not supported")
		}
		return []hashInput{{arr: a, chType: "FixedString", value: a.Value}}, nil
	}
	return nil, fmt.Errorf("type %s cannot be hashed", a.DataType())
}

// podInput reads integer values of width bytes, zero-extending their bits.
func podInput[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64](a arrow.Array, name string, vals []T, width int, signed bool) []hashInput {
	raw := make([]uint64, len(vals))
	mask := uint64(math.MaxUint64) >> (64 - 8*width)
	for i, v := range vals {
		raw[i] = uint64(v) & mask
	}
	return []hashInput{{arr: a, chType: name, pod: true, raw: raw, width: width, signed: signed}}
}

// fixedRows returns the rows of a buffer of fixed-width values.
func fixedRows(buf []byte, w int) func(i int) []byte {
	return func(i int) []byte { return buf[w*i : w*i+w] }
}

// signExtend returns the zero-extended value v of width bytes as the signed
// integer it holds, in two's complement over 64 bits.
func signExtend(v uint64, width int) uint64 {
	shift := 64 - 8*uint(width)
	return uint64(int64(v<<shift) >> shift)
}
