package lb

import (
	"cmp"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// maglevTable is a Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable
// Software Network Load Balancer", section 3.4): a request goes to table[hash % size].
// Entries are indices into hosts, in the smallest integer type that holds them.
type maglevTable[T uint8 | uint16 | uint32] struct {
	hosts []Host
	table []T
}

// maglevEntry is a host while the table is built: its permutation of the table slots is
// offset, offset+skip, offset+2·skip, ... modulo the table size.
type maglevEntry struct {
	host         Host
	key          string
	offset, skip uint64
	weight       float64 // normalised
	target       float64 // the next iteration × weight at which the host takes a slot
	slot         uint64  // the host's next preferred slot: offset + k·skip, modulo size
}

// newMaglev builds the table as Envoy does: hosts sorted by hash key take turns claiming
// their next free preferred slot until the table is full; a host of weight w claims a slot
// on every max/w-th turn, where max is the largest weight.
func newMaglev(hosts []weightedHost, size uint64) table {
	if len(hosts) == 0 {
		return &maglevTable[uint8]{}
	}
	entries := maglevEntries(hosts, size)
	slots := fillMaglev(entries, size)
	sorted := make([]Host, len(entries))
	for i := range entries {
		sorted[i] = entries[i].host
	}
	switch {
	case len(entries) <= 1<<8:
		return &maglevTable[uint8]{hosts: sorted, table: narrow[uint8](slots)}
	case len(entries) <= 1<<16:
		return &maglevTable[uint16]{hosts: sorted, table: narrow[uint16](slots)}
	}
	return &maglevTable[uint32]{hosts: sorted, table: slots}
}

func maglevEntries(hosts []weightedHost, size uint64) []maglevEntry {
	entries := make([]maglevEntry, len(hosts))
	seeded := xxhash.NewWithSeed(1)
	for i, h := range hosts {
		key := h.host.HashKey()
		seeded.ResetWithSeed(1)
		seeded.WriteString(key)
		entries[i] = maglevEntry{
			host:   h.host,
			key:    key,
			offset: xxhash.Sum64String(key) % size,
			skip:   seeded.Sum64()%(size-1) + 1,
			weight: h.weight,
		}
		entries[i].slot = entries[i].offset
	}
	slices.SortStableFunc(entries, func(a, b maglevEntry) int { return cmp.Compare(a.key, b.key) })
	return entries
}

// fillMaglev assigns every slot of the table to an entry and returns the assignment.
func fillMaglev(entries []maglevEntry, size uint64) []uint32 {
	heaviest := 0.0
	for _, e := range entries {
		heaviest = max(heaviest, e.weight)
	}
	slots := make([]uint32, size)
	taken := make([]bool, size)
	filled := uint64(0)
	for iteration := 1; filled < size; iteration++ {
		for i := 0; i < len(entries) && filled < size; i++ {
			e := &entries[i]
			if float64(iteration)*e.weight < e.target {
				continue
			}
			e.target += heaviest
			for taken[e.slot] {
				e.advance(size)
			}
			slots[e.slot], taken[e.slot] = uint32(i), true
			e.advance(size)
			filled++
		}
	}
	return slots
}

// advance moves the entry to the next slot of its permutation.
func (e *maglevEntry) advance(size uint64) {
	e.slot += e.skip
	if e.slot >= size {
		e.slot -= size
	}
}

func narrow[T uint8 | uint16](slots []uint32) []T {
	out := make([]T, len(slots))
	for i, s := range slots {
		out[i] = T(s)
	}
	return out
}

// lookup returns the host of slot hash % size. A retry attempt flips most bits of the hash
// so that retries spread over other hosts, as Envoy does.
func (m *maglevTable[T]) lookup(hash uint64, attempt int) Host {
	if len(m.table) == 0 {
		return nil
	}
	if attempt > 0 {
		hash ^= -uint64(attempt)
	}
	return m.hosts[m.table[hash%uint64(len(m.table))]]
}
