package parquet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/chload/chload/sources"
)

// TestSplitIdentity: a file's splits keep their IDs whatever name the file
// is reached by (a relative path, a symbolic link), the IDs of two files
// differ, and rewriting a file keeps its splits' IDs but changes their
// fingerprints. Names speak the user's path.
func TestSplitIdentity(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
	x := arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64}
	smallFile(t, a, x)
	smallFile(t, b, x)
	link := filepath.Join(t.TempDir(), "link.parquet")
	if err := os.Symlink(a, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	splitsOf := func(paths ...string) []sources.Split {
		t.Helper()
		src, err := New(Config{Paths: paths})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		splits, err := src.Splits(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return splits
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, a)
	if err != nil {
		t.Fatal(err)
	}
	direct := splitsOf(a)
	for name, other := range map[string][]sources.Split{"relative path": splitsOf(rel), "symbolic link": splitsOf(link)} {
		if len(other) != len(direct) {
			t.Fatalf("%s: %d splits, want %d", name, len(other), len(direct))
		}
		for i := range direct {
			if other[i].ID != direct[i].ID || !other[i].Fingerprint.Equal(direct[i].Fingerprint) {
				t.Errorf("%s: split %s has ID %q, fingerprint %+v; through %s: %q, %+v", name, other[i], other[i].ID, other[i].Fingerprint, a, direct[i].ID, direct[i].Fingerprint)
			}
		}
	}
	if l := splitsOf(link); !strings.Contains(l[0].String(), link) {
		t.Errorf("split %s does not name the file as the user did (%s)", l[0], link)
	}
	ids := map[string]bool{}
	for _, sp := range splitsOf(a, b) {
		if ids[sp.ID] {
			t.Errorf("two splits share the ID %q", sp.ID)
		}
		ids[sp.ID] = true
	}

	// The same content written again, a minute later.
	smallFile(t, a, x)
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(a, later, later); err != nil {
		t.Fatal(err)
	}
	rewritten := splitsOf(a)
	for i := range direct {
		if rewritten[i].ID != direct[i].ID {
			t.Errorf("split %s: ID %q became %q when the file was rewritten", direct[i], direct[i].ID, rewritten[i].ID)
		}
		if rewritten[i].Fingerprint.Equal(direct[i].Fingerprint) {
			t.Errorf("split %s: fingerprint %+v unchanged when the file was rewritten", direct[i], direct[i].Fingerprint)
		}
	}
}
