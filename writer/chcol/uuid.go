package chcol

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/chload/chload/transform/hashinput"
	"github.com/google/uuid"
)

// UUID: canonical arrow FixedSizeBinary(16) in RFC 4122 byte order; in the
// Native format two little-endian UInt64 halves.
func init() {
	register(&family{
		names:  []string{"UUID"},
		arrow:  fixedArrow(&arrow.FixedSizeBinaryType{ByteWidth: 16}),
		kernel: func(c *Converter, _ string) (kernelFunc, error) { return uuidKernel(c) },
		encode: func(dst []byte, _ *Type, chunks []arrow.Array, refs RowRefs) []byte {
			return appendFixedBinary(dst, chunks, refs, true)
		},
		lowCardinality: true,
		defaultWidth:   zeroWidth(16),
		orderKey:       func(*Type) *OrderKey { return uuidOrder },
		goValues: func(t *Type, chunks []arrow.Array, perm []uint32, valid []bool) (any, error) {
			return fixedSlice[uuid.UUID](t, chunks, perm, valid), nil
		},
	})
	// ClickHouse hashes a UUID as its UInt128, which chload does not
	// reproduce yet; the default for FixedSizeBinary(16) (FixedString
	// bytes) would differ from the server's, so UUID columns are refused.
	hashinput.Register("UUID", func(arrow.Array, string) ([]hashinput.Input, error) {
		return nil, fmt.Errorf("hashing UUID columns is not supported")
	})
}

// uuidKernel converts 36-character text (any hex case) or 16 raw bytes (binary or
// FixedSizeBinary(16)) into UUID bytes in RFC 4122 order.
func uuidKernel(c *Converter) (kernelFunc, error) {
	if arrow.TypeEqual(c.src, c.dst) {
		return identity, nil
	}
	raw := false
	switch c.src.ID() {
	case arrow.BINARY, arrow.LARGE_BINARY:
		raw = true
	case arrow.STRING, arrow.LARGE_STRING:
	default:
		return nil, errNoConversion
	}
	dst := c.dst
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		get := stringGetter(src)
		return mapBytes(dst, 16, src, mem, func(i int, out []byte) bool {
			v := get(i)
			if raw && len(v) == 16 {
				copy(out, v)
				return true
			}
			return parseUUID(v, out)
		}, func(i int) *ValueError {
			want := "36 characters like 123e4567-e89b-12d3-a456-426614174000"
			if raw {
				want = "16 bytes or " + want
			}
			return valueErr(src, i, "is not a UUID (expected "+want+")", "fix the data or make the column String")
		})
	}, nil
}

// parseUUID parses the 8-4-4-4-12 hex form into out (16 bytes).
func parseUUID(s string, out []byte) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := hexDigit(s[i])
		lo, ok2 := hexDigit(s[i+1])
		if !ok1 || !ok2 {
			return false
		}
		out[j] = hi<<4 | lo
		j++
		i += 2
	}
	return true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
