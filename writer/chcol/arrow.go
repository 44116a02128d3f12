package chcol

import (
	"fmt"
	"strconv"
	"time"
	_ "time/tzdata" // column zones must resolve on hosts without a zoneinfo database

	"github.com/apache/arrow-go/v18/arrow"
)

// Arrow returns the canonical Arrow type of t (see the package comment). serverTZ is
// the server's time zone, used for DateTime and DateTime64 columns that name none;
// an empty serverTZ means UTC. Types the writer cannot carry yet (Int128, Int256,
// Decimal with precision above 38, DateTime64 with a precision other than 0, 3, 6
// or 9) are errors.
func (t *Type) Arrow(serverTZ string) (arrow.DataType, error) {
	switch t.Base {
	case "Int8", "Enum8":
		return arrow.PrimitiveTypes.Int8, nil
	case "Int16", "Enum16":
		return arrow.PrimitiveTypes.Int16, nil
	case "Int32":
		return arrow.PrimitiveTypes.Int32, nil
	case "Int64":
		return arrow.PrimitiveTypes.Int64, nil
	case "UInt8":
		return arrow.PrimitiveTypes.Uint8, nil
	case "UInt16":
		return arrow.PrimitiveTypes.Uint16, nil
	case "UInt32", "IPv4":
		return arrow.PrimitiveTypes.Uint32, nil
	case "UInt64":
		return arrow.PrimitiveTypes.Uint64, nil
	case "Float32":
		return arrow.PrimitiveTypes.Float32, nil
	case "Float64":
		return arrow.PrimitiveTypes.Float64, nil
	case "Bool":
		return arrow.FixedWidthTypes.Boolean, nil
	case "Decimal":
		if t.Precision > 38 {
			return nil, fmt.Errorf("column type %s is not supported yet: decimals wider than 38 digits", t)
		}
		return &arrow.Decimal128Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}, nil
	case "String":
		return arrow.BinaryTypes.String, nil
	case "FixedString":
		return &arrow.FixedSizeBinaryType{ByteWidth: t.Size}, nil
	case "UUID", "IPv6":
		return &arrow.FixedSizeBinaryType{ByteWidth: 16}, nil
	case "Date", "Date32":
		return arrow.FixedWidthTypes.Date32, nil
	case "DateTime":
		return &arrow.TimestampType{Unit: arrow.Second, TimeZone: t.zone(serverTZ)}, nil
	case "DateTime64":
		unit, err := t.timeUnit()
		if err != nil {
			return nil, err
		}
		return &arrow.TimestampType{Unit: unit, TimeZone: t.zone(serverTZ)}, nil
	case "Array":
		elem, err := t.Elem.Arrow(serverTZ)
		if err != nil {
			return nil, err
		}
		return arrow.ListOf(elem), nil
	case "Map":
		k, err := t.Key.Arrow(serverTZ)
		if err != nil {
			return nil, err
		}
		v, err := t.Value.Arrow(serverTZ)
		if err != nil {
			return nil, err
		}
		return arrow.MapOf(k, v), nil
	case "Tuple":
		fields := make([]arrow.Field, len(t.Elems))
		for i, e := range t.Elems {
			dt, err := e.Arrow(serverTZ)
			if err != nil {
				return nil, err
			}
			fields[i] = arrow.Field{Name: t.ElemName(i), Type: dt, Nullable: true}
		}
		return arrow.StructOf(fields...), nil
	}
	return nil, fmt.Errorf("column type %s is not supported yet", t)
}

// ElemName is the name of element i of a Tuple: its declared name, or its
// position from 1 ("1", "2", ...) in an unnamed Tuple, as ClickHouse's
// tupleElement numbers them.
func (t *Type) ElemName(i int) string {
	if t.Names != nil {
		return t.Names[i]
	}
	return strconv.Itoa(i + 1)
}

// zone is the time zone name of a DateTime or DateTime64 column.
func (t *Type) zone(serverTZ string) string {
	switch {
	case t.TimeZone != "":
		return t.TimeZone
	case serverTZ != "":
		return serverTZ
	}
	return "UTC"
}

// location loads the zone of a DateTime or DateTime64 column.
func (t *Type) location(serverTZ string) (*time.Location, error) {
	name := t.zone(serverTZ)
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("load time zone %q of column type %s: %w", name, t, err)
	}
	return loc, nil
}

// timeUnit maps the precision of a DateTime64 to an Arrow time unit.
func (t *Type) timeUnit() (arrow.TimeUnit, error) {
	switch t.Precision {
	case 0:
		return arrow.Second, nil
	case 3:
		return arrow.Millisecond, nil
	case 6:
		return arrow.Microsecond, nil
	case 9:
		return arrow.Nanosecond, nil
	}
	return 0, fmt.Errorf("column type %s is not supported yet: DateTime64 precision must be 0, 3, 6 or 9", t)
}
