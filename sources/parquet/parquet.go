// Package parquet reads local Parquet files as a chload source. Each row
// group of each file is one split; Open decodes only the requested columns of
// that row group into Arrow records through pqarrow.
//
// Dictionary-encoded string and binary columns come out as plain String and
// Binary arrays, also when the writer stored an Arrow schema that declares
// them as dictionaries, except the string columns named in
// OpenOptions.KeepDictionaries: in a row group where such a column is
// dictionary-encoded throughout, it comes out as a dictionary of strings
// with int32 indices. Large strings and binaries come out as String and
// Binary too. Timestamps keep their unit and have time zone "UTC" when
// stored with isAdjustedToUTC=true (or as legacy TIMESTAMP_MILLIS/MICROS),
// no zone otherwise; INT96 timestamps come out as Timestamp(ns, UTC), or in
// the unit Config.INT96TimestampUnit names (a value the unit cannot hold
// exactly is an error naming its row). Decimals come out as Decimal128
// (Decimal256 beyond 38 digits), lists as List, legacy two-level lists too
// (without the one-field struct pqarrow wraps some of their elements in;
// lists.go), FLOAT16 as Float16 and FIXED_LEN_BYTE_ARRAY without a logical
// type as FixedSizeBinary. A column whose logical type this reader does not
// know comes out as its physical type, as the format asks
// (logical_types.go).
//
// Codecs are uncompressed, Snappy, Gzip, Brotli, Zstd, LZ4_RAW and the
// deprecated LZ4 codec, which chload decodes itself as Arrow C++ does
// (Hadoop-framed blocks, else an LZ4 frame or a raw LZ4 block); an empty
// page body, as in a data page v2 whose values are all NULL, decodes to
// nothing with every codec (codec.go). Where a writer stored page
// checksums (parquet-mr, parquet-go), each page's CRC32 is verified before
// the column is decoded, and a mismatch fails the split naming the column,
// page and byte offset; a chunk without checksums costs one page-header
// read (pagecheck.go). Pages larger than max_page_bytes (compressed,
// default 64MiB) or max_uncompressed_page_bytes (default 256MiB) fail the
// split with an error that names the setting. A column that cannot be
// decoded fails its split with an error that names the column, and a
// decoder panic becomes such an error, also with Source.Parallel.
package parquet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/chload/chload/internal/bytesize"
	"github.com/chload/chload/sources"
)

// DefaultBatchSize is the number of rows per record Open yields when
// Source.BatchSize is not set.
const DefaultBatchSize = 64 * 1024

func init() {
	sources.Register("parquet", func(decode sources.Decoder) (sources.Source, error) {
		var cfg Config
		if err := decode(&cfg); err != nil {
			return nil, fmt.Errorf("decode parquet source: %w", err)
		}
		return New(cfg)
	})
}

// Config is the job file's section for a Parquet source, without the keys
// every source has (type, ignore_extra_columns, null_as_default), which the
// job reads itself.
type Config struct {
	// Paths are the files to read, as paths or glob patterns
	// ("data/2024-*.parquet", "data/**/*.parquet", "data/{a,b}/*.parquet").
	// Every pattern must match at least one file.
	Paths []string `yaml:"paths"`
	// MaxPageBytes is the largest compressed page the reader accepts; a
	// larger one fails its split. Optional, defaults to 64MiB.
	MaxPageBytes bytesize.Size `yaml:"max_page_bytes"`
	// MaxUncompressedPageBytes is the largest page the reader accepts once
	// decompressed. Optional, defaults to 256MiB.
	MaxUncompressedPageBytes bytesize.Size `yaml:"max_uncompressed_page_bytes"`
	// INT96TimestampUnit is the unit INT96 timestamps are read in: "ns",
	// "us", "ms" or "s". Optional, defaults to "ns", which keeps every
	// digit but holds only 1677-09-21 to 2262-04-11; "us" holds any date.
	// A value the unit cannot hold exactly is an error naming its row.
	INT96TimestampUnit string `yaml:"int96_timestamp_unit"`
}

// Source reads local Parquet files. Set the exported fields before the first
// call to Schema, Splits or Open; the methods are safe for concurrent use.
// Page buffers inside the Parquet decoder use the Go allocator, whatever
// OpenOptions.Mem says.
type Source struct {
	// BatchSize is the most rows in one record. Optional, defaults to
	// DefaultBatchSize.
	BatchSize int64
	// Parallel decodes the columns of one record on one goroutine each.
	// Optional, defaults to false: the caller already reads several splits
	// at once.
	Parallel bool

	cfg Config

	mu     sync.Mutex
	files  []*fileInfo // sorted by path; nil until loaded
	byPath map[string]*fileInfo
	schema *arrow.Schema
}

// New checks cfg and returns a source over its files. Patterns are expanded
// and files opened only when Schema, Splits or Open is first called.
func New(cfg Config) (*Source, error) {
	if len(cfg.Paths) == 0 {
		return nil, errors.New("parquet source: paths: at least one path is required")
	}
	var errs []error
	for i, p := range cfg.Paths {
		if p == "" {
			errs = append(errs, fmt.Errorf("parquet source: paths[%d]: empty path", i))
			continue
		}
		if !validPattern(p) {
			errs = append(errs, fmt.Errorf("parquet source: paths[%d]: bad pattern %q: check its [ ] and { } pairs and its \\ escapes", i, p))
		}
	}
	if _, ok := int96Units[cfg.INT96TimestampUnit]; !ok {
		errs = append(errs, fmt.Errorf("parquet source: int96_timestamp_unit: %q is not one of ns, us, ms, s", cfg.INT96TimestampUnit))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg.Paths = append([]string(nil), cfg.Paths...)
	return &Source{cfg: cfg}, nil
}

// Schema returns the Arrow schema of the files, taken from the first file's
// metadata (files sorted by path). Every other file must hold the same
// columns with the same types, in any order; a column is nullable when it is
// nullable in any file.
func (s *Source) Schema(ctx context.Context) (*arrow.Schema, error) {
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	return s.schema, nil
}

// Splits lists one split per non-empty row group, files sorted by path and
// row groups in file order. A split's ID is the file's absolute path, with
// symbolic links resolved, and the row group's number; its fingerprint the
// file's size and modification time and the row group's row count. Rows and
// Bytes (uncompressed) come from the row group metadata.
func (s *Source) Splits(ctx context.Context) ([]sources.Split, error) {
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	var out []sources.Split
	for _, f := range s.files {
		for rg := 0; rg < len(f.meta.RowGroups); rg++ {
			md := f.meta.RowGroup(rg)
			if md.NumRows() < 0 {
				// Rows -1 would mean "unknown" and turn off the row-count checks.
				return nil, fmt.Errorf("read metadata of %s: row group %d says it holds %d rows: the file is corrupt; load an intact copy", f.path, rg, md.NumRows())
			}
			if md.NumRows() == 0 {
				continue
			}
			out = append(out, f.split(rg))
		}
	}
	return out, nil
}

// rowGroup is the payload of a split: the file as the user named it and the
// row group's number.
type rowGroup struct {
	path  string
	index int
}

// split is the split of row group rg of f.
func (f *fileInfo) split(rg int) sources.Split {
	md := f.meta.RowGroup(rg)
	return sources.Split{
		ID:          f.id + "#" + strconv.Itoa(rg),
		Name:        splitName(f.path, rg),
		Payload:     rowGroup{path: f.path, index: rg},
		Fingerprint: sources.Fingerprint{Size: f.size, ModTime: f.modTime, Rows: md.NumRows()},
		Rows:        md.NumRows(),
		Bytes:       md.TotalByteSize(),
	}
}

// splitName names row group rg of the file at path in messages.
func splitName(path string, rg int) string { return fmt.Sprintf("%s, row group %d", path, rg) }

// Open returns a reader over the split's row group that yields the named
// top-level columns in the order given. Unknown or repeated column names
// are errors. The file is opened at the first Next and closed when the
// reader is exhausted or released.
func (s *Source) Open(ctx context.Context, sp sources.Split, o sources.OpenOptions) (array.RecordReader, error) {
	if err := s.load(ctx); err != nil {
		return nil, &sources.SplitError{Op: "open", Split: sp, Err: err}
	}
	ref, ok := sp.Payload.(rowGroup)
	if !ok {
		return nil, &sources.SplitError{Op: "open", Split: sp, Err: errors.New("not a split of this source")}
	}
	f, ok := s.byPath[ref.path]
	if !ok {
		return nil, &sources.SplitError{Op: "open", Split: sp, Err: errors.New("not a file of this source")}
	}
	if ref.index < 0 || ref.index >= len(f.meta.RowGroups) {
		return nil, &sources.SplitError{Op: "open", Split: sp, Err: fmt.Errorf("the file has %d row groups", len(f.meta.RowGroups))}
	}
	leaves, schema, err := f.project(o.Columns)
	if err != nil {
		return nil, &sources.SplitError{Op: "open", Split: sp, Err: err}
	}
	return newSplitReader(ctx, s, f, sp, ref.index, o, leaves, s.commonTypes(schema)), nil
}

// Close releases what the source holds. Readers already returned stay usable
// until released.
func (s *Source) Close() error { return nil }

func (s *Source) int96Unit() arrow.TimeUnit { return int96Units[s.cfg.INT96TimestampUnit] }

func (s *Source) batchSize() int64 {
	if s.BatchSize <= 0 {
		return DefaultBatchSize
	}
	return s.BatchSize
}

// commonTypes is schema, a file's projected columns, with the types and
// nullability Schema promises for them: the split reader then reshapes the
// file's arrays (reshape.go) where nested nullability differs between files.
func (s *Source) commonTypes(schema *arrow.Schema) *arrow.Schema {
	fields := schema.Fields()
	for i, f := range fields {
		if idx := s.schema.FieldIndices(f.Name); len(idx) == 1 {
			fields[i].Type, fields[i].Nullable = s.schema.Field(idx[0]).Type, s.schema.Field(idx[0]).Nullable
		}
	}
	return arrow.NewSchema(fields, nil)
}
