package chcol

import (
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// formatValue prints row i of a the way a user reads it in an error message. It is
// only called on the error path.
func formatValue(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch a := a.(type) {
	case *array.String:
		return quoteValue(a.Value(i))
	case *array.LargeString:
		return quoteValue(a.Value(i))
	case *array.Binary:
		return quoteValue(string(a.Value(i)))
	case *array.LargeBinary:
		return quoteValue(string(a.Value(i)))
	case *array.FixedSizeBinary:
		return quoteValue(string(a.Value(i)))
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Date32:
		return formatDays(int64(a.Value(i)))
	case *array.Date64:
		ms := int64(a.Value(i))
		return formatInstant(ms/1000, (ms%1000)*1e6, "", arrow.Millisecond)
	case *array.Timestamp:
		t := a.DataType().(*arrow.TimestampType)
		sec, nsec := splitUnit(int64(a.Value(i)), t.Unit)
		return formatInstant(sec, nsec, t.TimeZone, t.Unit)
	case *array.List, *array.LargeList, *array.Map:
		return shorten(a.ValueStr(i))
	}
	return shorten(a.ValueStr(i))
}

// shorten bounds a printed value for an error message.
func shorten(s string) string {
	if len(s) > 2*maxShownBytes {
		return s[:2*maxShownBytes] + "..."
	}
	return s
}

// formatDays prints a day number as a date.
func formatDays(days int64) string {
	return time.Unix(days*secondsPerDay, 0).UTC().Format("2006-01-02")
}

// formatInstant prints a time given as seconds and nanoseconds since the epoch. zone
// "" prints the wall clock without a zone (Arrow's zone-less timestamps).
func formatInstant(sec, nsec int64, zone string, unit arrow.TimeUnit) string {
	t := time.Unix(sec, nsec).UTC()
	suffix := ""
	if zone != "" {
		suffix = " " + zone
		if loc, err := time.LoadLocation(zone); err == nil {
			t = t.In(loc)
		}
	}
	layout := "2006-01-02 15:04:05"
	switch unit {
	case arrow.Millisecond:
		layout += ".000"
	case arrow.Microsecond:
		layout += ".000000"
	case arrow.Nanosecond:
		layout += ".000000000"
	}
	s := t.Format(layout)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + suffix
}

// splitUnit splits a count of unit since the epoch into seconds and nanoseconds
// (nanoseconds always in 0..1e9-1).
func splitUnit(v int64, unit arrow.TimeUnit) (sec, nsec int64) {
	per := unitsPerSecond(unit)
	sec, rem := v/per, v%per
	if rem < 0 {
		sec--
		rem += per
	}
	return sec, rem * (1e9 / per)
}

// unitsPerSecond is the number of unit ticks in one second.
func unitsPerSecond(unit arrow.TimeUnit) int64 {
	return int64(time.Second / unit.Multiplier())
}
