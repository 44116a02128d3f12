package chcol

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// stringKernel converts String (as is), Binary (same layout, retagged without a
// copy), LargeString/LargeBinary (copied to 32-bit offsets) and FixedSizeBinary
// (a Parquet FIXED_LEN_BYTE_ARRAY without a logical type: the bytes as they are,
// zero bytes included) into String.
func stringKernel(c *Converter) (kernelFunc, error) {
	switch c.src.ID() {
	case arrow.STRING:
		return identity, nil
	case arrow.BINARY:
		return retag(c.dst), nil
	case arrow.LARGE_STRING, arrow.LARGE_BINARY, arrow.FIXED_SIZE_BINARY:
		return narrowStrings, nil
	}
	return nil, errNoConversion
}

// narrowStrings copies a LargeString, LargeBinary or FixedSizeBinary array into a
// String array; NULL rows hold the empty string.
func narrowStrings(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	n := src.Len()
	get := bytesGetter(src)
	nulls := src.NullN() > 0
	total := 0
	for i := 0; i < n; i++ {
		if nulls && src.IsNull(i) {
			continue
		}
		total += len(get(i))
	}
	if total > math.MaxInt32 {
		return nil, fmt.Errorf("convert %s array to String: %d bytes of text in one array exceed the 2 GiB limit of String arrays; read smaller batches", src.DataType(), total)
	}
	offBuf, offsets := newFixed[int32](mem, n+1)
	defer offBuf.Release()
	dataBuf := memory.NewResizableBuffer(mem)
	defer dataBuf.Release()
	dataBuf.Resize(total)
	data := dataBuf.Bytes()
	pos := 0
	for i := 0; i < n; i++ {
		offsets[i] = int32(pos)
		if nulls && src.IsNull(i) {
			continue
		}
		pos += copy(data[pos:], get(i))
	}
	offsets[n] = int32(pos)
	valid := validityOf(src, mem)
	if valid != nil {
		defer valid.Release()
	}
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{valid, offBuf, dataBuf}, nil, src.NullN(), 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

// mapBytes builds a FixedSizeBinary(width) array of type dst from src row by row:
// conv fills out (zeroed, width bytes) for row i and reports false when it cannot.
func mapBytes(dst arrow.DataType, width int, src arrow.Array, mem memory.Allocator, conv func(i int, out []byte) bool, bad func(i int) *ValueError) (arrow.Array, error) {
	n := src.Len()
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(n * width)
	all := buf.Bytes()
	clear(all)
	nulls := src.NullN() > 0
	for i := 0; i < n; i++ {
		if nulls && src.IsNull(i) {
			continue
		}
		if !conv(i, all[i*width:(i+1)*width:(i+1)*width]) {
			return nil, bad(i)
		}
	}
	return newArray(dst, n, buf, src, mem), nil
}

// bytesGetter returns a zero-copy accessor of the bytes of a string, binary or
// fixed-size binary array, or nil for other arrays.
func bytesGetter(a arrow.Array) func(i int) string {
	if f, ok := a.(*array.FixedSizeBinary); ok {
		return func(i int) string { return bytesString(f.Value(i)) }
	}
	return stringGetter(a)
}

// fixedStringKernel converts text, binary and fixed-size binary into
// FixedString(N). A value longer than N bytes is refused; a shorter one is padded
// with zero bytes at the end, as ClickHouse itself does. Fixed-size binary wider
// than N is refused when the conversion is planned: every value would be too long.
func fixedStringKernel(c *Converter) (kernelFunc, error) {
	if arrow.TypeEqual(c.src, c.dst) {
		return identity, nil
	}
	if c.src.ID() != arrow.FIXED_SIZE_BINARY && !isStringLike(c.src) {
		return nil, errNoConversion
	}
	size, dst, name := c.target.Size, c.dst, c.target.inner().String()
	if fsb, ok := c.src.(*arrow.FixedSizeBinaryType); ok && fsb.ByteWidth > size {
		return nil, fmt.Errorf("cannot load Arrow type %s into column type %s: every value is %d bytes long, longer than %s; make the column FixedString(%d) or String, or cut the values in a transform",
			c.src, c.target, fsb.ByteWidth, name, fsb.ByteWidth)
	}
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		get := bytesGetter(src)
		return mapBytes(dst, size, src, mem, func(i int, out []byte) bool {
			v := get(i)
			if len(v) > size {
				return false
			}
			copy(out, v)
			return true
		}, func(i int) *ValueError {
			return valueErr(src, i, fmt.Sprintf("is %d bytes long, longer than %s", len(get(i)), name),
				"shorten it in a transform or widen the column")
		})
	}, nil
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
			return valueErr(src, i, "is not a UUID (expected "+want+")", "fix the data or convert it in a transform")
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

// ipv4Kernel converts Uint32 (as is) or dotted text into IPv4.
func ipv4Kernel(c *Converter) (kernelFunc, error) {
	if arrow.TypeEqual(c.src, c.dst) {
		return identity, nil
	}
	if !isStringLike(c.src) {
		return nil, errNoConversion
	}
	dst := c.dst
	return func(src arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		get := stringGetter(src)
		return mapFixed(dst, src, mem, func(i int) (uint32, bool) {
			a, err := netip.ParseAddr(get(i))
			if err != nil || !a.Is4() {
				return 0, false
			}
			b := a.As4()
			return binary.BigEndian.Uint32(b[:]), true
		}, func(i int) *ValueError {
			return valueErr(src, i, "is not an IPv4 address", "fix the data or make the column IPv6 or String")
		})
	}, nil
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
