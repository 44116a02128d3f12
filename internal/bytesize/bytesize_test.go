package bytesize

import "testing"

func TestParse(t *testing.T) {
	for in, want := range map[string]Size{"1GiB": 1 << 30, "512MiB": 512 << 20, "1GB": 1e9, "100": 100, "64 KiB": 64 << 10, "7B": 7} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "1.5GiB", "GiB", "1XB", "99999999999TiB"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestStringParsesBack(t *testing.T) {
	for _, n := range []Size{0, 1, 1023, 1024, 64 << 20, 3 << 30, 5<<30 + 1} {
		got, err := Parse(n.String())
		if err != nil || got != n {
			t.Errorf("%d printed as %q parses to %d, %v", n, n.String(), got, err)
		}
	}
}
