package transform

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

const secondsPerDay = 86400

// locations caches time zones by name; loading one reads the zone database.
var locations sync.Map // string -> *time.Location

// loadLocation returns the zone named like ClickHouse and Arrow name zones:
// an IANA name, "" for UTC, or a fixed offset such as "+03:00".
func loadLocation(name string) (*time.Location, error) {
	if v, ok := locations.Load(name); ok {
		return v.(*time.Location), nil
	}
	loc, err := resolveLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}

func resolveLocation(name string) (*time.Location, error) {
	if name == "" || strings.EqualFold(name, "UTC") {
		return time.UTC, nil
	}
	if name[0] == '+' || name[0] == '-' {
		if off, ok := parseOffset(name); ok {
			return time.FixedZone(name, off), nil
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("load time zone %q: %w", name, err)
	}
	return loc, nil
}

// parseOffset parses "+HH:MM", "-HH:MM", "+HHMM" or "+HH" into seconds east of UTC.
func parseOffset(s string) (int, bool) {
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	s = strings.ReplaceAll(s[1:], ":", "")
	if len(s) != 2 && len(s) != 4 {
		return 0, false
	}
	h, err := strconv.Atoi(s[:2])
	if err != nil || h > 23 {
		return 0, false
	}
	m := 0
	if len(s) == 4 {
		if m, err = strconv.Atoi(s[2:]); err != nil || m > 59 {
			return 0, false
		}
	}
	return sign * (h*3600 + m*60), true
}

// zoneOffsets answers UTC offsets of one zone for a run of instants, keeping
// the zone period of the last answer so that rows in the same period (the
// usual case, and every row of a fixed-offset zone) need no lookup.
type zoneOffsets struct {
	loc        *time.Location
	start, end int64 // period of off: [start, end) in Unix seconds
	off        int64
}

func newZoneOffsets(loc *time.Location) *zoneOffsets {
	return &zoneOffsets{loc: loc, start: 1, end: 0}
}

// offset returns the offset in seconds east of UTC at Unix second sec.
func (z *zoneOffsets) offset(sec int64) int64 {
	if sec >= z.start && sec < z.end {
		return z.off
	}
	t := time.Unix(sec, 0).In(z.loc)
	_, off := t.Zone()
	s, e := t.ZoneBounds()
	z.off = int64(off)
	z.start, z.end = math.MinInt64, math.MaxInt64
	if !s.IsZero() {
		z.start = s.Unix()
	}
	if !e.IsZero() {
		z.end = e.Unix()
	}
	return z.off
}

// floorDiv divides rounding toward negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// unitsPerSecond returns how many ticks of u make one second.
func unitsPerSecond(u arrow.TimeUnit) int64 {
	return int64(time.Second / u.Multiplier())
}

// dayNumbers returns, per row of a Date32 or Timestamp array, the day number
// (days since 1970-01-01) of the calendar day the value falls on; timestamps
// are taken in the zone of their type. A Date32 array's own values are
// returned without copying; rows that are null hold unspecified days.
func dayNumbers(a arrow.Array) ([]int32, error) {
	switch a := a.(type) {
	case *array.Date32:
		v := a.Date32Values()
		if len(v) == 0 {
			return nil, nil
		}
		return unsafeInt32s(v), nil
	case *array.Timestamp:
		typ := a.DataType().(*arrow.TimestampType)
		loc, err := loadLocation(typ.TimeZone)
		if err != nil {
			return nil, err
		}
		per := unitsPerSecond(typ.Unit)
		vals := a.TimestampValues()
		out := make([]int32, len(vals))
		if loc == time.UTC {
			for i, v := range vals {
				out[i] = int32(floorDiv(floorDiv(int64(v), per), secondsPerDay))
			}
			return out, nil
		}
		z := newZoneOffsets(loc)
		for i, v := range vals {
			if !valid(a, i) {
				continue
			}
			sec := floorDiv(int64(v), per)
			out[i] = int32(floorDiv(sec+z.offset(sec), secondsPerDay))
		}
		return out, nil
	}
	return nil, fmt.Errorf("type %s is not a date or timestamp", a.DataType())
}

// civil returns the proleptic Gregorian date of day number z (days since
// 1970-01-01), after Howard Hinnant's civil_from_days.
func civil(z int64) (year int64, month, day int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, int(m), int(d)
}

// daysFromCivil returns the day number of a proleptic Gregorian date, after
// Howard Hinnant's days_from_civil.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := int64(m + 9)
	if m > 2 {
		mp = int64(m - 3)
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
