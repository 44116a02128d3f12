// Package sqlquote writes names and strings into ClickHouse SQL text, and
// reads quoted ones back, so that both the server and the SQL parser chload
// uses (github.com/AfterShip/clickhouse-sql-parser) read them as written.
// It is the one place for this quoting: expressions shown back to users,
// INSERT column lists and type text all use it.
package sqlquote

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	chparser "github.com/AfterShip/clickhouse-sql-parser/parser"
)

// Ident returns name as it may appear in ClickHouse text: bare when it is a
// plain identifier that both readers take for a name, else quoted as
// QuoteIdent does. A word the SQL parser takes for a keyword is quoted, and
// so are the words ClickHouse reads as a value (NULL, TRUE, FALSE, INF,
// INFINITY, NAN, in any case), which the SQL parser takes for names.
func Ident(name string) string {
	if IsBare(name) && !literalWords[strings.ToLower(name)] && parsesAsName(name) {
		return name
	}
	return QuoteIdent(name)
}

// literalWords are the bare words ClickHouse reads as values, not names.
var literalWords = map[string]bool{"null": true, "true": true, "false": true, "inf": true, "infinity": true, "nan": true}

// QuoteIdent returns name quoted as an identifier, always: in backquotes with
// backslash escapes for backslash, backquote and control characters. The
// SQL parser ends a quoted identifier at the first closing quote whatever
// precedes it, so a name holding a backquote and no double quote is written
// in double quotes, which ClickHouse reads the same way. A name holding
// both is written in backquotes with \` escapes: ClickHouse reads it back,
// the SQL parser does not. An empty name gives a pair of backquotes, which ClickHouse refuses
// as an identifier.
func QuoteIdent(name string) string {
	q := byte('`')
	if strings.IndexByte(name, '`') >= 0 && strings.IndexByte(name, '"') < 0 {
		q = '"'
	}
	b := make([]byte, 0, len(name)+2)
	b = append(b, q)
	b = appendEscaped(b, name, q)
	return string(append(b, q))
}

// Backquote returns name in backquotes with backslash escapes for
// backslash, backquote and control characters, always: the form ClickHouse
// prints names in (type text, SHOW CREATE) and reads in any query. The SQL
// parser cannot read back a name holding a backquote in this form; Ident
// and QuoteIdent can be.
func Backquote(name string) string {
	b := make([]byte, 0, len(name)+2)
	b = append(b, '`')
	b = appendEscaped(b, name, '`')
	return string(append(b, '`'))
}

// BackquoteIfNeeded returns name bare when IsBare, else as Backquote does:
// the way ClickHouse prints Tuple element names in type text.
func BackquoteIfNeeded(name string) string {
	if IsBare(name) {
		return name
	}
	return Backquote(name)
}

// String returns s as a ClickHouse string literal: in single quotes with
// backslash escapes for quote, backslash, NUL and the control characters
// \b \f \n \r \t. Other bytes, invalid UTF-8 included, are written as they
// are: a ClickHouse String holds bytes.
func String(s string) string {
	return string(AppendString(make([]byte, 0, len(s)+2), s))
}

// AppendString appends String(s) to dst and returns the extended slice.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '\'')
	dst = appendEscaped(dst, s, '\'')
	return append(dst, '\'')
}

// appendEscaped appends s with backslash escapes for the quote q, backslash,
// NUL and the control characters ClickHouse has a letter escape for.
func appendEscaped(dst []byte, s string, q byte) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case q, '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, `\b`...)
		case '\f':
			dst = append(dst, `\f`...)
		case '\n':
			dst = append(dst, `\n`...)
		case '\r':
			dst = append(dst, `\r`...)
		case '\t':
			dst = append(dst, `\t`...)
		case 0:
			dst = append(dst, `\0`...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// IsBare reports whether s is a plain identifier: ASCII letters, digits and
// underscores, not starting with a digit. A plain identifier may still be a
// keyword; Ident checks that too.
func IsBare(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// parsesAsName reports whether the bare word name reads back as a column
// reference, which is not so for keywords such as FROM or NULL.
func parsesAsName(name string) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	stmts, err := chparser.NewParser("SELECT " + name).ParseStmts()
	if err != nil || len(stmts) != 1 {
		return false
	}
	q, isSelect := stmts[0].(*chparser.SelectQuery)
	// A bare word leaves no room for clauses: one item, or not a name.
	if !isSelect || len(q.SelectItems) != 1 || q.SelectItems[0].Alias != nil {
		return false
	}
	id, isIdent := q.SelectItems[0].Expr.(*chparser.Ident)
	return isIdent && id.Name == name && id.QuoteType == chparser.Unquoted
}

// Unescape resolves the escapes of the body of a ClickHouse quoted string
// or identifier (the text between its quotes, as the SQL parser returns
// it): backslash escapes as ClickHouse reads them (\n, \t, \r, \b, \f, \a,
// \v, \e, \0, \xHH, and a backslash before any other byte stands for that
// byte), and, in a string literal (literal set), doubled single quotes.
// The SQL parser ends a quoted identifier at its first closing quote, so an
// identifier body has no doubled quotes to resolve.
func Unescape(body string, literal bool) (string, error) {
	if !strings.ContainsAny(body, `\'`) {
		return body, nil
	}
	var b strings.Builder
	b.Grow(len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if literal && c == '\'' && i+1 < len(body) && body[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(body) {
			return "", errors.New("dangling backslash")
		}
		switch e := body[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'a':
			b.WriteByte('\a')
		case 'v':
			b.WriteByte('\v')
		case 'e':
			b.WriteByte(0x1b)
		case '0':
			b.WriteByte(0)
		case 'x', 'X':
			if i+2 >= len(body) {
				return "", errors.New("short \\x escape")
			}
			v, err := strconv.ParseUint(body[i+1:i+3], 16, 8)
			if err != nil {
				return "", fmt.Errorf("bad \\x escape %q", body[i-1:i+3])
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			// ClickHouse keeps the escaped character itself: \\ \' \" \`
			// and any other.
			b.WriteByte(e)
		}
	}
	return b.String(), nil
}
