package transform

import (
	"encoding/binary"
	"math/bits"
)

// murmur3x64128 is MurmurHash3_x64_128 with seed 0; it returns the two
// 64-bit halves of the 128-bit hash.
func murmur3x64128(b []byte) (h1, h2 uint64) {
	const c1, c2 = 0x87c37b91114253d5, 0x4cf5ad432745937f
	n := len(b)
	for len(b) >= 16 {
		k1 := binary.LittleEndian.Uint64(b)
		k2 := binary.LittleEndian.Uint64(b[8:])
		k1 *= c1
		k1 = bits.RotateLeft64(k1, 31)
		k1 *= c2
		h1 ^= k1
		h1 = bits.RotateLeft64(h1, 27)
		h1 += h2
		h1 = h1*5 + 0x52dce729
		k2 *= c2
		k2 = bits.RotateLeft64(k2, 33)
		k2 *= c1
		h2 ^= k2
		h2 = bits.RotateLeft64(h2, 31)
		h2 += h1
		h2 = h2*5 + 0x38495ab5
		b = b[16:]
	}
	var k1, k2 uint64
	for i := len(b) - 1; i >= 8; i-- {
		k2 ^= uint64(b[i]) << (8 * (i - 8))
	}
	if len(b) > 8 {
		k2 *= c2
		k2 = bits.RotateLeft64(k2, 33)
		k2 *= c1
		h2 ^= k2
	}
	for i := min(len(b), 8) - 1; i >= 0; i-- {
		k1 ^= uint64(b[i]) << (8 * i)
	}
	if len(b) > 0 {
		k1 *= c1
		k1 = bits.RotateLeft64(k1, 31)
		k1 *= c2
		h1 ^= k1
	}
	h1 ^= uint64(n)
	h2 ^= uint64(n)
	h1 += h2
	h2 += h1
	h1 = mix64(h1)
	h2 = mix64(h2)
	h1 += h2
	h2 += h1
	return h1, h2
}
