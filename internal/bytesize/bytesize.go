// Package bytesize parses and prints the byte sizes job files use: a whole
// number of bytes (1073741824) or a number with a unit ("1GiB", "512MiB",
// "64KiB", "1GB", "500MB"). It is shared by the job layer and the
// connectors, which must not import each other.
package bytesize

import (
	"fmt"
	"strconv"
	"strings"
)

// Size is a size in bytes that reads itself from YAML as a number or a
// number with a unit.
type Size int64

// units are the suffixes Parse accepts, longest first where one ends
// another ("KiB" before "B").
var units = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// Parse parses "1GiB", "512MiB", "1GB", "100" and the like.
func Parse(s string) (Size, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			mult = u.mult
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q: write a whole number of bytes or use a unit, e.g. 512MiB or 1GiB", s)
	}
	return Size(n * mult), nil
}

// String prints the size with a binary unit where it divides evenly.
func (b Size) String() string {
	for _, u := range []struct {
		s string
		n int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if int64(b) >= u.n && int64(b)%u.n == 0 {
			return fmt.Sprintf("%d%s", int64(b)/u.n, u.s)
		}
	}
	return fmt.Sprintf("%dB", int64(b))
}

// UnmarshalYAML reads a number or a number with a unit.
func (b *Size) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalYAML prints the size with its unit.
func (b Size) MarshalYAML() (any, error) { return b.String(), nil }
