// Package pqmatrix holds the Parquet acceptance matrix: tests that write
// Parquet files with arrow-go's writer across codec x data page version x
// encoding x column type, plus hand-built legacy list layouts, load each into
// the real ClickHouse through a chload job, and compare the table value by
// value with what was written and with what DuckDB (internal/duckread), an
// independent reader, reads from the same file.
//
// It lives in its own package, not in jobs, because it drives chload the way a
// user does (a job text through jobs.Parse and jobs.Run) and so needs nothing
// unexported, and because its tables of codecs, encodings, column types and
// hand-built layouts are what other work extends: each of those is one entry
// in matrix_test.go, columns_test.go or layouts_test.go.
//
// The package has no product code; only tests use it.
package pqmatrix
