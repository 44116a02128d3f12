package transform

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	chparser "github.com/AfterShip/clickhouse-sql-parser/parser"

	"github.com/chload/chload/internal/sqlquote"
)

// maxDepth bounds the nesting of parsed expressions so that hostile input
// cannot exhaust the stack during conversion or evaluation.
const maxDepth = 64

// Parse parses one ClickHouse expression, such as "toYYYYMM(event_date)".
// Every function is resolved and checked for arity here; an unknown function
// is an error that lists the supported ones.
func Parse(s string) (*Expr, error) {
	items, err := parseItems(s)
	if err != nil {
		return nil, err
	}
	if len(items) != 1 {
		return nil, fmt.Errorf("parse expression %q: want one expression, got %d", s, len(items))
	}
	return items[0], nil
}

// ParseKey parses a partition or sorting key as system.tables prints it in
// partition_key and sorting_key: a single expression ("toYYYYMM(d)"), a comma
// list ("a, b, c"), a parenthesised tuple ("(a, toYYYYMM(d))") or a tuple call
// ("tuple(a, b)"). Tuples are flattened into their elements; "" and "tuple()"
// give an empty slice.
func ParseKey(s string) ([]*Expr, error) {
	if strings.TrimSpace(s) == "" {
		return []*Expr{}, nil
	}
	items, err := parseItems(s)
	if err != nil {
		return nil, err
	}
	if len(items) == 1 && items[0].kind == kindCall && items[0].name == "tuple" {
		return items[0].args, nil
	}
	return items, nil
}

// parseItems parses s as the item list of a SELECT and converts each item.
func parseItems(s string) ([]*Expr, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("parse expression %q: empty", s)
	}
	if hasSemicolon(s) {
		return nil, fmt.Errorf("parse expression %q: unexpected ';'", s)
	}
	if unterminatedComment(s) {
		// The parser's lexer loops forever on an unclosed /* comment.
		return nil, fmt.Errorf("parse expression %q: unterminated /* comment", s)
	}
	stmts, err := safeParse("SELECT " + s)
	if err != nil {
		return nil, fmt.Errorf("parse expression %q: %w", s, err)
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("parse expression %q: unexpected text after the expression", s)
	}
	q, ok := stmts[0].(*chparser.SelectQuery)
	if !ok || !onlySelectItems(q) {
		return nil, fmt.Errorf("parse expression %q: unexpected text after the expression", s)
	}
	out := make([]*Expr, 0, len(q.SelectItems))
	for _, it := range q.SelectItems {
		if it.Alias != nil {
			return nil, fmt.Errorf("parse expression %q: aliases are not allowed (%s)", s, it.Alias.Name)
		}
		if len(it.Modifiers) > 0 {
			return nil, fmt.Errorf("parse expression %q: select modifiers are not allowed", s)
		}
		e, err := convert(it.Expr, 0)
		if err != nil {
			return nil, fmt.Errorf("parse expression %q: %w", s, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// safeParse runs the third-party parser and turns a panic on malformed
// input into an error.
func safeParse(sql string) (stmts []chparser.Expr, err error) {
	defer func() {
		if r := recover(); r != nil {
			stmts, err = nil, fmt.Errorf("malformed expression: %v", r)
		}
	}()
	return chparser.NewParser(sql).ParseStmts()
}

func onlySelectItems(q *chparser.SelectQuery) bool {
	return q.With == nil && q.Top == nil && !q.HasDistinct && q.DistinctOn == nil &&
		q.From == nil && q.ArrayJoin == nil && q.Window == nil && q.Prewhere == nil &&
		q.Where == nil && q.GroupBy == nil && !q.WithTotal && q.Having == nil &&
		q.OrderBy == nil && q.LimitBy == nil && q.Limit == nil && q.Settings == nil &&
		q.Format == nil && q.UnionAll == nil && q.UnionDistinct == nil && q.Except == nil &&
		len(q.SelectItems) > 0
}

// binaryFunctions maps infix operators to the ClickHouse functions they stand for.
var binaryFunctions = map[string]string{
	"+": "plus", "-": "minus", "*": "multiply", "/": "divide", "%": "modulo",
	"=": "equals", "==": "equals", "!=": "notEquals", "<>": "notEquals",
	"<": "less", ">": "greater", "<=": "lessOrEquals", ">=": "greaterOrEquals",
	"AND": "and", "OR": "or", "||": "concat",
}

// convert turns one node of the parser's AST into an Expr.
func convert(n chparser.Expr, depth int) (*Expr, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("expression nested deeper than %d levels", maxDepth)
	}
	switch n := n.(type) {
	case *chparser.Ident:
		name, err := identName(n)
		if err != nil {
			return nil, err
		}
		return &Expr{kind: kindColumn, name: name}, nil
	case *chparser.Path:
		parts := make([]string, 0, len(n.Fields))
		for _, f := range n.Fields {
			name, err := identName(f)
			if err != nil {
				return nil, err
			}
			parts = append(parts, name)
		}
		return &Expr{kind: kindColumn, name: strings.Join(parts, ".")}, nil
	case *chparser.NumberLiteral:
		lit, err := numberLiteral(n.Literal, false)
		if err != nil {
			return nil, err
		}
		return &Expr{kind: kindLiteral, lit: lit}, nil
	case *chparser.StringLiteral:
		v, err := sqlquote.Unescape(n.Literal, true)
		if err != nil {
			return nil, err
		}
		return &Expr{kind: kindLiteral, lit: literal{kind: litString, s: v}}, nil
	case *chparser.UnaryExpr:
		if num, ok := n.Expr.(*chparser.NumberLiteral); ok && string(n.Kind) == "-" {
			lit, err := numberLiteral(num.Literal, true)
			if err != nil {
				return nil, err
			}
			return &Expr{kind: kindLiteral, lit: lit}, nil
		}
		arg, err := convert(n.Expr, depth+1)
		if err != nil {
			return nil, err
		}
		switch strings.ToUpper(string(n.Kind)) {
		case "-":
			return newCall("negate", []*Expr{arg})
		case "+":
			return arg, nil
		case "NOT":
			return newCall("not", []*Expr{arg})
		}
		return nil, fmt.Errorf("unsupported unary operator %s", n.Kind)
	case *chparser.BinaryOperation:
		op := strings.ToUpper(string(n.Operation))
		fname, ok := binaryFunctions[op]
		if !ok || n.HasNot || n.HasGlobal {
			return nil, fmt.Errorf("unsupported operator %s", n.Operation)
		}
		left, err := convert(n.LeftExpr, depth+1)
		if err != nil {
			return nil, err
		}
		right, err := convert(n.RightExpr, depth+1)
		if err != nil {
			return nil, err
		}
		return newCall(fname, []*Expr{left, right})
	case *chparser.ParamExprList:
		// A parenthesised expression, or a tuple literal "(a, b)".
		if n.ColumnArgList != nil {
			return nil, errors.New("unexpected argument list after parentheses")
		}
		args, err := convertList(n.Items, depth)
		if err != nil {
			return nil, err
		}
		if len(args) == 1 {
			return args[0], nil
		}
		return newCall("tuple", args)
	case *chparser.FunctionExpr:
		if n.Params == nil {
			return nil, fmt.Errorf("function %s without arguments", n.Name.Name)
		}
		if n.Params.ColumnArgList != nil {
			return nil, fmt.Errorf("parametric function %s is not supported", n.Name.Name)
		}
		args, err := convertList(n.Params.Items, depth)
		if err != nil {
			return nil, err
		}
		return newCall(n.Name.Name, args)
	case *chparser.ColumnExpr:
		if n.Alias != nil {
			return nil, fmt.Errorf("aliases are not allowed (%s)", n.Alias.Name)
		}
		return convert(n.Expr, depth+1)
	case *chparser.NullLiteral:
		return nil, errors.New("NULL literals are not supported")
	case nil:
		return nil, errors.New("missing expression")
	}
	return nil, fmt.Errorf("unsupported expression %q", n.String())
}

func convertList(l *chparser.ColumnExprList, depth int) ([]*Expr, error) {
	if l == nil {
		return []*Expr{}, nil
	}
	if l.HasDistinct {
		return nil, errors.New("DISTINCT is not allowed in an argument list")
	}
	out := make([]*Expr, 0, len(l.Items))
	for _, it := range l.Items {
		e, err := convert(it, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// identName returns the column name an identifier stands for, with the
// backslash escapes of a quoted identifier resolved.
func identName(id *chparser.Ident) (string, error) {
	if id.QuoteType == chparser.Unquoted {
		if strings.EqualFold(id.Name, "NULL") {
			return "", errors.New("NULL literals are not supported")
		}
		if strings.HasPrefix(id.Name, "$") || id.Name == "" {
			return "", fmt.Errorf("invalid identifier %q", id.Name)
		}
		return id.Name, nil
	}
	name, err := sqlquote.Unescape(id.Name, false)
	if err != nil {
		return "", fmt.Errorf("identifier %q: %w", id.Name, err)
	}
	if name == "" {
		return "", errors.New("empty quoted identifier")
	}
	if strings.IndexByte(name, '`') >= 0 && strings.IndexByte(name, '"') >= 0 {
		// Such a name cannot be written back: see sqlquote.QuoteIdent.
		return "", fmt.Errorf("identifier %q holds both a backquote and a double quote", name)
	}
	return name, nil
}

// numberLiteral parses the text of a number literal; neg applies a leading minus.
func numberLiteral(text string, neg bool) (literal, error) {
	t := text
	if strings.HasPrefix(t, "-") {
		neg = !neg
		t = t[1:]
	} else if strings.HasPrefix(t, "+") {
		t = t[1:]
	}
	if u, err := strconv.ParseUint(t, 0, 64); err == nil && !strings.Contains(t, "_") {
		switch {
		case !neg && u > 1<<63-1:
			return literal{kind: litUint, u: u}, nil
		case !neg:
			return literal{kind: litInt, i: int64(u)}, nil
		case u <= 1<<63:
			return literal{kind: litInt, i: int64(-u)}, nil
		}
		// Below MinInt64: ClickHouse makes it a Float64.
		return literal{kind: litFloat, f: -float64(u)}, nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || strings.Contains(t, "_") {
		return literal{}, fmt.Errorf("invalid number %q", text)
	}
	if neg {
		f = -f
	}
	return literal{kind: litFloat, f: f}, nil
}

// hasSemicolon reports whether s has a ';' outside quotes. The parser drops
// a lone word after ';', so statements are refused before parsing.
func hasSemicolon(s string) bool {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == ';':
			return true
		}
	}
	return false
}

// unterminatedComment reports whether s opens a /* comment outside quotes
// and line comments that no */ closes.
func unterminatedComment(s string) bool {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' && s[i] != '\r' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return true
			}
			i += 2 + end + 1
		}
	}
	return false
}
