// Package chsql reads the ClickHouse SQL text chload gets from a server
// (engine_full of system.tables, sharding keys) with the ClickHouse SQL
// parser the project depends on (github.com/AfterShip/clickhouse-sql-parser),
// instead of hand-written lexing.
//
// Two hand-written readers stay outside it because that parser cannot do
// their work: telling an INSERT among system.processes query texts (cut at
// 1024 bytes, with # and nested comments, which the parser does not read),
// and reading integer settings of a MergeTree SETTINGS clause (the parser
// refuses the whole statement at a true or a 0.5 value).
package chsql

import (
	"fmt"
	"strings"

	chparser "github.com/AfterShip/clickhouse-sql-parser/parser"

	"github.com/chload/chload/internal/sqlquote"
)

// Distributed is a parsed Distributed(cluster, database, table[,
// sharding_key[, policy]]) engine.
type Distributed struct {
	Cluster, Database, Table string
	// ShardingKey is the sharding key's text as the server wrote it; empty
	// when the engine has none.
	ShardingKey string
}

// ParseDistributed reads a Distributed table's engine_full text, as
// system.tables gives it: the engine with its arguments, and what follows
// them on newer servers (SETTINGS ...). Cluster, database and table may be
// bare or quoted names or string literals.
func ParseDistributed(engineFull string) (Distributed, error) {
	const prefix = "CREATE TABLE _ (_ UInt8) ENGINE = "
	text := prefix + engineFull
	notDistributed := fmt.Errorf("engine %q is not Distributed(cluster, database, table[, sharding_key])", engineFull)
	stmts, err := parse(text)
	if err != nil && strings.HasPrefix(strings.TrimSpace(engineFull), "Distributed(") {
		return Distributed{}, fmt.Errorf("engine %q: read its arguments: %w", engineFull, err)
	}
	if err != nil || len(stmts) != 1 {
		return Distributed{}, notDistributed
	}
	create, ok := stmts[0].(*chparser.CreateTable)
	if !ok || create.Engine == nil || create.Engine.Name != "Distributed" || create.Engine.Params == nil || create.Engine.Params.Items == nil {
		return Distributed{}, notDistributed
	}
	args := create.Engine.Params.Items.Items
	if len(args) < 3 {
		return Distributed{}, fmt.Errorf("engine %q: expected at least cluster, database and table", engineFull)
	}
	var names [3]string
	for i := range names {
		if names[i], err = nameArg(args[i]); err != nil {
			return Distributed{}, fmt.Errorf("engine %q: argument %d: %w", engineFull, i+1, err)
		}
	}
	d := Distributed{Cluster: names[0], Database: names[1], Table: names[2]}
	if len(args) >= 4 {
		// The parser's End of a call stops before its closing parenthesis,
		// so the key runs to the next argument or the closing parenthesis.
		end := create.Engine.Params.RightParenPos
		if len(args) >= 5 {
			end = startOf(text, args[4])
		}
		key := strings.TrimSpace(text[startOf(text, args[3]):end])
		d.ShardingKey = strings.TrimSpace(strings.TrimSuffix(key, ","))
	}
	return d, nil
}

// startOf is where e's text starts in text. The parser places a string
// literal, and so an expression that starts with one, after its opening
// quote.
func startOf(text string, e chparser.Expr) chparser.Pos {
	p := e.Pos()
	if p > 0 && text[p-1] == '\'' {
		p--
	}
	return p
}

// nameArg reads an engine argument that names something: a bare or quoted
// identifier, or a string literal.
func nameArg(arg chparser.Expr) (string, error) {
	if c, ok := arg.(*chparser.ColumnExpr); ok && c.Alias == nil {
		arg = c.Expr
	}
	switch a := arg.(type) {
	case *chparser.Ident:
		if a.QuoteType == chparser.Unquoted {
			return a.Name, nil
		}
		return sqlquote.Unescape(a.Name, false)
	case *chparser.StringLiteral:
		return sqlquote.Unescape(a.Literal, true)
	}
	return "", fmt.Errorf("%s is not a name", arg.String())
}

// parse runs the SQL parser, turning a panic on malformed input into an
// error.
func parse(sql string) (stmts []chparser.Expr, err error) {
	defer func() {
		if r := recover(); r != nil {
			stmts, err = nil, fmt.Errorf("malformed SQL: %v", r)
		}
	}()
	return chparser.NewParser(sql).ParseStmts()
}
