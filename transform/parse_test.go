package transform

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	tests := []struct {
		in      string
		want    []string // String() of each element
		columns [][]string
	}{
		{in: "", want: []string{}},
		{in: "  ", want: []string{}},
		{in: "tuple()", want: []string{}},
		{in: "toYYYYMM(event_date)", want: []string{"toYYYYMM(event_date)"}, columns: [][]string{{"event_date"}}},
		{in: "event_type, user_id, event_time", want: []string{"event_type", "user_id", "event_time"}},
		{in: "(a, toYYYYMM(d))", want: []string{"a", "toYYYYMM(d)"}},
		{in: "tuple(a, b)", want: []string{"a", "b"}},
		{in: "(toYYYYMM(d), intDiv(a, -3), `we ird`)", want: []string{"toYYYYMM(d)", "intDiv(a, -3)", "`we ird`"}},
		{in: "(a)", want: []string{"a"}},
		{in: "d", want: []string{"d"}},
		{in: `"quoted col"`, want: []string{"`quoted col`"}},
		{in: "n.x", want: []string{"`n.x`"}},
		{in: "intDiv(user_id, 1000000)", want: []string{"intDiv(user_id, 1000000)"}},
		{in: "intDiv(x, 18446744073709551615)", want: []string{"intDiv(x, 18446744073709551615)"}},
		{in: "intDiv(x, -9223372036854775808)", want: []string{"intDiv(x, -9223372036854775808)"}},
		{in: "toMonday(toDate(ts)), toStartOfMonth(d), toYYYYMMDD(d)", want: []string{"toMonday(toDate(ts))", "toStartOfMonth(d)", "toYYYYMMDD(d)"}},
		{in: "'a\\'b', 'c''d', 'e\\x41\\n'", want: []string{`'a\'b'`, `'c\'d'`, `'eA\n'`}},
		{in: "cityHash64(a) -- /*", want: []string{"cityHash64(a)"}},
		{in: "a /* c */ % 7 + 3, '/*'", want: []string{"plus(modulo(a, 7), 3)", "'/*'"}},
		{in: "-n, rand()", want: []string{"negate(n)", "rand()"}},
		{in: "tuple(a, tuple(b, c))", want: []string{"a", "tuple(b, c)"}, columns: [][]string{{"a"}, {"b", "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseKey(tt.in)
			if err != nil {
				t.Fatalf("ParseKey(%q): %v", tt.in, err)
			}
			strs := make([]string, len(got))
			for i, e := range got {
				strs[i] = e.String()
			}
			if !reflect.DeepEqual(strs, tt.want) {
				t.Fatalf("ParseKey(%q) = %q, want %q", tt.in, strs, tt.want)
			}
			for i, cols := range tt.columns {
				if c := got[i].Columns(); !reflect.DeepEqual(c, cols) {
					t.Errorf("element %d columns = %q, want %q", i, c, cols)
				}
			}
			// The text of every element parses back to the same text.
			for _, s := range strs {
				e, err := Parse(s)
				if err != nil || e.String() != s {
					t.Errorf("round trip of %q: %v, %v", s, e, err)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "empty"},
		{"foo(a)", "unsupported function foo (supported: abs(x), cityHash64(x, ...), intDiv"},
		{"halfMD5(a)", "unsupported function halfMD5"},
		{"a / 1", "unsupported function divide"},
		{"cityHash64()", "want at least 1 argument"},
		{"javaHash(a, b)", "javaHash takes exactly 1 argument"},
		{"intHash64(a, b)", "want 1 argument"},
		{"a % b % c % ", "parse expression"},
		{"plus(a)", "want 2 argument(s)"},
		{"intDiv(a, 0)", "division by zero"},
		{"intDiv(a, b)", "must be an integer literal"},
		{"intDiv(a, 1.5)", "must be an integer literal"},
		{"intDiv(a)", "want 2 arguments"},
		{"toYYYYMM(a, b)", "want 1 argument"},
		{"a AS b", "aliases are not allowed"},
		{"a FROM t", "unexpected text"},
		{"a; b", "unexpected ';'"},
		{"a b c", "parse expression"},
		{",a", "parse expression"},
		{"NULL", "NULL literals"},
		{"toYYYYMM(", "parse expression"},
		{"'unterminated", "parse expression"},
		{"0/*/", "unterminated /* comment"},
		{"a /* x", "unterminated /* comment"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) error = %v, want it to contain %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestColumnsDeduplicated(t *testing.T) {
	e, err := Parse("tuple(b, toYYYYMM(a), intDiv(b, 2), a, c)")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Columns(), []string{"b", "a", "c"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Columns() = %q, want %q", got, want)
	}
	if name, ok := e.args[1].args[0].Column(); !ok || name != "a" {
		t.Fatalf("Column() = %q, %v", name, ok)
	}
	if _, ok := e.Column(); ok {
		t.Fatal("a call reported itself as a column")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"toYYYYMM(event_date)", "event_type, user_id, event_time", "(a, toYYYYMM(d))",
		"tuple(a, b)", "tuple()", "intDiv(x, -3)", "`we ird`", "'a\\'b'", "a.b.c",
		"toMonday(toDate(ts))", "intDiv(x, 0x10)", "-(a)", "NOT a", "a AS b", "a; b",
		"((((a))))", "f(", "'\\x4", "\"\"", "``", "a b", "1e10", "[1, 2]", "{'a': 1}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		text := e.String()
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q) gave %q, which does not parse: %v", s, text, err)
		}
		if again.String() != text {
			t.Fatalf("Parse(%q) gave %q, which reads back as %q", s, text, again.String())
		}
		_ = e.Columns()
		if _, err := ParseKey(s); err != nil {
			t.Fatalf("Parse accepted %q but ParseKey refused it: %v", s, err)
		}
	})
}
