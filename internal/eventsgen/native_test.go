package eventsgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/testenv"
)

// nativeBlock is one decoded Native block: column names, types and values
// rendered as text (numbers in decimal, DateTime as epoch seconds, Date as
// days).
type nativeBlock struct {
	names, types []string
	rows         int
	cols         [][]string
}

// decodeNative parses a Native stream as the server does for FORMAT Native.
func decodeNative(data []byte) ([]nativeBlock, error) {
	r := bufio.NewReader(bytes.NewReader(data))
	str := func() (string, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return "", err
		}
		if n > uint64(len(data)) {
			return "", fmt.Errorf("string length %d beyond input", n)
		}
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		return string(b), err
	}
	var blocks []nativeBlock
	for {
		ncols, err := binary.ReadUvarint(r)
		if err == io.EOF {
			return blocks, nil
		}
		if err != nil {
			return nil, err
		}
		nrows, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if ncols > 1000 || nrows > uint64(len(data)) {
			return nil, fmt.Errorf("block of %d columns x %d rows beyond input", ncols, nrows)
		}
		b := nativeBlock{rows: int(nrows)}
		for c := 0; c < int(ncols); c++ {
			name, err := str()
			if err != nil {
				return nil, err
			}
			typ, err := str()
			if err != nil {
				return nil, err
			}
			vals := make([]string, nrows)
			var fixed [8]byte
			for i := range vals {
				switch typ {
				case "String":
					vals[i], err = str()
				case "DateTime", "UInt32":
					_, err = io.ReadFull(r, fixed[:4])
					vals[i] = strconv.FormatUint(uint64(binary.LittleEndian.Uint32(fixed[:])), 10)
				case "Date", "UInt16":
					_, err = io.ReadFull(r, fixed[:2])
					vals[i] = strconv.FormatUint(uint64(binary.LittleEndian.Uint16(fixed[:])), 10)
				case "UInt64":
					_, err = io.ReadFull(r, fixed[:8])
					vals[i] = strconv.FormatUint(binary.LittleEndian.Uint64(fixed[:]), 10)
				case "Int64":
					_, err = io.ReadFull(r, fixed[:8])
					vals[i] = strconv.FormatInt(int64(binary.LittleEndian.Uint64(fixed[:])), 10)
				case "Int8":
					_, err = io.ReadFull(r, fixed[:1])
					vals[i] = strconv.FormatInt(int64(int8(fixed[0])), 10)
				case "Float64":
					_, err = io.ReadFull(r, fixed[:8])
					vals[i] = strconv.FormatFloat(math.Float64frombits(binary.LittleEndian.Uint64(fixed[:])), 'g', -1, 64)
				default:
					return nil, fmt.Errorf("type %q not decoded by this test", typ)
				}
				if err != nil {
					return nil, err
				}
			}
			b.names = append(b.names, name)
			b.types = append(b.types, typ)
			b.cols = append(b.cols, vals)
		}
		blocks = append(blocks, b)
	}
}

// textValues renders column i of recs as decodeNative does.
func textValues(t testing.TB, recs []arrow.Record, i int) []string {
	var out []string
	for _, r := range recs {
		switch a := r.Column(i).(type) {
		case *array.Timestamp:
			per, err := unitsPerSecond(a.DataType().(*arrow.TimestampType).Unit)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range a.TimestampValues() {
				out = append(out, strconv.FormatInt(int64(v)/per, 10))
			}
		case *array.Date32:
			for _, v := range a.Date32Values() {
				out = append(out, strconv.Itoa(int(v)))
			}
		case *array.Binary:
			for j := 0; j < a.Len(); j++ {
				out = append(out, string(a.Value(j)))
			}
		case *array.Float64:
			for _, v := range a.Float64Values() {
				out = append(out, strconv.FormatFloat(v, 'g', -1, 64))
			}
		default:
			for j := 0; j < a.Len(); j++ {
				out = append(out, a.ValueStr(j))
			}
		}
	}
	return out
}

// writeNative writes recs with blockRows rows per block and returns the
// stream.
func writeNative(t testing.TB, recs []arrow.Record, blockRows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	nw := NewNativeWriter(&buf, blockRows)
	for _, r := range recs {
		if err := nw.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := nw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestNativeWriterBlocks(t *testing.T) {
	mem := checkedAlloc(t)
	recs := generate(t, Params{Rows: 2500, Seed: 3}, 700, mem)
	tests := []struct {
		name      string
		blockRows int
		want      []int
	}{
		{name: "blocks straddle records", blockRows: 1000, want: []int{1000, 1000, 500}},
		{name: "block equals record", blockRows: 700, want: []int{700, 700, 700, 400}},
		{name: "one block", blockRows: 0, want: []int{2500}},
		{name: "single rows", blockRows: 1, want: slicesRepeat(1, 2500)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			blocks, err := decodeNative(writeNative(t, recs, tc.blockRows))
			if err != nil {
				t.Fatal(err)
			}
			var sizes []int
			got := make([][]string, len(Columns))
			for _, b := range blocks {
				sizes = append(sizes, b.rows)
				for i, c := range Columns {
					if b.names[i] != c.Name || b.types[i] != c.Type {
						t.Fatalf("column %d is %s %s, want %s %s", i, b.names[i], b.types[i], c.Name, c.Type)
					}
					got[i] = append(got[i], b.cols[i]...)
				}
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tc.want) {
				t.Fatalf("block sizes %v, want %v", sizes, tc.want)
			}
			for i, c := range Columns {
				if want := textValues(t, recs, i); fmt.Sprint(got[i]) != fmt.Sprint(want) {
					t.Fatalf("column %s differs after decoding", c.Name)
				}
			}
		})
	}
}

func slicesRepeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestNativeWriterRefuses(t *testing.T) {
	mem := checkedAlloc(t)
	tests := []struct {
		name    string
		build   func() arrow.Record
		wantErr string
	}{
		{name: "nulls", wantErr: "null values", build: func() arrow.Record {
			b := array.NewInt64Builder(mem)
			defer b.Release()
			b.AppendNull()
			return oneColumn(b.NewArray())
		}},
		{name: "boolean", wantErr: "no native encoding", build: func() arrow.Record {
			b := array.NewBooleanBuilder(mem)
			defer b.Release()
			b.Append(true)
			return oneColumn(b.NewArray())
		}},
		{name: "date before 1970", wantErr: "outside the Date range", build: func() arrow.Record {
			b := array.NewDate32Builder(mem)
			defer b.Release()
			b.Append(-1)
			return oneColumn(b.NewArray())
		}},
		{name: "datetime after 2106", wantErr: "outside the DateTime range", build: func() arrow.Record {
			b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Second})
			defer b.Release()
			b.Append(1 << 33)
			return oneColumn(b.NewArray())
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.build()
			defer rec.Release()
			nw := NewNativeWriter(io.Discard, 10)
			err := nw.Write(rec)
			if cerr := nw.Close(); err == nil {
				err = cerr
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// oneColumn wraps arr (taking ownership) in a record with column "c".
func oneColumn(arr arrow.Array) arrow.Record {
	defer arr.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "c", Type: arr.DataType()}}, nil)
	return array.NewRecord(schema, []arrow.Array{arr}, int64(arr.Len()))
}

// mixedRecord builds a record of several types from the fuzz inputs.
func mixedRecord(mem memory.Allocator, s []byte, i int64, u uint64, f float64, day uint16, sec uint32) arrow.Record {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "b", Type: arrow.BinaryTypes.Binary},
		{Name: "i", Type: arrow.PrimitiveTypes.Int64},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8},
		{Name: "u", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32},
		{Name: "t", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for k := 0; k < 3; k++ {
		b.Field(0).(*array.StringBuilder).BinaryBuilder.Append(s)
		b.Field(1).(*array.BinaryBuilder).Append(s[:len(s)/2])
		b.Field(2).(*array.Int64Builder).Append(i + int64(k))
		b.Field(3).(*array.Int8Builder).Append(int8(i))
		b.Field(4).(*array.Uint64Builder).Append(u - uint64(k))
		b.Field(5).(*array.Float64Builder).Append(f)
		b.Field(6).(*array.Date32Builder).Append(arrow.Date32(day))
		b.Field(7).(*array.TimestampBuilder).Append(arrow.Timestamp(int64(sec) * 1_000_000))
	}
	return b.NewRecord()
}

func FuzzNativeWriter(f *testing.F) {
	f.Add([]byte("hello"), int64(-5), uint64(1<<63), 1.5, uint16(19000), uint32(1700000000), 2)
	f.Add([]byte(""), int64(0), uint64(0), math.Inf(-1), uint16(0), uint32(0), 1)
	f.Add(bytes.Repeat([]byte{0xff}, 300), int64(math.MinInt64), uint64(math.MaxUint64), -0.0, uint16(math.MaxUint16), uint32(math.MaxUint32), 0)
	f.Fuzz(func(t *testing.T, s []byte, i int64, u uint64, fl float64, day uint16, sec uint32, blockRows int) {
		if math.IsNaN(fl) {
			fl = 0 // NaN never equals itself in the text comparison
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		rec := mixedRecord(mem, s, i, u, fl, day, sec)
		data := writeNative(t, []arrow.Record{rec}, blockRows%5)
		blocks, err := decodeNative(data)
		if err != nil {
			t.Fatal(err)
		}
		for c := 0; c < int(rec.NumCols()); c++ {
			var got []string
			for _, b := range blocks {
				got = append(got, b.cols[c]...)
			}
			if want := textValues(t, []arrow.Record{rec}, c); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("column %s: got %q want %q", rec.ColumnName(c), got, want)
			}
		}
		rec.Release()
		mem.AssertSize(t, 0)
	})
}

// clickhouseClient runs clickhouse-client against the single test node with
// query, feeding it stdin, and returns its output.
func clickhouseClient(t *testing.T, query string, stdin []byte) string {
	t.Helper()
	client := testenv.ClickHouseClient(t)
	host, port, err := net.SplitHostPort(testenv.ClickHouseAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, client, "--host", host, "--port", port, "--query", query)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("clickhouse-client %q: %v\n%s", query, err, errOut.String())
	}
	return strings.TrimSuffix(out.String(), "\n")
}

// TestNativeRoundTrip loads Native streams into the single test server with
// clickhouse-client and compares what the server holds with the records.
func TestNativeRoundTrip(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	mem := checkedAlloc(t)
	ctx := context.Background()

	t.Run("events", func(t *testing.T) {
		recs := generate(t, Params{Rows: 30_000, Seed: 11}, 4000, mem)
		table := db + ".events"
		if err := conn.Exec(ctx, TableDDL(table)); err != nil {
			t.Fatal(err)
		}
		clickhouseClient(t, "INSERT INTO "+table+" FORMAT Native", writeNative(t, recs, 7000))
		q, err := ChecksumQuery(table, Schema())
		if err != nil {
			t.Fatal(err)
		}
		want := mustChecksum(t, recs).String()
		if got := clickhouseClient(t, q, nil); got != want {
			t.Fatalf("server checksum\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("mixed types", func(t *testing.T) {
		rec := mixedRecord(mem, []byte("a\tb\\c"), -42, math.MaxUint64, 2.25, 19700, 1_718_000_000)
		defer rec.Release()
		table := db + ".mixed"
		ddl := "CREATE TABLE " + table + " (s String, b String, i Int64, i8 Int8, u UInt64, f Float64, d Date, t DateTime) ENGINE = Memory"
		if err := conn.Exec(ctx, ddl); err != nil {
			t.Fatal(err)
		}
		clickhouseClient(t, "INSERT INTO "+table+" FORMAT Native", writeNative(t, []arrow.Record{rec}, 2))
		got := clickhouseClient(t, "SELECT s, b, i, i8, u, f, toUInt16(d), toUnixTimestamp(t) FROM "+table+" ORDER BY i FORMAT TSV", nil)
		var want []string
		for k := 0; k < 3; k++ {
			want = append(want, fmt.Sprintf("a\\tb\\\\c\ta\\t\t%d\t-42\t%d\t2.25\t19700\t1718000000", -42+k, uint64(math.MaxUint64)-uint64(k)))
		}
		if got != strings.Join(want, "\n") {
			t.Fatalf("server rows\n%s\nwant\n%s", got, strings.Join(want, "\n"))
		}
	})
}
