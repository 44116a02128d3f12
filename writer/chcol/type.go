// Package chcol knows ClickHouse column types on the writer side: it parses type
// strings, converts source Arrow arrays into the canonical Arrow representation of a
// column type with row-precise errors, and hands canonical arrays to clickhouse-go's
// columnar batch Append.
//
// Canonical representation of each ClickHouse type (Type.Arrow):
//
//	Int8..Int64, UInt8..UInt64   arrow Int8..Uint64
//	Float32, Float64             arrow Float32, Float64
//	Bool                         arrow Boolean
//	Decimal(P,S), Decimal32..128 arrow Decimal128(P,S)
//	String                       arrow String (any bytes)
//	FixedString(N)               arrow FixedSizeBinary(N)
//	UUID                         arrow FixedSizeBinary(16), RFC 4122 byte order
//	Date, Date32                 arrow Date32 (days since 1970-01-01)
//	DateTime[(tz)]               arrow Timestamp(s, tz or the server zone)
//	DateTime64(P[, tz])          arrow Timestamp(s|ms|us|ns for P 0|3|6|9, tz or the server zone)
//	Enum8, Enum16                arrow Int8, Int16 holding the codes
//	IPv4                         arrow Uint32 (a.b.c.d is a<<24|b<<16|c<<8|d)
//	IPv6                         arrow FixedSizeBinary(16), network byte order
//	Nullable(T)                  T's array, with nulls
//	LowCardinality(T)            T's array
//	Array(T)                     arrow List(T), element field nullable
//	Map(K, V)                    arrow Map(K, V)
//	Tuple(T1, T2, ...)           arrow Struct of the elements' canonical types, fields
//	                             named as the elements ("1", "2", ... when unnamed)
package chcol

import (
	"fmt"
	"strconv"
	"strings"
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

// simpleTypes are the types without parameters that ParseType accepts.
var simpleTypes = map[string]bool{
	"Int8": true, "Int16": true, "Int32": true, "Int64": true,
	"UInt8": true, "UInt16": true, "UInt32": true, "UInt64": true,
	"Int128": true, "Int256": true, "UInt128": true, "UInt256": true,
	"Float32": true, "Float64": true, "Bool": true, "String": true,
	"UUID": true, "Date": true, "Date32": true, "DateTime": true,
	"IPv4": true, "IPv6": true,
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

// quoted reads a single-quoted string literal with backslash escapes.
func (p *typeParser) quoted() (string, error) {
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != '\'' {
		return "", fmt.Errorf("expected a quoted string at offset %d", p.pos)
	}
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch c {
		case '\\':
			if p.pos+1 >= len(p.s) {
				return "", fmt.Errorf("unterminated string")
			}
			e := p.s[p.pos+1]
			switch e {
			case 'n':
				e = '\n'
			case 't':
				e = '\t'
			case 'r':
				e = '\r'
			case '0':
				e = 0
			}
			b.WriteByte(e)
			p.pos += 2
		case '\'':
			// ClickHouse also accepts a doubled quote inside a literal.
			if p.pos+1 < len(p.s) && p.s[p.pos+1] == '\'' {
				b.WriteByte('\'')
				p.pos += 2
				continue
			}
			p.pos++
			return b.String(), nil
		default:
			b.WriteByte(c)
			p.pos++
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
	switch name {
	case "Boolean":
		name = "Bool"
	}
	switch {
	case name == "Nullable" || name == "LowCardinality":
		if err := p.expect('('); err != nil {
			return nil, err
		}
		inner, err := p.parseType(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect(')'); err != nil {
			return nil, err
		}
		if name == "Nullable" {
			if inner.Nullable || inner.LowCardinality || inner.Base == "Array" || inner.Base == "Map" || inner.Base == "Tuple" {
				return nil, fmt.Errorf("%s cannot be inside Nullable", inner)
			}
			inner.Nullable = true
			return inner, nil
		}
		if inner.LowCardinality || inner.Base == "Array" || inner.Base == "Map" || inner.Base == "Tuple" {
			return nil, fmt.Errorf("%s cannot be inside LowCardinality", inner)
		}
		inner.LowCardinality = true
		return inner, nil
	case name == "Array":
		if err := p.expect('('); err != nil {
			return nil, err
		}
		elem, err := p.parseType(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Type{Base: "Array", Elem: elem}, p.expect(')')
	case name == "Map":
		if err := p.expect('('); err != nil {
			return nil, err
		}
		k, err := p.parseType(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect(','); err != nil {
			return nil, err
		}
		v, err := p.parseType(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Type{Base: "Map", Key: k, Value: v}, p.expect(')')
	case name == "Tuple":
		return p.parseTuple(depth)
	case name == "FixedString":
		n, err := p.oneIntParam()
		if err != nil {
			return nil, err
		}
		if n < 1 || n > 1<<20 {
			return nil, fmt.Errorf("FixedString size %d out of range 1..1048576", n)
		}
		return &Type{Base: "FixedString", Size: int(n)}, nil
	case name == "Decimal":
		if err := p.expect('('); err != nil {
			return nil, err
		}
		prec, err := p.integer()
		if err != nil {
			return nil, err
		}
		var scale int64
		if p.accept(',') {
			if scale, err = p.integer(); err != nil {
				return nil, err
			}
		}
		if err := p.expect(')'); err != nil {
			return nil, err
		}
		return decimalType(prec, scale)
	case name == "Decimal32" || name == "Decimal64" || name == "Decimal128" || name == "Decimal256":
		scale, err := p.oneIntParam()
		if err != nil {
			return nil, err
		}
		prec := map[string]int64{"Decimal32": 9, "Decimal64": 18, "Decimal128": 38, "Decimal256": 76}[name]
		return decimalType(prec, scale)
	case name == "DateTime":
		t := &Type{Base: "DateTime"}
		if p.accept('(') {
			tz, err := p.quoted()
			if err != nil {
				return nil, err
			}
			t.TimeZone = tz
			if err := p.expect(')'); err != nil {
				return nil, err
			}
		}
		return t, nil
	case name == "DateTime64":
		if err := p.expect('('); err != nil {
			return nil, err
		}
		prec, err := p.integer()
		if err != nil {
			return nil, err
		}
		if prec < 0 || prec > 9 {
			return nil, fmt.Errorf("DateTime64 precision %d out of range 0..9", prec)
		}
		t := &Type{Base: "DateTime64", Precision: int(prec)}
		if p.accept(',') {
			if t.TimeZone, err = p.quoted(); err != nil {
				return nil, err
			}
		}
		return t, p.expect(')')
	case name == "Enum8" || name == "Enum16" || name == "Enum":
		return p.parseEnum(name)
	case simpleTypes[name]:
		return &Type{Base: name}, nil
	}
	return nil, fmt.Errorf("column type %s at offset %d is not supported", name, start)
}

// parseTuple reads the elements of a Tuple after its name: types, each
// optionally preceded by a name (plain or backquoted), all named or none.
func (p *typeParser) parseTuple(depth int) (*Type, error) {
	if err := p.expect('('); err != nil {
		return nil, err
	}
	t := &Type{Base: "Tuple"}
	seen := map[string]bool{}
	for {
		name, err := p.elementName()
		if err != nil {
			return nil, err
		}
		elem, err := p.parseType(depth + 1)
		if err != nil {
			return nil, err
		}
		if name != "" {
			if seen[name] {
				return nil, fmt.Errorf("tuple element name %q declared twice", name)
			}
			seen[name] = true
			t.Names = append(t.Names, name)
		}
		t.Elems = append(t.Elems, elem)
		if !p.accept(',') {
			break
		}
	}
	if len(t.Names) > 0 && len(t.Names) != len(t.Elems) {
		return nil, fmt.Errorf("tuple elements must be all named or all unnamed")
	}
	return t, p.expect(')')
}

// elementName reads the name before a Tuple element's type, if there is one,
// and returns "" otherwise, leaving the position at the type.
func (p *typeParser) elementName() (string, error) {
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '`' {
		return p.backquoted()
	}
	start := p.pos
	name := p.ident()
	if name == "" {
		p.pos = start
		return "", nil
	}
	// A name is followed by its type, an identifier; a type name never is.
	p.skipSpace()
	if p.pos < len(p.s) && isIdentStart(p.s[p.pos]) {
		return name, nil
	}
	p.pos = start
	return "", nil
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// backquoted reads a backquoted identifier with backslash escapes (a doubled
// backquote also stands for one).
func (p *typeParser) backquoted() (string, error) {
	p.pos++ // the opening backquote
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '\\' && p.pos+1 < len(p.s):
			b.WriteByte(p.s[p.pos+1])
			p.pos += 2
		case c == '`' && p.pos+1 < len(p.s) && p.s[p.pos+1] == '`':
			b.WriteByte('`')
			p.pos += 2
		case c == '`':
			p.pos++
			if b.Len() == 0 {
				return "", fmt.Errorf("empty tuple element name")
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", fmt.Errorf("unterminated name")
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

func decimalType(prec, scale int64) (*Type, error) {
	if prec < 1 || prec > 76 {
		return nil, fmt.Errorf("decimal precision %d out of range 1..76", prec)
	}
	if scale < 0 || scale > prec {
		return nil, fmt.Errorf("decimal scale %d out of range 0..%d", scale, prec)
	}
	return &Type{Base: "Decimal", Precision: int(prec), Scale: int(scale)}, nil
}

func (p *typeParser) parseEnum(name string) (*Type, error) {
	if err := p.expect('('); err != nil {
		return nil, err
	}
	t := &Type{Base: name}
	names := map[string]bool{}
	codes := map[int16]bool{}
	next := int64(1)
	lo, hi := int64(-1<<15), int64(1<<15-1)
	if name == "Enum8" {
		lo, hi = -128, 127
	}
	for {
		n, err := p.quoted()
		if err != nil {
			return nil, err
		}
		code := next
		if p.accept('=') {
			if code, err = p.integer(); err != nil {
				return nil, err
			}
		}
		if code < lo || code > hi {
			return nil, fmt.Errorf("enum code %d of %q out of range %d..%d", code, n, lo, hi)
		}
		if names[n] {
			return nil, fmt.Errorf("enum name %q declared twice", n)
		}
		if codes[int16(code)] {
			return nil, fmt.Errorf("enum code %d declared twice", code)
		}
		names[n], codes[int16(code)] = true, true
		t.Enum = append(t.Enum, EnumValue{Name: n, Code: int16(code)})
		next = code + 1
		if !p.accept(',') {
			break
		}
	}
	if err := p.expect(')'); err != nil {
		return nil, err
	}
	if t.Base == "Enum" {
		t.Base = "Enum8"
		for _, v := range t.Enum {
			if v.Code < -128 || v.Code > 127 {
				t.Base = "Enum16"
			}
		}
	}
	return t, nil
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
	switch t.Base {
	case "Array":
		b.WriteByte('(')
		t.Elem.write(b)
		b.WriteByte(')')
	case "Map":
		b.WriteByte('(')
		t.Key.write(b)
		b.WriteString(", ")
		t.Value.write(b)
		b.WriteByte(')')
	case "Tuple":
		b.WriteByte('(')
		for i, e := range t.Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			if t.Names != nil {
				b.WriteString(backquoteIfNeeded(t.Names[i]))
				b.WriteByte(' ')
			}
			e.write(b)
		}
		b.WriteByte(')')
	case "FixedString":
		fmt.Fprintf(b, "(%d)", t.Size)
	case "Decimal":
		fmt.Fprintf(b, "(%d, %d)", t.Precision, t.Scale)
	case "DateTime":
		if t.TimeZone != "" {
			fmt.Fprintf(b, "(%s)", quoteLiteral(t.TimeZone))
		}
	case "DateTime64":
		fmt.Fprintf(b, "(%d", t.Precision)
		if t.TimeZone != "" {
			fmt.Fprintf(b, ", %s", quoteLiteral(t.TimeZone))
		}
		b.WriteByte(')')
	case "Enum8", "Enum16":
		b.WriteByte('(')
		for i, v := range t.Enum {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(b, "%s = %d", quoteLiteral(v.Name), v.Code)
		}
		b.WriteByte(')')
	}
	if t.Nullable {
		b.WriteByte(')')
	}
	if t.LowCardinality {
		b.WriteByte(')')
	}
}

// backquoteIfNeeded returns a Tuple element name as ClickHouse prints it:
// bare when it is a plain identifier, else backquoted.
func backquoteIfNeeded(s string) string {
	plain := s != "" && isIdentStart(s[0])
	for i := 0; plain && i < len(s); i++ {
		c := s[i]
		plain = isIdentStart(c) || c >= '0' && c <= '9'
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.WriteByte('`')
	for i := 0; i < len(s); i++ {
		if s[i] == '`' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('`')
	return b.String()
}

// quoteLiteral quotes s as a ClickHouse string literal.
func quoteLiteral(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// inner returns the type without its Nullable and LowCardinality wrappers.
func (t *Type) inner() *Type {
	c := *t
	c.Nullable, c.LowCardinality = false, false
	return &c
}
