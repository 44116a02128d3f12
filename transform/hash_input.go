package transform

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/chload/chload/internal/arrowbuf"
	"github.com/chload/chload/transform/hashinput"
)

// ClickHouseTypeKey is the Arrow field metadata key that names a column's
// ClickHouse type, e.g. "Date32" or "DateTime64(3, 'UTC')". Hash functions
// read it for column arguments whose Arrow type stands for several
// ClickHouse types that hash differently: an Arrow Date32 column is hashed as
// a ClickHouse Date (UInt16 day number) and an Arrow Timestamp in seconds as
// a DateTime (UInt32) unless the key names a type whose family registered a
// reader in transform/hashinput (Date32, DateTime64, ...). Optional; without
// it the defaults by Arrow type apply.
const ClickHouseTypeKey = "clickhouse.type"

// hashInput is one argument of a hash function (see hashinput.Input).
type hashInput = hashinput.Input

// hashInputs reads one argument column, flattening a tuple (Arrow struct)
// into its elements as ClickHouse does. hint is the column's ClickHouse type
// from ClickHouseTypeKey, or "".
func hashInputs(a arrow.Array, hint string) ([]hashInput, error) {
	if hint != "" && !hashinput.Ready() {
		return nil, fmt.Errorf("internal error: a %s column cannot be hashed: the ClickHouse type families are not linked in (import writer/chcol)", hint)
	}
	if r := hashinput.Lookup(hint); r != nil {
		if in, err := r(a, hint); in != nil || err != nil {
			return in, err
		}
	}
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
		return hashinput.Ints(a, "Int8", a.Int8Values(), 1, true), nil
	case *array.Int16:
		return hashinput.Ints(a, "Int16", a.Int16Values(), 2, true), nil
	case *array.Int32:
		return hashinput.Ints(a, "Int32", a.Int32Values(), 4, true), nil
	case *array.Int64:
		return hashinput.Ints(a, "Int64", a.Int64Values(), 8, true), nil
	case *array.Uint8:
		return hashinput.Ints(a, "UInt8", a.Uint8Values(), 1, false), nil
	case *array.Uint16:
		return hashinput.Ints(a, "UInt16", a.Uint16Values(), 2, false), nil
	case *array.Uint32:
		return hashinput.Ints(a, "UInt32", a.Uint32Values(), 4, false), nil
	case *array.Uint64:
		return hashinput.Ints(a, "UInt64", a.Uint64Values(), 8, false), nil
	case *array.Float32:
		raw := make([]uint64, a.Len())
		for i, v := range a.Float32Values() {
			raw[i] = uint64(math.Float32bits(v))
		}
		return []hashInput{{Arr: a, Type: "Float32", Pod: true, Raw: raw, Width: 4, Signed: true, Float: true}}, nil
	case *array.Float64:
		raw := make([]uint64, a.Len())
		for i, v := range a.Float64Values() {
			raw[i] = math.Float64bits(v)
		}
		return []hashInput{{Arr: a, Type: "Float64", Pod: true, Raw: raw, Width: 8, Signed: true, Float: true}}, nil
	case *array.Boolean:
		raw := make([]uint64, a.Len())
		for i := range raw {
			if a.Value(i) {
				raw[i] = 1
			}
		}
		return []hashInput{{Arr: a, Type: "Bool", Pod: true, Raw: raw, Width: 1}}, nil
	case *array.Date32:
		// ClickHouse Date is a UInt16 day number.
		raw := make([]uint64, a.Len())
		for i, v := range a.Date32Values() {
			raw[i] = uint64(uint16(v))
		}
		return []hashInput{{Arr: a, Type: "Date", Pod: true, Raw: raw, Width: 2}}, nil
	case *array.Timestamp:
		typ := a.DataType().(*arrow.TimestampType)
		vals := a.TimestampValues()
		if typ.Unit == arrow.Second {
			raw := make([]uint64, len(vals))
			for i, v := range vals {
				raw[i] = uint64(uint32(v))
			}
			return []hashInput{{Arr: a, Type: "DateTime", Pod: true, Raw: raw, Width: 4}}, nil
		}
		// DateTime64 is a Decimal64 of ticks: ClickHouse hashes its 8 bytes.
		buf := make([]byte, 8*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint64(buf[8*i:], uint64(v))
		}
		return []hashInput{{Arr: a, Type: "DateTime64", Value: hashinput.FixedRows(buf, 8)}}, nil
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
		return []hashInput{{Arr: a, Type: "Decimal", Value: hashinput.FixedRows(buf, w)}}, nil
	case *array.String:
		return []hashInput{{Arr: a, Type: "String", Value: func(i int) []byte { return arrowbuf.Bytes(a.Value(i)) }}}, nil
	case *array.LargeString:
		return []hashInput{{Arr: a, Type: "String", Value: func(i int) []byte { return arrowbuf.Bytes(a.Value(i)) }}}, nil
	case *array.Binary:
		return []hashInput{{Arr: a, Type: "String", Value: a.Value}}, nil
	case *array.LargeBinary:
		return []hashInput{{Arr: a, Type: "String", Value: a.Value}}, nil
	case *array.FixedSizeBinary:
		return []hashInput{{Arr: a, Type: "FixedString", Value: a.Value}}, nil
	}
	return nil, fmt.Errorf("type %s cannot be hashed", a.DataType())
}

// signExtend returns the zero-extended value v of width bytes as the signed
// integer it holds, in two's complement over 64 bits.
func signExtend(v uint64, width int) uint64 {
	shift := 64 - 8*uint(width)
	return uint64(int64(v<<shift) >> shift)
}
