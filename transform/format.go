package transform

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/chload/chload/internal/sqlquote"
)

// FormatValue returns row i of a as a ClickHouse literal: numbers in decimal
// (floats in ClickHouse's shortest form, decimals with all scale digits),
// strings and fixed strings in single quotes with backslash escapes, Date as
// 'YYYY-MM-DD', timestamps as 'YYYY-MM-DD hh:mm:ss[.fff]' in their zone,
// structs as tuples and nulls as NULL. The text can be used where ClickHouse
// expects a partition expression, as in ALTER TABLE ... DROP PARTITION.
func FormatValue(a arrow.Array, i int) string {
	var b strings.Builder
	writeValue(&b, a, i, true)
	return b.String()
}

// PartitionText returns row i of a partition key made of the arrays arrs
// byte for byte as the server shows it in system.parts.partition: "tuple()"
// for none; one value unquoted (a string's raw bytes, 2020-02-29); several as
// quoted literals joined by "," without spaces, in parentheses.
func PartitionText(arrs []arrow.Array, i int) string {
	var b strings.Builder
	switch len(arrs) {
	case 0:
		return "tuple()"
	case 1:
		writeValue(&b, arrs[0], i, false)
		return b.String()
	}
	b.WriteByte('(')
	for k, a := range arrs {
		if k > 0 {
			b.WriteByte(',')
		}
		writeValue(&b, a, i, true)
	}
	b.WriteByte(')')
	return b.String()
}

// writeValue writes row i of a; quoted selects literal form for strings,
// dates and timestamps, else their raw text.
func writeValue(b *strings.Builder, a arrow.Array, i int, quoted bool) {
	if a.IsNull(i) {
		b.WriteString("NULL")
		return
	}
	quote := func(s string) {
		if quoted {
			b.WriteString(sqlquote.String(s))
		} else {
			b.WriteString(s)
		}
	}
	switch a := a.(type) {
	case *array.Int8:
		b.WriteString(strconv.FormatInt(int64(a.Value(i)), 10))
	case *array.Int16:
		b.WriteString(strconv.FormatInt(int64(a.Value(i)), 10))
	case *array.Int32:
		b.WriteString(strconv.FormatInt(int64(a.Value(i)), 10))
	case *array.Int64:
		b.WriteString(strconv.FormatInt(a.Value(i), 10))
	case *array.Uint8:
		b.WriteString(strconv.FormatUint(uint64(a.Value(i)), 10))
	case *array.Uint16:
		b.WriteString(strconv.FormatUint(uint64(a.Value(i)), 10))
	case *array.Uint32:
		b.WriteString(strconv.FormatUint(uint64(a.Value(i)), 10))
	case *array.Uint64:
		b.WriteString(strconv.FormatUint(a.Value(i), 10))
	case *array.Float32:
		b.WriteString(formatFloat(float64(a.Value(i)), 32))
	case *array.Float64:
		b.WriteString(formatFloat(a.Value(i), 64))
	case *array.Boolean:
		b.WriteString(strconv.FormatBool(a.Value(i)))
	case *array.Decimal128:
		b.WriteString(formatDecimal(a.Value(i), a.DataType().(*arrow.Decimal128Type).Scale))
	case *array.String:
		quote(a.Value(i))
	case *array.LargeString:
		quote(a.Value(i))
	case *array.Binary:
		quote(string(a.Value(i)))
	case *array.FixedSizeBinary:
		quote(string(a.Value(i)))
	case *array.Date32:
		quote(formatDate(int64(a.Value(i))))
	case *array.Timestamp:
		quote(formatTimestamp(a, i))
	case *array.Struct:
		b.WriteByte('(')
		for k := 0; k < a.NumField(); k++ {
			if k > 0 {
				b.WriteString(", ")
			}
			writeValue(b, a.Field(k), i, true)
		}
		b.WriteByte(')')
	default:
		quote(a.ValueStr(i))
	}
}

// formatDate returns day number d as YYYY-MM-DD.
func formatDate(d int64) string {
	y, m, dd := civil(d)
	buf := make([]byte, 0, 10)
	buf = appendYear(buf, y)
	buf = append(buf, '-', byte('0'+m/10), byte('0'+m%10), '-', byte('0'+dd/10), byte('0'+dd%10))
	return string(buf)
}

func appendYear(buf []byte, y int64) []byte {
	if y < 0 {
		buf = append(buf, '-')
		y = -y
	}
	s := strconv.FormatInt(y, 10)
	for k := len(s); k < 4; k++ {
		buf = append(buf, '0')
	}
	return append(buf, s...)
}

// formatTimestamp returns row i of a as YYYY-MM-DD hh:mm:ss in the zone of
// its type, with as many fraction digits as its unit has.
func formatTimestamp(a *array.Timestamp, i int) string {
	typ := a.DataType().(*arrow.TimestampType)
	loc, err := loadLocation(typ.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	per := unitsPerSecond(typ.Unit)
	v := int64(a.Value(i))
	sec := floorDiv(v, per)
	frac := v - sec*per
	t := time.Unix(sec, 0).In(loc)
	s := t.Format("2006-01-02 15:04:05")
	if per > 1 {
		digits := len(strconv.FormatInt(per, 10)) - 1
		f := strconv.FormatInt(frac, 10)
		s += "." + strings.Repeat("0", digits-len(f)) + f
	}
	return s
}

// formatDecimal prints v with exactly scale fraction digits.
func formatDecimal(v decimal128.Num, scale int32) string {
	bi := v.BigInt()
	neg := bi.Sign() < 0
	s := new(big.Int).Abs(bi).String()
	if scale > 0 {
		if len(s) <= int(scale) {
			s = strings.Repeat("0", int(scale)-len(s)+1) + s
		}
		s = s[:len(s)-int(scale)] + "." + s[len(s)-int(scale):]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// formatFloat prints f as ClickHouse does: the shortest digits that round
// trip, in positional notation for decimal exponents -7 < e < 21 and as
// d.ddde±x otherwise; inf, -inf and nan by name.
func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	}
	e := strconv.FormatFloat(f, 'e', -1, bits) // -d.dddde±xx
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	mant, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	digits := strings.Replace(mant, ".", "", 1)
	n := exp + 1 // position of the decimal point after the first n digits
	k := len(digits)
	switch {
	case k <= n && n <= 21:
		return sign + digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		return sign + digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		return sign + "0." + strings.Repeat("0", -n) + digits
	}
	out := sign + digits[:1]
	if k > 1 {
		out += "." + digits[1:]
	}
	return out + "e" + strconv.Itoa(n-1)
}
