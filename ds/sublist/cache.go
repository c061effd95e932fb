package sublist

import "github.com/natsim/natsim/ds/subject"

// resultCache maps matched subjects to their results. It holds at most entriesMax entries
// and evicts in insertion order through a ring of keys, so which entry leaves is a
// deterministic function of the calls made (a map's iteration order would not be).
// Callers hold the Sublist's write lock to change it and at least the read lock to read.
type resultCache[T comparable] struct {
	entries map[string]cacheEntry[T]
	// ring holds the key stored in each slot; a slot whose key was since invalidated, or
	// reused by a newer entry for the same key, is recognised by comparing slot numbers.
	// It grows up to entriesMax and then wraps, so a Sublist that matches few subjects
	// (one per account, thousands of accounts) pays only for what it caches.
	ring       []string
	entriesMax int
	// nextSlot is the ring slot the next put fills once the ring is full, evicting the
	// slot's previous key.
	nextSlot int
}

type cacheEntry[T comparable] struct {
	result *Result[T]
	slot   int
}

func newResultCache[T comparable](entriesMax int) *resultCache[T] {
	return &resultCache[T]{entries: make(map[string]cacheEntry[T]), entriesMax: entriesMax}
}

// get returns the cached result for key. It does not allocate.
func (c *resultCache[T]) get(key string) (*Result[T], bool) {
	entry, ok := c.entries[key]
	return entry.result, ok
}

// put stores result under key, evicting the oldest entry when the cache is full.
func (c *resultCache[T]) put(key string, result *Result[T]) {
	if entry, ok := c.entries[key]; ok {
		// A concurrent miss for the same subject got here first with an equal result.
		entry.result = result
		c.entries[key] = entry
		return
	}
	if len(c.ring) < c.entriesMax {
		c.ring = append(c.ring, key)
		c.entries[key] = cacheEntry[T]{result: result, slot: len(c.ring) - 1}
		return
	}
	slot := c.nextSlot
	c.nextSlot = (c.nextSlot + 1) % len(c.ring)
	if entry, ok := c.entries[c.ring[slot]]; ok && entry.slot == slot {
		delete(c.entries, c.ring[slot])
	}
	c.ring[slot] = key
	c.entries[key] = cacheEntry[T]{result: result, slot: slot}
}

// invalidate drops every cached result that a subscription on filter could change. A
// literal filter only matches its own subject, so that case is a single delete; a wildcard
// filter is tested against every cached subject, which the bound on the cache keeps cheap.
// Deletion does not depend on the order the map is walked in.
func (c *resultCache[T]) invalidate(filter string) {
	if subject.IsLiteral(filter) {
		delete(c.entries, filter)
		return
	}
	for key := range c.entries {
		if subject.MatchesFilter(key, filter) {
			delete(c.entries, key)
		}
	}
}

// clear drops every entry.
func (c *resultCache[T]) clear() {
	clear(c.entries)
	c.ring = c.ring[:0]
	c.nextSlot = 0
}
