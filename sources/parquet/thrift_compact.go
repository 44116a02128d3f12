package parquet

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A minimal decoder and encoder of the Thrift compact protocol, the
// encoding of a Parquet footer, into a generic tree. It exists so the
// source can take out of a footer what arrow-go cannot read (see
// logical_types.go) and hand arrow-go the rest unchanged: decoding and
// encoding a footer gives back the same content, and the same bytes for the
// shortest encoding writers use.

// Thrift compact protocol type codes.
const (
	tcStop   = 0
	tcTrue   = 1
	tcFalse  = 2
	tcByte   = 3
	tcI16    = 4
	tcI32    = 5
	tcI64    = 6
	tcDouble = 7
	tcBinary = 8
	tcList   = 9
	tcSet    = 10
	tcMap    = 11
	tcStruct = 12
	tcUUID   = 13
)

// maxThriftDepth bounds the nesting a footer may have; Parquet's is below 10.
const maxThriftDepth = 64

// tField is one field of a struct. A bool field has typ tcTrue or tcFalse
// and no value.
type tField struct {
	id  int16
	typ byte
	val tValue
}

// tStruct is a struct's fields in the order they were read.
type tStruct []tField

// field returns the first field with id, or nil.
func (s tStruct) field(id int16) *tField {
	for i := range s {
		if s[i].id == id {
			return &s[i]
		}
	}
	return nil
}

// tList is a list or set.
type tList struct {
	elem  byte
	elems []tValue
}

// tMap is a map; keys and values alternate in kv.
type tMap struct {
	key, val byte
	kv       []tValue
}

// tValue is a decoded value: int64 (byte, i16, i32, i64, and a bool list
// element's raw byte), uint64 (a double's bits), []byte (binary, uuid),
// tList, tMap or tStruct.
type tValue any

var errThrift = errors.New("malformed Thrift compact data")

type tDecoder struct {
	b   []byte
	pos int
}

func decodeThriftStruct(b []byte) (tStruct, int, error) {
	d := &tDecoder{b: b}
	s, err := d.readStruct(0)
	if err != nil {
		return nil, 0, err
	}
	return s, d.pos, nil
}

func (d *tDecoder) byte() (byte, error) {
	if d.pos >= len(d.b) {
		return 0, errThrift
	}
	c := d.b[d.pos]
	d.pos++
	return c, nil
}

func (d *tDecoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		return 0, errThrift
	}
	d.pos += n
	return v, nil
}

func (d *tDecoder) zigzag() (int64, error) {
	u, err := d.uvarint()
	return int64(u>>1) ^ -int64(u&1), err
}

func (d *tDecoder) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(d.b)-d.pos) {
		return nil, errThrift
	}
	v := d.b[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return v, nil
}

func (d *tDecoder) readStruct(depth int) (tStruct, error) {
	if depth > maxThriftDepth {
		return nil, errThrift
	}
	var s tStruct
	var last int16
	for {
		h, err := d.byte()
		if err != nil {
			return nil, err
		}
		if h == tcStop {
			return s, nil
		}
		typ, delta := h&0x0f, int16(h>>4)
		id := last + delta
		if delta == 0 {
			v, err := d.zigzag()
			if err != nil {
				return nil, err
			}
			id = int16(v)
		}
		last = id
		f := tField{id: id, typ: typ}
		if typ != tcTrue && typ != tcFalse {
			if f.val, err = d.readValue(typ, depth); err != nil {
				return nil, err
			}
		}
		s = append(s, f)
	}
}

func (d *tDecoder) readValue(typ byte, depth int) (tValue, error) {
	switch typ {
	case tcTrue, tcFalse, tcByte: // a bool inside a list is one byte
		c, err := d.byte()
		return int64(c), err
	case tcI16, tcI32, tcI64:
		return d.zigzag()
	case tcDouble:
		b, err := d.bytes(8)
		if err != nil {
			return nil, err
		}
		return binary.LittleEndian.Uint64(b), nil
	case tcBinary:
		n, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		return d.bytes(n)
	case tcUUID:
		return d.bytes(16)
	case tcList, tcSet:
		h, err := d.byte()
		if err != nil {
			return nil, err
		}
		l := tList{elem: h & 0x0f}
		n := uint64(h >> 4)
		if n == 15 {
			if n, err = d.uvarint(); err != nil {
				return nil, err
			}
		}
		if n > uint64(len(d.b)-d.pos) { // every element takes a byte at least
			return nil, errThrift
		}
		for i := uint64(0); i < n; i++ {
			v, err := d.readValue(l.elem, depth+1)
			if err != nil {
				return nil, err
			}
			l.elems = append(l.elems, v)
		}
		return l, nil
	case tcMap:
		n, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		m := tMap{}
		if n == 0 {
			return m, nil
		}
		h, err := d.byte()
		if err != nil {
			return nil, err
		}
		m.key, m.val = h>>4, h&0x0f
		if n > uint64(len(d.b)-d.pos) {
			return nil, errThrift
		}
		for i := uint64(0); i < n; i++ {
			k, err := d.readValue(m.key, depth+1)
			if err != nil {
				return nil, err
			}
			v, err := d.readValue(m.val, depth+1)
			if err != nil {
				return nil, err
			}
			m.kv = append(m.kv, k, v)
		}
		return m, nil
	case tcStruct:
		return d.readStruct(depth + 1)
	}
	return nil, fmt.Errorf("%w: type %d", errThrift, typ)
}

// encodeThriftStruct appends the compact encoding of s to b.
func encodeThriftStruct(b []byte, s tStruct) []byte {
	var last int16
	for _, f := range s {
		if f.id > last && f.id-last <= 15 {
			b = append(b, byte(f.id-last)<<4|f.typ)
		} else {
			b = append(b, f.typ)
			b = binary.AppendUvarint(b, zigzag(int64(f.id)))
		}
		last = f.id
		if f.typ != tcTrue && f.typ != tcFalse {
			b = encodeThriftValue(b, f.typ, f.val)
		}
	}
	return append(b, tcStop)
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func encodeThriftValue(b []byte, typ byte, v tValue) []byte {
	switch typ {
	case tcTrue, tcFalse, tcByte:
		return append(b, byte(v.(int64)))
	case tcI16, tcI32, tcI64:
		return binary.AppendUvarint(b, zigzag(v.(int64)))
	case tcDouble:
		return binary.LittleEndian.AppendUint64(b, v.(uint64))
	case tcBinary:
		p := v.([]byte)
		return append(binary.AppendUvarint(b, uint64(len(p))), p...)
	case tcUUID:
		return append(b, v.([]byte)...)
	case tcList, tcSet:
		l := v.(tList)
		if n := len(l.elems); n < 15 {
			b = append(b, byte(n)<<4|l.elem)
		} else {
			b = binary.AppendUvarint(append(b, 0xf0|l.elem), uint64(n))
		}
		for _, e := range l.elems {
			b = encodeThriftValue(b, l.elem, e)
		}
		return b
	case tcMap:
		m := v.(tMap)
		b = binary.AppendUvarint(b, uint64(len(m.kv)/2))
		if len(m.kv) == 0 {
			return b
		}
		b = append(b, m.key<<4|m.val)
		for i := 0; i < len(m.kv); i += 2 {
			b = encodeThriftValue(b, m.key, m.kv[i])
			b = encodeThriftValue(b, m.val, m.kv[i+1])
		}
		return b
	case tcStruct:
		return encodeThriftStruct(b, v.(tStruct))
	}
	panic(fmt.Sprintf("encode Thrift type %d", typ))
}
