package eventsgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/go-faster/city"
)

// Checksum is an order-independent fingerprint of a set of rows: the row
// count and, per column, the wrapping sum of a hash of every value. It equals
// the single row ClickHouse returns for ChecksumQuery over the same rows:
// strings hash with cityHash64, integers, dates and date-times with
// intHash64(toUInt64(value)).
type Checksum struct {
	// Rows is the number of rows added.
	Rows uint64
	// Names are the column names in schema order.
	Names []string
	// Sums are the per-column hash sums, in the order of Names.
	Sums []uint64
}

// NewChecksum returns an empty checksum for records of schema. It fails when a
// column type has no server-side equivalent here.
func NewChecksum(schema *arrow.Schema) (*Checksum, error) {
	c := &Checksum{Names: make([]string, schema.NumFields()), Sums: make([]uint64, schema.NumFields())}
	for i, f := range schema.Fields() {
		if _, err := hashExpr(f); err != nil {
			return nil, err
		}
		c.Names[i] = f.Name
	}
	return c, nil
}

// ChecksumQuery returns the query that makes ClickHouse compute the Checksum
// of table for the columns of schema. Run it with FORMAT TabSeparated (the
// clickhouse-client default); its output line equals Checksum.String.
func ChecksumQuery(table string, schema *arrow.Schema) (string, error) {
	exprs := []string{"count()"}
	for _, f := range schema.Fields() {
		e, err := hashExpr(f)
		if err != nil {
			return "", err
		}
		exprs = append(exprs, e)
	}
	return "SELECT " + strings.Join(exprs, ", ") + " FROM " + table, nil
}

func hashExpr(f arrow.Field) (string, error) {
	switch f.Type.ID() {
	case arrow.STRING, arrow.BINARY:
		return "sum(cityHash64(" + f.Name + "))", nil
	case arrow.TIMESTAMP, arrow.DATE32, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return "sum(intHash64(toUInt64(" + f.Name + ")))", nil
	}
	return "", fmt.Errorf("checksum column %s: arrow type %s is not supported", f.Name, f.Type)
}

// Add folds the rows of rec into the checksum. rec must have the schema the
// checksum was made for.
func (c *Checksum) Add(rec arrow.Record) error {
	if int(rec.NumCols()) != len(c.Sums) {
		return fmt.Errorf("checksum record: %d columns, want %d", rec.NumCols(), len(c.Sums))
	}
	for i, col := range rec.Columns() {
		if col.NullN() > 0 {
			return fmt.Errorf("checksum column %s: %w", c.Names[i], errNulls)
		}
		s, err := sumColumn(col)
		if err != nil {
			return fmt.Errorf("checksum column %s: %w", c.Names[i], err)
		}
		c.Sums[i] += s
	}
	c.Rows += uint64(rec.NumRows())
	return nil
}

func sumColumn(col arrow.Array) (uint64, error) {
	var s uint64
	switch a := col.(type) {
	case *array.String:
		for i := 0; i < a.Len(); i++ {
			s += city.CH64([]byte(a.Value(i)))
		}
	case *array.Binary:
		for i := 0; i < a.Len(); i++ {
			s += city.CH64(a.Value(i))
		}
	case *array.Timestamp:
		per, err := unitsPerSecond(a.DataType().(*arrow.TimestampType).Unit)
		if err != nil {
			return 0, err
		}
		for _, v := range a.TimestampValues() {
			s += IntHash64(uint64(floorDiv(int64(v), per)))
		}
	case *array.Date32:
		for _, v := range a.Date32Values() {
			s += IntHash64(uint64(v))
		}
	case *array.Int8:
		for _, v := range a.Int8Values() {
			s += IntHash64(uint64(v))
		}
	case *array.Int16:
		for _, v := range a.Int16Values() {
			s += IntHash64(uint64(v))
		}
	case *array.Int32:
		for _, v := range a.Int32Values() {
			s += IntHash64(uint64(v))
		}
	case *array.Int64:
		for _, v := range a.Int64Values() {
			s += IntHash64(uint64(v))
		}
	case *array.Uint8:
		for _, v := range a.Uint8Values() {
			s += IntHash64(uint64(v))
		}
	case *array.Uint16:
		for _, v := range a.Uint16Values() {
			s += IntHash64(uint64(v))
		}
	case *array.Uint32:
		for _, v := range a.Uint32Values() {
			s += IntHash64(uint64(v))
		}
	case *array.Uint64:
		for _, v := range a.Uint64Values() {
			s += IntHash64(v)
		}
	default:
		return 0, fmt.Errorf("arrow type %s is not supported", col.DataType())
	}
	return s, nil
}

// IntHash64 is ClickHouse's SQL function intHash64.
func IntHash64(x uint64) uint64 {
	x ^= 0x4cf2d2baae6da887
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// String returns the checksum as one tab-separated line without a newline:
// the row count, then each column's sum, as clickhouse-client prints the
// result of ChecksumQuery.
func (c *Checksum) String() string {
	var b strings.Builder
	b.WriteString(strconv.FormatUint(c.Rows, 10))
	for _, s := range c.Sums {
		b.WriteByte('\t')
		b.WriteString(strconv.FormatUint(s, 10))
	}
	return b.String()
}

// ReadParquetChecksum reads every row of the Parquet files at paths and
// returns their Checksum. All files must have the same schema.
func ReadParquetChecksum(ctx context.Context, paths []string, mem memory.Allocator) (*Checksum, error) {
	if len(paths) == 0 {
		return nil, errors.New("checksum parquet files: no files given")
	}
	var (
		c     *Checksum
		first *arrow.Schema
	)
	for _, p := range paths {
		err := readParquet(ctx, p, mem, func(rec arrow.Record) error {
			if c == nil {
				var err error
				if c, err = NewChecksum(rec.Schema()); err != nil {
					return err
				}
				first = rec.Schema()
			} else if !rec.Schema().Equal(first) {
				return fmt.Errorf("schema %s differs from the first file's %s", rec.Schema(), first)
			}
			return c.Add(rec)
		})
		if err != nil {
			return nil, fmt.Errorf("checksum parquet file %s: %w", p, err)
		}
	}
	return c, nil
}

// readParquet calls fn with every record of the Parquet file at path; the
// records are released after fn returns.
func readParquet(ctx context.Context, path string, mem memory.Allocator, fn func(arrow.Record) error) error {
	pf, err := file.OpenParquetFile(path, false, file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		return err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, mem)
	if err != nil {
		return err
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return err
	}
	defer rr.Release()
	for rr.Next() {
		if err := fn(rr.Record()); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
