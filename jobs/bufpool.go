package jobs

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/chload/chload/internal/arrowbuf"
)

// bufferPool is an Arrow allocator that keeps freed buffers of at least
// minPooled bytes for reuse, up to limit bytes in all. A run frees and
// allocates buffers of the same few sizes over and over (a reader's record,
// the pieces it is split into, a batch's chunks): reusing them spares the
// page faults and zeroing of fresh memory, and the collector's work. Reused
// buffers are zeroed, as Go's fresh memory is, so nothing a buffer held can
// leak into another. Safe for concurrent use.
type bufferPool struct {
	limit int

	mu    sync.Mutex
	held  int
	lists map[int][][]byte // by capacity
}

const (
	minPooled = 64 << 10
	alignment = 64
)

func newBufferPool(limit int) *bufferPool {
	return &bufferPool{limit: limit, lists: map[int][][]byte{}}
}

// sizeClass rounds n up to the next of eight steps per power of two, so a
// buffer is at most 12.5% larger than asked.
func sizeClass(n int) int {
	if n <= minPooled {
		return n
	}
	shift := bits.Len(uint(n-1)) - 4
	step := 1 << shift
	return (n + step - 1) &^ (step - 1)
}

// Allocate returns a zeroed buffer of size bytes, aligned to 64 bytes.
func (p *bufferPool) Allocate(size int) []byte {
	b := p.AllocateUninit(size)
	if size >= minPooled {
		clear(b)
	}
	return b
}

// AllocateUninit is Allocate without clearing a reused buffer, for callers
// that overwrite every byte (arrowbuf.UninitAllocator).
func (p *bufferPool) AllocateUninit(size int) []byte {
	if size < minPooled {
		return alloc(size, size)
	}
	c := sizeClass(size)
	p.mu.Lock()
	if l := p.lists[c]; len(l) > 0 {
		b := l[len(l)-1]
		p.lists[c] = l[:len(l)-1]
		p.held -= c
		p.mu.Unlock()
		return b[:size]
	}
	p.mu.Unlock()
	return alloc(size, c)
}

// alloc makes a zeroed, aligned buffer of length size and capacity c.
func alloc(size, c int) []byte {
	buf := make([]byte, c+alignment)
	addr := int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))) & uintptr(alignment-1))
	off := 0
	if addr != 0 {
		off = alignment - addr
	}
	return buf[off : off+size : off+c]
}

// Reallocate resizes b, keeping its contents.
func (p *bufferPool) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		return b[:size]
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

// poisonFreed makes Free overwrite every buffer it is given, so that a
// use after free reads garbage instead of plausible data; the package's
// tests turn it on, and their value checks would catch such a read.
var poisonFreed = false

// Free keeps b for reuse while the pool holds less than its limit.
func (p *bufferPool) Free(b []byte) {
	c := cap(b)
	if poisonFreed {
		full := b[:c]
		for i := range full {
			full[i] = 0xA5
		}
	}
	if c < minPooled || c != sizeClass(c) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held+c > p.limit {
		return
	}
	p.lists[c] = append(p.lists[c], b[:0])
	p.held += c
}

var _ arrowbuf.UninitAllocator = (*bufferPool)(nil)
