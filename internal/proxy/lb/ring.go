package lb

import (
	"math"
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// ring is a ketama hash ring: each host is hashed onto the ring a number of times in
// proportion to its weight, and a request goes to the first entry at or after its hash,
// wrapping around.
type ring struct {
	hashes []uint64 // sorted
	index  []uint32 // index[i] is the host of hashes[i]
	hosts  []Host
}

var _ table = (*ring)(nil)

// newRing builds the ring as Envoy does. The scale is the number of entries per unit of
// normalised weight: enough for the lightest host to get minSize × its weight entries,
// rounded up to whole entries, but no more than maxSize in all. Host i's entries hash
// "<HashKey>_<n>" for n = 0, 1, ...; running sums spread fractional entry counts.
func newRing(hosts []weightedHost, minSize, maxSize uint64, fn HashFunction) *ring {
	r := &ring{hosts: make([]Host, len(hosts))}
	if len(hosts) == 0 {
		return r
	}
	lightest := 1.0
	for _, h := range hosts {
		lightest = min(lightest, h.weight)
	}
	scale := min(math.Ceil(lightest*float64(minSize))/lightest, float64(maxSize))
	size := uint64(math.Ceil(scale))
	r.hashes = make([]uint64, 0, size)
	r.index = make([]uint32, 0, size)
	var current, target float64
	var key []byte
	for i, h := range hosts {
		r.hosts[i] = h.host
		key = append(append(key[:0], h.host.HashKey()...), '_')
		prefix := len(key)
		target += scale * h.weight
		for n := 0; current < target; n++ {
			key = strconv.AppendInt(key[:prefix], int64(n), 10)
			r.hashes = append(r.hashes, hashKey(key, fn))
			r.index = append(r.index, uint32(i))
			current++
		}
	}
	r.sort()
	return r
}

func hashKey(key []byte, fn HashFunction) uint64 {
	if fn == MurmurHash2 {
		return murmurHash2(key, murmurSeed)
	}
	return xxhash.Sum64(key)
}

// sort orders the entries by hash; entries of equal hash keep their order.
func (r *ring) sort() {
	perm := make([]int, len(r.hashes))
	for i := range perm {
		perm[i] = i
	}
	slices.SortStableFunc(perm, func(a, b int) int { return cmpUint(r.hashes[a], r.hashes[b]) })
	hashes := make([]uint64, len(perm))
	index := make([]uint32, len(perm))
	for i, p := range perm {
		hashes[i], index[i] = r.hashes[p], r.index[p]
	}
	r.hashes, r.index = hashes, index
}

// lookup returns the host of the first entry whose hash is at least hash, wrapping to the
// first entry. A retry attempt moves that many entries further on, as Envoy does; this
// may land on the same host again.
func (r *ring) lookup(hash uint64, attempt int) Host {
	if len(r.hashes) == 0 {
		return nil
	}
	i, _ := slices.BinarySearch(r.hashes, hash)
	if i == len(r.hashes) {
		i = 0
	}
	if attempt > 0 {
		i = (i + attempt) % len(r.hashes)
	}
	return r.hosts[r.index[i]]
}
