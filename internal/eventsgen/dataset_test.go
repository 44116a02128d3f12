package eventsgen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

func TestDatasetWrite(t *testing.T) {
	tests := []struct {
		name      string
		d         Dataset
		wantFiles [][]int64 // row group sizes per file
	}{
		{name: "even split", d: Dataset{Params: Params{Rows: 6000, Seed: 1}, Files: 2, RowGroupRows: 1000},
			wantFiles: [][]int64{{1000, 1000, 1000}, {1000, 1000, 1000}}},
		{name: "uneven split", d: Dataset{Params: Params{Rows: 7001, Seed: 1}, Files: 3, RowGroupRows: 1000},
			wantFiles: [][]int64{{1000, 1000, 334}, {1000, 1000, 334}, {1000, 1000, 333}}},
		{name: "defaults", d: Dataset{Params: Params{Rows: 1500, Seed: 1}},
			wantFiles: [][]int64{{1500}}},
		{name: "native only", d: Dataset{Params: Params{Rows: 1500, Seed: 1}, NativeBlockRows: 400}},
	}
	// The same seed and row count give the same rows however they are split.
	sums := map[int64]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedAlloc(t)
			dir := t.TempDir()
			if tc.wantFiles != nil {
				tc.d.ParquetDir = filepath.Join(dir, "pq")
			}
			tc.d.NativePath = filepath.Join(dir, "events.native")
			res, err := tc.d.Write(context.Background(), mem)
			if err != nil {
				t.Fatal(err)
			}
			if res.Checksum.Rows != uint64(tc.d.Rows) {
				t.Fatalf("checksum rows %d, want %d", res.Checksum.Rows, tc.d.Rows)
			}
			if prev, ok := sums[tc.d.Rows]; ok && prev != res.Checksum.String() {
				t.Fatalf("checksum %s differs from an earlier split's %s", res.Checksum, prev)
			}
			sums[tc.d.Rows] = res.Checksum.String()

			if len(res.ParquetFiles) != len(tc.wantFiles) {
				t.Fatalf("parquet files %v, want %d", res.ParquetFiles, len(tc.wantFiles))
			}
			for i, p := range res.ParquetFiles {
				if want := filepath.Join(tc.d.ParquetDir, fmt.Sprintf("events-%04d.parquet", i)); p != want {
					t.Fatalf("file %d is %s, want %s", i, p, want)
				}
				checkParquetLayout(t, p, tc.wantFiles[i])
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*", "*.tmp")); len(left) > 0 {
				t.Fatalf("temporary files left: %v", left)
			}
			if len(res.ParquetFiles) > 0 {
				got, err := ReadParquetChecksum(context.Background(), res.ParquetFiles, mem)
				if err != nil {
					t.Fatal(err)
				}
				if got.String() != res.Checksum.String() {
					t.Fatalf("parquet checksum %s, want %s", got, res.Checksum)
				}
			}

			native, err := os.ReadFile(tc.d.NativePath)
			if err != nil {
				t.Fatal(err)
			}
			blocks, err := decodeNative(native)
			if err != nil {
				t.Fatal(err)
			}
			var rows int
			for _, b := range blocks {
				rows += b.rows
			}
			if int64(rows) != tc.d.Rows {
				t.Fatalf("native rows %d, want %d", rows, tc.d.Rows)
			}
		})
	}
}

// checkParquetLayout checks the row groups, codec, dictionary pages and
// logical types of the Parquet file at path.
func checkParquetLayout(t *testing.T, path string, rowGroups []int64) {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	md := pf.MetaData()
	var got []int64
	for i := 0; i < pf.NumRowGroups(); i++ {
		rg := md.RowGroup(i)
		got = append(got, rg.NumRows())
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != compress.Codecs.Snappy {
				t.Fatalf("column %d compression %v, want snappy", c, cc.Compression())
			}
			if c == colEventType && !cc.HasDictionaryPage() {
				t.Fatalf("event_type column chunk has no dictionary page")
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(rowGroups) {
		t.Fatalf("%s row groups %v, want %v", path, got, rowGroups)
	}
	tests := []struct {
		col      int
		physical parquet.Type
		check    func(schema.LogicalType) bool
	}{
		{colEventTime, parquet.Types.Int64, func(lt schema.LogicalType) bool {
			ts, ok := lt.(schema.TimestampLogicalType)
			return ok && ts.IsAdjustedToUTC() && ts.TimeUnit() == schema.TimeUnitMillis
		}},
		{colEventDate, parquet.Types.Int32, func(lt schema.LogicalType) bool { _, ok := lt.(schema.DateLogicalType); return ok }},
		{colUserID, parquet.Types.Int64, func(lt schema.LogicalType) bool {
			it, ok := lt.(schema.IntLogicalType)
			return ok && !it.IsSigned() && it.BitWidth() == 64
		}},
		{colDurationMS, parquet.Types.Int32, func(lt schema.LogicalType) bool {
			it, ok := lt.(schema.IntLogicalType)
			return ok && !it.IsSigned() && it.BitWidth() == 32
		}},
		{colEventID, parquet.Types.ByteArray, func(lt schema.LogicalType) bool { _, ok := lt.(schema.StringLogicalType); return ok }},
	}
	for _, tc := range tests {
		col := md.Schema.Column(tc.col)
		if col.PhysicalType() != tc.physical || !tc.check(col.LogicalType()) {
			t.Errorf("column %s is %s %s", col.Name(), col.PhysicalType(), col.LogicalType())
		}
	}
}

func TestChecksumQuery(t *testing.T) {
	tests := []struct {
		name    string
		schema  *arrow.Schema
		want    string
		wantErr bool
	}{
		{name: "events", schema: Schema(), want: "SELECT count(), sum(cityHash64(event_id)), sum(intHash64(toUInt64(event_time))), " +
			"sum(intHash64(toUInt64(event_date))), sum(intHash64(toUInt64(user_id))), sum(cityHash64(event_type)), " +
			"sum(cityHash64(page_url)), sum(cityHash64(referrer)), sum(cityHash64(country)), sum(cityHash64(device)), " +
			"sum(intHash64(toUInt64(duration_ms))), sum(cityHash64(properties)) FROM db.t"},
		{name: "float refused", schema: arrow.NewSchema([]arrow.Field{{Name: "f", Type: arrow.PrimitiveTypes.Float64}}, nil), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChecksumQuery("db.t", tc.schema)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("query\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestIntHash64(t *testing.T) {
	// Values computed by ClickHouse 18.16: SELECT intHash64(toUInt64(x)).
	tests := []struct{ in, want uint64 }{
		{0, 4761183170873013810},
		{5, 15228578409069794350},
		{1700000000, 8120701680983671539},
		{18446744073709551615, 14600443904207254319},
	}
	for _, tc := range tests {
		if got := IntHash64(tc.in); got != tc.want {
			t.Errorf("IntHash64(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
