package chcol

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/chload/chload/internal/sqlquote"
)

// Enum8 and Enum16 (and Enum, which the server resolves to one of them):
// canonical arrow Int8 and Int16 holding the codes; the codes in the Native
// format. The default value is the smallest code.
func init() {
	register(&family{
		names: []string{"Enum8", "Enum16", "Enum"},
		parse: func(p *typeParser, name string, _ int) (*Type, error) { return p.parseEnum(name) },
		params: func(t *Type, b *strings.Builder) {
			b.WriteByte('(')
			for i, v := range t.Enum {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(b, "%s = %d", sqlquote.String(v.Name), v.Code)
			}
			b.WriteByte(')')
		},
		arrow: func(t *Type, _ string) (arrow.DataType, error) {
			if t.Base == "Enum8" {
				return arrow.PrimitiveTypes.Int8, nil
			}
			return arrow.PrimitiveTypes.Int16, nil
		},
		kernel: func(c *Converter, _ string) (kernelFunc, error) { return enumKernel(c) },
		encode: func(dst []byte, t *Type, chunks []arrow.Array, refs RowRefs) []byte {
			if t.Base == "Enum8" {
				return appendFixed(dst, chunks, refs, 1)
			}
			return appendFixed(dst, chunks, refs, 2)
		},
		defaultFill: enumDefault,
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, valid []bool) (any, error) {
			if t.Base == "Enum8" {
				return fixedSlice[int8](t, chunks, perm, valid), nil
			}
			return fixedSlice[int16](t, chunks, perm, valid), nil
		},
	})
}

// enumDefault is the smallest code of t, the default of an Enum column, in
// width little-endian bytes.
func enumDefault(t *Type, width int) []byte {
	fill := make([]byte, width)
	if len(t.Enum) == 0 {
		return fill
	}
	minCode := t.Enum[0].Code
	for _, e := range t.Enum {
		minCode = min(minCode, e.Code)
	}
	if width == 1 {
		fill[0] = byte(int8(minCode))
	} else {
		binary.LittleEndian.PutUint16(fill, uint16(minCode))
	}
	return fill
}

// enumKernel converts names (text) or codes (integers) into Enum codes.
func enumKernel(c *Converter) (kernelFunc, error) {
	if c.target.Base == "Enum8" {
		return enumFrom[int8](c)
	}
	return enumFrom[int16](c)
}

func enumFrom[D int8 | int16](c *Converter) (kernelFunc, error) {
	var known [1 << 16 / 64]uint64
	byName := make(map[string]D, len(c.target.Enum))
	for _, v := range c.target.Enum {
		u := uint16(v.Code)
		known[u/64] |= 1 << (u % 64)
		byName[v.Name] = D(v.Code)
	}
	isKnown := func(v D) bool { u := uint16(v); return known[u/64]&(1<<(u%64)) != 0 }
	name := c.target.inner().String()
	if len(name) > 2*maxShownBytes {
		name = name[:2*maxShownBytes] + "...)"
	}
	unknown := func(src arrow.Array, i int) *ValueError {
		return valueErr(src, i, "is not a value of "+name, "add the value to the enum or fix the data")
	}
	dst := c.dst
	if isStringLike(c.src) {
		return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			get := stringGetter(src)
			return mapFixed(dst, src, mem, func(i int) (D, bool) {
				v, ok := byName[get(i)]
				return v, ok
			}, func(i int) *ValueError { return unknown(src, i) })
		}, nil
	}
	if arrow.TypeEqual(c.src, dst) {
		return checked(dst, func(src arrow.Array) func(int) bool {
			vals := fixedValues[D](src)
			return func(i int) bool { return isKnown(vals[i]) }
		}, unknown), nil
	}
	switch c.src.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
	default:
		return nil, errNoConversion
	}
	lo, hi := intBounds[D]()
	toCode, err := intFrom[D](c, lo, hi, c.target.Base)
	if err != nil {
		return nil, err
	}
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		out, err := toCode(src, mem)
		if err != nil {
			if ve, ok := err.(*ValueError); ok {
				return nil, unknown(src, ve.Row)
			}
			return nil, err
		}
		vals := fixedValues[D](out)
		if err := checkEach(out, func(i int) bool { return isKnown(vals[i]) }, func(i int) *ValueError { return unknown(src, i) }); err != nil {
			out.Release()
			return nil, err
		}
		return out, nil
	}, nil
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
