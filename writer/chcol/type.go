package chcol

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/chload/chload/internal/sqlquote"
)

// Type is a parsed ClickHouse column type. Nullable and LowCardinality are flags on
// the type they wrap: "LowCardinality(Nullable(String))" is Base "String" with both
// flags set.
type Type struct {
	// Base is the type name without wrappers and parameters: "UInt8", "String",
	// "FixedString", "Decimal", "DateTime", "DateTime64", "Enum8", "Array", "Map", ...
	// Decimal32/64/128/256(S) are normalised to Base "Decimal" with the matching
	// Precision (9, 18, 38, 76).
	Base string
	// Nullable is set for Nullable(T).
	Nullable bool
	// LowCardinality is set for LowCardinality(T).
	LowCardinality bool
	// Elem is the element type of an Array.
	Elem *Type
	// Key and Value are the key and value types of a Map.
	Key, Value *Type
	// Elems are the element types of a Tuple, in order.
	Elems []*Type
	// Names are the element names of a named Tuple ("Tuple(a UInt32, b
	// String)"); nil for an unnamed one. Either every element is named or none.
	Names []string
	// Precision is the number of decimal digits of a Decimal, or the sub-second
	// precision (0..9) of a DateTime64.
	Precision int
	// Scale is the number of digits after the point of a Decimal.
	Scale int
	// Size is the length in bytes of a FixedString.
	Size int
	// TimeZone is the zone named in DateTime('zone') or DateTime64(P, 'zone'); ""
	// when the type names none (the server's zone applies).
	TimeZone string
	// Enum lists the values of an Enum8 or Enum16 in declaration order.
	Enum []EnumValue
}

// EnumValue is one name = code pair of an Enum8 or Enum16.
type EnumValue struct {
	Name string
	Code int16
}

// ParseType parses a ClickHouse column type as the server prints it, for example
// "LowCardinality(Nullable(String))", "DateTime('Europe/Moscow')", "Decimal(18, 4)",
// "Decimal64(4)", "Enum8('a' = 1, 'b' = -2)", "Array(Nullable(Int32))",
// "Map(String, UInt64)", "Tuple(UInt32, String)", "Tuple(a UInt32, b String)",
// "FixedString(16)" or "DateTime64(3, 'UTC')". Types the writer does not know
// (Nested, JSON, AggregateFunction, ...) are errors.
func ParseType(s string) (*Type, error) {
	p := &typeParser{s: s}
	t, err := p.parseType(0)
	if err != nil {
		return nil, fmt.Errorf("parse column type %q: %w", s, err)
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("parse column type %q: unexpected %q at offset %d", s, p.s[p.pos:], p.pos)
	}
	return t, nil
}

// maxTypeDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxTypeDepth = 32

type typeParser struct {
	s   string
	pos int
}

func (p *typeParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n') {
		p.pos++
	}
}

func (p *typeParser) ident() string {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && p.pos > start {
			p.pos++
			continue
		}
		break
	}
	return p.s[start:p.pos]
}

// accept consumes c (after spaces) and reports whether it was there.
func (p *typeParser) accept(c byte) bool {
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *typeParser) expect(c byte) error {
	if !p.accept(c) {
		if p.pos >= len(p.s) {
			return fmt.Errorf("expected %q at end of input", c)
		}
		return fmt.Errorf("expected %q at offset %d, found %q", c, p.pos, p.s[p.pos])
	}
	return nil
}

func (p *typeParser) integer() (int64, error) {
	p.skipSpace()
	start := p.pos
	if p.pos < len(p.s) && (p.s[p.pos] == '-' || p.s[p.pos] == '+') {
		p.pos++
	}
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	v, err := strconv.ParseInt(p.s[start:p.pos], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("expected an integer at offset %d", start)
	}
	return v, nil
}

// quoted reads a single-quoted string literal (an Enum element's name) as
// ClickHouse prints it: the body runs to the first quote that is neither
// backslash-escaped nor doubled, and its escapes are resolved by
// sqlquote.Unescape, ClickHouse's own rules.
func (p *typeParser) quoted() (string, error) {
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != '\'' {
		return "", fmt.Errorf("expected a quoted string at offset %d", p.pos)
	}
	start := p.pos + 1
	for i := start; i < len(p.s); i++ {
		switch p.s[i] {
		case '\\':
			i++
		case '\'':
			if i+1 < len(p.s) && p.s[i+1] == '\'' {
				i++
				continue
			}
			p.pos = i + 1
			v, err := sqlquote.Unescape(p.s[start:i], true)
			if err != nil {
				return "", fmt.Errorf("string at offset %d: %v", start-1, err)
			}
			return v, nil
		}
	}
	return "", fmt.Errorf("unterminated string")
}

func (p *typeParser) parseType(depth int) (*Type, error) {
	if depth > maxTypeDepth {
		return nil, fmt.Errorf("type nested deeper than %d levels", maxTypeDepth)
	}
	start := p.pos
	name := p.ident()
	if name == "" {
		if p.pos >= len(p.s) {
			return nil, fmt.Errorf("expected a type name at end of input")
		}
		return nil, fmt.Errorf("expected a type name at offset %d", p.pos)
	}
	f := familyByName[name]
	switch {
	case f == nil:
		return nil, fmt.Errorf("column type %s at offset %d is not supported", name, start)
	case f.parse == nil:
		return &Type{Base: name}, nil
	}
	return f.parse(p, name, depth)
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p *typeParser) oneIntParam() (int64, error) {
	if err := p.expect('('); err != nil {
		return 0, err
	}
	n, err := p.integer()
	if err != nil {
		return 0, err
	}
	return n, p.expect(')')
}

// String prints the type the way ClickHouse does, e.g. "LowCardinality(Nullable(String))"
// or "Decimal(18, 4)".
func (t *Type) String() string {
	var b strings.Builder
	t.write(&b)
	return b.String()
}

func (t *Type) write(b *strings.Builder) {
	if t.LowCardinality {
		b.WriteString("LowCardinality(")
	}
	if t.Nullable {
		b.WriteString("Nullable(")
	}
	b.WriteString(t.Base)
	if f := t.family(); f != nil && f.params != nil {
		f.params(t, b)
	}
	if t.Nullable {
		b.WriteByte(')')
	}
	if t.LowCardinality {
		b.WriteByte(')')
	}
}

// inner returns the type without its Nullable and LowCardinality wrappers.
func (t *Type) inner() *Type {
	c := *t
	c.Nullable, c.LowCardinality = false, false
	return &c
}

// Arrow returns the canonical Arrow type of t (stated in its family's file). serverTZ is
// the server's time zone, used for DateTime and DateTime64 columns that name none;
// an empty serverTZ means UTC. Types the writer cannot carry yet (Int128, Int256,
// Decimal with precision above 38, DateTime64 with a precision other than 0, 3, 6
// or 9) are errors.
func (t *Type) Arrow(serverTZ string) (arrow.DataType, error) {
	f := t.family()
	if f == nil || f.arrow == nil {
		return nil, unsupported(t)
	}
	return f.arrow(t, serverTZ)
}
