package eventsgen

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// DefaultNativeBlockRows is the block size NativeWriter uses when none is
// given: the server's default max_insert_block_size.
const DefaultNativeBlockRows = 1 << 20

// NativeWriter writes Arrow records as a ClickHouse Native format stream, the
// format `clickhouse-client --query "INSERT INTO t FORMAT Native"` reads.
// Records are regrouped into blocks of a fixed number of rows whatever their
// own sizes. Supported Arrow types and the ClickHouse types they become:
// string and binary (String), timestamp (DateTime, whole seconds), date32
// (Date), int8-64 and uint8-64 (Int8-64, UInt8-64), float32/64
// (Float32/64). Nulls are refused.
type NativeWriter struct {
	w         *bufio.Writer
	blockRows int64
	pending   []arrow.Record
	rows      int64
	scratch   [binary.MaxVarintLen64]byte
}

// NewNativeWriter returns a writer of Native blocks of blockRows rows (the
// last block may be shorter) to w. blockRows is optional: 0 means
// DefaultNativeBlockRows. Close must be called to write the last block.
func NewNativeWriter(w io.Writer, blockRows int) *NativeWriter {
	if blockRows <= 0 {
		blockRows = DefaultNativeBlockRows
	}
	return &NativeWriter{w: bufio.NewWriterSize(w, 1<<20), blockRows: int64(blockRows)}
}

// Write queues the rows of rec, writing every block it completes. The writer
// retains what it keeps of rec; the caller still releases rec.
func (nw *NativeWriter) Write(rec arrow.Record) error {
	for off := int64(0); off < rec.NumRows(); {
		take := min(nw.blockRows-nw.rows, rec.NumRows()-off)
		nw.pending = append(nw.pending, rec.NewSlice(off, off+take))
		nw.rows += take
		off += take
		if nw.rows == nw.blockRows {
			if err := nw.flushBlock(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close writes the last, partial block and flushes the output. It does not
// close the underlying writer.
func (nw *NativeWriter) Close() error {
	err := nw.flushBlock()
	if ferr := nw.w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("flush native output: %w", ferr)
	}
	return err
}

func (nw *NativeWriter) flushBlock() error {
	defer func() {
		for _, r := range nw.pending {
			r.Release()
		}
		nw.pending = nw.pending[:0]
		nw.rows = 0
	}()
	if nw.rows == 0 {
		return nil
	}
	schema := nw.pending[0].Schema()
	nw.uvarint(uint64(schema.NumFields()))
	nw.uvarint(uint64(nw.rows))
	for i, f := range schema.Fields() {
		typ, err := nativeType(f.Type)
		if err != nil {
			return fmt.Errorf("write native column %s: %w", f.Name, err)
		}
		nw.str(f.Name)
		nw.str(typ)
		for _, r := range nw.pending {
			if err := nw.column(r.Column(i)); err != nil {
				return fmt.Errorf("write native column %s: %w", f.Name, err)
			}
		}
	}
	if _, err := nw.w.Write(nil); err != nil { // reports a sticky write error
		return fmt.Errorf("write native block: %w", err)
	}
	return nil
}

// nativeType returns the ClickHouse type an Arrow type is written as.
func nativeType(dt arrow.DataType) (string, error) {
	switch dt.ID() {
	case arrow.STRING, arrow.BINARY, arrow.LARGE_STRING, arrow.LARGE_BINARY:
		return "String", nil
	case arrow.TIMESTAMP:
		return "DateTime", nil
	case arrow.DATE32:
		return "Date", nil
	case arrow.INT8:
		return "Int8", nil
	case arrow.INT16:
		return "Int16", nil
	case arrow.INT32:
		return "Int32", nil
	case arrow.INT64:
		return "Int64", nil
	case arrow.UINT8:
		return "UInt8", nil
	case arrow.UINT16:
		return "UInt16", nil
	case arrow.UINT32:
		return "UInt32", nil
	case arrow.UINT64:
		return "UInt64", nil
	case arrow.FLOAT32:
		return "Float32", nil
	case arrow.FLOAT64:
		return "Float64", nil
	}
	return "", fmt.Errorf("arrow type %s has no native encoding here", dt)
}

var errNulls = errors.New("null values cannot be written (no Nullable support)")

func (nw *NativeWriter) column(a arrow.Array) error {
	if a.NullN() > 0 {
		return errNulls
	}
	n := a.Len()
	var b [8]byte
	switch a := a.(type) {
	case *array.String:
		for i := 0; i < n; i++ {
			nw.str(a.Value(i))
		}
	case *array.LargeString:
		for i := 0; i < n; i++ {
			nw.str(a.Value(i))
		}
	case *array.Binary:
		for i := 0; i < n; i++ {
			v := a.Value(i)
			nw.uvarint(uint64(len(v)))
			nw.w.Write(v)
		}
	case *array.LargeBinary:
		for i := 0; i < n; i++ {
			v := a.Value(i)
			nw.uvarint(uint64(len(v)))
			nw.w.Write(v)
		}
	case *array.Timestamp:
		per, err := unitsPerSecond(a.DataType().(*arrow.TimestampType).Unit)
		if err != nil {
			return err
		}
		for _, v := range a.TimestampValues() {
			s := floorDiv(int64(v), per)
			if s < 0 || s > math.MaxUint32 {
				return fmt.Errorf("timestamp %d is outside the DateTime range", v)
			}
			binary.LittleEndian.PutUint32(b[:], uint32(s))
			nw.w.Write(b[:4])
		}
	case *array.Date32:
		for _, v := range a.Date32Values() {
			if v < 0 || v > math.MaxUint16 {
				return fmt.Errorf("date %d is outside the Date range", v)
			}
			binary.LittleEndian.PutUint16(b[:], uint16(v))
			nw.w.Write(b[:2])
		}
	case *array.Int8:
		for _, v := range a.Int8Values() {
			nw.w.WriteByte(byte(v))
		}
	case *array.Uint8:
		nw.w.Write(a.Uint8Values())
	case *array.Int16:
		for _, v := range a.Int16Values() {
			binary.LittleEndian.PutUint16(b[:], uint16(v))
			nw.w.Write(b[:2])
		}
	case *array.Uint16:
		for _, v := range a.Uint16Values() {
			binary.LittleEndian.PutUint16(b[:], v)
			nw.w.Write(b[:2])
		}
	case *array.Int32:
		for _, v := range a.Int32Values() {
			binary.LittleEndian.PutUint32(b[:], uint32(v))
			nw.w.Write(b[:4])
		}
	case *array.Uint32:
		for _, v := range a.Uint32Values() {
			binary.LittleEndian.PutUint32(b[:], v)
			nw.w.Write(b[:4])
		}
	case *array.Int64:
		for _, v := range a.Int64Values() {
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			nw.w.Write(b[:8])
		}
	case *array.Uint64:
		for _, v := range a.Uint64Values() {
			binary.LittleEndian.PutUint64(b[:], v)
			nw.w.Write(b[:8])
		}
	case *array.Float32:
		for _, v := range a.Float32Values() {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			nw.w.Write(b[:4])
		}
	case *array.Float64:
		for _, v := range a.Float64Values() {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			nw.w.Write(b[:8])
		}
	default:
		_, err := nativeType(a.DataType())
		if err == nil {
			err = fmt.Errorf("arrow array %T has no native encoding here", a)
		}
		return err
	}
	return nil
}

func unitsPerSecond(u arrow.TimeUnit) (int64, error) {
	switch u {
	case arrow.Second:
		return 1, nil
	case arrow.Millisecond:
		return 1000, nil
	case arrow.Microsecond:
		return 1000_000, nil
	case arrow.Nanosecond:
		return 1000_000_000, nil
	}
	return 0, fmt.Errorf("unknown time unit %s", u)
}

// uvarint and str write to the buffered writer; its first error sticks and
// is reported by Flush in Close.
func (nw *NativeWriter) uvarint(v uint64) {
	n := binary.PutUvarint(nw.scratch[:], v)
	nw.w.Write(nw.scratch[:n])
}

func (nw *NativeWriter) str(s string) {
	nw.uvarint(uint64(len(s)))
	nw.w.WriteString(s)
}
