package chcol

import (
	"encoding/binary"
	"net/netip"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/transform/hashinput"
)

// IPv4: canonical arrow Uint32, a.b.c.d being a<<24|b<<16|c<<8|d; in the
// Native format that UInt32, little-endian. It loads from Uint32 as is, from
// other integers in 0..4294967295, and from dotted-quad text. ClickHouse's
// hash functions read it as its UInt32.
//
// IPv6: canonical arrow FixedSizeBinary(16) in network byte order; the 16
// bytes as they are in the Native format. It loads from FixedSizeBinary(16) as
// is and from text; IPv4 text becomes the IPv4-mapped address ::ffff:a.b.c.d,
// as ClickHouse does. Hash functions read its 16 bytes (the FixedString
// default).
//
// 18.16 has neither type; they are unit-tested against clickhouse-go's
// encoder only.
func init() {
	register(&family{
		names:          []string{"IPv4"},
		arrow:          fixedArrow(arrow.PrimitiveTypes.Uint32),
		kernel:         func(c *Converter, _ string) (kernelFunc, error) { return ipv4Kernel(c) },
		lowCardinality: true,
		encode: func(dst []byte, _ *Type, chunks []arrow.Array, refs RowRefs) []byte {
			return appendFixed(dst, chunks, refs, 4)
		},
		defaultWidth: zeroWidth(4),
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, valid []bool) (any, error) {
			return fixedSlice[uint32](t, chunks, perm, valid), nil
		},
	})
	hashinput.Register("IPv4", func(a arrow.Array, _ string) ([]hashinput.Input, error) {
		if a.DataType().ID() != arrow.UINT32 {
			return nil, nil
		}
		return hashinput.Ints(a, "IPv4", fixedValues[uint32](a), 4, false), nil
	})
	register(&family{
		names:          []string{"IPv6"},
		arrow:          fixedArrow(&arrow.FixedSizeBinaryType{ByteWidth: 16}),
		kernel:         func(c *Converter, _ string) (kernelFunc, error) { return ipv6Kernel(c) },
		lowCardinality: true,
		encode: func(dst []byte, _ *Type, chunks []arrow.Array, refs RowRefs) []byte {
			return appendFixedBinary(dst, chunks, refs, false)
		},
		defaultWidth: zeroWidth(16),
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, valid []bool) (any, error) {
			return fixedSlice[[16]byte](t, chunks, perm, valid), nil
		},
	})
}

// ipv4Kernel converts Uint32 (as is), other integers or dotted-quad text into
// IPv4.
func ipv4Kernel(c *Converter) (kernelFunc, error) {
	if arrow.TypeEqual(c.src, c.dst) {
		return identity, nil
	}
	dst := c.dst
	if isStringLike(c.src) {
		return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			get := stringGetter(src)
			return mapFixed(dst, src, mem, func(i int) (uint32, bool) {
				return parseIPv4(get(i))
			}, func(i int) *ValueError {
				return valueErr(src, i, "is not an IPv4 address (four numbers 0..255 separated by dots, like 192.168.0.1)",
					"fix the data, or make the column IPv6 (which also takes IPv6 addresses) or String")
			})
		}, nil
	}
	switch c.src.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT64:
	default:
		return nil, errNoConversion
	}
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		get := intGetter(src)
		return mapFixed(dst, src, mem, func(i int) (uint32, bool) {
			v, ok := get(i)
			return uint32(v), ok && v >= 0 && v <= 1<<32-1
		}, func(i int) *ValueError {
			return valueErr(src, i, "is not an IPv4 address as a number (range 0..4294967295)",
				"fix the data, or load the address as dotted-quad text")
		})
	}, nil
}

// parseIPv4 reads a dotted-quad address as its UInt32.
func parseIPv4(s string) (uint32, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, false
	}
	b := a.As4()
	return binary.BigEndian.Uint32(b[:]), true
}

// ipv6Kernel converts FixedSizeBinary(16) (as is) or text into IPv6; IPv4 text
// becomes the IPv4-mapped address ::ffff:a.b.c.d, as ClickHouse does.
func ipv6Kernel(c *Converter) (kernelFunc, error) {
	if arrow.TypeEqual(c.src, c.dst) {
		return identity, nil
	}
	if !isStringLike(c.src) {
		return nil, errNoConversion
	}
	dst := c.dst
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		get := stringGetter(src)
		return mapBytes(dst, 16, src, mem, func(i int, out []byte) bool {
			a, err := netip.ParseAddr(get(i))
			if err != nil || a.Zone() != "" {
				return false
			}
			b := a.As16()
			copy(out, b[:])
			return true
		}, func(i int) *ValueError {
			return valueErr(src, i, "is not an IP address", "fix the data or make the column String")
		})
	}, nil
}
