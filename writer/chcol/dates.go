package chcol

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"
	_ "time/tzdata" // column zones must resolve on hosts without a zoneinfo database

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/chload/chload/internal/sqlquote"
	"github.com/chload/chload/transform/hashinput"
)

// Date and Date32: canonical arrow Date32 (days since 1970-01-01); in the
// Native format a UInt16 and an Int32 day number.
// DateTime[(zone)]: canonical arrow Timestamp(s, zone or the server's); a
// UInt32 of seconds in the Native format.
// DateTime64(P[, zone]): canonical arrow Timestamp of unit s, ms, us or ns for
// P 0, 3, 6 or 9; an Int64 of ticks in the Native format.
func init() {
	days := func(t *Type, chunks []arrow.Array, perm []uint32, valid []bool) (any, error) {
		return builtSlice(t, chunks, perm, valid, func(a arrow.Array) func(int) time.Time {
			vals := fixedValues[int32](a)
			return func(i int) time.Time { return time.Unix(int64(vals[i])*secondsPerDay, 0).UTC() }
		}), nil
	}
	dateKernelOf := func(c *Converter, serverTZ string) (kernelFunc, error) { return dateKernel(c, serverTZ) }
	register(&family{
		names:  []string{"Date"},
		arrow:  fixedArrow(arrow.FixedWidthTypes.Date32),
		kernel: dateKernelOf,
		encode: func(dst []byte, _ *Type, chunks []arrow.Array, refs RowRefs) []byte {
			// Days since 1970 as UInt16; conversion checked the range.
			return appendNarrowed(dst, chunks, refs, 4, 2)
		},
		lowCardinality: true,
		defaultWidth:   zeroWidth(2),
		goValues:       days,
	})
	register(&family{
		names:  []string{"Date32"},
		arrow:  fixedArrow(arrow.FixedWidthTypes.Date32),
		kernel: dateKernelOf,
		encode: func(dst []byte, _ *Type, chunks []arrow.Array, refs RowRefs) []byte {
			return appendFixed(dst, chunks, refs, 4)
		},
		lowCardinality: true,
		defaultWidth:   zeroWidth(4),
		goValues:       days,
	})
	// Date32 hashes as its Int32 day number (Date, the default for an
	// Arrow Date32, as a UInt16).
	hashinput.Register("Date32", func(a arrow.Array, _ string) ([]hashinput.Input, error) {
		d, ok := a.(*array.Date32)
		if !ok {
			return nil, nil
		}
		raw := make([]uint64, d.Len())
		for i, v := range d.Date32Values() {
			raw[i] = uint64(uint32(v))
		}
		return []hashinput.Input{{Arr: a, Type: "Date32", Pod: true, Raw: raw, Width: 4, Signed: true}}, nil
	})
	register(&family{
		names: []string{"DateTime"},
		parse: func(p *typeParser, _ string, _ int) (*Type, error) {
			t := &Type{Base: "DateTime"}
			if p.accept('(') {
				tz, err := p.quoted()
				if err != nil {
					return nil, err
				}
				t.TimeZone = tz
				if err := p.expect(')'); err != nil {
					return nil, err
				}
			}
			return t, nil
		},
		params: func(t *Type, b *strings.Builder) {
			if t.TimeZone != "" {
				fmt.Fprintf(b, "(%s)", sqlquote.String(t.TimeZone))
			}
		},
		arrow: func(t *Type, serverTZ string) (arrow.DataType, error) {
			return &arrow.TimestampType{Unit: arrow.Second, TimeZone: t.zone(serverTZ)}, nil
		},
		kernel: func(c *Converter, serverTZ string) (kernelFunc, error) { return dateTimeKernel(c, serverTZ) },
		encode: func(dst []byte, _ *Type, chunks []arrow.Array, refs RowRefs) []byte {
			// Seconds since 1970 as UInt32; conversion checked the range.
			return appendNarrowed(dst, chunks, refs, 8, 4)
		},
		lowCardinality: true,
		defaultWidth:   zeroWidth(4),
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, valid []bool) (any, error) {
			return fixedSlice[int64](t, chunks, perm, valid), nil
		},
	})
	register(&family{
		names: []string{"DateTime64"},
		parse: func(p *typeParser, _ string, _ int) (*Type, error) {
			if err := p.expect('('); err != nil {
				return nil, err
			}
			prec, err := p.integer()
			if err != nil {
				return nil, err
			}
			if prec < 0 || prec > 9 {
				return nil, fmt.Errorf("DateTime64 precision %d out of range 0..9", prec)
			}
			t := &Type{Base: "DateTime64", Precision: int(prec)}
			if p.accept(',') {
				if t.TimeZone, err = p.quoted(); err != nil {
					return nil, err
				}
			}
			return t, p.expect(')')
		},
		params: func(t *Type, b *strings.Builder) {
			fmt.Fprintf(b, "(%d", t.Precision)
			if t.TimeZone != "" {
				fmt.Fprintf(b, ", %s", sqlquote.String(t.TimeZone))
			}
			b.WriteByte(')')
		},
		arrow: func(t *Type, serverTZ string) (arrow.DataType, error) {
			unit, err := t.timeUnit()
			if err != nil {
				return nil, err
			}
			return &arrow.TimestampType{Unit: unit, TimeZone: t.zone(serverTZ)}, nil
		},
		kernel: func(c *Converter, serverTZ string) (kernelFunc, error) { return dateTimeKernel(c, serverTZ) },
		encode: func(dst []byte, _ *Type, chunks []arrow.Array, refs RowRefs) []byte {
			return appendFixed(dst, chunks, refs, 8)
		},
		lowCardinality: true,
		defaultWidth:   zeroWidth(8),
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, valid []bool) (any, error) {
			return builtSlice(t, chunks, perm, valid, func(a arrow.Array) func(int) time.Time {
				vals := fixedValues[int64](a)
				unit := a.DataType().(*arrow.TimestampType).Unit
				return func(i int) time.Time { return time.Unix(splitUnit(vals[i], unit)).UTC() }
			}), nil
		},
	})
	// DateTime64 is a Decimal64 of ticks: ClickHouse hashes its 8 bytes,
	// whatever the precision (DateTime, the default for an Arrow Timestamp
	// in seconds, as a UInt32).
	hashinput.Register("DateTime64", func(a arrow.Array, _ string) ([]hashinput.Input, error) {
		ts, ok := a.(*array.Timestamp)
		if !ok {
			return nil, nil
		}
		vals := ts.TimestampValues()
		buf := make([]byte, 8*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint64(buf[8*i:], uint64(v))
		}
		return []hashinput.Input{{Arr: a, Type: "DateTime64", Value: hashinput.FixedRows(buf, 8)}}, nil
	})
}

const secondsPerDay = 86400

// Ranges of the ClickHouse date and time types.
const (
	dateMinDays   = 0      // 1970-01-01
	dateMaxDays   = 65535  // 2149-06-06
	date32MinDays = -25567 // 1900-01-01
	date32MaxDays = 120529 // 2299-12-31
	dateTimeMax   = 1<<32 - 1
	// DateTime64 reaches back to 1900-01-01; its upper end here is the last instant
	// clickhouse-go can send (it converts through time.Time.UnixNano), which is
	// 2262-04-11 23:47:16.854775807 UTC, before ClickHouse's own 2299-12-31.
	dateTime64MinSec = -2208988800
)

// timeProblem is why a value does not fit a date or time column.
type timeProblem int

const (
	timeOK timeProblem = iota
	timeRange
	timeFraction
	timeNotMidnight
	timeSyntax
)

// dateKernel converts Date32, Date64, timestamps at midnight and 'YYYY-MM-DD' text
// into Date or Date32 (canonical Date32 day numbers). A timestamp must be exactly
// midnight: in the server's zone for zoned timestamps, on its wall clock for
// zone-less ones.
func dateKernel(c *Converter, serverTZ string) (kernelFunc, error) {
	lo, hi := int64(dateMinDays), int64(dateMaxDays)
	rangeText, fix := "1970-01-01..2149-06-06", "fix the data or make the column Date32"
	if c.target.Base == "Date32" {
		lo, hi = date32MinDays, date32MaxDays
		rangeText, fix = "1900-01-01..2299-12-31", "fix the data"
	}
	name := c.target.Base
	inRange := func(d int64) bool { return d >= lo && d <= hi }
	zoneName := (&Type{}).zone(serverTZ)
	var days func(src arrow.Array) func(i int) (int64, timeProblem)
	switch s := c.src.(type) {
	case *arrow.Date32Type:
		return checked(c.dst, func(src arrow.Array) func(int) bool {
			vals := fixedValues[int32](src)
			return func(i int) bool { return inRange(int64(vals[i])) }
		}, func(src arrow.Array, i int) *ValueError {
			return valueErr(src, i, "is outside the range of "+name+" ("+rangeText+")", fix)
		}), nil
	case *arrow.Date64Type:
		days = func(src arrow.Array) func(i int) (int64, timeProblem) {
			vals := fixedValues[int64](src)
			return func(i int) (int64, timeProblem) {
				d, rem := floorDiv(vals[i], secondsPerDay*1000)
				if rem != 0 {
					return 0, timeNotMidnight
				}
				return d, timeOK
			}
		}
		zoneName = "UTC"
	case *arrow.TimestampType:
		loc := time.UTC
		if s.TimeZone != "" {
			l, err := time.LoadLocation(zoneName)
			if err != nil {
				return nil, fmt.Errorf("load server time zone %q: %w", zoneName, err)
			}
			loc = l
		} else {
			zoneName = "UTC (the wall clock of a zone-less timestamp)"
		}
		unit := s.Unit
		days = func(src arrow.Array) func(i int) (int64, timeProblem) {
			vals := fixedValues[int64](src)
			return func(i int) (int64, timeProblem) {
				sec, nsec := splitUnit(vals[i], unit)
				d, rem := floorDiv(sec+offsetAt(loc, sec), secondsPerDay)
				if nsec != 0 || rem != 0 {
					return 0, timeNotMidnight
				}
				return d, timeOK
			}
		}
	default:
		if !isStringLike(c.src) {
			return nil, errNoConversion
		}
		days = func(src arrow.Array) func(i int) (int64, timeProblem) {
			get := stringGetter(src)
			return func(i int) (int64, timeProblem) {
				d, ok := parseDate(get(i))
				if !ok {
					return 0, timeSyntax
				}
				return d, timeOK
			}
		}
	}
	dst := c.dst
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		f := days(src)
		return mapFixed(dst, src, mem, func(i int) (int32, bool) {
			d, p := f(i)
			return int32(d), p == timeOK && inRange(d)
		}, func(i int) *ValueError {
			switch _, p := f(i); p {
			case timeNotMidnight:
				return valueErr(src, i, "is not midnight in "+zoneName+", so it is not a whole day",
					"truncate it to the day in the data or make the column DateTime")
			case timeSyntax:
				return valueErr(src, i, "is not a date in the form YYYY-MM-DD", "fix the data or make the column String")
			}
			return valueErr(src, i, "is outside the range of "+name+" ("+rangeText+")", fix)
		})
	}, nil
}

// dateTimeKernel converts timestamps of any unit, Date32/Date64 (midnight in the
// column's zone), integers (Unix seconds) and 'YYYY-MM-DD hh:mm:ss[.fff]' text (in
// the column's zone) into DateTime or DateTime64. Zone-less timestamps are wall
// clock times, read in the column's zone.
func dateTimeKernel(c *Converter, serverTZ string) (kernelFunc, error) {
	dst := c.dst.(*arrow.TimestampType)
	loc, err := c.target.location(serverTZ)
	if err != nil {
		return nil, err
	}
	name := c.target.inner().String()
	per := unitsPerSecond(dst.Unit)
	step := 1e9 / per // nanoseconds per tick of the column
	var inRange func(sec, nsec int64) bool
	rangeText, rangeFix := "1970-01-01 00:00:00..2106-02-07 06:28:15 UTC", "fix the data or make the column DateTime64"
	fracFix := "truncate it in the data or make the column DateTime64(3)"
	if c.target.Base == "DateTime" {
		inRange = func(sec, _ int64) bool { return sec >= 0 && sec <= dateTimeMax }
	} else {
		inRange = func(sec, nsec int64) bool {
			const maxSec, maxNsec = math.MaxInt64 / 1_000_000_000, math.MaxInt64 % 1_000_000_000
			return sec >= dateTime64MinSec && (sec < maxSec || sec == maxSec && nsec <= maxNsec)
		}
		rangeText, rangeFix = "1900-01-01 00:00:00..2262-04-11 23:47:16 UTC", "fix the data"
		fracFix = "truncate it in the data or raise the column's precision"
	}
	// instant gives row i as seconds and nanoseconds since the epoch.
	var instant func(src arrow.Array) func(i int) (sec, nsec int64, p timeProblem)
	switch s := c.src.(type) {
	case *arrow.TimestampType:
		if s.Unit == dst.Unit && s.TimeZone != "" {
			// Same instants in the same unit: check the range, keep the buffers.
			return checked(dst, func(src arrow.Array) func(int) bool {
				vals := fixedValues[int64](src)
				return func(i int) bool { return inRange(splitUnit(vals[i], dst.Unit)) }
			}, func(src arrow.Array, i int) *ValueError {
				return valueErr(src, i, "is outside the range of "+name+" ("+rangeText+")", rangeFix)
			}), nil
		}
		unit, naive := s.Unit, s.TimeZone == ""
		instant = func(src arrow.Array) func(i int) (int64, int64, timeProblem) {
			vals := fixedValues[int64](src)
			return func(i int) (int64, int64, timeProblem) {
				sec, nsec := splitUnit(vals[i], unit)
				if naive {
					d, sod := floorDiv(sec, secondsPerDay)
					sec = wallToUnix(loc, d, sod)
				}
				return sec, nsec, timeOK
			}
		}
	case *arrow.Date32Type:
		instant = func(src arrow.Array) func(i int) (int64, int64, timeProblem) {
			vals := fixedValues[int32](src)
			return func(i int) (int64, int64, timeProblem) {
				return wallToUnix(loc, int64(vals[i]), 0), 0, timeOK
			}
		}
	case *arrow.Date64Type:
		instant = func(src arrow.Array) func(i int) (int64, int64, timeProblem) {
			vals := fixedValues[int64](src)
			return func(i int) (int64, int64, timeProblem) {
				d, rem := floorDiv(vals[i], secondsPerDay*1000)
				if rem != 0 {
					return 0, 0, timeNotMidnight
				}
				return wallToUnix(loc, d, 0), 0, timeOK
			}
		}
	default:
		switch c.src.ID() {
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
			instant = func(src arrow.Array) func(i int) (int64, int64, timeProblem) {
				get := intGetter(src)
				return func(i int) (int64, int64, timeProblem) {
					v, ok := get(i)
					if !ok {
						return 0, 0, timeRange
					}
					return v, 0, timeOK
				}
			}
		default:
			if !isStringLike(c.src) {
				return nil, errNoConversion
			}
			instant = func(src arrow.Array) func(i int) (int64, int64, timeProblem) {
				get := stringGetter(src)
				return func(i int) (int64, int64, timeProblem) {
					d, sod, nsec, ok := parseDateTime(get(i))
					if !ok {
						return 0, 0, timeSyntax
					}
					return wallToUnix(loc, d, sod), nsec, timeOK
				}
			}
		}
	}
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		f := instant(src)
		convert := func(i int) (int64, timeProblem) {
			sec, nsec, p := f(i)
			switch {
			case p != timeOK:
				return 0, p
			case nsec%step != 0:
				return 0, timeFraction
			case !inRange(sec, nsec):
				return 0, timeRange
			}
			return sec*per + nsec/step, timeOK
		}
		return mapFixed(dst, src, mem, func(i int) (int64, bool) {
			v, p := convert(i)
			return v, p == timeOK
		}, func(i int) *ValueError {
			switch _, p := convert(i); p {
			case timeFraction:
				return valueErr(src, i, "has a finer fraction of a second than "+name+" holds", fracFix)
			case timeNotMidnight:
				return valueErr(src, i, "is not a whole day", "fix the data or read it as a timestamp")
			case timeSyntax:
				return valueErr(src, i, "is not a date and time in the form YYYY-MM-DD hh:mm:ss", "fix the data or make the column String")
			}
			return valueErr(src, i, "is outside the range of "+name+" ("+rangeText+")", rangeFix)
		})
	}, nil
}

// intGetter returns an accessor of an integer array's values as int64, false for
// unsigned values above MaxInt64.
func intGetter(a arrow.Array) func(i int) (int64, bool) {
	switch a.DataType().ID() {
	case arrow.INT8:
		return signedGetter[int8](a)
	case arrow.INT16:
		return signedGetter[int16](a)
	case arrow.INT32:
		return signedGetter[int32](a)
	case arrow.INT64:
		return signedGetter[int64](a)
	case arrow.UINT8:
		return signedGetter[uint8](a)
	case arrow.UINT16:
		return signedGetter[uint16](a)
	case arrow.UINT32:
		return signedGetter[uint32](a)
	case arrow.UINT64:
		vals := fixedValues[uint64](a)
		return func(i int) (int64, bool) { return int64(vals[i]), vals[i] <= math.MaxInt64 }
	}
	return nil
}

func signedGetter[S integer](a arrow.Array) func(i int) (int64, bool) {
	vals := fixedValues[S](a)
	return func(i int) (int64, bool) { return int64(vals[i]), true }
}

// floorDiv divides rounding toward negative infinity; rem is in 0..d-1.
func floorDiv(v, d int64) (q, rem int64) {
	q, rem = v/d, v%d
	if rem < 0 {
		q--
		rem += d
	}
	return q, rem
}

// offsetAt is the UTC offset of loc at the instant sec, in seconds.
func offsetAt(loc *time.Location, sec int64) int64 {
	if loc == time.UTC {
		return 0
	}
	_, off := time.Unix(sec, 0).In(loc).Zone()
	return int64(off)
}

// wallToUnix returns the instant at which loc's wall clock shows day days (since
// 1970-01-01) plus sod seconds. In a daylight-saving gap or overlap Go's time.Date
// rules pick the instant.
func wallToUnix(loc *time.Location, days, sod int64) int64 {
	if loc == time.UTC {
		return days*secondsPerDay + sod
	}
	y, m, d := civilFromDays(days)
	return time.Date(y, m, d, 0, 0, int(sod), 0, loc).Unix()
}

// civilFromDays converts days since 1970-01-01 into a proleptic Gregorian date.
func civilFromDays(days int64) (int, time.Month, int) {
	t := time.Unix(days*secondsPerDay, 0).UTC()
	return t.Year(), t.Month(), t.Day()
}

// daysFromCivil converts a proleptic Gregorian date into days since 1970-01-01
// (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// digits parses s[i:i+n] as a decimal number.
func digits(s string, i, n int) (int64, bool) {
	var v int64
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// parseDate parses 'YYYY-MM-DD' into days since 1970-01-01.
func parseDate(s string) (int64, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(s, 0, 4)
	m, ok2 := digits(s, 5, 2)
	d, ok3 := digits(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseDateTime parses 'YYYY-MM-DD hh:mm:ss' with an optional fraction of up to 9
// digits ('T' may stand for the space) into days, seconds of the day and
// nanoseconds.
func parseDateTime(s string) (days, sod, nsec int64, ok bool) {
	if len(s) < 19 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return 0, 0, 0, false
	}
	if days, ok = parseDate(s[:10]); !ok {
		return 0, 0, 0, false
	}
	h, ok1 := digits(s, 11, 2)
	mi, ok2 := digits(s, 14, 2)
	sec, ok3 := digits(s, 17, 2)
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return 0, 0, 0, false
	}
	if rest := s[19:]; rest != "" {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return 0, 0, 0, false
		}
		f, okf := digits(rest, 1, len(rest)-1)
		if !okf {
			return 0, 0, 0, false
		}
		for n := len(rest) - 1; n < 9; n++ {
			f *= 10
		}
		nsec = f
	}
	return days, h*3600 + mi*60 + sec, nsec, true
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
