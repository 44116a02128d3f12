package transform

// intHash64 is ClickHouse's intHash64 (IntHash64Impl): the MurmurHash3
// 64-bit finaliser of x xored with a fixed salt.
func intHash64(x uint64) uint64 {
	return mix64(x ^ 0x4CF2D2BAAE6DA887)
}

// mix64 is the MurmurHash3 64-bit finaliser (ClickHouse's unsalted intHash64
// in Common/HashTable/Hash.h).
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// intHash32 is ClickHouse's intHash32 (IntHash32Impl): Thomas Wang's 64 to
// 32 bit integer hash of x xored with a fixed salt.
func intHash32(x uint64) uint32 {
	k := x ^ 0x75D9543DE018BF45
	k = ^k + (k << 18)
	k ^= (k >> 31) | (k << 33)
	k *= 21
	k ^= (k >> 11) | (k << 53)
	k += k << 6
	k ^= (k >> 22) | (k << 42)
	return uint32(k)
}

// hash128to64 is CityHash v1.0.2's Hash128to64, which cityHash64 and
// xxHash64 use to combine the hashes of several arguments: lo is the hash so
// far, hi the hash of the next argument.
func hash128to64(lo, hi uint64) uint64 {
	const mul = 0x9ddfea08eb382d69
	a := (lo ^ hi) * mul
	a ^= a >> 47
	b := (hi ^ a) * mul
	b ^= b >> 47
	return b * mul
}
