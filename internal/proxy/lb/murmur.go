package lb

import "encoding/binary"

// murmurSeed is the seed of libstdc++'s std::hash<std::string>, which Envoy's
// MURMUR_HASH_2 ring hash function reproduces.
const murmurSeed = 0xc70f6907

// murmurHash2 is the 64-bit MurmurHash2 variant of libstdc++ (_Hash_bytes on 64-bit
// platforms): 8-byte little-endian blocks, the tail loaded as one little-endian word.
func murmurHash2(key []byte, seed uint64) uint64 {
	const mul = 0xc6a4a7935bd1e995
	shiftMix := func(v uint64) uint64 { return v ^ v>>47 }
	hash := seed ^ uint64(len(key))*mul
	for len(key) >= 8 {
		hash ^= shiftMix(binary.LittleEndian.Uint64(key)*mul) * mul
		hash *= mul
		key = key[8:]
	}
	if len(key) > 0 {
		var tail uint64
		for i := len(key) - 1; i >= 0; i-- {
			tail = tail<<8 | uint64(key[i])
		}
		hash ^= tail
		hash *= mul
	}
	hash = shiftMix(hash) * mul
	return shiftMix(hash)
}
