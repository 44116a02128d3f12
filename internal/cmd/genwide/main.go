// Command genwide writes the benchmark's wide-row data set: Parquet files of
// rows (id UInt64, payload String) whose payload is a 2 KB string, written
// without dictionaries in large row groups (by default 65,536 rows, 128 MiB
// of strings per group), for measuring chload's memory with wide rows.
//
//	genwide -rows N -files F -row-group-rows G -out DIR
//	genwide -ddl TABLE        prints CREATE TABLE for the wide table
//	genwide -check-query TABLE prints the query whose answer -checksum prints
//	genwide -checksum -rows N  prints the checksum line of the N rows written
//
// The rows are a function of their id alone, so the checksum (count, sum of
// ids, sum of payload lengths, sum of the first payload byte) is computed
// without reading the files back.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// payloadBytes is the length of every payload string.
const payloadBytes = 2048

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("genwide", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rows := fs.Int64("rows", 524288, "rows to generate")
	files := fs.Int("files", 2, "number of Parquet files")
	rgRows := fs.Int("row-group-rows", 65536, "rows per Parquet row group")
	out := fs.String("out", "", "directory for the Parquet files")
	ddl := fs.String("ddl", "", "print CREATE TABLE for the wide table named TABLE and exit")
	query := fs.String("check-query", "", "print the checksum query for TABLE and exit")
	checksum := fs.Bool("checksum", false, "print the checksum line of -rows rows and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case *ddl != "":
		fmt.Fprintf(stdout, "CREATE TABLE %s (id UInt64, payload String) ENGINE = MergeTree PARTITION BY intDiv(id, 262144) ORDER BY id\n", *ddl)
		return 0
	case *query != "":
		fmt.Fprintf(stdout, "SELECT count(), sum(id), sum(length(payload)), sum(reinterpretAsUInt8(substring(payload, 1, 1))) FROM %s FORMAT TabSeparated\n", *query)
		return 0
	case *checksum:
		var ids, firsts uint64
		for id := int64(0); id < *rows; id++ {
			ids += uint64(id)
			firsts += uint64(payload(id)[0])
		}
		fmt.Fprintf(stdout, "%d\t%d\t%d\t%d\n", *rows, ids, *rows*payloadBytes, firsts)
		return 0
	}
	if *out == "" || *rows < 1 || *files < 1 || *rgRows < 1 {
		fmt.Fprintln(stderr, "genwide: give -out DIR and positive -rows, -files and -row-group-rows")
		return 2
	}
	if err := write(*out, *rows, *files, *rgRows); err != nil {
		fmt.Fprintf(stderr, "genwide: %v\n", err)
		return 1
	}
	return 0
}

// payload is row id's string: printable bytes from a generator seeded by
// id, so that compression keeps most of its size.
func payload(id int64) []byte {
	b := make([]byte, payloadBytes)
	x := uint64(id)*0x9E3779B97F4A7C15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = 'A' + byte(x%58)
	}
	return b
}

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Uint64},
	{Name: "payload", Type: arrow.BinaryTypes.String},
}, nil)

// write writes rows rows into files files under dir, ids in order.
func write(dir string, rows int64, files, rgRows int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	per := (rows + int64(files) - 1) / int64(files)
	mem := memory.DefaultAllocator
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(false), parquet.WithMaxRowGroupLength(int64(rgRows)))
	for f, id := 0, int64(0); id < rows; f++ {
		path := filepath.Join(dir, fmt.Sprintf("wide-%03d.parquet", f))
		file, err := os.Create(path + ".tmp")
		if err != nil {
			return err
		}
		w, err := pqarrow.NewFileWriter(schema, file, props, pqarrow.NewArrowWriterProperties())
		if err != nil {
			file.Close()
			return fmt.Errorf("start %s: %w", path, err)
		}
		end := min(id+per, rows)
		for id < end {
			n := min(int64(8192), end-id, int64(rgRows)-(id-int64(f)*per)%int64(rgRows))
			b := array.NewRecordBuilder(mem, schema)
			ib := b.Field(0).(*array.Uint64Builder)
			sb := b.Field(1).(*array.StringBuilder)
			for i := int64(0); i < n; i++ {
				ib.Append(uint64(id + i))
				sb.BinaryBuilder.Append(payload(id + i))
			}
			rec := b.NewRecord()
			b.Release()
			err := w.WriteBuffered(rec)
			rec.Release()
			if err != nil {
				w.Close()
				return fmt.Errorf("write %s: %w", path, err)
			}
			id += n
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("finish %s: %w", path, err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			return err
		}
	}
	return nil
}
