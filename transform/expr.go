// Package transform parses ClickHouse-dialect expressions and evaluates them
// column-at-a-time over Arrow records.
//
// The writer uses it to compute, for every row, the partition key, the
// sorting key and the sharding key of a table exactly as the server would,
// so that rows can be grouped per partition, sorted and routed to shards
// before they are sent (see ShardKeyUint64 and Expr.IsRand). Expressions are
// parsed with the ClickHouse-dialect parser github.com/AfterShip/clickhouse-sql-parser
// into a small AST of column references, literals and function calls; every
// function is resolved when the expression is parsed and evaluated with typed
// loops over Arrow value slices.
package transform

import (
	"math"
	"strconv"
	"strings"

	"github.com/chload/chload/internal/sqlquote"
)

// exprKind tells what an Expr node is.
type exprKind uint8

const (
	kindColumn exprKind = iota + 1
	kindLiteral
	kindCall
)

// literalKind tells which field of a literal holds its value.
type literalKind uint8

const (
	litInt    literalKind = iota + 1 // signed integer in i
	litUint                          // unsigned integer above MaxInt64 in u
	litFloat                         // floating point in f
	litString                        // string in s
)

// literal is a constant value written in an expression.
type literal struct {
	kind literalKind
	i    int64
	u    uint64
	f    float64
	s    string
}

// Expr is one parsed expression: a column reference, a literal, or a call of
// a supported function. An Expr is immutable after parsing and safe for
// concurrent use.
type Expr struct {
	kind exprKind
	name string // column name or function name
	lit  literal
	args []*Expr
	fn   *function
}

// Column returns the column name and true when e is a plain column reference.
func (e *Expr) Column() (string, bool) {
	return e.name, e.kind == kindColumn
}

// IsRand reports whether e is a call of rand(), with or without arguments.
// ClickHouse draws a random number per row for such a sharding key; Eval of
// rand() fails, so the writer assigns rows to shards itself.
func (e *Expr) IsRand() bool {
	return e.kind == kindCall && e.name == "rand"
}

// Columns returns the names of the columns e references, deduplicated, in
// order of first appearance.
func (e *Expr) Columns() []string {
	var out []string
	seen := map[string]bool{}
	var walk func(x *Expr)
	walk = func(x *Expr) {
		switch x.kind {
		case kindColumn:
			if !seen[x.name] {
				seen[x.name] = true
				out = append(out, x.name)
			}
		case kindCall:
			for _, a := range x.args {
				walk(a)
			}
		}
	}
	walk(e)
	return out
}

// String returns e as ClickHouse text, in the form system.tables prints key
// expressions: `toYYYYMM(d)`, `intDiv(a, -3)`, quoted identifiers where needed.
func (e *Expr) String() string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

func (e *Expr) write(b *strings.Builder) {
	switch e.kind {
	case kindColumn:
		b.WriteString(sqlquote.Ident(e.name))
	case kindLiteral:
		e.lit.write(b)
	case kindCall:
		b.WriteString(e.name)
		b.WriteByte('(')
		for i, a := range e.args {
			if i > 0 {
				b.WriteString(", ")
			}
			a.write(b)
		}
		b.WriteByte(')')
	}
}

func (l literal) write(b *strings.Builder) {
	switch l.kind {
	case litInt:
		b.WriteString(strconv.FormatInt(l.i, 10))
	case litUint:
		b.WriteString(strconv.FormatUint(l.u, 10))
	case litFloat:
		if l.f == 0 && math.Signbit(l.f) {
			// "-0" would read back as the integer 0.
			b.WriteString("-0.0")
			return
		}
		b.WriteString(formatFloat(l.f, 64))
	case litString:
		b.WriteString(sqlquote.String(l.s))
	}
}
