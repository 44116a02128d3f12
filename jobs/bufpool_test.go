package jobs

import (
	"sync"
	"testing"
	"unsafe"
)

// Every test of the package runs with freed buffers poisoned: a load that
// read a buffer after its release would then fail its value checks.
func init() { poisonFreed = true }

func TestSizeClass(t *testing.T) {
	for _, n := range []int{1, 4096, minPooled, minPooled + 1, 100000, 1 << 20, 1<<20 + 1, 123456789} {
		c := sizeClass(n)
		if c < n {
			t.Errorf("sizeClass(%d) = %d, smaller than asked", n, c)
		}
		if n > minPooled && float64(c) > float64(n)*1.125+1 {
			t.Errorf("sizeClass(%d) = %d, more than 12.5%% larger", n, c)
		}
		if sizeClass(c) != c {
			t.Errorf("sizeClass(%d) = %d is not its own class", n, c)
		}
	}
}

// TestBufferPoolReuse checks what Arrow expects of an allocator: aligned,
// zeroed buffers of the asked length, Reallocate keeping contents; and that
// freed buffers are reused, zeroed again, within the limit.
func TestBufferPoolReuse(t *testing.T) {
	p := newBufferPool(1 << 20)
	check := func(b []byte, size int) {
		t.Helper()
		if len(b) != size {
			t.Fatalf("length %d, want %d", len(b), size)
		}
		if size > 0 && uintptr(unsafe.Pointer(&b[0]))%alignment != 0 {
			t.Fatalf("buffer of %d bytes not aligned to %d", size, alignment)
		}
		for i, v := range b {
			if v != 0 {
				t.Fatalf("byte %d of a new buffer is %d, want 0", i, v)
			}
		}
	}
	small := p.Allocate(100)
	check(small, 100)
	big := p.Allocate(200000)
	check(big, 200000)
	for i := range big {
		big[i] = 0xAB
	}
	first := &big[0]
	p.Free(big)
	again := p.Allocate(199000) // same class
	check(again, 199000)
	if &again[0] != first {
		t.Errorf("a freed buffer of the same class was not reused")
	}
	again[0] = 7
	grown := p.Reallocate(300000, again)
	if len(grown) != 300000 || grown[0] != 7 {
		t.Errorf("Reallocate lost contents or length: len %d, first byte %d", len(grown), grown[0])
	}
	// Over the limit, freed buffers are left to the collector.
	for i := 0; i < 10; i++ {
		p.Free(p.Allocate(300000))
	}
	huge := p.Allocate(2 << 20)
	p.Free(huge)
	if p.held > p.limit {
		t.Errorf("pool holds %d bytes, limit %d", p.held, p.limit)
	}
}

func TestBufferPoolConcurrent(t *testing.T) {
	p := newBufferPool(8 << 20)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				b := p.Allocate(minPooled + (g*7919+i*104729)%(1<<20))
				for _, j := range []int{0, len(b) / 2, len(b) - 1} {
					if b[j] != 0 {
						t.Errorf("reused buffer not zeroed")
						return
					}
					b[j] = byte(g + 1)
				}
				p.Free(b)
			}
		}(g)
	}
	wg.Wait()
}

// TestBufferPoolUninit checks that AllocateUninit hands a freed buffer back
// as it is (callers overwrite it), while Allocate clears it.
func TestBufferPoolUninit(t *testing.T) {
	p := newBufferPool(1 << 20)
	b := p.Allocate(100000)
	b[5] = 9
	p.Free(b)
	u := p.AllocateUninit(100000)
	if &u[0] != &b[0] || len(u) != 100000 {
		t.Fatalf("AllocateUninit did not reuse the freed buffer")
	}
	p.Free(u)
	z := p.Allocate(100000)
	if z[5] != 0 {
		t.Errorf("Allocate returned a reused buffer without clearing it")
	}
}
