package arrowbuf

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// NewValues allocates from mem a buffer of n values of the fixed-width type
// T and returns it with a view of it as a []T (nil when n is 0). The caller
// owns the buffer.
func NewValues[T any](mem memory.Allocator, n int) (*memory.Buffer, []T) {
	size := int(unsafe.Sizeof(*new(T)))
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * size)
	if n == 0 {
		return buf, nil
	}
	return buf, unsafe.Slice((*T)(unsafe.Pointer(&buf.Bytes()[0])), n)
}

// CopyValidity returns a copy of src's validity bitmap starting at bit 0,
// or nil when src has no nulls. The caller owns the copy and may change it.
func CopyValidity(mem memory.Allocator, src arrow.Array) *memory.Buffer {
	if src.NullN() == 0 {
		return nil
	}
	n := src.Len()
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	bitutil.CopyBitmap(src.NullBitmapBytes(), src.Data().Offset(), n, buf.Bytes(), 0)
	return buf
}

// String views b as a string without copying; b must not change while the
// string is in use.
func String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Bytes views s as bytes without copying; the bytes must not be changed.
func Bytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
