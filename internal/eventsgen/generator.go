// Package eventsgen generates the deterministic "events" data set used by the
// quickstart example and the benchmark harness, writes it as Parquet and as
// ClickHouse Native files, and computes per-column checksums that can be
// compared with the same checksums computed by a ClickHouse server.
//
// Rows are produced as Arrow records, a bounded number of rows at a time, so a
// data set of any size is generated in constant memory.
package eventsgen

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Version names the row recipe. It changes whenever the same Params would
// produce different rows, so caches keyed by it stay valid.
const Version = "events-v1"

// Column is one column of the events table: its name and its ClickHouse type.
type Column struct {
	Name string
	Type string
}

// Columns lists the columns of the events table in table order.
var Columns = []Column{
	{"event_id", "String"},
	{"event_time", "DateTime"},
	{"event_date", "Date"},
	{"user_id", "UInt64"},
	{"event_type", "String"},
	{"page_url", "String"},
	{"referrer", "String"},
	{"country", "String"},
	{"device", "String"},
	{"duration_ms", "UInt32"},
	{"properties", "String"},
}

// Column positions in Schema and in generated records.
const (
	colEventID = iota
	colEventTime
	colEventDate
	colUserID
	colEventType
	colPageURL
	colReferrer
	colCountry
	colDevice
	colDurationMS
	colProperties
)

// EventTimeType is the Arrow type of event_time: whole seconds stored as
// milliseconds since the epoch in UTC, because Parquet has no seconds unit.
var EventTimeType = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}

// Schema returns the Arrow schema of generated records; all fields are
// non-nullable and in the order of Columns.
func Schema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "event_id", Type: arrow.BinaryTypes.String},
		{Name: "event_time", Type: EventTimeType},
		{Name: "event_date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "user_id", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "event_type", Type: arrow.BinaryTypes.String},
		{Name: "page_url", Type: arrow.BinaryTypes.String},
		{Name: "referrer", Type: arrow.BinaryTypes.String},
		{Name: "country", Type: arrow.BinaryTypes.String},
		{Name: "device", Type: arrow.BinaryTypes.String},
		{Name: "duration_ms", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "properties", Type: arrow.BinaryTypes.String},
	}, nil)
}

// TableDDL returns the CREATE TABLE statement for the events table named
// table ("db.name"): MergeTree, partitioned by month, ordered by
// (event_type, user_id, event_time).
func TableDDL(table string) string {
	s := "CREATE TABLE " + table + " ("
	for i, c := range Columns {
		if i > 0 {
			s += ", "
		}
		s += c.Name + " " + c.Type
	}
	return s + ") ENGINE = MergeTree PARTITION BY toYYYYMM(event_date) ORDER BY (event_type, user_id, event_time)"
}

// Params says which rows to generate. The same Params always give the same
// rows in the same order, however they are split into records.
type Params struct {
	// Rows is the number of rows to generate.
	Rows int64
	// Seed selects the pseudo-random sequence. Optional, defaults to 0.
	Seed uint64
	// Months is how many consecutive months event_time spans. Optional,
	// defaults to 6.
	Months int
	// Start is the first month. Optional, defaults to 2024-01 (UTC).
	Start time.Time
}

func (p Params) withDefaults() (Params, error) {
	if p.Months == 0 {
		p.Months = 6
	}
	if p.Start.IsZero() {
		p.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	var errs []error
	if p.Rows < 0 {
		errs = append(errs, fmt.Errorf("rows: %d is negative", p.Rows))
	}
	if p.Months < 0 || p.Months > 1200 {
		errs = append(errs, fmt.Errorf("months: %d is not between 1 and 1200", p.Months))
	}
	return p, errors.Join(errs...)
}

// Vocabularies. Weighted picks repeat entries.
var (
	eventTypes = []string{
		"page_view", "page_view", "page_view", "page_view", "page_view", "page_view",
		"click", "click", "click", "click",
		"scroll", "scroll", "search", "search",
		"add_to_cart", "purchase", "signup", "login", "logout", "share",
	}
	countries = []string{
		"US", "US", "US", "US", "US", "US", "US", "US", "GB", "GB", "GB", "DE", "DE", "DE",
		"FR", "FR", "IN", "IN", "IN", "BR", "BR", "JP", "JP", "CA", "CA", "AU", "ES", "IT",
		"NL", "SE", "PL", "MX", "AR", "KR", "CN", "RU", "TR", "ID", "NG", "ZA", "EG", "SA",
		"AE", "IL", "CH", "AT", "BE", "DK", "NO", "FI", "IE", "PT", "CZ", "GR", "HU", "RO",
		"UA", "VN", "TH", "PH", "MY", "SG", "NZ", "CL",
	}
	devices  = []string{"desktop", "desktop", "desktop", "mobile", "mobile", "mobile", "mobile", "tablet", "tv", "bot"}
	sections = []string{"/", "/p/", "/p/", "/p/", "/c/", "/blog/", "/cart", "/search", "/help/", "/account"}
	referers = []string{
		"", "", "", "", "", "",
		"google.com", "google.com", "bing.com", "t.co", "duckduckgo.com",
		"facebook.com", "reddit.com", "news.ycombinator.com",
	}
	variants = []string{"a", "b", "c"}
)

// Generator produces the rows of one Params as Arrow records. It is not safe
// for concurrent use.
type Generator struct {
	p      Params
	schema *arrow.Schema
	mem    memory.Allocator
	rng    *rand.Rand
	left   int64
	bounds []int64 // month start seconds; len = Months+1
	buf    []byte
}

// NewGenerator returns a generator of the rows p describes, allocating
// records from mem.
func NewGenerator(p Params, mem memory.Allocator) (*Generator, error) {
	p, err := p.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("check generator parameters: %w", err)
	}
	bounds := make([]int64, p.Months+1)
	for i := range bounds {
		bounds[i] = p.Start.AddDate(0, i, 0).Unix()
	}
	return &Generator{
		p:      p,
		schema: Schema(),
		mem:    mem,
		rng:    rand.New(rand.NewPCG(p.Seed, 0x9e3779b97f4a7c15)),
		left:   p.Rows,
		bounds: bounds,
		buf:    make([]byte, 0, 64),
	}, nil
}

// Remaining returns how many rows are still to be generated.
func (g *Generator) Remaining() int64 { return g.left }

// Next returns a record of the next min(n, Remaining()) rows, or nil when no
// rows remain. The caller owns the record and must release it.
func (g *Generator) Next(n int) arrow.Record {
	if int64(n) > g.left {
		n = int(g.left)
	}
	if n <= 0 {
		return nil
	}
	g.left -= int64(n)

	b := array.NewRecordBuilder(g.mem, g.schema)
	defer b.Release()
	b.Reserve(n)
	id := b.Field(colEventID).(*array.StringBuilder)
	ts := b.Field(colEventTime).(*array.TimestampBuilder)
	day := b.Field(colEventDate).(*array.Date32Builder)
	user := b.Field(colUserID).(*array.Uint64Builder)
	typ := b.Field(colEventType).(*array.StringBuilder)
	page := b.Field(colPageURL).(*array.StringBuilder)
	ref := b.Field(colReferrer).(*array.StringBuilder)
	country := b.Field(colCountry).(*array.StringBuilder)
	device := b.Field(colDevice).(*array.StringBuilder)
	dur := b.Field(colDurationMS).(*array.Uint32Builder)
	props := b.Field(colProperties).(*array.StringBuilder)
	id.ReserveData(36 * n)
	page.ReserveData(10 * n)
	props.ReserveData(20 * n)

	r := g.rng
	for i := 0; i < n; i++ {
		g.buf = appendUUID(g.buf[:0], r.Uint64(), r.Uint64())
		id.BinaryBuilder.Append(g.buf)

		m := r.IntN(g.p.Months)
		sec := g.bounds[m] + r.Int64N(g.bounds[m+1]-g.bounds[m])
		ts.UnsafeAppend(arrow.Timestamp(sec * 1000))
		day.UnsafeAppend(arrow.Date32(floorDiv(sec, 86400)))

		// A few heavy users and a long tail.
		if r.IntN(10) == 0 {
			user.UnsafeAppend(1 + r.Uint64N(1000))
		} else {
			user.UnsafeAppend(1 + r.Uint64N(2_000_000))
		}

		et := r.IntN(len(eventTypes))
		typ.Append(eventTypes[et])

		sec1 := sections[r.IntN(len(sections))]
		g.buf = append(g.buf[:0], sec1...)
		if sec1[len(sec1)-1] == '/' && len(sec1) > 1 {
			g.buf = strconv.AppendInt(g.buf, int64(r.IntN(5000)), 10)
		}
		page.BinaryBuilder.Append(g.buf)

		ref.Append(referers[r.IntN(len(referers))])
		country.Append(countries[r.IntN(len(countries))])
		device.Append(devices[r.IntN(len(devices))])
		d := r.ExpFloat64() * 6000
		if d > 3_600_000 {
			d = 3_600_000
		}
		dur.UnsafeAppend(uint32(d))

		g.buf = append(g.buf[:0], `{"ab":"`...)
		g.buf = append(g.buf, variants[r.IntN(len(variants))]...)
		g.buf = append(g.buf, `","n":`...)
		g.buf = strconv.AppendInt(g.buf, int64(r.IntN(100)), 10)
		g.buf = append(g.buf, '}')
		props.BinaryBuilder.Append(g.buf)
	}
	return b.NewRecord()
}

// appendUUID appends hi and lo formatted as a version-4 UUID text.
func appendUUID(dst []byte, hi, lo uint64) []byte {
	var raw [16]byte
	for i := 0; i < 8; i++ {
		raw[i] = byte(hi >> (56 - 8*i))
		raw[8+i] = byte(lo >> (56 - 8*i))
	}
	raw[6] = raw[6]&0x0f | 0x40
	raw[8] = raw[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], raw[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], raw[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], raw[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], raw[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], raw[10:16])
	return append(dst, out[:]...)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
