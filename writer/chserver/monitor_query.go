package chserver

import (
	"context"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/chload/chload/writer/loadmon"
)

// monitorMarker starts every query of a load monitor, so that monitors
// (this one and other chload runs) do not count each other's polls as load.
const monitorMarker = "/* chload load monitor */"

// loadQuery reads a node's merges, parts, thresholds and replica state in
// one round trip. Every scalar subquery aggregates, so it returns one row
// even when the table is missing; casts keep the Go types the same from
// 18.16 to 26.x. Parameters: database, table repeated.
const loadQuery = monitorMarker + ` SELECT
	(SELECT count() FROM system.merges),
	(SELECT count() FROM system.merges WHERE database = ? AND table = ?),
	(SELECT toUInt64(max(c)) FROM (SELECT count() AS c FROM system.parts WHERE database = ? AND table = ? AND active GROUP BY partition_id)),
	(SELECT any(value) FROM system.merge_tree_settings WHERE name = 'parts_to_delay_insert'),
	(SELECT any(value) FROM system.merge_tree_settings WHERE name = 'parts_to_throw_insert'),
	(SELECT any(engine_full) FROM system.tables WHERE database = ? AND name = ?),
	(SELECT toUInt8(any(is_readonly)) FROM system.replicas WHERE database = ? AND table = ?),
	(SELECT toUInt64(any(queue_size)) FROM system.replicas WHERE database = ? AND table = ?),
	(SELECT toUInt64(any(absolute_delay)) FROM system.replicas WHERE database = ? AND table = ?)`

// processesQuery lists the running queries' text, enough of it to classify
// them; 18.16 lacks system.processes.query_kind.
const processesQuery = monitorMarker + ` SELECT substring(query, 1, 1024) FROM system.processes`

// pollNode reads one node's load of database.table; Limit and Reason are
// left for the policy.
func pollNode(ctx context.Context, conn driver.Conn, database, table string) (loadmon.NodeLoad, error) {
	var l loadmon.NodeLoad
	op := "poll load of " + database + "." + table
	var (
		merges, tableMerges, maxParts uint64
		delay, throw, engine          string
		readOnly                      uint8
		queue, absDelay               uint64
	)
	row := conn.QueryRow(ctx, loadQuery,
		database, table, database, table, database, table,
		database, table, database, table, database, table)
	if err := row.Scan(&merges, &tableMerges, &maxParts, &delay, &throw, &engine, &readOnly, &queue, &absDelay); err != nil {
		return l, serverError(op, err)
	}
	l.Merges, l.TableMerges, l.MaxParts = int(merges), int(tableMerges), int(maxParts)
	l.PartsToDelay, _ = strconv.Atoi(strings.TrimSpace(delay))
	l.PartsToThrow, _ = strconv.Atoi(strings.TrimSpace(throw))
	own := engineSettings(engine)
	if v, ok := own["parts_to_delay_insert"]; ok {
		l.PartsToDelay = v
	}
	if v, ok := own["parts_to_throw_insert"]; ok {
		l.PartsToThrow = v
	}
	l.ReadOnly, l.QueueSize, l.AbsoluteDelay = readOnly != 0, int(queue), int(absDelay)

	rows, err := conn.Query(ctx, processesQuery)
	if err != nil {
		return l, serverError("list running queries", err)
	}
	defer rows.Close()
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			return l, serverError("list running queries", err)
		}
		switch {
		case strings.HasPrefix(q, monitorMarker):
		case isInsertQuery(q):
			l.Inserts++
		default:
			l.Queries++
		}
	}
	if err := rows.Err(); err != nil {
		return l, serverError("list running queries", err)
	}
	return l, nil
}

// isInsertQuery reports whether a query's text is an INSERT, looking past
// leading white space and comments.
func isInsertQuery(q string) bool {
	q = skipSpaceAndComments(q)
	const kw = "insert"
	if len(q) < len(kw) || !strings.EqualFold(q[:len(kw)], kw) {
		return false
	}
	return len(q) == len(kw) || !isIdentByte(q[len(kw)])
}

// skipSpaceAndComments drops leading white space, -- and # line comments
// and /* */ block comments (nested, as ClickHouse allows).
func skipSpaceAndComments(q string) string {
	for {
		q = strings.TrimLeft(q, " \t\r\n\f\v")
		switch {
		case strings.HasPrefix(q, "--") || strings.HasPrefix(q, "#"):
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return ""
			}
			q = q[i+1:]
		case strings.HasPrefix(q, "/*"):
			depth, i := 0, 0
			for i < len(q) {
				if strings.HasPrefix(q[i:], "/*") {
					depth++
					i += 2
				} else if strings.HasPrefix(q[i:], "*/") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
			if depth != 0 {
				return ""
			}
			q = q[i:]
		default:
			return q
		}
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// engineSettings parses the integer settings of a table's SETTINGS clause
// from its engine_full text (or a whole CREATE TABLE query), e.g.
// "MergeTree ORDER BY k SETTINGS parts_to_delay_insert = 8,
// index_granularity = 8192". The clause is the last SETTINGS keyword outside
// quotes and parentheses; settings whose values are not integers are left
// out, and parsing stops at anything that is not "name = value".
func engineSettings(s string) map[string]int {
	toks := sqlTokens(s)
	start := -1
	for i, t := range toks {
		if t.depth == 0 && t.kind == tokWord && strings.EqualFold(t.text, "SETTINGS") {
			start = i + 1
		}
	}
	if start < 0 {
		return nil
	}
	out := map[string]int{}
	for i := start; i+2 < len(toks); {
		name, eq := toks[i], toks[i+1]
		if name.kind != tokWord || eq.text != "=" {
			break
		}
		i += 2
		text := toks[i].text
		switch {
		case toks[i].kind == tokString:
			text = strings.Trim(text, "'")
		case text == "-" && i+1 < len(toks) && toks[i+1].kind == tokWord:
			i++
			text += toks[i].text
		case toks[i].kind != tokWord:
			return out
		}
		if n, err := strconv.Atoi(text); err == nil {
			out[strings.ToLower(name.text)] = n
		}
		i++
		if i >= len(toks) || toks[i].text != "," {
			break
		}
		i++
	}
	return out
}

type tokKind int

const (
	tokWord   tokKind = iota // identifier, keyword or number
	tokString                // '...' literal, quotes kept
	tokQuoted                // `...` or "..." identifier
	tokOther                 // one punctuation byte
)

type sqlToken struct {
	kind  tokKind
	text  string
	depth int // parentheses and brackets open before the token
}

// sqlTokens splits SQL text into words, literals and punctuation, enough to
// find clauses at the top level; comments are dropped.
func sqlTokens(s string) []sqlToken {
	var out []sqlToken
	depth := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case strings.HasPrefix(s[i:], "--") || strings.HasPrefix(s[i:], "/*"):
			rest := skipSpaceAndComments(s[i:])
			i = len(s) - len(rest)
		case c == '\'' || c == '`' || c == '"':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
			kind := tokQuoted
			if c == '\'' {
				kind = tokString
			}
			out = append(out, sqlToken{kind: kind, text: s[i:j], depth: depth})
			i = j
		case isIdentByte(c) || c == '.':
			j := i
			for j < len(s) && (isIdentByte(s[j]) || s[j] == '.') {
				j++
			}
			out = append(out, sqlToken{kind: tokWord, text: s[i:j], depth: depth})
			i = j
		default:
			if c == ')' || c == ']' {
				depth = max(depth-1, 0)
			}
			out = append(out, sqlToken{kind: tokOther, text: s[i : i+1], depth: depth})
			if c == '(' || c == '[' {
				depth++
			}
			i++
		}
	}
	return out
}
