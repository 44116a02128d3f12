package parquet

import (
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// readBufferSize is how much of a column chunk the decoder reads from the
// file at a time: column chunks are streamed, not read whole, so a large
// row group costs a buffer per column, not its size in memory.
const readBufferSize = 1 << 20

// minRecordRows is the fewest rows recordRows chooses, unless the batch
// size is smaller: below it the decoder's per-record costs dominate.
const minRecordRows = 64

// recordRows is the rows per record for reading the leaves of row group
// rg: batch, or fewer where the rows are wide, so that a record holds
// about recordBytes (sources.OpenOptions.RecordBytes; 0 for no bound).
// The size of a row is estimated from the column chunks' uncompressed
// sizes: for plain-encoded data that is close to the decoded size; for
// dictionary-encoded columns that are expanded it is less, and the
// records are larger than recordBytes by the strings' repetition.
func recordRows(rg *metadata.RowGroupMetaData, leaves []int, batch, recordBytes int64) int64 {
	rows := rg.NumRows()
	if recordBytes <= 0 || rows <= 0 {
		return batch
	}
	var bytes int64
	for _, leaf := range leaves {
		cc, err := rg.ColumnChunk(leaf)
		if err != nil {
			return batch // the reader reports a bad chunk when it gets there
		}
		size := cc.TotalUncompressedSize()
		if w := fixedWidth(cc.Type()); w*rows > size {
			size = w * rows
		}
		bytes += size
	}
	perRow := max(bytes/rows, 1)
	n := max(recordBytes/perRow, min(minRecordRows, batch))
	return min(n, batch)
}

// fixedWidth is the bytes a decoded value of physical type t takes at
// least: a byte array's offset, or the width of a fixed-size value.
func fixedWidth(t parquet.Type) int64 {
	switch t {
	case parquet.Types.Boolean:
		return 1
	case parquet.Types.Int32, parquet.Types.Float, parquet.Types.ByteArray:
		return 4
	case parquet.Types.Int64, parquet.Types.Double:
		return 8
	case parquet.Types.Int96:
		return 12
	}
	return 0
}
