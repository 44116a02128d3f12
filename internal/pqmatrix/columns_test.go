package pqmatrix

import (
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/shopspring/decimal"
)

// column is one column of the matrix's files: an Arrow type written with
// arrow-go, the ClickHouse type it loads into, and the values it holds.
//
// Adding a type is one entry in matrixColumns (twice: nullable and not, see
// both). gen returns the value of a row as a plain Go value, nil for NULL:
//
//	int64, uint64  integers (also Date32 days and timestamp seconds)
//	float64        floats (Float32 columns get values a float32 holds exactly)
//	string, []byte strings and binary
//	bool           booleans
//	*big.Int       a decimal's unscaled value
//	[]any          a list of such values
//
// appendValue puts that value into the column's Arrow builder, and
// writtenCanon turns it into the canonical form compared with the table and
// with DuckDB (see canon_test.go). A type whose builder or values those do not
// know (a struct, float16, a fixed-size binary) sets appendFn and canonFn
// instead, and if its table or DuckDB values need it, a kind of its own
// handled in chCanon and duckCanon.
type column struct {
	name string
	// arrow is the Arrow type written. A list column's field is never NULL;
	// nullable then means its elements may be.
	arrow    arrow.DataType
	nullable bool
	// ch is the ClickHouse column type.
	ch string
	// kind says how values read back are put in canonical form.
	kind kind
	gen  func(rng *rand.Rand, row int) any
	// appendFn and canonFn, when set, replace appendValue and writtenCanon
	// for this column.
	appendFn func(b array.Builder, v any)
	canonFn  func(v any) any
	// skip, when set, leaves the column out of every file with this reason.
	skip string
}

// appendTo appends v, a value gen returned, to the column's builder b.
func (c column) appendTo(b array.Builder, v any) {
	if c.appendFn != nil {
		c.appendFn(b, v)
		return
	}
	appendValue(b, v)
}

// written is the canonical form of v, a value gen returned.
func (c column) written(v any) any {
	if c.canonFn != nil {
		return c.canonFn(v)
	}
	return writtenCanon(c, v)
}

// kind is how a column's values are compared.
type kind int

const (
	kindInt     kind = iota // decimal text
	kindFloat               // float64, compared bit for bit, NaN equal to NaN
	kindBytes               // the bytes as a string
	kindBool                // "1" / "0" (Bool loads into UInt8)
	kindDecimal             // exact decimal text with the column's scale digits
	kindDate                // days since 1970-01-01 as decimal text
	kindSeconds             // seconds since the epoch as decimal text
)

// both returns the column twice: NOT NULL as name, and Nullable as name_n
// (for lists: non-null lists whose elements may be NULL).
func both(name string, typ arrow.DataType, ch string, k kind, gen func(*rand.Rand, int) any) []column {
	plain := column{name: name, arrow: typ, ch: ch, kind: k, gen: gen}
	null := column{name: name + "_n", arrow: typ, nullable: true, ch: "Nullable(" + ch + ")", kind: k}
	if lt, ok := typ.(*arrow.ListType); ok {
		elemCH := strings.TrimSuffix(strings.TrimPrefix(ch, "Array("), ")")
		plain.arrow = arrow.ListOfField(arrow.Field{Name: "element", Type: lt.Elem(), Nullable: false})
		null.arrow = arrow.ListOfField(arrow.Field{Name: "element", Type: lt.Elem(), Nullable: true})
		null.ch = "Array(Nullable(" + elemCH + "))"
		null.gen = func(rng *rand.Rand, row int) any {
			l := gen(rng, row).([]any)
			for i := range l {
				if rng.Intn(5) == 0 {
					l[i] = nil
				}
			}
			return l
		}
		return []column{plain, null}
	}
	null.gen = func(rng *rand.Rand, row int) any {
		v := gen(rng, row)
		if nullRow(rng, row, name) {
			return nil
		}
		return v
	}
	return []column{plain, null}
}

// Rows and row groups of every matrix file. The second row group (rows
// rowGroupRows to 2*rowGroupRows-1) is entirely NULL in the nullable columns
// whose base name has an even length (i8_n, u8_n, bool_n, date_n, ts_s_n,
// dec9_n), so those column chunks hold only all-NULL pages; elsewhere about
// one row in eight is NULL, plus a run of 300 in the first row group.
const (
	matrixRows   = 3000
	rowGroupRows = 1100
	edgeRows     = 24 // rows 0..edgeRows-1 hold each column's edge values, never NULL
)

// nullRow says whether row of the nullable column named name is NULL.
func nullRow(rng *rand.Rand, row int, name string) bool {
	if row < edgeRows {
		return false
	}
	if row >= rowGroupRows && row < 2*rowGroupRows && len(name)%2 == 0 {
		return true
	}
	if row >= 400 && row < 700 {
		return true
	}
	return rng.Intn(8) == 0
}

// edge returns edges[row] for the first rows, an edge value now and then
// later, and otherwise random().
func edge(rng *rand.Rand, row int, edges []any, random func() any) any {
	if row < len(edges) {
		return edges[row]
	}
	if rng.Intn(40) == 0 {
		return edges[rng.Intn(len(edges))]
	}
	return random()
}

func intGen(min, max int64) func(*rand.Rand, int) any {
	var edges []any
	for _, v := range []int64{min, max, 0, -1, 1, min + 1, max - 1} {
		if v >= min && v <= max {
			edges = append(edges, v)
		}
	}
	return func(rng *rand.Rand, row int) any {
		return edge(rng, row, edges, func() any {
			if rng.Intn(3) == 0 { // a few repeating values: dictionaries stay useful
				return min + int64(rng.Intn(17))
			}
			return min + int64(rng.Uint64()%uint64(max-min+1))
		})
	}
}

func int64Gen() func(*rand.Rand, int) any {
	edges := []any{int64(math.MinInt64), int64(math.MaxInt64), int64(0), int64(-1), int64(1)}
	return func(rng *rand.Rand, row int) any {
		return edge(rng, row, edges, func() any {
			if rng.Intn(3) == 0 {
				return int64(rng.Intn(17) - 8)
			}
			return int64(rng.Uint64())
		})
	}
}

func uintGen(max uint64) func(*rand.Rand, int) any {
	edges := []any{uint64(0), max, uint64(1), max - 1}
	return func(rng *rand.Rand, row int) any {
		return edge(rng, row, edges, func() any {
			if rng.Intn(3) == 0 {
				return uint64(rng.Intn(9))
			}
			if max == math.MaxUint64 {
				return rng.Uint64()
			}
			return rng.Uint64() % (max + 1)
		})
	}
}

func floatGen(bits int) func(*rand.Rand, int) any {
	maxv, smallest := math.MaxFloat64, math.SmallestNonzeroFloat64
	if bits == 32 {
		maxv, smallest = math.MaxFloat32, math.SmallestNonzeroFloat32
	}
	edges := []any{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0.0, maxv, -maxv, smallest, -smallest, 1.0, 0.1}
	return func(rng *rand.Rand, row int) any {
		v := edge(rng, row, edges, func() any {
			if rng.Intn(3) == 0 {
				return float64(rng.Intn(9)) / 4
			}
			return (rng.Float64() - 0.5) * math.Pow(10, float64(rng.Intn(40)-20))
		}).(float64)
		if bits == 32 {
			v = float64(float32(v)) // what a Float32 column holds
		}
		return v
	}
}

var words = []string{"", "a", "héllo", "日本語", "emoji 🎉", "tab\tnew\nline", "quote'\"\\", "NULL", "\\N", strings.Repeat("long", 80)}

func stringGen() func(*rand.Rand, int) any {
	edges := make([]any, len(words))
	for i, w := range words {
		edges[i] = w
	}
	return func(rng *rand.Rand, row int) any {
		return edge(rng, row, edges, func() any {
			if rng.Intn(2) == 0 {
				return words[rng.Intn(len(words))]
			}
			// Random text with a shared prefix (DELTA_BYTE_ARRAY's case).
			return fmt.Sprintf("prefix-%d-%x-ü", rng.Intn(1000), rng.Uint32())
		})
	}
}

func binaryGen() func(*rand.Rand, int) any {
	edges := []any{[]byte{}, []byte{0}, []byte{0xff, 0xfe, 0}, []byte("plain"), []byte{0xc3, 0x28}}
	return func(rng *rand.Rand, row int) any {
		return edge(rng, row, edges, func() any {
			b := make([]byte, rng.Intn(20))
			rng.Read(b)
			return b
		})
	}
}

func boolGen() func(*rand.Rand, int) any {
	return func(rng *rand.Rand, row int) any { return rng.Intn(3) == 0 }
}

// dateGen: Date holds days 0..65535 on 18.16.
func dateGen() func(*rand.Rand, int) any {
	return intGen(0, 65535)
}

// secondsGen: DateTime holds seconds 0..2^32-1 on 18.16.
func secondsGen() func(*rand.Rand, int) any {
	return intGen(0, math.MaxUint32)
}

func decimalGen(precision int32) func(*rand.Rand, int) any {
	max := new(big.Int).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(precision)), nil), big.NewInt(1))
	edges := []any{max, new(big.Int).Neg(max), big.NewInt(0), big.NewInt(1), big.NewInt(-1)}
	return func(rng *rand.Rand, row int) any {
		return edge(rng, row, edges, func() any {
			v := new(big.Int).Rand(rng, max)
			if rng.Intn(2) == 0 {
				v.Neg(v)
			}
			return v
		})
	}
}

func listGen(elem func(*rand.Rand, int) any) func(*rand.Rand, int) any {
	return func(rng *rand.Rand, row int) any {
		n := rng.Intn(5) // 0..4 elements: empty lists too
		l := make([]any, n)
		for i := range l {
			// Element rows past the edge rows: random with edges now and then.
			l[i] = elem(rng, edgeRows+row*5+i)
		}
		if row < edgeRows && n > 0 {
			l[0] = elem(rng, row%3)
		}
		return l
	}
}

// matrixColumns are the columns of every matrix file after the row id "id".
func matrixColumns() []column {
	var cols []column
	add := func(c ...column) { cols = append(cols, c...) }
	add(both("i8", arrow.PrimitiveTypes.Int8, "Int8", kindInt, intGen(math.MinInt8, math.MaxInt8))...)
	add(both("i16", arrow.PrimitiveTypes.Int16, "Int16", kindInt, intGen(math.MinInt16, math.MaxInt16))...)
	add(both("i32", arrow.PrimitiveTypes.Int32, "Int32", kindInt, intGen(math.MinInt32, math.MaxInt32))...)
	add(both("i64", arrow.PrimitiveTypes.Int64, "Int64", kindInt, int64Gen())...)
	add(both("u8", arrow.PrimitiveTypes.Uint8, "UInt8", kindInt, uintGen(math.MaxUint8))...)
	add(both("u16", arrow.PrimitiveTypes.Uint16, "UInt16", kindInt, uintGen(math.MaxUint16))...)
	add(both("u32", arrow.PrimitiveTypes.Uint32, "UInt32", kindInt, uintGen(math.MaxUint32))...)
	add(both("u64", arrow.PrimitiveTypes.Uint64, "UInt64", kindInt, uintGen(math.MaxUint64))...)
	add(both("f32", arrow.PrimitiveTypes.Float32, "Float32", kindFloat, floatGen(32))...)
	add(both("f64", arrow.PrimitiveTypes.Float64, "Float64", kindFloat, floatGen(64))...)
	add(both("str", arrow.BinaryTypes.String, "String", kindBytes, stringGen())...)
	add(both("bin", arrow.BinaryTypes.Binary, "String", kindBytes, binaryGen())...)
	add(both("bool", arrow.FixedWidthTypes.Boolean, "UInt8", kindBool, boolGen())...)
	add(both("date", arrow.FixedWidthTypes.Date32, "Date", kindDate, dateGen())...)
	add(both("ts_s", &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}, "DateTime", kindSeconds, secondsGen())...)
	add(both("ts_ms", &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, "DateTime", kindSeconds, secondsGen())...)
	add(both("ts_us", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, "DateTime", kindSeconds, secondsGen())...)
	add(both("dec9", &arrow.Decimal128Type{Precision: 9, Scale: 2}, "Decimal(9, 2)", kindDecimal, decimalGen(9))...)
	add(both("dec18", &arrow.Decimal128Type{Precision: 18, Scale: 4}, "Decimal(18, 4)", kindDecimal, decimalGen(18))...)
	add(both("dec38", &arrow.Decimal128Type{Precision: 38, Scale: 10}, "Decimal(38, 10)", kindDecimal, decimalGen(38))...)
	add(both("l_i32", arrow.ListOf(arrow.PrimitiveTypes.Int32), "Array(Int32)", kindInt, listGen(intGen(math.MinInt32, math.MaxInt32)))...)
	add(both("l_str", arrow.ListOf(arrow.BinaryTypes.String), "Array(String)", kindBytes, listGen(stringGen()))...)
	add(typesColumns()...)
	return cols
}

// dataset is the rows of a matrix file: the values generated for each column,
// values[col][row], as gen returned them.
type dataset struct {
	cols   []column
	values [][]any
}

// newDataset generates matrixRows rows for cols from a fixed seed.
func newDataset(cols []column) *dataset {
	d := &dataset{cols: cols, values: make([][]any, len(cols))}
	for i, c := range cols {
		rng := rand.New(rand.NewSource(int64(1000 + i)))
		d.values[i] = make([]any, matrixRows)
		for r := 0; r < matrixRows; r++ {
			d.values[i][r] = c.gen(rng, r)
		}
	}
	return d
}

// appendValue appends v (see column) to b.
func appendValue(b array.Builder, v any) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.Int8Builder:
		b.Append(int8(v.(int64)))
	case *array.Int16Builder:
		b.Append(int16(v.(int64)))
	case *array.Int32Builder:
		b.Append(int32(v.(int64)))
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Uint8Builder:
		b.Append(uint8(v.(uint64)))
	case *array.Uint16Builder:
		b.Append(uint16(v.(uint64)))
	case *array.Uint32Builder:
		b.Append(uint32(v.(uint64)))
	case *array.Uint64Builder:
		b.Append(v.(uint64))
	case *array.Float32Builder:
		b.Append(float32(v.(float64)))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.BinaryBuilder:
		b.Append(v.([]byte))
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.Date32Builder:
		b.Append(arrow.Date32(v.(int64)))
	case *array.TimestampBuilder:
		mult := map[arrow.TimeUnit]int64{arrow.Second: 1, arrow.Millisecond: 1e3, arrow.Microsecond: 1e6, arrow.Nanosecond: 1e9}
		b.Append(arrow.Timestamp(v.(int64) * mult[b.Type().(*arrow.TimestampType).Unit]))
	case *array.Decimal128Builder:
		b.Append(decimal128.FromBigInt(v.(*big.Int)))
	case *array.ListBuilder:
		b.Append(true)
		for _, e := range v.([]any) {
			appendValue(b.ValueBuilder(), e)
		}
	default:
		panic(fmt.Sprintf("matrix: no append for %T", b))
	}
}

// writtenCanon is the canonical form (see canon) of a value gen returned.
func writtenCanon(c column, v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case int64:
		return fmt.Sprint(v)
	case uint64:
		return fmt.Sprint(v)
	case float64:
		return v
	case string:
		return v
	case []byte:
		return string(v)
	case bool:
		if v {
			return "1"
		}
		return "0"
	case *big.Int:
		scale := c.arrow.(*arrow.Decimal128Type).Scale
		return decimal.NewFromBigInt(v, -scale).StringFixed(scale)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = writtenCanon(c, e)
		}
		return out
	}
	panic(fmt.Sprintf("matrix: no canonical form for %T", v))
}
