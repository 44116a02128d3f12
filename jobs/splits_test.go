package jobs

import (
	"context"
	"testing"

	"github.com/chload/chload/sources"
	"github.com/chload/chload/sources/parquet"
)

// parquetSplit is split n of the Parquet file at path, as the source lists
// it: what a run's error about that split must name.
func parquetSplit(t *testing.T, path string, n int) sources.Split {
	t.Helper()
	src, err := parquet.New(parquet.Config{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	splits, err := src.Splits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n >= len(splits) {
		t.Fatalf("%s has %d splits, want split %d", path, len(splits), n)
	}
	return splits[n]
}
