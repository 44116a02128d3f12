package sqlquote

import (
	"context"
	"strings"
	"testing"

	"github.com/chload/chload/internal/testenv"
)

// TestServerReadsBack checks the quoting against the test server: a name
// written by Ident, QuoteIdent or Backquote comes back as the column's
// name, and a string written by String comes back as its value.
func TestServerReadsBack(t *testing.T) {
	conn := testenv.Conn(t)
	ctx := context.Background()
	for _, name := range names {
		if strings.ContainsRune(name, 0) || name == "" {
			continue // ClickHouse refuses NUL bytes and empty names in aliases
		}
		for _, text := range []string{Ident(name), QuoteIdent(name), Backquote(name), QuoteIdent("a`b\"c")} {
			want := name
			if text == QuoteIdent("a`b\"c") {
				want = "a`b\"c"
			}
			rows, err := conn.Query(ctx, "SELECT 1 AS "+text)
			if err != nil {
				t.Errorf("%q written as %s: %v", want, text, err)
				continue
			}
			if got := rows.Columns(); len(got) != 1 || got[0] != want {
				t.Errorf("%q written as %s: the server names the column %q", want, text, got)
			}
			rows.Close()
		}
	}
	for _, s := range []string{"", "it's", `back\slash`, "nul\x00byte", "line\nbreak\r\t", "\b\f", "\xff\xfe", "día 名前"} {
		var got string
		if err := conn.QueryRow(ctx, "SELECT "+String(s)).Scan(&got); err != nil || got != s {
			t.Errorf("%q written as %s: the server reads %q, %v", s, String(s), got, err)
		}
	}
}
