package arrowbuf

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestCopyValue copies values of every length from 0 to 40 at every
// position of a source, near its end too, and checks the bytes copied.
func TestCopyValue(t *testing.T) {
	src := make([]byte, 64)
	for i := range src {
		src[i] = byte(i + 1)
	}
	for s := 0; s <= len(src); s++ {
		for n := 0; s+n <= len(src) && n <= 40; n++ {
			dst := make([]byte, n+Slack)
			if got := CopyValue(dst, src, s, n); got != n || !bytes.Equal(dst[:n], src[s:s+n]) {
				t.Fatalf("CopyValue of %d bytes at %d: returned %d, copied %v", n, s, got, dst[:n])
			}
		}
	}
}

// uninit hands out buffers with a marker in them, as a pool's reused ones.
type uninit struct{ memory.Allocator }

func (u uninit) AllocateUninit(n int) []byte { return bytes.Repeat([]byte{7}, n) }

func TestOverwritten(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := Overwritten(mem, 10)
	if b.Len() != 10 {
		t.Errorf("length %d, want 10", b.Len())
	}
	b.Release()
	u := Overwritten(uninit{memory.NewGoAllocator()}, 3)
	if !bytes.Equal(u.Bytes(), []byte{7, 7, 7}) {
		t.Errorf("got %v, want the uninitialized buffer itself", u.Bytes())
	}
	u.Release()
}
