package pqmatrix

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/shopspring/decimal"

	"github.com/chload/chload/internal/duckread"
)

// The canonical form of a value, the one thing the written values, the table
// and DuckDB are each turned into before comparing: nil for NULL, float64 for
// floats (compared bit for bit, every NaN equal to every NaN), []any for
// arrays, and a string for everything else (see kind).

// tableRows reads every row of db.table ordered by id, in canonical form,
// one slice per row with the id first and then one value per column of cols.
func tableRows(t *testing.T, conn driver.Conn, table string, cols []column) [][]any {
	t.Helper()
	names := []string{"id"}
	for _, c := range cols {
		names = append(names, "`"+c.name+"`")
	}
	rows, err := conn.Query(context.Background(), fmt.Sprintf("SELECT %s FROM %s ORDER BY id", strings.Join(names, ", "), table))
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	var out [][]any
	for rows.Next() {
		ptrs := make([]any, len(types))
		for i, ct := range types {
			ptrs[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		row := make([]any, len(ptrs))
		row[0] = chCanon(kindInt, 0, reflect.ValueOf(ptrs[0]).Elem())
		for i, c := range cols {
			row[i+1] = chCanon(c.kind, decimalScale(c), reflect.ValueOf(ptrs[i+1]).Elem())
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	return out
}

// chCanon is the canonical form of a value clickhouse-go scanned.
func chCanon(k kind, scale int32, v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return chCanon(k, scale, v.Elem())
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.String:
		return v.String()
	case reflect.Bool:
		if v.Bool() {
			return "1"
		}
		return "0"
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = chCanon(k, scale, v.Index(i))
		}
		return out
	}
	switch x := v.Interface().(type) {
	case time.Time:
		if k == kindDate {
			return strconv.FormatInt(x.Unix()/86400, 10)
		}
		return strconv.FormatInt(x.Unix(), 10)
	case decimal.Decimal:
		return x.StringFixed(scale)
	}
	return fmt.Sprintf("unexpected %T %v", v.Interface(), v.Interface())
}

// duckCanon is the canonical form of a value duckread returned for a column
// DuckDB types as duckType (see internal/duckread for the text forms).
func duckCanon(k kind, duckType string, v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case bool:
		if v {
			return "1"
		}
		return "0"
	case []any:
		elem := strings.TrimSuffix(duckType, "[]")
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = duckCanon(k, elem, e)
		}
		return out
	case map[string]any:
		// A one-field struct is how DuckDB reads a legacy list element
		// group; the table holds the field.
		if len(v) == 1 {
			for _, e := range v {
				return duckCanon(k, duckType, e)
			}
		}
		return fmt.Sprintf("unexpected struct %v", v)
	case string:
		switch {
		case k == kindFloat:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return "unparsable float " + v
			}
			return f
		case duckType == "BLOB":
			b, err := hex.DecodeString(v)
			if err != nil {
				return "bad hex " + v
			}
			return string(b)
		case k == kindSeconds:
			return seconds(v, duckType)
		}
		return v
	}
	return fmt.Sprintf("unexpected %T %v", v, v)
}

// seconds turns DuckDB's timestamp integer in the type's unit into whole
// seconds, or into a text that cannot match when there is a fraction.
func seconds(v, duckType string) any {
	per := map[string]int64{"TIMESTAMP_S": 1, "TIMESTAMP_MS": 1e3, "TIMESTAMP": 1e6, "TIMESTAMP WITH TIME ZONE": 1e6, "TIMESTAMP_NS": 1e9}[duckType]
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || per == 0 {
		return fmt.Sprintf("unreadable %s %s", duckType, v)
	}
	if n%per != 0 {
		return fmt.Sprintf("%d and %d/%d s", n/per, n%per, per)
	}
	return strconv.FormatInt(n/per, 10)
}

func decimalScale(c column) int32 {
	if d, ok := c.arrow.(*arrow.Decimal128Type); ok {
		return d.Scale
	}
	return 0
}

// equal compares canonical values.
func equal(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		if !ok {
			return false
		}
		if math.IsNaN(x) || math.IsNaN(y) {
			return math.IsNaN(x) && math.IsNaN(y)
		}
		return math.Float64bits(x) == math.Float64bits(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// show prints a canonical value so that two different values never print
// the same: strings quoted, floats with their bits.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return strconv.Quote(x)
	case float64:
		return fmt.Sprintf("%v (bits %#x)", x, math.Float64bits(x))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprintf("%T %v", v, v)
}

// mismatches collects differences, reporting the first few in full.
type mismatches struct {
	t     *testing.T
	file  string
	count int
}

const maxReported = 10

func (m *mismatches) add(format string, args ...any) {
	m.count++
	if m.count <= maxReported {
		m.t.Errorf("%s: "+format, append([]any{m.file}, args...)...)
	}
}

func (m *mismatches) done() {
	if m.count > maxReported {
		m.t.Errorf("%s: %d differences in all, the first %d shown", m.file, m.count, maxReported)
	}
}

// compareTable checks the table's rows against what was written, value by
// value: want[col][row] is the written canonical value of row id row.
func compareTable(m *mismatches, cols []column, want [][]any, got [][]any) {
	if len(got) != matrixRows {
		m.add("table holds %d rows, file %d", len(got), matrixRows)
	}
	for r := 0; r < len(got) && r < matrixRows; r++ {
		if got[r][0] != strconv.Itoa(r) {
			m.add("table row %d has id %v", r, show(got[r][0]))
			return
		}
		for i, c := range cols {
			if !equal(want[i][r], got[r][i+1]) {
				m.add("column %s (%s) row id %d: written %s, table holds %s", c.name, c.ch, r, show(want[i][r]), show(got[r][i+1]))
			}
		}
	}
}

// compareDuck checks DuckDB's reading of the file against the table's rows
// (got, ordered by id), matching rows by id.
func compareDuck(m *mismatches, cols []column, duck *duckread.File, got [][]any) {
	if len(duck.Rows) != len(got) {
		m.add("duckdb reads %d rows, table holds %d", len(duck.Rows), len(got))
	}
	idCol := duck.Col("id")
	idx := make([]int, len(cols))
	for i, c := range cols {
		if idx[i] = duck.Col(c.name); idx[i] < 0 {
			m.add("duckdb finds no column %s", c.name)
			return
		}
	}
	for _, row := range duck.Rows {
		id, err := strconv.Atoi(fmt.Sprint(row[idCol]))
		if err != nil || id < 0 || id >= len(got) {
			m.add("duckdb row id %v has no table row", row[idCol])
			continue
		}
		for i, c := range cols {
			dv := duckCanon(c.kind, duck.Columns[idx[i]].Type, row[idx[i]])
			if !equal(dv, got[id][i+1]) {
				m.add("column %s row id %d: duckdb reads %s (%s), table holds %s", c.name, id, show(dv), duck.Columns[idx[i]].Type, show(got[id][i+1]))
			}
		}
	}
}
