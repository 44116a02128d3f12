package parquet

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// Logical types this reader does not know. The Parquet format asks a reader
// to read a column whose logical type it does not know as its physical
// type, so that files from newer writers stay readable. arrow-go v18.8.0
// instead panics ("invalid logical type") while it builds the schema from
// the footer. openReader catches that, takes every logical type arrow-go
// does not know out of the footer (a converted type, if the writer set one,
// then applies, as it does in parquet-mr), and opens the file with the
// cleaned footer. Nothing is logged: the column simply reads as INT32,
// BYTE_ARRAY and so on.

// knownLogicalTypes are the members of the LogicalType union arrow-go
// v18.8.0 reads (parquet.thrift field ids; 9 was INTERVAL, never used).
var knownLogicalTypes = map[int16]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true,
	10: true, 11: true, 12: true, 13: true, 14: true, 15: true, 16: true, 17: true, 18: true}

// Field ids in parquet.thrift.
const (
	fileMetaSchema      = 2  // FileMetaData.schema: list<SchemaElement>
	schemaElemLogical   = 10 // SchemaElement.logicalType: LogicalType
	logicalTime         = 7  // LogicalType.TIME: TimeType
	logicalTimestamp    = 8  // LogicalType.TIMESTAMP: TimestampType
	timeTypeUnit        = 2  // TimeType.unit and TimestampType.unit: TimeUnit
	knownTimeUnitsCount = 3  // TimeUnit: MILLIS 1, MICROS 2, NANOS 3
)

// openReader opens the Parquet file behind osf, reading its footer. A footer
// arrow-go cannot read because of a logical type it does not know is read
// again without those logical types. Other failures, panics included, are
// errors.
func openReader(osf *os.File) (*file.Reader, error) {
	r, err := tryOpen(func() (*file.Reader, error) {
		return file.NewParquetReader(osf, file.WithReadProps(readerProperties()))
	})
	if err == nil {
		return r, nil
	}
	footer, ferr := readFooterBytes(osf)
	if ferr != nil {
		return nil, err
	}
	cleaned, changed := dropUnknownLogicalTypes(footer)
	if !changed {
		return nil, err
	}
	return tryOpen(func() (*file.Reader, error) {
		meta, err := metadata.NewFileMetaData(cleaned, nil)
		if err != nil {
			return nil, err
		}
		return file.NewParquetReader(osf, file.WithReadProps(readerProperties()), file.WithMetadata(meta))
	})
}

// tryOpen runs open, turning a panic into an error.
func tryOpen(open func() (*file.Reader, error)) (r *file.Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("corrupt file: %v", p)
		}
	}()
	return open()
}

// readFooterBytes returns the Thrift-encoded footer of an unencrypted file.
func readFooterBytes(f *os.File) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	var tail [8]byte
	if size < 12 {
		return nil, fmt.Errorf("file of %d bytes is too short", size)
	}
	if _, err := f.ReadAt(tail[:], size-8); err != nil {
		return nil, err
	}
	if !bytes.Equal(tail[4:], []byte("PAR1")) {
		return nil, fmt.Errorf("not an unencrypted Parquet file")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-12 {
		return nil, fmt.Errorf("footer length %d exceeds the file", n)
	}
	footer := make([]byte, n)
	if _, err := f.ReadAt(footer, size-8-n); err != nil {
		return nil, err
	}
	return footer, nil
}

// dropUnknownLogicalTypes returns footer without the logical types of its
// schema elements that arrow-go does not know, and whether there were any.
func dropUnknownLogicalTypes(footer []byte) ([]byte, bool) {
	meta, n, err := decodeThriftStruct(footer)
	if err != nil {
		return footer, false
	}
	sf := meta.field(fileMetaSchema)
	if sf == nil || sf.typ != tcList {
		return footer, false
	}
	elems, ok := sf.val.(tList)
	if !ok || elems.elem != tcStruct {
		return footer, false
	}
	changed := false
	for i, e := range elems.elems {
		se := e.(tStruct)
		kept := se[:0:0]
		for _, f := range se {
			if f.id == schemaElemLogical && f.typ == tcStruct && !knownLogicalType(f.val.(tStruct)) {
				changed = true
				continue
			}
			kept = append(kept, f)
		}
		elems.elems[i] = kept
	}
	if !changed {
		return footer, false
	}
	sf.val = elems
	out := encodeThriftStruct(nil, meta)
	return append(out, footer[n:]...), true
}

// knownLogicalType reports whether arrow-go reads the LogicalType union lt:
// exactly one member it knows, and for TIME and TIMESTAMP a unit it knows.
func knownLogicalType(lt tStruct) bool {
	if len(lt) != 1 || lt[0].typ != tcStruct || !knownLogicalTypes[lt[0].id] {
		return false
	}
	if id := lt[0].id; id == logicalTime || id == logicalTimestamp {
		unit := lt[0].val.(tStruct).field(timeTypeUnit)
		if unit == nil || unit.typ != tcStruct {
			return false
		}
		u := unit.val.(tStruct)
		return len(u) == 1 && u[0].typ == tcStruct && u[0].id >= 1 && u[0].id <= knownTimeUnitsCount
	}
	return true
}
