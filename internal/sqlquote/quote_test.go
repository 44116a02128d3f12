package sqlquote

import (
	"strings"
	"testing"

	chparser "github.com/AfterShip/clickhouse-sql-parser/parser"
)

// parseSelectItem parses "SELECT " + text and returns its one item.
func parseSelectItem(t *testing.T, text string) chparser.Expr {
	t.Helper()
	stmts, err := chparser.NewParser("SELECT " + text).ParseStmts()
	if err != nil || len(stmts) != 1 {
		t.Fatalf("parse SELECT %s: %v (%d statements)", text, err, len(stmts))
	}
	q, ok := stmts[0].(*chparser.SelectQuery)
	if !ok || len(q.SelectItems) != 1 || q.SelectItems[0].Alias != nil {
		t.Fatalf("SELECT %s: not one select item: %#v", text, stmts[0])
	}
	return q.SelectItems[0].Expr
}

// readIdent parses text as a column name the way transform does.
func readIdent(t *testing.T, text string) string {
	t.Helper()
	id, ok := parseSelectItem(t, text).(*chparser.Ident)
	if !ok {
		t.Fatalf("%s: not read as a name", text)
	}
	if id.QuoteType == chparser.Unquoted {
		return id.Name
	}
	name, err := Unescape(id.Name, false)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return name
}

// readString parses text as a string literal.
func readString(t *testing.T, text string) string {
	t.Helper()
	lit, ok := parseSelectItem(t, text).(*chparser.StringLiteral)
	if !ok {
		t.Fatalf("%s: not read as a string literal", text)
	}
	s, err := Unescape(lit.Literal, true)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return s
}

var names = []string{
	"id", "_x", "Col9", "9lives", "from", "FROM", "null", "select", "a b", "a.b", "a-b",
	"a`b", "`", "``", `a"b`, `a\b`, `\`, "a'b", "día", "名前", "emoji😀", "a\nb", "a\tb", "a\x00b",
	"a\rb", "a\bb\fc", "$x", "x$", "\xff\xfe",
}

// TestIdentReadsBack checks that every name, written by Ident and by
// QuoteIdent, is read back as that same name by the SQL parser, and that
// Ident leaves plain names that are not keywords bare.
func TestIdentReadsBack(t *testing.T) {
	for _, name := range names {
		for _, text := range []string{Ident(name), QuoteIdent(name)} {
			if got := readIdent(t, text); got != name {
				t.Errorf("%q written as %s reads back as %q", name, text, got)
			}
		}
	}
	for _, name := range []string{"id", "_x", "Col9", "timestamp_ms"} {
		if got := Ident(name); got != name {
			t.Errorf("plain name %q written as %s, want it bare", name, got)
		}
	}
	// words ClickHouse 18.16 reads as values: SELECT null FROM (SELECT 1 AS `+"`null`"+`) gives NULL
	for _, name := range []string{"null", "NULL", "True", "false", "inf", "Infinity", "nan", "9lives", "a b", "a`b", ""} {
		if got := Ident(name); got == name {
			t.Errorf("%q written bare", name)
		}
	}
}

// TestQuoteIdentBothQuotes checks the one name form the SQL parser cannot
// read back: it is still quoted so that ClickHouse reads it (a backslash
// before every quote character inside).
func TestQuoteIdentBothQuotes(t *testing.T) {
	got := QuoteIdent("a`b\"c")
	if want := "`a\\`b\"c`"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	body := got[1 : len(got)-1]
	if back, err := Unescape(body, false); err != nil || back != "a`b\"c" {
		t.Fatalf("body %s unescapes to %q, %v", body, back, err)
	}
}

// TestBackquote checks the server-printed form: always backquotes, and
// every byte read back through Unescape.
func TestBackquote(t *testing.T) {
	for _, name := range names {
		got := Backquote(name)
		if len(got) < 2 || got[0] != '`' || got[len(got)-1] != '`' {
			t.Fatalf("%q: %s is not in backquotes", name, got)
		}
		body := got[1 : len(got)-1]
		if strings.ContainsAny(strings.ReplaceAll(body, "\\`", ""), "`\n\r\t\x00") {
			t.Errorf("%q: %s holds an unescaped backquote or control character", name, got)
		}
		if back, err := Unescape(body, false); err != nil || back != name {
			t.Errorf("%q written as %s unescapes to %q, %v", name, got, back, err)
		}
		if IsBare(name) != (BackquoteIfNeeded(name) == name) {
			t.Errorf("BackquoteIfNeeded(%q) = %s", name, BackquoteIfNeeded(name))
		}
	}
}

// TestStringReadsBack checks that string literals read back as the bytes
// written, and that no quote, backslash, NUL or line break is left bare.
func TestStringReadsBack(t *testing.T) {
	for _, s := range []string{
		"", "plain", "it's", "''", `back\slash`, `\`, `\'`, "nul\x00byte", "line\nbreak", "cr\r",
		"tab\t", "\b\f", "día 名前 😀", "\xff\xfe invalid utf-8", "--not a comment", "/* nor this */", ";",
		`"double"`, "`back`", "\\x41", "trailing\\",
	} {
		text := String(s)
		if got := readString(t, text); got != s {
			t.Errorf("%q written as %s reads back as %q", s, text, got)
		}
		body := text[1 : len(text)-1]
		if strings.ContainsAny(strings.NewReplacer(`\\`, "", `\'`, "").Replace(body), "'\x00\n\r") {
			t.Errorf("%q: %s holds an unescaped quote, NUL or line break", s, text)
		}
		if got := string(AppendString([]byte("x"), s)); got != "x"+text {
			t.Errorf("AppendString(%q) = %s, want x%s", s, got, text)
		}
	}
}

// TestUnescape checks escapes ClickHouse writes that String does not.
func TestUnescape(t *testing.T) {
	for body, want := range map[string]string{
		`\x41\x7e`: "A~", `\a\v\e`: "\a\v\x1b", `\q`: "q", `it''s`: "it's", `\"`: `"`,
	} {
		if got, err := Unescape(body, true); err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", body, got, err, want)
		}
	}
	for _, body := range []string{`\`, `\x4`, `\xzz`} {
		if _, err := Unescape(body, true); err == nil {
			t.Errorf("%s: accepted", body)
		}
	}
}

// FuzzIdent: any name, written by Ident or QuoteIdent, reads back through
// the SQL parser as itself, unless it holds both a backquote and a double
// quote (see QuoteIdent). Backquote always unescapes back.
func FuzzIdent(f *testing.F) {
	for _, n := range names {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if back, err := Unescape(Backquote(name)[1:len(Backquote(name))-1], false); err != nil || back != name {
			t.Fatalf("%q: Backquote %s unescapes to %q, %v", name, Backquote(name), back, err)
		}
		if strings.Contains(name, "`") && strings.Contains(name, `"`) {
			return
		}
		for _, text := range []string{Ident(name), QuoteIdent(name)} {
			if got := readIdent(t, text); got != name {
				t.Fatalf("%q written as %s reads back as %q", name, text, got)
			}
		}
	})
}

// FuzzString: any bytes, written by String, read back through the SQL
// parser as themselves.
func FuzzString(f *testing.F) {
	f.Add("it's \\ \x00 \n")
	f.Add("\xff")
	f.Fuzz(func(t *testing.T, s string) {
		if got := readString(t, String(s)); got != s {
			t.Fatalf("%q written as %s reads back as %q", s, String(s), got)
		}
	})
}
