package parquet

import (
	"bytes"
	"testing"
)

// FuzzThriftCompact: any input decodes or fails without a panic, and what
// decodes encodes to bytes that decode to the same encoding again.
func FuzzThriftCompact(f *testing.F) {
	f.Add([]byte{0x15, 0x02, 0x19, 0x1c, 0x18, 0x01, 'a', 0x00, 0x00})
	f.Add([]byte{0x1c, 0xfc, 0x00, 0x00, 0x00})
	f.Add([]byte{0x0c, 0x90, 0x03, 0x00, 0x00})
	f.Add([]byte{0x1b, 0x01, 0x88, 0x01, 'k', 0x01, 'v', 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, n, err := decodeThriftStruct(b)
		if err != nil {
			return
		}
		if n > len(b) {
			t.Fatalf("consumed %d of %d bytes", n, len(b))
		}
		enc := encodeThriftStruct(nil, s)
		s2, n2, err := decodeThriftStruct(enc)
		if err != nil || n2 != len(enc) {
			t.Fatalf("re-decode: %v (%d of %d bytes)", err, n2, len(enc))
		}
		if enc2 := encodeThriftStruct(nil, s2); !bytes.Equal(enc, enc2) {
			t.Fatalf("encodings differ:\n%x\n%x", enc, enc2)
		}
		dropUnknownLogicalTypes(b)
	})
}
