package chcol

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/chload/chload/internal/sqlquote"
)

// Tuple(T1, T2, ...), named or not: canonical arrow Struct of the elements'
// canonical types; Native: each element as a column of its own.
func init() {
	register(&family{
		names:     []string{"Tuple"},
		composite: true,
		nullFix: func(t *Type) string {
			return "fill the value in the source (a struct whose fields may be NULL where the Tuple's elements are Nullable); ClickHouse Tuple columns cannot be Nullable"
		},
		parse: func(p *typeParser, _ string, depth int) (*Type, error) { return p.parseTuple(depth) },
		params: func(t *Type, b *strings.Builder) {
			b.WriteByte('(')
			for i, e := range t.Elems {
				if i > 0 {
					b.WriteString(", ")
				}
				if t.Names != nil {
					b.WriteString(sqlquote.BackquoteIfNeeded(t.Names[i]))
					b.WriteByte(' ')
				}
				e.write(b)
			}
			b.WriteByte(')')
		},
		arrow: func(t *Type, serverTZ string) (arrow.DataType, error) {
			fields := make([]arrow.Field, len(t.Elems))
			for i, e := range t.Elems {
				dt, err := e.Arrow(serverTZ)
				if err != nil {
					return nil, err
				}
				fields[i] = arrow.Field{Name: t.ElemName(i), Type: dt, Nullable: true}
			}
			return arrow.StructOf(fields...), nil
		},
		kernel: tupleKernel,
		native: func(t *Type) bool {
			if t.Nullable {
				return false
			}
			for _, e := range t.Elems {
				if !nativeSupported(e) {
					return false
				}
			}
			return true
		},
		encode: func(dst []byte, t *Type, chunks []arrow.Array, refs RowRefs) []byte {
			// Each element as a column of its own, one after the other,
			// over the same rows.
			fields := make([]arrow.Array, len(chunks))
			for i, e := range t.Elems {
				for k, c := range chunks {
					fields[k] = c.(*array.Struct).Field(i)
				}
				dst = appendNative(dst, e, fields, refs)
			}
			return dst
		},
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, _ []bool) (any, error) {
			return tupleValues(t, chunks, perm)
		},
	})
}

// tupleKernel converts an Arrow Struct into Tuple(T1, T2, ...), converting
// each field with the Converter of its element. Fields are matched to the
// elements by name when the Tuple is named and every element has a field of
// its name, otherwise by position, which needs as many fields as elements.
// A Tuple cannot be Nullable, so Convert refuses the struct's own NULLs;
// they reach the kernel only under null_as_default (NullAsDefault converts
// through a Nullable target), and then the result keeps them as NULL rows
// whose elements are NULL too, for tupleDefaults to fill in.
func tupleKernel(c *Converter, serverTZ string) (kernelFunc, error) {
	s, ok := c.src.(*arrow.StructType)
	if !ok {
		return nil, errNoConversion
	}
	fieldOf, err := matchTupleFields(c.target, s)
	if err != nil {
		return nil, err
	}
	elems := make([]*Converter, len(c.target.Elems))
	for i, e := range c.target.Elems {
		f := s.Field(fieldOf[i])
		if elems[i], err = NewConverter(e, serverTZ, f.Type); err != nil {
			return nil, fmt.Errorf("load struct field %s into element %s of %s: %w", f.Name, c.target.ElemName(i), c.target, err)
		}
	}
	// Under NULL structs every element is NULL, also a non-Nullable one:
	// those are converted as Nullable and checked for NULLs of their own.
	var underNulls []*Converter
	if c.target.Nullable {
		underNulls = make([]*Converter, len(elems))
		for i, e := range c.target.Elems {
			n := *e
			n.Nullable = true
			if underNulls[i], err = NewConverter(&n, serverTZ, s.Field(fieldOf[i]).Type); err != nil {
				return nil, fmt.Errorf("load struct field %s into element %s of %s: %w", s.Field(fieldOf[i]).Name, c.target.ElemName(i), c.target, err)
			}
		}
	}
	dst := c.dst
	same := arrow.TypeEqual(c.src, dst)
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		if src.NullN() > 0 && underNulls != nil {
			return c.convertNullStructs(src.(*array.Struct), fieldOf, elems, underNulls, mem)
		}
		st := src.(*array.Struct)
		outs := make([]arrow.Array, len(elems))
		defer func() {
			for _, o := range outs {
				if o != nil {
					o.Release()
				}
			}
		}()
		unchanged := same
		for i, conv := range elems {
			field := st.Field(fieldOf[i])
			out, err := conv.Convert(field, mem)
			if err != nil {
				return nil, c.tupleElementErr(err, i)
			}
			outs[i] = out
			unchanged = unchanged && out == field
		}
		if unchanged && src.NullN() == 0 {
			src.Retain()
			return src, nil
		}
		children := make([]arrow.ArrayData, len(outs))
		for i, o := range outs {
			children[i] = o.Data()
		}
		d := array.NewData(dst, src.Len(), []*memory.Buffer{nil}, children, 0, 0)
		defer d.Release()
		return array.MakeFromData(d), nil
	}, nil
}

// convertNullStructs converts a struct array with NULL rows into a Tuple
// array with the same NULL rows, each element NULL under them. A NULL value
// of a non-Nullable element in a row that is not NULL is refused.
func (c *Converter) convertNullStructs(st *array.Struct, fieldOf []int, elems, underNulls []*Converter, mem memory.Allocator) (arrow.Array, error) {
	n := st.Len()
	children := make([]arrow.ArrayData, len(elems))
	outs := make([]arrow.Array, 0, len(elems))
	defer func() {
		for _, o := range outs {
			o.Release()
		}
	}()
	for i := range elems {
		field := MaskNulls(st.Field(fieldOf[i]), st, mem)
		out, err := underNulls[i].Convert(field, mem)
		field.Release()
		if err != nil {
			return nil, c.tupleElementErr(err, i)
		}
		outs = append(outs, out)
		if !c.target.Elems[i].Nullable && out.NullN() > st.NullN() {
			for r := 0; r < n; r++ {
				if st.IsValid(r) && out.IsNull(r) {
					return nil, c.tupleElementErr(elems[i].nullErr(r), i)
				}
			}
		}
		children[i] = out.Data()
	}
	valid := validityOf(st, mem)
	if valid != nil {
		defer valid.Release()
	}
	d := array.NewData(c.dst, n, []*memory.Buffer{valid}, children, st.NullN(), 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

// MaskNulls returns field, a child of the struct (or other parent) array st
// aligned with it row for row, with a row NULL wherever st's row is NULL:
// what the field holds as part of st. When st has no NULL it is field
// itself, retained. The caller releases the result.
func MaskNulls(field, st arrow.Array, mem memory.Allocator) arrow.Array {
	if st.NullN() == 0 {
		field.Retain()
		return field
	}
	d := field.Data()
	n, off := field.Len(), d.Offset()
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(off + n))))
	bits := buf.Bytes()
	clear(bits)
	nulls := 0
	for i := 0; i < n; i++ {
		if st.IsValid(i) && field.IsValid(i) {
			bitutil.SetBit(bits, off+i)
		} else {
			nulls++
		}
	}
	bufs := append([]*memory.Buffer{buf}, d.Buffers()[1:]...)
	var out *array.Data
	if d.DataType().ID() == arrow.DICTIONARY {
		out = array.NewDataWithDictionary(d.DataType(), n, bufs, nulls, off, d.Dictionary().(*array.Data))
	} else {
		out = array.NewData(d.DataType(), n, bufs, d.Children(), nulls, off)
	}
	buf.Release()
	defer out.Release()
	return array.MakeFromData(out)
}

// tupleDefaults returns a, a canonical Tuple array of type t, with every NULL
// row made the Tuple's default (each element's: NULL for a Nullable one) and
// no validity bitmap. Rows under NULLs hold NULL elements (tupleKernel).
func tupleDefaults(a arrow.Array, t *Type, mem memory.Allocator) (arrow.Array, error) {
	st := a.(*array.Struct)
	children := make([]arrow.ArrayData, len(t.Elems))
	var outs []arrow.Array
	defer func() {
		for _, o := range outs {
			o.Release()
		}
	}()
	for i, e := range t.Elems {
		child := st.Field(i)
		if !e.Nullable && child.NullN() > 0 {
			filled, err := fillDefaults(child, e, mem)
			if err != nil {
				return nil, err
			}
			outs = append(outs, filled)
			child = filled
		}
		children[i] = child.Data()
	}
	d := array.NewData(a.DataType(), a.Len(), []*memory.Buffer{nil}, children, 0, 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

// matchTupleFields returns, for each element of the Tuple t, the index of the
// struct field s that feeds it.
func matchTupleFields(t *Type, s *arrow.StructType) ([]int, error) {
	n := len(t.Elems)
	fieldNames := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		fieldNames[i] = f.Name
	}
	out := make([]int, n)
	if t.Names != nil {
		byName := true
		for i, name := range t.Names {
			j, ok := s.FieldIdx(name)
			if !ok {
				byName = false
				break
			}
			out[i] = j
		}
		if byName {
			if s.NumFields() != n {
				var extra []string
				for _, f := range fieldNames {
					if !slices.Contains(t.Names, f) {
						extra = append(extra, f)
					}
				}
				return nil, fmt.Errorf("cannot load struct<%s> into column type %s: struct fields %s are not elements of the Tuple; add them to the Tuple or drop them from the data",
					strings.Join(fieldNames, ", "), t, strings.Join(extra, ", "))
			}
			return out, nil
		}
		// Some names match, in other places: matching by position would
		// load a field into an element of another name.
		for i, name := range t.Names {
			if j, ok := s.FieldIdx(name); ok && j != i {
				return nil, fmt.Errorf("cannot load struct<%s> into column type %s: field %s is at position %d of the struct but element %s is at position %d of the Tuple, and not every element has a field of its name; name the struct fields as the Tuple's elements",
					strings.Join(fieldNames, ", "), t, name, j+1, name, i+1)
			}
		}
	}
	if t.Names != nil && !positionalNames(s) {
		return nil, fmt.Errorf("cannot load struct<%s> into column type %s: the Tuple's elements are named (%s) and the struct's fields do not all match them; name the struct fields as the Tuple's elements, or rename them in the data",
			strings.Join(fieldNames, ", "), t, strings.Join(t.Names, ", "))
	}
	if s.NumFields() != n {
		how := "by position"
		if t.Names != nil {
			how = "by position, as not every element has a field of its name,"
		}
		return nil, fmt.Errorf("cannot load struct<%s> into column type %s: fields are matched %s and the struct has %d fields where the Tuple has %d elements",
			strings.Join(fieldNames, ", "), t, how, s.NumFields(), n)
	}
	for i := range out {
		out[i] = i
	}
	return out, nil
}

// positionalNames reports whether s's fields carry no names of their own:
// empty, or their 1-based positions as unnamed tuples get them ("1", "2").
func positionalNames(s *arrow.StructType) bool {
	for i, f := range s.Fields() {
		if f.Name != "" && f.Name != strconv.Itoa(i+1) {
			return false
		}
	}
	return true
}

// tupleElementErr turns the refusal of a value of element i into the
// refusal of the Tuple row that holds it.
func (c *Converter) tupleElementErr(err error, i int) error {
	var ve *ValueError
	if !errors.As(err, &ve) {
		return fmt.Errorf("element %s of %s: %w", c.target.ElemName(i), c.target, err)
	}
	return elementRefusal(ve, ve.Row, "in element "+c.target.ElemName(i), c.target.Elems[i], func() *Type {
		t := *c.target
		t.Elems = append([]*Type(nil), c.target.Elems...)
		e := *c.target.Elems[i]
		e.Nullable = true
		t.Elems[i] = &e
		return &t
	})
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

// backquoted reads a backquoted identifier with backslash escapes (a doubled
// backquote also stands for one).
func (p *typeParser) backquoted() (string, error) {
	start := p.pos + 1 // after the opening backquote
	var body strings.Builder
	for i := start; i < len(p.s); i++ {
		switch c := p.s[i]; {
		case c == '\\' && i+1 < len(p.s):
			body.WriteString(p.s[i : i+2])
			i++
		case c == '`' && i+1 < len(p.s) && p.s[i+1] == '`':
			body.WriteString("\\`") // a doubled backquote stands for one
			i++
		case c == '`':
			p.pos = i + 1
			if body.Len() == 0 {
				return "", fmt.Errorf("empty tuple element name")
			}
			name, err := sqlquote.Unescape(body.String(), false)
			if err != nil {
				return "", fmt.Errorf("tuple element name at offset %d: %v", start-1, err)
			}
			return name, nil
		default:
			body.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated name")
}

// tupleValues builds one []any per row for Tuple(T1, T2, ...), holding each
// element's value as its own column takes it (a pointer for a Nullable
// element); clickhouse-go appends a Tuple row by row from such slices.
func tupleValues(t *Type, chunks []arrow.Array, perm []uint32) (any, error) {
	elems := make([]reflect.Value, len(t.Elems))
	children := make([]arrow.Array, len(chunks))
	for i, e := range t.Elems {
		for k, c := range chunks {
			children[k] = c.(*array.Struct).Field(i)
		}
		v, err := goValues(e, children, perm)
		if err != nil {
			return nil, err
		}
		elems[i] = reflect.ValueOf(v)
	}
	n := len(perm)
	if perm == nil {
		for _, c := range chunks {
			n += c.Len()
		}
	}
	out := make([][]any, n)
	flat := make([]any, n*len(elems))
	for r := range out {
		row := flat[r*len(elems) : (r+1)*len(elems) : (r+1)*len(elems)]
		for i, ev := range elems {
			row[i] = ev.Index(r).Interface()
		}
		out[r] = row
	}
	return out, nil
}

// ElemName is the name of element i of a Tuple: its declared name, or its
// position from 1 ("1", "2", ...) in an unnamed Tuple, as ClickHouse's
// tupleElement numbers them.
func (t *Type) ElemName(i int) string {
	if t.Names != nil {
		return t.Names[i]
	}
	return strconv.Itoa(i + 1)
}
