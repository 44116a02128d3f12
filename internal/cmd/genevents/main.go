// Command genevents writes the deterministic events data set as Parquet
// files and optionally as a ClickHouse Native file, and prints checksums that
// can be compared with a server's.
//
//	genevents -rows 5000000 -files 8 -row-group-rows 250000 -months 6 -seed 1 -out DIR [-native FILE]
//	genevents -checksum FILE.parquet...      print the checksum line of Parquet files
//	genevents -checksum-query TABLE          print the query giving the same line on a server
//	genevents -ddl TABLE                     print CREATE TABLE for the events table
//	genevents -version                       print the row recipe version
//
// The checksum line is tab separated: row count, then one hash sum per column.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/internal/eventsgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("genevents", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		d         eventsgen.Dataset
		checksum  = fs.Bool("checksum", false, "print the checksum line of the Parquet files given as arguments (or of -out DIR/*.parquet) and exit")
		sumQuery  = fs.String("checksum-query", "", "print the checksum query for TABLE and exit")
		ddl       = fs.String("ddl", "", "print CREATE TABLE for the events table named TABLE and exit")
		version   = fs.Bool("version", false, "print the row recipe version and exit")
		sumOut    = fs.String("checksum-out", "", "also write the checksum line of the generated rows to FILE")
		quiet     = fs.Bool("q", false, "do not print progress")
		startText = fs.String("start", "2024-01", "first month, YYYY-MM")
	)
	fs.Int64Var(&d.Rows, "rows", 1_000_000, "rows to generate")
	fs.IntVar(&d.Files, "files", 1, "number of Parquet files")
	fs.IntVar(&d.RowGroupRows, "row-group-rows", eventsgen.DefaultRowGroupRows, "rows per Parquet row group")
	fs.IntVar(&d.Months, "months", 6, "consecutive months event_time spans")
	fs.Uint64Var(&d.Seed, "seed", 1, "pseudo-random seed")
	fs.StringVar(&d.ParquetDir, "out", "", "directory for the Parquet files")
	fs.StringVar(&d.NativePath, "native", "", "also write the rows, in the same order, as a ClickHouse Native file")
	fs.IntVar(&d.NativeBlockRows, "native-block-rows", eventsgen.DefaultNativeBlockRows, "rows per Native block")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "genevents: %v\n", err)
		return 1
	}

	switch {
	case *version:
		fmt.Fprintln(stdout, eventsgen.Version)
		return 0
	case *ddl != "":
		fmt.Fprintln(stdout, eventsgen.TableDDL(*ddl))
		return 0
	case *sumQuery != "":
		q, err := eventsgen.ChecksumQuery(*sumQuery, eventsgen.Schema())
		if err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, q)
		return 0
	case *checksum:
		paths := fs.Args()
		if len(paths) == 0 && d.ParquetDir != "" {
			var err error
			if paths, err = filepath.Glob(filepath.Join(d.ParquetDir, "*.parquet")); err != nil {
				return fail(fmt.Errorf("list parquet files: %w", err))
			}
		}
		c, err := eventsgen.ReadParquetChecksum(ctx, paths, memory.DefaultAllocator)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, c.String())
		return 0
	}

	if fs.NArg() > 0 {
		return fail(fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if d.ParquetDir == "" && d.NativePath == "" {
		return fail(errors.New("nothing to write: give -out DIR and/or -native FILE"))
	}
	start, err := time.Parse("2006-01", *startText)
	if err != nil {
		return fail(fmt.Errorf("parse -start %q: want YYYY-MM", *startText))
	}
	d.Start = start

	began := time.Now()
	res, err := d.Write(ctx, memory.DefaultAllocator)
	if err != nil {
		return fail(err)
	}
	if *sumOut != "" {
		if err := os.WriteFile(*sumOut, []byte(res.Checksum.String()+"\n"), 0o644); err != nil {
			return fail(fmt.Errorf("write checksum file: %w", err))
		}
	}
	if !*quiet {
		fmt.Fprintf(stderr, "genevents: %d rows, %d parquet files, native %q, %.1fs\n",
			res.Checksum.Rows, len(res.ParquetFiles), d.NativePath, time.Since(began).Seconds())
	}
	return 0
}
