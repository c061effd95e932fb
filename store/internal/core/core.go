// Package core is the in-memory index of a stream shared by the memory and the file
// store: the sequence-ordered entries, per-subject state in a subject tree, limits,
// purge, compact, truncate, TTL and age expiry, and every query of store.StreamStore.
//
// It holds no lock and does no I/O: a Backend keeps the message bytes (in memory, or on
// disk behind a journal) and is told of every change before it is applied, so a failed
// journal write leaves the index unchanged. The caller (memstore, filestore) locks.
package core

import (
	"errors"
	"math"
	"sort"
	"time"

	"github.com/natsim/natsim/ds/stree"
	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/ds/thw"
	"github.com/natsim/natsim/store"
)

// Entry is one message in the index: 48 bytes, so that a file store's index stays
// small. Subjects are interned through the subject tree; TTLs live in a side map since
// few messages have one; the bytes live in the backend (Location is its to use).
type Entry struct {
	Seq      uint64
	TS       int64
	Subject  string
	Location uint64
	Size     uint32
	Deleted  bool
	HasTTL   bool
}

// Backend keeps message bytes and journals changes. Each hook runs before the index
// changes; an error aborts the change.
type Backend interface {
	// Append stores the bytes of a new message and may set e.Location.
	Append(e *Entry, ttl int64, hdr, msg []byte) error
	// Load fills sm with the message of e.
	Load(e *Entry, sm *store.StoreMsg) error
	// Remove journals the removal of e (erase: overwrite its bytes).
	Remove(e *Entry, erase bool) error
	// Skip journals that sequences [seq, seq+num) were skipped.
	Skip(seq, num uint64) error
	// Purge journals that everything below first is gone and the last sequence is last
	// (covers Purge, Compact and Truncate).
	Purge(first, last uint64, truncate bool) error
	// Released is told that e left the index (removed, purged, truncated, or during a
	// journal replay), after the change was journaled.
	Released(e *Entry)
}

// subjectState is the per-subject state kept in the subject tree.
type subjectState struct {
	Msgs  uint64
	First uint64
	Last  uint64
	// name is the interned subject every entry of the subject shares.
	name string
	// firstStale says First may point below the subject's real first message; it is
	// recomputed on demand by scanning forward.
	firstStale bool
	lastStale  bool
}

// Stream is the index of one stream.
type Stream struct {
	config   store.StreamConfig
	backend  Backend
	entries  entryList
	head     int // entries before head are all deleted
	holes    int // deleted entries at or after head
	msgs     uint64
	bytes    uint64
	first    uint64
	last     uint64
	lastTS   int64
	subjects *stree.SubjectTree[subjectState]
	// recentSubjects maps subjects stored again to their states in subjects (a leaf's
	// value never moves), keyed by the interned name: a map lookup costs about a
	// third of a tree walk, which was 7% of the CPU time of 64 writers storing to 64
	// subjects. At most recentSubjectsMax; a subject leaves it when it leaves the tree.
	recentSubjects map[string]*subjectState
	ttls           *thw.HashWheel
	ttlBySeq       map[uint64]int64
	// ttlsDeferred says the wheel is not maintained (a journal replay): ttlBySeq is,
	// and FinishTTLs fills the wheel from a saved copy or from ttlBySeq.
	ttlsDeferred bool
	update       store.StorageUpdate
	// msgSize is what a message counts for in bytes: the reference's formula for the
	// storage type (file records are larger than memory ones).
	msgSize func(subject string, hdr, msg []byte) uint64
}

// New returns an empty stream index over backend.
func New(config store.StreamConfig, backend Backend) *Stream {
	first := config.FirstSeq
	if first == 0 {
		first = 1
	}
	return &Stream{
		config:         normalize(config),
		backend:        backend,
		first:          first,
		last:           first - 1,
		subjects:       stree.NewSubjectTree[subjectState](),
		recentSubjects: make(map[string]*subjectState),
		ttls:           thw.NewHashWheel(),
		ttlBySeq:       make(map[uint64]int64),
		msgSize:        config.Storage.MsgSize,
	}
}

// recentSubjectsMax bounds Stream.recentSubjects; a full map is emptied, so a stream
// of more subjects than this keeps those seen since.
const recentSubjectsMax = 256

// findSubject returns the state of a subject in the index, from recentSubjects when
// it is there.
func (s *Stream) findSubject(subject []byte) (*subjectState, bool) {
	if ss, ok := s.recentSubjects[string(subject)]; ok {
		return ss, true
	}
	return s.subjects.Find(subject)
}

// findSubjectAgain is findSubject for a subject stored again: a state found in the
// tree is kept in recentSubjects for the next time.
func (s *Stream) findSubjectAgain(subject []byte) (*subjectState, bool) {
	if ss, ok := s.recentSubjects[string(subject)]; ok {
		return ss, true
	}
	ss, ok := s.subjects.Find(subject)
	if ok {
		if len(s.recentSubjects) >= recentSubjectsMax {
			clear(s.recentSubjects)
		}
		s.recentSubjects[ss.name] = ss
	}
	return ss, ok
}

// deleteSubject removes a subject without messages from the index.
func (s *Stream) deleteSubject(subject []byte) {
	delete(s.recentSubjects, string(subject))
	s.subjects.Delete(subject)
}

// SetMsgSize replaces the byte accounting of messages stored from now on; a test
// model uses it to count a memory store as a file store does.
func (s *Stream) SetMsgSize(size func(subject string, hdr, msg []byte) uint64) { s.msgSize = size }

func normalize(c store.StreamConfig) store.StreamConfig {
	if c.MaxMsgs < 0 {
		c.MaxMsgs = 0
	}
	if c.MaxBytes < 0 {
		c.MaxBytes = 0
	}
	if c.MaxMsgsPer < 0 {
		c.MaxMsgsPer = 0
	}
	if c.MaxMsgSize < 0 {
		c.MaxMsgSize = 0
	}
	if c.MaxAge < 0 {
		c.MaxAge = 0
	}
	return c
}

// Config returns the configuration in force.
func (s *Stream) Config() store.StreamConfig { return s.config }

// SetStorageUpdate installs the storage update callback.
func (s *Stream) SetStorageUpdate(cb store.StorageUpdate) { s.update = cb }

// Last returns the last sequence.
func (s *Stream) Last() uint64 { return s.last }

// LastTS returns the timestamp of the last sequence.
func (s *Stream) LastTS() int64 { return s.lastTS }

// First returns the first sequence.
func (s *Stream) First() uint64 { return s.first }

// Msgs returns the number of messages.
func (s *Stream) Msgs() uint64 { return s.msgs }

// find returns the index of the entry with seq in entries, or -1.
func (s *Stream) find(seq uint64) int {
	i := s.lowerBound(seq)
	if i < s.entries.len() && s.entries.at(i).Seq == seq {
		return i
	}
	return -1
}

// lowerBound returns the index of the first entry with Seq >= seq.
func (s *Stream) lowerBound(seq uint64) int {
	return s.entries.searchSeq(s.head, seq)
}

// Entry returns the live entry with seq, or nil.
func (s *Stream) Entry(seq uint64) *Entry {
	if i := s.find(seq); i >= 0 && !s.entries.at(i).Deleted {
		return s.entries.at(i)
	}
	return nil
}

// StoreMsg stores a message at seq (which must be last+1), enforcing limits unless
// replay is set (a journal replay stores what was accepted before, limits come after).
func (s *Stream) StoreMsg(subj string, hdr, msg []byte, seq uint64, ts, ttl int64, replay bool) error {
	if seq != s.last+1 {
		return store.ErrSequenceMismatch
	}
	if !subject.IsValidPublishSubject(subj) {
		return store.ErrInvalidSubject
	}
	if len(subj)+len(hdr)+len(msg) > math.MaxInt32 {
		return store.ErrMsgTooLarge
	}
	size := s.msgSize(subj, hdr, msg)
	return s.storeSized(subj, hdr, msg, seq, ts, ttl, size, replay)
}

// ReplayMsg stores a message known only by its subject and accounted size, as a journal
// replay from an index does: the backend's Append sees nil headers and payload. The
// caller has checked the subject (InternChecked), once per distinct subject.
func (s *Stream) ReplayMsg(subj string, seq uint64, ts, ttl int64, size uint64) error {
	if seq != s.last+1 {
		return store.ErrSequenceMismatch
	}
	if size > math.MaxUint32 {
		return store.ErrMsgTooLarge
	}
	return s.storeSized(subj, nil, nil, seq, ts, ttl, size, true)
}

// storeSized is StoreMsg once the sequence, subject and size are checked.
func (s *Stream) storeSized(subj string, hdr, msg []byte, seq uint64, ts, ttl int64, size uint64, replay bool) error {
	if !replay {
		if s.config.MaxMsgSize > 0 && len(hdr)+len(msg) > int(s.config.MaxMsgSize) {
			return store.ErrMsgTooLarge
		}
		if ttl != 0 && !s.config.AllowMsgTTL && s.config.SubjectDeleteMarkerTTL == 0 {
			return store.ErrMsgTTLDisabled
		}
		if err := s.checkDiscardNew(subj, size); err != nil {
			return err
		}
	}
	// The entry goes into its slot before the backend sees it, so that handing the
	// backend a pointer does not move every entry to the heap; a failure takes it back.
	if s.msgs == 0 && s.entries.len() == s.head {
		s.entries.reset()
		s.head, s.holes = 0, 0
	}
	slot := s.entries.push(Entry{Seq: seq, TS: ts, Subject: subj, Size: uint32(size), HasTTL: ttl != 0})
	if err := s.backend.Append(slot, ttl, hdr, msg); err != nil {
		s.entries.pop()
		return err
	}
	s.insert(slot, ttl)
	if !replay {
		return s.EnforceLimits()
	}
	return nil
}

func (s *Stream) checkDiscardNew(subj string, size uint64) error {
	if s.config.Discard != store.DiscardNew {
		return nil
	}
	var atSubjectLimit bool
	var ss *subjectState
	if s.config.MaxMsgsPer > 0 {
		ss, _ = s.findSubject([]byte(subj))
		atSubjectLimit = ss != nil && ss.Msgs >= uint64(s.config.MaxMsgsPer)
	}
	if atSubjectLimit && s.config.DiscardNewPer {
		return store.ErrMaxMsgsPerSubject
	}
	if s.config.MaxMsgs > 0 && s.msgs >= uint64(s.config.MaxMsgs) && !atSubjectLimit {
		return store.ErrMaxMsgs
	}
	if s.config.MaxBytes > 0 && s.bytes+size > uint64(s.config.MaxBytes) {
		if !atSubjectLimit {
			return store.ErrMaxBytes
		}
		// At the subject limit the oldest message of the subject will go; that must
		// make enough room.
		first := s.Entry(s.subjectFirst(ss))
		if first == nil || uint64(first.Size) < size {
			return store.ErrMaxBytes
		}
	}
	return nil
}

// insert accounts for the entry just appended at the end of entries.
func (s *Stream) insert(e *Entry, ttl int64) {
	if s.msgs == 0 {
		s.first = e.Seq
	}
	key := []byte(e.Subject)
	if ss, ok := s.findSubjectAgain(key); ok {
		ss.Msgs++
		ss.Last = e.Seq
		ss.lastStale = false
		if ss.Msgs == 1 {
			ss.First, ss.firstStale = e.Seq, false
		}
		e.Subject = ss.name
	} else {
		s.subjects.Insert(key, subjectState{Msgs: 1, First: e.Seq, Last: e.Seq, name: e.Subject})
	}
	s.msgs++
	s.bytes += uint64(e.Size)
	s.last = e.Seq
	s.lastTS = e.TS
	if ttl != 0 {
		// A negative TTL means "never": the message is kept past MaxAge.
		if ttl > 0 && !s.ttlsDeferred {
			s.ttls.Add(e.Seq, e.TS+ttl)
		}
		s.ttlBySeq[e.Seq] = ttl
	}
	if s.update != nil {
		s.update(1, int64(e.Size), e.Seq, e.Subject)
	}
}

// Skip reserves num sequences from seq, which must be last+1.
func (s *Stream) Skip(seq, num uint64, replay bool) error {
	if seq != s.last+1 {
		return store.ErrSequenceMismatch
	}
	if num == 0 {
		return nil
	}
	if !replay {
		if err := s.backend.Skip(seq, num); err != nil {
			return err
		}
	}
	s.last = seq + num - 1
	if s.msgs == 0 {
		s.first = s.last + 1
	}
	return nil
}

// Remove removes the message at seq; it reports whether there was one.
func (s *Stream) Remove(seq uint64, erase, replay bool) (bool, error) {
	i := s.find(seq)
	if i < 0 || s.entries.at(i).Deleted {
		return false, nil
	}
	if !replay {
		if err := s.backend.Remove(s.entries.at(i), erase); err != nil {
			return false, err
		}
	}
	s.drop(i)
	return true, nil
}

// drop removes entries[i] from the index (already journaled).
func (s *Stream) drop(i int) {
	e := s.entries.at(i)
	e.Deleted = true
	s.msgs--
	s.bytes -= uint64(e.Size)
	s.holes++
	key := []byte(e.Subject)
	if ss, ok := s.findSubject(key); ok {
		ss.Msgs--
		if ss.Msgs == 0 {
			s.deleteSubject(key)
		} else {
			if e.Seq == ss.First {
				ss.firstStale = true
			}
			if e.Seq == ss.Last {
				ss.lastStale = true
			}
		}
	}
	s.dropTTL(e)
	if s.update != nil {
		s.update(-1, -int64(e.Size), e.Seq, e.Subject)
	}
	s.backend.Released(e)
	s.advanceHead()
}

// advanceHead moves past deleted entries at the front, fixes first, and compacts the
// slice when most of it is holes.
func (s *Stream) advanceHead() {
	for s.head < s.entries.len() && s.entries.at(s.head).Deleted {
		*s.entries.at(s.head) = Entry{Deleted: true}
		s.head++
		s.holes--
	}
	// The deleted entries in front go at once (whole chunks are freed, see
	// entryList), so head is zero between operations.
	s.entries.dropFront(s.head)
	s.head = 0
	if s.entries.len() > 0 {
		s.first = s.entries.at(0).Seq
	} else {
		s.first = s.last + 1
	}
	if s.holes > 64 && s.holes > s.entries.len()/2 {
		s.compactHoles()
	}
}

// compactHoles rebuilds the index without its deleted entries.
func (s *Stream) compactHoles() {
	var compacted entryList
	compacted.reserve(s.entries.len() - s.head - s.holes)
	for i := s.head; i < s.entries.len(); i++ {
		if e := s.entries.at(i); !e.Deleted {
			compacted.push(*e)
		}
	}
	s.entries, s.head, s.holes = compacted, 0, 0
}

// subjectFirst returns the subject's first live sequence, recomputing it when stale.
func (s *Stream) subjectFirst(ss *subjectState) uint64 {
	if ss.firstStale {
		for i := s.lowerBound(ss.First); i < s.entries.len(); i++ {
			e := s.entries.at(i)
			if !e.Deleted && s.sameSubjectAs(e, ss) {
				ss.First = e.Seq
				break
			}
		}
		ss.firstStale = false
	}
	return ss.First
}

// subjectLast returns the subject's last live sequence, recomputing it when stale.
func (s *Stream) subjectLast(ss *subjectState) uint64 {
	if ss.lastStale {
		for i := s.lowerBound(ss.Last+1) - 1; i >= s.head; i-- {
			e := s.entries.at(i)
			if !e.Deleted && s.sameSubjectAs(e, ss) {
				ss.Last = e.Seq
				break
			}
		}
		ss.lastStale = false
	}
	return ss.Last
}

// sameSubjectAs reports whether e belongs to the subject whose state is ss. Entries
// share the interned name, so the comparison is usually a pointer check.
func (s *Stream) sameSubjectAs(e *Entry, ss *subjectState) bool {
	return e.Subject == ss.name
}

// EnforceLimits removes the oldest messages while the stream is over MaxMsgs, MaxBytes
// or MaxMsgsPer (DiscardOld; under DiscardNew only MaxMsgsPer without DiscardNewPer
// removes, as in the reference).
func (s *Stream) EnforceLimits() error {
	if s.config.MaxMsgsPer > 0 {
		limit := uint64(s.config.MaxMsgsPer)
		var over [][]byte
		s.subjects.IterOrdered(func(subj []byte, ss *subjectState) bool {
			if ss.Msgs > limit {
				over = append(over, append([]byte(nil), subj...))
			}
			return true
		})
		for _, subj := range over {
			for {
				ss, ok := s.subjects.Find(subj)
				if !ok || ss.Msgs <= limit {
					break
				}
				if _, err := s.Remove(s.subjectFirst(ss), false, false); err != nil {
					return err
				}
			}
		}
	}
	if s.config.Discard != store.DiscardOld {
		return nil
	}
	for s.msgs > 0 && (s.config.MaxMsgs > 0 && s.msgs > uint64(s.config.MaxMsgs) ||
		s.config.MaxBytes > 0 && s.bytes > uint64(s.config.MaxBytes)) {
		if _, err := s.Remove(s.first, false, false); err != nil {
			return err
		}
	}
	return nil
}

// UpdateConfig applies a new configuration and enforces its limits.
func (s *Stream) UpdateConfig(config store.StreamConfig) error {
	s.config = normalize(config)
	return s.EnforceLimits()
}

// Purge removes every message; it returns how many.
func (s *Stream) Purge(replay bool) (uint64, error) {
	return s.compact(s.last+1, replay)
}

// Compact removes every message below seq; beyond the last sequence it moves the last
// sequence to seq-1.
func (s *Stream) Compact(seq uint64, replay bool) (uint64, error) {
	if seq == 0 {
		return 0, store.ErrInvalidSequence
	}
	return s.compact(seq, replay)
}

func (s *Stream) compact(seq uint64, replay bool) (uint64, error) {
	last := s.last
	if seq > last+1 {
		last = seq - 1
	}
	if !replay {
		if err := s.backend.Purge(seq, last, false); err != nil {
			return 0, err
		}
	}
	var purged uint64
	bytesBefore := s.bytes
	end := s.lowerBound(seq)
	for i := s.head; i < end; i++ {
		if !s.entries.at(i).Deleted {
			s.dropQuiet(i)
			purged++
		}
	}
	s.last = last
	s.afterBulk(purged, bytesBefore)
	if s.msgs == 0 {
		s.first = s.last + 1
	}
	return purged, nil
}

// dropQuiet removes an entry in a bulk operation: subject state and TTLs are fixed
// here, the head and the storage update callback by afterBulk.
func (s *Stream) dropQuiet(i int) {
	e := s.entries.at(i)
	e.Deleted = true
	s.msgs--
	s.bytes -= uint64(e.Size)
	s.holes++
	key := []byte(e.Subject)
	if ss, ok := s.findSubject(key); ok {
		ss.Msgs--
		if ss.Msgs == 0 {
			s.deleteSubject(key)
		} else {
			ss.firstStale = ss.firstStale || e.Seq == ss.First
			ss.lastStale = ss.lastStale || e.Seq == ss.Last
		}
	}
	s.dropTTL(e)
	s.backend.Released(e)
}

// dropTTL unschedules the TTL of an entry leaving the index.
func (s *Stream) dropTTL(e *Entry) {
	if !e.HasTTL {
		return
	}
	if ttl, ok := s.ttlBySeq[e.Seq]; ok {
		if ttl > 0 && !s.ttlsDeferred {
			_ = s.ttls.Remove(e.Seq, e.TS+ttl)
		}
		delete(s.ttlBySeq, e.Seq)
	}
}

// TTL returns the time to live of an entry, zero for none.
func (s *Stream) TTL(e *Entry) int64 {
	if !e.HasTTL {
		return 0
	}
	return s.ttlBySeq[e.Seq]
}

// Reserve makes room for n more entries at once (a journal replay that can estimate
// its size), so the index is not copied while it grows.
func (s *Stream) Reserve(n int) {
	if n > 0 {
		s.entries.reserve(n)
	}
}

// Intern returns the subject as the string the index already holds for it, without
// allocating when the subject is known.
func (s *Stream) Intern(subject []byte) string {
	if ss, ok := s.findSubject(subject); ok {
		return ss.name
	}
	return string(subject)
}

// InternChecked is Intern that also reports whether the subject is a valid publish
// subject: a subject the index holds was checked when it was stored, so only a new
// one is checked again.
func (s *Stream) InternChecked(subj []byte) (string, bool) {
	if ss, ok := s.findSubject(subj); ok {
		return ss.name, true
	}
	name := string(subj)
	return name, subject.IsValidPublishSubject(name)
}

// Trim releases the spare capacity of the index (after a journal replay).
func (s *Stream) Trim() {
	// The chunks hold at most one chunk of spare room; the deleted entries a replay
	// left behind are what there is to release.
	if s.head > 0 || s.holes > 0 {
		s.compactHoles()
	}
}

func (s *Stream) afterBulk(removed, bytesBefore uint64) {
	s.advanceHead()
	if s.update != nil && removed > 0 {
		s.update(-int64(removed), -int64(bytesBefore-s.bytes), 0, "")
	}
}

// Truncate removes every message above seq and makes seq the last sequence.
func (s *Stream) Truncate(seq uint64, replay bool) error {
	if seq >= s.last {
		return nil
	}
	bytesBefore := s.bytes
	if seq < s.first {
		// Truncating below the first sequence empties the stream and moves it back.
		if !replay {
			if err := s.backend.Purge(seq+1, seq, true); err != nil {
				return err
			}
		}
		var removed uint64
		for i := s.head; i < s.entries.len(); i++ {
			if !s.entries.at(i).Deleted {
				s.dropQuiet(i)
				removed++
			}
		}
		s.last, s.lastTS = seq, 0
		s.afterBulk(removed, bytesBefore)
		s.first = seq + 1
		return nil
	}
	if !replay {
		if err := s.backend.Purge(s.first, seq, true); err != nil {
			return err
		}
	}
	var removed uint64
	start := s.lowerBound(seq + 1)
	for i := start; i < s.entries.len(); i++ {
		if !s.entries.at(i).Deleted {
			s.dropQuiet(i)
			removed++
		}
	}
	s.entries.truncate(start)
	s.last = seq
	s.lastTS = 0
	for i := s.entries.len() - 1; i >= s.head; i-- {
		if !s.entries.at(i).Deleted {
			s.lastTS = s.entries.at(i).TS
			break
		}
	}
	s.recountHoles()
	s.afterBulk(removed, bytesBefore)
	return nil
}

func (s *Stream) recountHoles() {
	s.holes = 0
	for i := s.head; i < s.entries.len(); i++ {
		if s.entries.at(i).Deleted {
			s.holes++
		}
	}
}

// SetLastTS sets the timestamp of the last sequence (journal replay of a skip).
func (s *Stream) SetLastTS(ts int64) { s.lastTS = ts }

// ErrNoBackendData is returned by a backend that has no bytes for an entry.
var ErrNoBackendData = errors.New("core: no message bytes")

// matcher tells whether a subject matches a set of filters.
type matcher struct {
	all     bool
	filters []string
}

func newMatcher(filters []string) matcher {
	m := matcher{}
	for _, f := range filters {
		if f == "" || f == ">" {
			m.all = true
			return m
		}
		m.filters = append(m.filters, f)
	}
	if len(m.filters) == 0 {
		m.all = true
	}
	return m
}

func (m *matcher) match(subj string) bool {
	if m.all {
		return true
	}
	for _, f := range m.filters {
		if f == subj || subject.MatchesFilter(subj, f) {
			return true
		}
	}
	return false
}

// firstCandidate returns the smallest sequence >= start that can match m, using the
// subject tree, or 0 when none can.
func (s *Stream) firstCandidate(m *matcher, start uint64) uint64 {
	if start < s.first {
		start = s.first
	}
	if m.all {
		return start
	}
	best := uint64(0)
	for _, f := range m.filters {
		s.subjects.Match([]byte(f), func(_ []byte, ss *subjectState) {
			if s.subjectLast(ss) < start {
				return
			}
			first := s.subjectFirst(ss)
			if first < start {
				first = start
			}
			if best == 0 || first < best {
				best = first
			}
		})
	}
	return best
}

// NextMatch returns the first live entry at or after start matching filters.
func (s *Stream) NextMatch(filters []string, start uint64) *Entry {
	m := newMatcher(filters)
	from := s.firstCandidate(&m, start)
	if from == 0 {
		return nil
	}
	for i := s.lowerBound(from); i < s.entries.len(); i++ {
		e := s.entries.at(i)
		if !e.Deleted && m.match(e.Subject) {
			return e
		}
	}
	return nil
}

// LastMatch returns the last live entry matching filter.
func (s *Stream) LastMatch(filter string) *Entry {
	m := newMatcher([]string{filter})
	if m.all {
		for i := s.entries.len() - 1; i >= s.head; i-- {
			if !s.entries.at(i).Deleted {
				return s.entries.at(i)
			}
		}
		return nil
	}
	best := uint64(0)
	s.subjects.Match([]byte(filter), func(_ []byte, ss *subjectState) {
		if last := s.subjectLast(ss); last > best {
			best = last
		}
	})
	if best == 0 {
		return nil
	}
	return s.Entry(best)
}

// PrevEntry returns the last live entry at or before start.
func (s *Stream) PrevEntry(start uint64) *Entry {
	for i := s.lowerBound(start+1) - 1; i >= s.head; i-- {
		if !s.entries.at(i).Deleted {
			return s.entries.at(i)
		}
	}
	return nil
}

// Load fills sm with the message of e.
func (s *Stream) Load(e *Entry, sm *store.StoreMsg) error { return s.backend.Load(e, sm) }

// FastState fills state without the deleted list.
func (s *Stream) FastState(state *store.StreamState) {
	state.Msgs = s.msgs
	state.Bytes = s.bytes
	state.FirstSeq = s.first
	state.LastSeq = s.last
	state.FirstTime = time.Time{}
	if s.msgs > 0 {
		state.FirstTime = time.Unix(0, s.entries.at(s.head).TS).UTC()
	}
	state.LastTime = time.Time{}
	if s.lastTS != 0 {
		state.LastTime = time.Unix(0, s.lastTS).UTC()
	}
	state.NumSubjects = s.subjects.Size()
	state.NumDeleted = 0
	if s.msgs > 0 {
		state.NumDeleted = int(s.last - s.first + 1 - s.msgs)
	}
	state.Deleted = nil
}

// DeletedListMax bounds the deleted list State returns: a skip of a billion sequences
// is legal, a billion-entry list is not. NumDeleted stays exact.
const DeletedListMax = 1 << 20

// State returns the state with the deleted list (at most DeletedListMax entries).
func (s *Stream) State() store.StreamState {
	var state store.StreamState
	s.FastState(&state)
	if state.NumDeleted > 0 {
		deleted := make([]uint64, 0, min(state.NumDeleted, DeletedListMax))
		next := s.first
		for i := s.head; i < s.entries.len() && len(deleted) < DeletedListMax; i++ {
			e := s.entries.at(i)
			if e.Deleted {
				continue
			}
			for ; next < e.Seq && len(deleted) < DeletedListMax; next++ {
				deleted = append(deleted, next)
			}
			next = e.Seq + 1
		}
		for ; next <= s.last && len(deleted) < DeletedListMax; next++ {
			deleted = append(deleted, next)
		}
		state.Deleted = deleted
	}
	return state
}

// FilteredState returns the state of the messages at or after seq matching filter.
func (s *Stream) FilteredState(seq uint64, filter string) store.SimpleState {
	var out store.SimpleState
	m := newMatcher([]string{filter})
	if seq <= s.first {
		if m.all {
			if s.msgs > 0 {
				out = store.SimpleState{Msgs: s.msgs, First: s.first, Last: s.LastMatch("").Seq}
			}
			return out
		}
		s.subjects.Match([]byte(filter), func(_ []byte, ss *subjectState) {
			out.Msgs += ss.Msgs
			first, last := s.subjectFirst(ss), s.subjectLast(ss)
			if out.First == 0 || first < out.First {
				out.First = first
			}
			if last > out.Last {
				out.Last = last
			}
		})
		return out
	}
	from := s.firstCandidate(&m, seq)
	if from == 0 {
		return out
	}
	for i := s.lowerBound(from); i < s.entries.len(); i++ {
		e := s.entries.at(i)
		if e.Deleted || !m.match(e.Subject) {
			continue
		}
		if out.Msgs == 0 {
			out.First = e.Seq
		}
		out.Msgs++
		out.Last = e.Seq
	}
	return out
}

// SubjectsState returns the state of every subject matching filter.
func (s *Stream) SubjectsState(filter string) map[string]store.SimpleState {
	if filter == "" {
		filter = ">"
	}
	out := make(map[string]store.SimpleState)
	s.subjects.Match([]byte(filter), func(subj []byte, ss *subjectState) {
		out[string(subj)] = store.SimpleState{Msgs: ss.Msgs, First: s.subjectFirst(ss), Last: s.subjectLast(ss)}
	})
	return out
}

// SubjectsTotals returns the message count of every subject matching filter.
func (s *Stream) SubjectsTotals(filter string) map[string]uint64 {
	if filter == "" {
		filter = ">"
	}
	out := make(map[string]uint64)
	s.subjects.Match([]byte(filter), func(subj []byte, ss *subjectState) {
		out[string(subj)] = ss.Msgs
	})
	return out
}

// NumPending counts the messages at or after seq matching filter.
func (s *Stream) NumPending(seq uint64, filter string, lastPerSubject bool) (uint64, uint64) {
	if !lastPerSubject {
		return s.FilteredState(seq, filter).Msgs, s.last
	}
	if filter == "" {
		filter = ">"
	}
	var total uint64
	s.subjects.Match([]byte(filter), func(_ []byte, ss *subjectState) {
		if s.subjectLast(ss) >= seq {
			total++
		}
	})
	return total, s.last
}

// MultiLastSeqs returns the last sequence at or below maxSeq of every subject matching
// one of filters, sorted.
func (s *Stream) MultiLastSeqs(filters []string, maxSeq uint64, maxAllowed int) ([]uint64, error) {
	if len(filters) == 0 {
		filters = []string{">"}
	}
	seen := make(map[uint64]struct{})
	var out []uint64
	add := func(seq uint64) error {
		if _, ok := seen[seq]; ok {
			return nil
		}
		seen[seq] = struct{}{}
		out = append(out, seq)
		if maxAllowed > 0 && len(out) > maxAllowed {
			return store.ErrTooManyResults
		}
		return nil
	}
	if maxSeq == 0 || maxSeq >= s.last {
		for _, f := range filters {
			if f == "" {
				f = ">"
			}
			var err error
			s.subjects.MatchUntil([]byte(f), func(_ []byte, ss *subjectState) bool {
				err = add(s.subjectLast(ss))
				return err == nil
			})
			if err != nil {
				return nil, err
			}
		}
	} else {
		m := newMatcher(filters)
		subjectsSeen := make(map[string]struct{})
		for i := s.lowerBound(maxSeq+1) - 1; i >= s.head; i-- {
			e := s.entries.at(i)
			if e.Deleted || !m.match(e.Subject) {
				continue
			}
			if _, ok := subjectsSeen[e.Subject]; ok {
				continue
			}
			subjectsSeen[e.Subject] = struct{}{}
			if err := add(e.Seq); err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// ExpireMsgs removes messages past MaxAge or their TTL at now; it returns how many.
func (s *Stream) ExpireMsgs(now int64) (int, error) {
	removed := 0
	if s.config.MaxAge > 0 {
		cutoff := now - int64(s.config.MaxAge)
		var aged []uint64
		for i := s.head; i < s.entries.len() && s.entries.at(i).TS <= cutoff && len(aged) < expireBatchMax; i++ {
			if e := s.entries.at(i); !e.Deleted && !(e.HasTTL && s.ttlBySeq[e.Seq] < 0) {
				aged = append(aged, e.Seq)
			}
		}
		for _, seq := range aged {
			if _, err := s.Remove(seq, false, false); err != nil {
				return removed, err
			}
			removed++
		}
	}
	var expired []uint64
	s.ttls.ExpireTasks(now, func(seq uint64, _ int64) bool {
		expired = append(expired, seq)
		return false
	})
	for _, seq := range expired {
		ok, err := s.Remove(seq, false, false)
		if err != nil {
			return removed, err
		}
		if ok {
			removed++
		}
	}
	return removed, nil
}

// expireBatchMax bounds the messages one ExpireMsgs call removes by age; the caller
// calls again (NextExpiration stays due) for the rest.
const expireBatchMax = 1 << 16

// NextExpiration returns the earliest time ExpireMsgs has work, or math.MaxInt64.
func (s *Stream) NextExpiration() int64 {
	next := s.ttls.GetNextExpiration(math.MaxInt64)
	if s.config.MaxAge > 0 {
		// The oldest message that MaxAge applies to (a "never" TTL exempts one).
		for i := s.head; i < s.entries.len(); i++ {
			if e := s.entries.at(i); !e.Deleted && !(e.HasTTL && s.ttlBySeq[e.Seq] < 0) {
				if t := e.TS + int64(s.config.MaxAge); t < next {
					next = t
				}
				break
			}
		}
	}
	return next
}

// Range calls f for every live entry in sequence order until f returns false.
func (s *Stream) Range(f func(e *Entry) bool) {
	for i := s.head; i < s.entries.len(); i++ {
		if !s.entries.at(i).Deleted && !f(s.entries.at(i)) {
			return
		}
	}
}
