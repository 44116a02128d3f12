package transform

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/arrowbuf"
)

// maxDate is the last day number a ClickHouse Date (UInt16) holds: 2149-06-06.
const maxDate = 65535

func unsafeInt32s(v []arrow.Date32) []int32 {
	return unsafe.Slice((*int32)(unsafe.Pointer(&v[0])), len(v))
}

func evalToYYYYMM(_ *Expr, in []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	return mapDays(in[0], mem, arrow.PrimitiveTypes.Uint32, func(d int32) uint32 {
		y, m, _ := civil(int64(d))
		return uint32(y*100 + int64(m))
	})
}

func evalToYYYYMMDD(_ *Expr, in []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	return mapDays(in[0], mem, arrow.PrimitiveTypes.Uint32, func(d int32) uint32 {
		y, m, dd := civil(int64(d))
		return uint32(y*10000 + int64(m)*100 + int64(dd))
	})
}

// evalToDate returns the calendar day of a timestamp in its zone; a Date is
// returned as is. Like ClickHouse's Date, days before 1970-01-01 become
// 1970-01-01 and days after 2149-06-06 become 2149-06-06.
func evalToDate(_ *Expr, in []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	if in[0].DataType().ID() == arrow.DATE32 {
		in[0].Retain()
		return in[0], nil
	}
	return mapDays(in[0], mem, arrow.FixedWidthTypes.Date32, func(d int32) int32 {
		return min(max(d, 0), maxDate)
	})
}

// evalToStartOfMonth returns the first day of the month of a date, or of a
// timestamp's day in its zone.
func evalToStartOfMonth(_ *Expr, in []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	return mapDateToDate(in[0], mem, func(d int32) int32 {
		_, _, dd := civil(int64(d))
		return d - int32(dd) + 1
	})
}

// evalToMonday returns the Monday on or before a date, or a timestamp's day
// in its zone.
func evalToMonday(_ *Expr, in []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	return mapDateToDate(in[0], mem, func(d int32) int32 {
		// 1970-01-01 was a Thursday: (d+3) mod 7 is 0 on Mondays.
		return d - int32(((int64(d)+3)%7+7)%7)
	})
}

// mapDateToDate applies f to the day of every row and returns Dates,
// following ClickHouse's Date arithmetic: a timestamp day before 1970-01-01
// is taken as 1970-01-01, and a result before 1970-01-01 computed from a
// Date wraps around the UInt16 range (toMonday(1970-01-01) is day 65533), as
// the server does. Days before 1970 that come in (ClickHouse Date32) keep
// their true result.
func mapDateToDate(a arrow.Array, mem memory.Allocator, f func(int32) int32) (arrow.Array, error) {
	clamp := a.DataType().ID() == arrow.TIMESTAMP
	return mapDays(a, mem, arrow.FixedWidthTypes.Date32, func(d int32) int32 {
		if clamp && d < 0 {
			d = 0
		}
		r := f(d)
		if d >= 0 && r < 0 {
			r += maxDate + 1
		}
		return r
	})
}

// mapDays computes one output value per row from the row's day number.
func mapDays[T uint32 | int32](a arrow.Array, mem memory.Allocator, dt arrow.DataType, f func(int32) T) (arrow.Array, error) {
	days, err := dayNumbers(a)
	if err != nil {
		return nil, err
	}
	n := a.Len()
	buf, out := arrowbuf.NewValues[T](mem, n)
	for i, d := range days {
		out[i] = f(d)
	}
	return finish(dt, n, arrowbuf.CopyValidity(mem, a), buf), nil
}
