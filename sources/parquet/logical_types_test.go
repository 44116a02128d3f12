package parquet

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/chload/chload/sources"
	"github.com/chload/chload/sources/sourcestest"
)

const unknownRows = 50

// writeAnnotated writes four columns whose logical types the tests then
// turn into ones arrow-go does not know: h FLOAT16 on FIXED_LEN_BYTE_ARRAY(2),
// i INT(8) on INT32, t TIMESTAMP(NANOS, local) on INT64 and s STRING on
// BYTE_ARRAY. Row r holds bytes {r, r+1}, r-25, r*1e9+7 and "s<r>"; every
// seventh row is NULL.
func writeAnnotated(t *testing.T, path string) {
	t.Helper()
	opt := parquet.Repetitions.Optional
	h, err := schema.NewPrimitiveNodeLogical("h", opt, schema.Float16LogicalType{}, parquet.Types.FixedLenByteArray, 2, -1)
	if err != nil {
		t.Fatal(err)
	}
	i := mustPrim(t, "i", opt, parquet.Types.Int32, schema.NewIntLogicalType(8, true))
	ts := mustPrim(t, "t", opt, parquet.Types.Int64, schema.NewTimestampLogicalType(false, schema.TimeUnitNanos))
	s := mustPrim(t, "s", opt, parquet.Types.ByteArray, schema.StringLogicalType{})
	root := mustGroup(t, "schema", parquet.Repetitions.Required, schema.FieldList{h, i, ts, s}, nil)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := file.NewParquetWriter(f, root)
	rg := w.AppendRowGroup()
	var defs []int16
	var hv []parquet.FixedLenByteArray
	var iv []int32
	var tv []int64
	var sv []parquet.ByteArray
	for r := 0; r < unknownRows; r++ {
		if r%7 == 3 {
			defs = append(defs, 0)
			continue
		}
		defs = append(defs, 1)
		hv = append(hv, parquet.FixedLenByteArray{byte(r), byte(r + 1)})
		iv = append(iv, int32(r-25))
		tv = append(tv, int64(r)*1e9+7)
		sv = append(sv, parquet.ByteArray("s"+string(rune('a'+r%26))))
	}
	for _, write := range []func(file.ColumnChunkWriter) error{
		func(cw file.ColumnChunkWriter) error {
			_, err := cw.(*file.FixedLenByteArrayColumnChunkWriter).WriteBatch(hv, defs, nil)
			return err
		},
		func(cw file.ColumnChunkWriter) error {
			_, err := cw.(*file.Int32ColumnChunkWriter).WriteBatch(iv, defs, nil)
			return err
		},
		func(cw file.ColumnChunkWriter) error {
			_, err := cw.(*file.Int64ColumnChunkWriter).WriteBatch(tv, defs, nil)
			return err
		},
		func(cw file.ColumnChunkWriter) error {
			_, err := cw.(*file.ByteArrayColumnChunkWriter).WriteBatch(sv, defs, nil)
			return err
		},
	} {
		cw, err := rg.NextColumn()
		if err != nil {
			t.Fatal(err)
		}
		if err := write(cw); err != nil {
			t.Fatal(err)
		}
		if err := cw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// replaceFooter rewrites the footer of the file at path.
func replaceFooter(t *testing.T, path string, edit func(footer []byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
	body, footer := b[:len(b)-8-n], append([]byte(nil), b[len(b)-8-n:len(b)-8]...)
	footer = edit(footer)
	out := append(append([]byte(nil), body...), footer...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(footer)))
	out = append(out, "PAR1"...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkPhysical reads path and checks that every column comes out as its
// physical type with the values written.
func checkPhysical(t *testing.T, path string, want map[string]arrow.DataType) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src, err := New(Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := sourcestest.ReadAll(context.Background(), src, sources.OpenOptions{Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	for i, f := range tbl.Schema().Fields() {
		wt, ok := want[f.Name]
		if !ok {
			continue
		}
		if !arrow.TypeEqual(f.Type, wt) {
			t.Errorf("column %s: %s, want %s", f.Name, f.Type, wt)
			continue
		}
		col, err := array.Concatenate(tbl.Column(i).Data().Chunks(), mem)
		if err != nil {
			t.Fatal(err)
		}
		for r := 0; r < unknownRows; r++ {
			if r%7 == 3 {
				if col.IsValid(r) {
					t.Fatalf("column %s row %d: NULL lost", f.Name, r)
				}
				continue
			}
			ok := false
			switch a := col.(type) {
			case *array.FixedSizeBinary:
				ok = bytes.Equal(a.Value(r), []byte{byte(r), byte(r + 1)})
			case *array.Int8:
				ok = a.Value(r) == int8(r-25)
			case *array.Int32:
				ok = a.Value(r) == int32(r-25)
			case *array.Int64:
				ok = a.Value(r) == int64(r)*1e9+7
			case *array.Binary:
				ok = string(a.Value(r)) == "s"+string(rune('a'+r%26))
			case *array.String:
				ok = a.Value(r) == "s"+string(rune('a'+r%26))
			}
			if !ok {
				t.Fatalf("column %s row %d: %s", f.Name, r, col.ValueStr(r))
			}
		}
		col.Release()
	}
}

// TestUnknownLogicalTypeBytePatch patches the FLOAT16 member of the
// LogicalType union (field 15, an empty struct) to field 9, which no
// logical type uses, straight in the footer bytes: the column reads as
// FIXED_LEN_BYTE_ARRAY.
func TestUnknownLogicalTypeBytePatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f16.parquet")
	writeAnnotated(t, path)
	replaceFooter(t, path, func(footer []byte) []byte {
		// Field header: delta 15, type struct (0xfc); the empty FLOAT16
		// struct's stop; the union's stop.
		pat := []byte{0xfc, 0x00, 0x00}
		if n := bytes.Count(footer, pat); n != 1 {
			t.Fatalf("FLOAT16 pattern found %d times", n)
		}
		i := bytes.Index(footer, pat)
		footer[i] = 0x9c
		return footer
	})
	checkPhysical(t, path, map[string]arrow.DataType{"h": &arrow.FixedSizeBinaryType{ByteWidth: 2}, "i": arrow.PrimitiveTypes.Int8})
}

// TestUnknownLogicalTypes re-encodes the footer with logical types arrow-go
// does not know: new union members (field ids 19, 200 and 300), a TIMESTAMP
// whose unit is a new member of the TimeUnit union, and, on the INT32 and
// BYTE_ARRAY columns, no converted type either. Each column reads as its
// physical type.
func TestUnknownLogicalTypes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "unknown.parquet")
	writeUnknown(t, path)
	checkPhysical(t, path, map[string]arrow.DataType{
		"h": &arrow.FixedSizeBinaryType{ByteWidth: 2}, "i": arrow.PrimitiveTypes.Int32,
		"t": arrow.PrimitiveTypes.Int64, "s": arrow.BinaryTypes.Binary,
	})
}

// writeUnknown writes the file of TestUnknownLogicalTypes.
func writeUnknown(t *testing.T, path string) {
	t.Helper()
	writeAnnotated(t, path)
	replaceFooter(t, path, func(footer []byte) []byte {
		meta, n, err := decodeThriftStruct(footer)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(footer) {
			t.Fatalf("decoded %d of %d bytes", n, len(footer))
		}
		if enc := encodeThriftStruct(nil, meta); !bytes.Equal(enc, footer) {
			t.Fatal("decode and encode changed the footer")
		}
		elems := meta.field(fileMetaSchema).val.(tList).elems
		for i, e := range elems {
			se := e.(tStruct)
			name := string(se.field(4).val.([]byte)) // SchemaElement.name
			lt := se.field(schemaElemLogical)
			switch name {
			case "h":
				lt.val = tStruct{{id: 19, typ: tcStruct, val: tStruct{}}}
			case "i":
				lt.val = tStruct{{id: 200, typ: tcStruct, val: tStruct{{id: 1, typ: tcI32, val: int64(7)}}}}
				var kept tStruct
				for _, f := range se {
					if f.id != 6 { // converted_type
						kept = append(kept, f)
					}
				}
				se = kept
			case "t":
				ts := lt.val.(tStruct)[0].val.(tStruct)
				ts.field(timeTypeUnit).val = tStruct{{id: 4, typ: tcStruct, val: tStruct{}}}
			case "s":
				lt.val = tStruct{{id: 300, typ: tcStruct, val: tStruct{}}}
				var kept tStruct
				for _, f := range se {
					if f.id != 6 { // converted_type UTF8
						kept = append(kept, f)
					}
				}
				se = kept
			default:
				continue
			}
			elems[i] = se
		}
		return encodeThriftStruct(nil, meta)
	})
}

// TestThriftRoundTrip decodes and encodes footers arrow-go wrote, with
// statistics, key-value metadata and a stored Arrow schema, and gets the
// same bytes back.
func TestThriftRoundTrip(t *testing.T) {
	mem := memory.NewGoAllocator()
	sch := allTypes()
	rec := buildRecord(mem, sch, 0, 300)
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "all.parquet")
	writeFile(t, path, rec, 100, parquet.NewWriterProperties(parquet.WithStats(true), parquet.WithMaxRowGroupLength(100)), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	osf, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer osf.Close()
	footer, err := readFooterBytes(osf)
	if err != nil {
		t.Fatal(err)
	}
	meta, n, err := decodeThriftStruct(footer)
	if err != nil || n != len(footer) {
		t.Fatalf("decoded %d of %d bytes: %v", n, len(footer), err)
	}
	if enc := encodeThriftStruct(nil, meta); !bytes.Equal(enc, footer) {
		t.Fatal("decode and encode changed the footer")
	}
	if _, changed := dropUnknownLogicalTypes(footer); changed {
		t.Fatal("a footer arrow-go wrote has logical types it does not know")
	}
	for cut := 0; cut < len(footer); cut += 7 {
		if _, _, err := decodeThriftStruct(footer[:cut]); err == nil {
			t.Fatalf("footer cut at %d decoded", cut)
		}
	}
}

// TestCorruptFooterStillAnError: a footer that is broken, not merely new,
// is still refused.
func TestCorruptFooterStillAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.parquet")
	writeAnnotated(t, path)
	replaceFooter(t, path, func(footer []byte) []byte { return footer[:len(footer)/2] })
	src, err := New(Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Schema(context.Background()); err == nil || !strings.Contains(err.Error(), "bad.parquet") {
		t.Fatalf("got %v", err)
	}
}
