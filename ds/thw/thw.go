// Package thw holds HashWheel, a time hash wheel that tracks when stored messages
// expire (per-message TTLs). The store adds a message's sequence with its expiration
// time, removes it when the message goes away first, and asks the wheel which
// sequences are due.
//
// Time is always an argument, in Unix nanoseconds; the wheel never reads a clock, so it
// behaves the same in production and in the simulator.
//
// It is a leaf package: it imports the standard library only, and nothing of this module.
//
// # Parameters
//
// The wheel has 4096 slots of one second each, the reference's parameters: one
// revolution covers 68 minutes. An expiration further ahead shares its slot with
// expirations whole revolutions earlier or later; every slot keeps the exact expiration
// of each entry, so entries of a later revolution are simply not due yet when their
// slot is visited. One-second slots suit message TTLs, which are whole seconds or more
// in practice, and 4096 slot pointers cost 32 KiB per wheel, allocated on first use.
//
// A HashWheel is not safe for concurrent use; its owner serializes access.
package thw

import (
	"cmp"
	"errors"
	"math"
	"slices"
)

const (
	// tickNanoseconds is the span of time one slot covers.
	tickNanoseconds = int64(1_000_000_000)
	// wheelBits sets the number of slots, 2^12 = 4096.
	wheelBits = 12
	// wheelSize is the number of slots.
	wheelSize = 1 << wheelBits
	// wheelMask turns a tick into a slot position.
	wheelMask = wheelSize - 1
	// dueRetainMax bounds the scratch list of due entries kept between ExpireTasks
	// calls; a larger one, needed after a long pause, is released afterwards.
	dueRetainMax = 4096
)

// Errors returned by HashWheel.
var (
	// ErrTaskNotFound is returned by Remove and Update when the sequence is not
	// scheduled at the given expiration.
	ErrTaskNotFound = errors.New("thw: task not found")
	// ErrInvalidVersion is returned by Decode for an encoding version it does not know.
	ErrInvalidVersion = errors.New("thw: encoded version not known")
	// ErrBadEncoding is returned by Decode for truncated or inconsistent input.
	ErrBadEncoding = errors.New("thw: bad encoding")
)

// slot holds the entries whose expiration falls on one position of the wheel, from
// any revolution.
type slot struct {
	// entries maps a sequence to its expiration time.
	entries map[uint64]int64
	// lowest is at most every expiration in entries; lowestExact says it is equal to
	// the smallest. Removing the smallest entry only clears lowestExact, so removals
	// stay O(1) and the slot is rescanned when the exact value is needed.
	lowest      int64
	lowestExact bool
}

// entry is one scheduled sequence.
type entry struct {
	seq     uint64
	expires int64
}

// HashWheel schedules sequences by expiration time. The zero value is an empty wheel
// ready to use.
type HashWheel struct {
	// wheel is nil until the first Add.
	wheel []*slot
	count uint64
	// lowest is at most every scheduled expiration when count > 0; lowestExact says
	// it is equal to the smallest (see slot.lowest).
	lowest      int64
	lowestExact bool
	// due is scratch space for ExpireTasks; expiring marks a running ExpireTasks so
	// that a callback calling it again does nothing instead of reusing due.
	due      []entry
	expiring bool
}

// NewHashWheel returns an empty wheel.
func NewHashWheel() *HashWheel {
	return &HashWheel{}
}

// tick returns the index of the one-second tick that holds t, rounding down for
// negative times as well.
func tick(t int64) int64 {
	q := t / tickNanoseconds
	if t%tickNanoseconds < 0 {
		q--
	}
	return q
}

// position returns the slot index for an expiration time.
func position(expires int64) int {
	return int(tick(expires) & wheelMask)
}

// Add schedules seq to expire at expires (Unix nanoseconds). A sequence has one
// expiration: to move it use Update. Adding a scheduled sequence again at an
// expiration in the same slot replaces the old expiration; in another slot it would be
// scheduled twice, which is the caller's mistake.
func (w *HashWheel) Add(seq uint64, expires int64) {
	if w.wheel == nil {
		w.wheel = make([]*slot, wheelSize)
	}
	pos := position(expires)
	s := w.wheel[pos]
	if s == nil {
		s = &slot{entries: make(map[uint64]int64), lowest: expires, lowestExact: true}
		w.wheel[pos] = s
	}
	old, replaced := s.entries[seq]
	s.entries[seq] = expires
	if replaced {
		if old == s.lowest {
			s.lowestExact = false
		}
		if old == w.lowest {
			w.lowestExact = false
		}
	} else {
		w.count++
	}
	// A new expiration below a lower bound is the exact minimum.
	if expires < s.lowest {
		s.lowest, s.lowestExact = expires, true
	}
	if w.count == 1 || expires < w.lowest {
		w.lowest, w.lowestExact = expires, true
	}
}

// Remove unschedules seq, which must be scheduled at exactly expires; otherwise it
// returns ErrTaskNotFound.
func (w *HashWheel) Remove(seq uint64, expires int64) error {
	if w.wheel == nil {
		return ErrTaskNotFound
	}
	pos := position(expires)
	s := w.wheel[pos]
	if s == nil {
		return ErrTaskNotFound
	}
	if scheduled, ok := s.entries[seq]; !ok || scheduled != expires {
		return ErrTaskNotFound
	}
	delete(s.entries, seq)
	w.count--
	if len(s.entries) == 0 {
		// Free the slot's map: a wheel that drained keeps no per-slot memory.
		w.wheel[pos] = nil
	} else if expires == s.lowest {
		s.lowestExact = false
	}
	if expires == w.lowest {
		w.lowestExact = false
	}
	return nil
}

// Update moves seq from oldExpires to newExpires. It returns ErrTaskNotFound, and
// changes nothing, when seq is not scheduled at oldExpires.
func (w *HashWheel) Update(seq uint64, oldExpires int64, newExpires int64) error {
	if err := w.Remove(seq, oldExpires); err != nil {
		return err
	}
	w.Add(seq, newExpires)
	return nil
}

// ExpireTasks calls callback for every entry that expires at or before now, in order
// of expiration and then sequence, and removes the entries for which it returns true.
// Entries it keeps are offered again by the next call. The callback may Add, Remove
// and Update entries; an entry it removes before its turn is not offered. Calling
// ExpireTasks from the callback does nothing.
func (w *HashWheel) ExpireTasks(now int64, callback func(seq uint64, expires int64) (remove bool)) {
	if w.count == 0 || w.lowest > now || w.expiring {
		return
	}
	w.expiring = true
	defer func() { w.expiring = false }()
	w.collectDue(now)
	for _, e := range w.due {
		if !w.scheduled(e) {
			continue
		}
		if callback(e.seq, e.expires) && w.scheduled(e) {
			// The entry is known to be scheduled, so Remove cannot fail.
			_ = w.Remove(e.seq, e.expires)
		}
	}
	if cap(w.due) > dueRetainMax {
		w.due = nil
	} else {
		w.due = w.due[:0]
	}
	w.lowestExact = false
	w.refreshLowest()
}

// collectDue fills w.due with the entries expiring at or before now, sorted. Since
// w.lowest bounds every expiration from below, due entries lie in the ticks from
// tick(w.lowest) to tick(now), and only those slots are visited unless the span covers
// a whole revolution.
func (w *HashWheel) collectDue(now int64) {
	first, last := tick(w.lowest), tick(now)
	span := uint64(last) - uint64(first)
	for i := uint64(0); i < wheelSize && i <= span; i++ {
		s := w.wheel[(uint64(first)+i)&wheelMask]
		if s == nil || s.lowest > now {
			continue
		}
		for seq, expires := range s.entries {
			if expires <= now {
				w.due = append(w.due, entry{seq, expires})
			}
		}
	}
	// Map iteration order is random: sorting makes the callback order deterministic.
	slices.SortFunc(w.due, compareEntries)
}

// compareEntries orders entries by expiration, then sequence.
func compareEntries(a, b entry) int {
	if c := cmp.Compare(a.expires, b.expires); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// scheduled reports whether e is still scheduled at its expiration.
func (w *HashWheel) scheduled(e entry) bool {
	if w.wheel == nil {
		// A callback replaced the wheel with an empty snapshot.
		return false
	}
	s := w.wheel[position(e.expires)]
	if s == nil {
		return false
	}
	expires, ok := s.entries[e.seq]
	return ok && expires == e.expires
}

// refreshLowest makes w.lowest exact. The old value bounds every expiration from
// below, so it walks the slots in tick order from the old value's tick: the first slot
// holding an entry of the tick being visited holds the minimum, because an entry in a
// slot visited earlier belongs to a later revolution. The walk usually ends within a few
// slots; when a whole revolution holds nothing, every slot is scanned.
func (w *HashWheel) refreshLowest() {
	if w.lowestExact || w.count == 0 {
		return
	}
	first := tick(w.lowest)
	for i := int64(0); i < wheelSize; i++ {
		s := w.wheel[(first+i)&wheelMask]
		// A lower bound past this tick proves the slot has nothing at this tick.
		if s == nil || tick(s.lowest) > first+i {
			continue
		}
		s.refreshLowest()
		if tick(s.lowest) == first+i {
			w.lowest, w.lowestExact = s.lowest, true
			return
		}
	}
	lowest := int64(math.MaxInt64)
	for _, s := range w.wheel {
		if s != nil {
			s.refreshLowest()
			lowest = min(lowest, s.lowest)
		}
	}
	w.lowest, w.lowestExact = lowest, true
}

// refreshLowest makes s.lowest exact, scanning the slot's entries if needed.
func (s *slot) refreshLowest() {
	if s.lowestExact {
		return
	}
	s.lowest = math.MaxInt64
	for _, expires := range s.entries {
		s.lowest = min(s.lowest, expires)
	}
	s.lowestExact = true
}

// GetNextExpiration returns the earliest scheduled expiration if it is before the
// given time, and math.MaxInt64 otherwise (including when the wheel is empty). The
// value is exact; after the earliest entry was removed or expired, finding the next
// one walks the slots up to it (at most one revolution) and rescans the entries of
// the slot that holds it.
func (w *HashWheel) GetNextExpiration(before int64) int64 {
	if w.count == 0 {
		return math.MaxInt64
	}
	w.refreshLowest()
	if w.lowest < before {
		return w.lowest
	}
	return math.MaxInt64
}

// Count returns the number of scheduled entries.
func (w *HashWheel) Count() uint64 {
	return w.count
}
