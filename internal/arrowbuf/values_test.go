package arrowbuf

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestNewValues(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	buf, vals := NewValues[int64](mem, 5)
	if len(vals) != 5 || buf.Len() != 40 {
		t.Fatalf("%d values in %d bytes, want 5 in 40", len(vals), buf.Len())
	}
	vals[4] = -1
	if b := buf.Bytes(); b[32] != 0xff || b[39] != 0xff {
		t.Errorf("the view does not write the buffer: %v", b[32:])
	}
	buf.Release()
	empty, none := NewValues[uint16](mem, 0)
	if none != nil || empty.Len() != 0 {
		t.Errorf("0 values: %v in %d bytes", none, empty.Len())
	}
	empty.Release()
}

// TestCopyValidity copies the bitmap of a slice that starts mid-byte and
// checks every row, and that changing the copy leaves the array alone.
func TestCopyValidity(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewInt32Builder(mem)
	for i := 0; i < 20; i++ {
		if i%3 == 0 {
			b.AppendNull()
		} else {
			b.Append(int32(i))
		}
	}
	all := b.NewArray()
	b.Release()
	defer all.Release()
	sl := array.NewSlice(all, 5, 17)
	defer sl.Release()
	got := CopyValidity(mem, sl)
	for i := 0; i < sl.Len(); i++ {
		if bitutil.BitIsSet(got.Bytes(), i) != sl.IsValid(i) {
			t.Errorf("row %d: copy says valid %v", i, !sl.IsValid(i))
		}
	}
	clear(got.Bytes())
	for i := 0; i < sl.Len(); i++ {
		if sl.IsValid(i) != ((i+5)%3 != 0) {
			t.Errorf("row %d: changing the copy changed the array", i)
		}
	}
	got.Release()
	b2 := array.NewInt32Builder(mem)
	b2.AppendValues([]int32{1, 2}, nil)
	noNulls := b2.NewArray()
	b2.Release()
	defer noNulls.Release()
	if v := CopyValidity(mem, noNulls); v != nil {
		t.Errorf("an array without nulls gave a bitmap")
		v.Release()
	}
}

func TestStringBytesViews(t *testing.T) {
	for _, s := range []string{"", "a", "héllo\x00"} {
		if got := String([]byte(s)); got != s {
			t.Errorf("String(%q) = %q", s, got)
		}
		if got := string(Bytes(s)); got != s {
			t.Errorf("Bytes(%q) = %q", s, got)
		}
	}
	b := []byte("abc")
	s := String(b)
	b[0] = 'x'
	if s != "xbc" {
		t.Errorf("String copied its bytes: %q", s)
	}
}
