package parquet

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestGlobPatterns: source.paths patterns match what their glob syntax
// says: `**` any depth of directories (none included), `{a,b}` either
// alternative, `[...]` one character of a class; `*` also matches names
// that start with "." or "_" (as filepath.Glob did), and directories are
// never files to read.
func TestGlobPatterns(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		"top.parquet",
		"y=2024/m=01/a.parquet",
		"y=2024/m=02/b.parquet",
		"y=2024/m=02/deep/er/c.parquet",
		"y=2025/m=01/d.parquet",
		"y=2025/m=01/notes.txt",
		"other/e.parquet",
		"part-1.parquet", "part-2.parquet", "part-x.parquet",
		".hidden.parquet", "_underscore.parquet",
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.parquet"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{"**/*.parquet", []string{".hidden.parquet", "_underscore.parquet", "other/e.parquet", "part-1.parquet", "part-2.parquet", "part-x.parquet", "top.parquet",
			"y=2024/m=01/a.parquet", "y=2024/m=02/b.parquet", "y=2024/m=02/deep/er/c.parquet", "y=2025/m=01/d.parquet"}},
		{"y=2024/**/*.parquet", []string{"y=2024/m=01/a.parquet", "y=2024/m=02/b.parquet", "y=2024/m=02/deep/er/c.parquet"}},
		{"y=*/m=01/**", []string{"y=2024/m=01/a.parquet", "y=2025/m=01/d.parquet", "y=2025/m=01/notes.txt"}},
		{"y=2024/m=02/**/c.parquet", []string{"y=2024/m=02/deep/er/c.parquet"}},
		{"{other,y=2025}/**/*.parquet", []string{"other/e.parquet", "y=2025/m=01/d.parquet"}},
		{"part-{1,x}.parquet", []string{"part-1.parquet", "part-x.parquet"}},
		{"part-[0-9].parquet", []string{"part-1.parquet", "part-2.parquet"}},
		{"part-[!0-9].parquet", []string{"part-x.parquet"}},
		{"*.parquet", []string{".hidden.parquet", "_underscore.parquet", "part-1.parquet", "part-2.parquet", "part-x.parquet", "top.parquet"}},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			got, err := expand([]string{filepath.Join(dir, filepath.FromSlash(tc.pattern))})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range got {
				rel, err := filepath.Rel(dir, f.name)
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, filepath.ToSlash(rel))
			}
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Errorf("matched\n  %s\nwant\n  %s", strings.Join(names, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
	if _, err := New(Config{Paths: []string{filepath.Join(dir, "{a,b")}}); err == nil || !strings.Contains(err.Error(), "bad pattern") {
		t.Errorf("an unclosed { is not refused as a bad pattern: %v", err)
	}
}
