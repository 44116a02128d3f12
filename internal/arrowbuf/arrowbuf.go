// Package arrowbuf holds the byte-level Arrow helpers that the Parquet
// source, transform and the writer share: buffers handed out without
// clearing, for code that overwrites every byte; a copy of short values
// that spares a memmove call per value; typed views of new value buffers;
// validity bitmap copies; and zero-copy views between strings and bytes.
package arrowbuf

import "github.com/apache/arrow-go/v18/arrow/memory"

// UninitAllocator is an Allocator that also hands out buffers without
// clearing them first, for callers that overwrite every byte. Buffers from
// AllocateUninit are freed with Free like any other.
type UninitAllocator interface {
	memory.Allocator
	AllocateUninit(size int) []byte
}

// Overwritten returns a buffer of n bytes that the caller overwrites
// entirely: not cleared first when mem is an UninitAllocator.
func Overwritten(mem memory.Allocator, n int) *memory.Buffer {
	if u, ok := mem.(UninitAllocator); ok {
		return memory.NewBufferWithAllocator(u.AllocateUninit(n), mem)
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n)
	return buf
}

// Slack is the room CopyValue needs in dst past the value it copies.
const Slack = 16

// CopyValue copies src[s:s+n] to the start of dst, which has at least
// n+Slack bytes, and returns n. A value of up to 16 bytes (most strings in
// practice) moves as one 16-byte word instead of through a memmove call;
// the bytes past it in dst are left with whatever src held there.
func CopyValue(dst, src []byte, s, n int) int {
	if n <= 16 && s+16 <= len(src) {
		*(*[16]byte)(dst[:16]) = *(*[16]byte)(src[s : s+16])
		return n
	}
	return copy(dst, src[s:s+n])
}
