package eventsgen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// DefaultRowGroupRows is the Parquet row group size Dataset uses when none is
// given.
const DefaultRowGroupRows = 250_000

// Dataset says which rows to generate and which files to write them to. Rows
// go to the files in generation order: the first Parquet file holds the first
// rows, and the Native file holds all rows in the same order.
type Dataset struct {
	Params
	// ParquetDir receives events-NNNN.parquet files (Snappy, dictionary
	// encoding on). Optional: no Parquet files are written when empty.
	ParquetDir string
	// Files is the number of Parquet files; rows are split evenly. Optional,
	// defaults to 1.
	Files int
	// RowGroupRows is the number of rows per Parquet row group. Optional,
	// defaults to DefaultRowGroupRows.
	RowGroupRows int
	// NativePath receives the rows as one ClickHouse Native stream.
	// Optional: not written when empty.
	NativePath string
	// NativeBlockRows is the Native block size. Optional, defaults to
	// DefaultNativeBlockRows.
	NativeBlockRows int
}

// Result describes what Dataset.Write wrote.
type Result struct {
	// ParquetFiles are the paths of the Parquet files written, in row order.
	ParquetFiles []string
	// Checksum is the checksum of every generated row.
	Checksum *Checksum
}

// Write generates the rows and writes every requested file, holding at most
// one row group (and one Native block) in memory. Files appear under their
// final names only when complete.
func (d Dataset) Write(ctx context.Context, mem memory.Allocator) (Result, error) {
	if d.Files == 0 {
		d.Files = 1
	}
	if d.RowGroupRows == 0 {
		d.RowGroupRows = DefaultRowGroupRows
	}
	if d.Files < 0 || d.RowGroupRows < 0 {
		return Result{}, fmt.Errorf("check dataset: files %d and row_group_rows %d must be positive", d.Files, d.RowGroupRows)
	}
	gen, err := NewGenerator(d.Params, mem)
	if err != nil {
		return Result{}, err
	}
	sum, err := NewChecksum(Schema())
	if err != nil {
		return Result{}, err
	}
	res := Result{Checksum: sum}

	var native *NativeWriter
	var nativeFile *os.File
	if d.NativePath != "" {
		nativeFile, err = os.Create(d.NativePath + ".tmp")
		if err != nil {
			return Result{}, fmt.Errorf("create native file: %w", err)
		}
		defer func() {
			nativeFile.Close()
			os.Remove(d.NativePath + ".tmp")
		}()
		native = NewNativeWriter(nativeFile, d.NativeBlockRows)
	}
	if d.ParquetDir != "" {
		if err := os.MkdirAll(d.ParquetDir, 0o755); err != nil {
			return Result{}, fmt.Errorf("create parquet directory: %w", err)
		}
	}

	for f := 0; f < d.Files; f++ {
		fileRows := gen.p.Rows / int64(d.Files)
		if int64(f) < gen.p.Rows%int64(d.Files) {
			fileRows++
		}
		var pw *parquetFile
		if d.ParquetDir != "" {
			path := filepath.Join(d.ParquetDir, fmt.Sprintf("events-%04d.parquet", f))
			if pw, err = createParquet(path, d.RowGroupRows, mem); err != nil {
				return Result{}, err
			}
			res.ParquetFiles = append(res.ParquetFiles, path)
		}
		for fileRows > 0 {
			if err := ctx.Err(); err != nil {
				pw.abort()
				return Result{}, err
			}
			n := min(int64(d.RowGroupRows), fileRows)
			fileRows -= n
			rec := gen.Next(int(n))
			err := writeRecord(rec, sum, pw, native)
			rec.Release()
			if err != nil {
				pw.abort()
				return Result{}, err
			}
		}
		if err := pw.close(); err != nil {
			return Result{}, err
		}
	}
	if native != nil {
		if err := native.Close(); err != nil {
			return Result{}, err
		}
		if err := nativeFile.Close(); err != nil {
			return Result{}, fmt.Errorf("close native file: %w", err)
		}
		if err := os.Rename(d.NativePath+".tmp", d.NativePath); err != nil {
			return Result{}, fmt.Errorf("finish native file: %w", err)
		}
	}
	return res, nil
}

func writeRecord(rec arrow.Record, sum *Checksum, pw *parquetFile, native *NativeWriter) error {
	if err := sum.Add(rec); err != nil {
		return err
	}
	if pw != nil {
		if err := pw.w.Write(rec); err != nil {
			return fmt.Errorf("write parquet file %s: %w", pw.path, err)
		}
	}
	if native != nil {
		if err := native.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

// parquetFile is a Parquet file being written under a temporary name.
type parquetFile struct {
	path string
	f    *os.File
	w    *pqarrow.FileWriter
}

// ParquetWriterProperties returns the Parquet properties generated files are
// written with: Snappy, dictionary encoding, rowGroupRows rows per group.
func ParquetWriterProperties(rowGroupRows int, mem memory.Allocator) *parquet.WriterProperties {
	return parquet.NewWriterProperties(
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(true),
		parquet.WithMaxRowGroupLength(int64(rowGroupRows)),
	)
}

func createParquet(path string, rowGroupRows int, mem memory.Allocator) (*parquetFile, error) {
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return nil, fmt.Errorf("create parquet file: %w", err)
	}
	w, err := pqarrow.NewFileWriter(Schema(), f, ParquetWriterProperties(rowGroupRows, mem),
		pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem), pqarrow.WithStoreSchema()))
	if err != nil {
		f.Close()
		os.Remove(path + ".tmp")
		return nil, fmt.Errorf("start parquet file %s: %w", path, err)
	}
	return &parquetFile{path: path, f: f, w: w}, nil
}

func (p *parquetFile) close() error {
	if p == nil {
		return nil
	}
	err := p.w.Close() // closes p.f too
	if err == nil {
		err = os.Rename(p.path+".tmp", p.path)
	}
	if err != nil {
		os.Remove(p.path + ".tmp")
		return fmt.Errorf("finish parquet file %s: %w", p.path, err)
	}
	return nil
}

func (p *parquetFile) abort() {
	if p == nil {
		return
	}
	p.w.Close() // best effort: the file is removed anyway
	p.f.Close()
	os.Remove(p.path + ".tmp")
}
