// Package wal is raft's durable log on env.FS: it implements raft.Storage and the write
// side a Ready's consumer calls (Append, SetHardState, ApplySnapshot, Sync, or all of
// them grouped by Save), plus CreateSnapshot and Compact.
//
// Layout of a WAL directory:
//
//	%016x.log   segments, numbered in write order; a segment holds checksummed records
//	            (entries and hard states) appended one after another
//	state       the hard state, the durable last index and the repair marker, in two
//	            alternating checksummed slots (see state.go)
//	snapshot    the latest snapshot (metadata and data), replaced by writing
//	            snapshot.tmp, syncing it, renaming it over and syncing the directory
//
// Durability: the writes of one Ready go to the current segment and are made durable
// by one file sync, then the state file records what became durable and is synced too.
// Messages that depend on the Ready may be sent only after Save (or Sync) returns; the
// Durable method says what a crash can no longer take away.
//
// Recovery (Open): segments are replayed in order; a torn tail (a record cut short) or
// a damaged record (checksum mismatch) ends the log there, and everything after it is
// dropped. If that loses an entry the state file says was durable (so it may have been
// acknowledged), or if any record or state slot is damaged, the WAL drops the log back
// to the snapshot (a lost record may have been the replacement of a superseded suffix,
// which would otherwise come back) and sets a repair marker: the application calls raft's RequireRepair with RepairIndex after every
// restart until raft reports the repair complete, then clears it with ClearRepair. Open
// finally rewrites what it recovered into a fresh segment and syncs it, so that nothing
// raft reads after a restart is only in the page cache of an earlier incarnation.
package wal

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/raft"
	pb "github.com/natsim/natsim/raft/raftpb"
)

const (
	stateFileName       = "state"
	snapshotFileName    = "snapshot"
	snapshotTmpFileName = "snapshot.tmp"
	segmentSuffix       = ".log"

	// segmentBytesMaxDefault is when a segment is closed and a new one started.
	segmentBytesMaxDefault = 4 << 20
	// cacheBytesMaxDefault bounds the recent entries kept in memory.
	cacheBytesMaxDefault = 4 << 20
)

// Errors of the WAL.
var (
	// ErrFailed: an earlier write or sync failed, so the WAL's durable state is
	// unknown; reopen it.
	ErrFailed = errors.New("wal: an earlier write failed; reopen the log")
	// ErrCorruptSnapshot: the snapshot file is damaged, so the log's prefix is lost.
	ErrCorruptSnapshot = errors.New("wal: snapshot file is damaged")
	// ErrHardStateLost: the log exists but no copy of the hard state survived, so the
	// vote this node cast is unknown; it must not take part in elections again.
	ErrHardStateLost = errors.New("wal: hard state lost")
	// ErrCorruptEntry: an entry read back from a segment is damaged.
	ErrCorruptEntry = errors.New("wal: damaged entry")
)

// Options tune a WAL; the zero value picks the defaults.
type Options struct {
	// SegmentBytesMax is the size after which a new segment is started (0: 4 MiB).
	SegmentBytesMax int64
	// CacheBytesMax bounds the recent entries kept in memory (0: 4 MiB); older ones
	// are read back from their segment.
	CacheBytesMax uint64
}

// Recovery reports what Open found.
type Recovery struct {
	// TornTail: a record at the end of the log was cut short and dropped.
	TornTail bool
	// Corrupt: a record or a state slot failed its checksum, or a segment was missing.
	Corrupt bool
	// DroppedBytes is how many bytes of segments were dropped after the first bad
	// record.
	DroppedBytes int64
	// LostDurable: entries up to an index the node may have acknowledged are gone.
	LostDurable bool
	// RepairIndex is the persisted repair marker after recovery (0: none).
	RepairIndex uint64
}

// position locates one entry on disk.
type position struct {
	term    uint64
	segment uint64
	offset  int64
	size    int64
}

// segment is one open segment file.
type segment struct {
	sequence uint64
	file     env.File
	size     int64
	// maxIndex is the highest entry index the segment holds.
	maxIndex uint64
}

// WAL is raft's durable log. It is not safe for concurrent use: like a RawNode, its
// owner serializes every call.
type WAL struct {
	fs      env.FS
	dir     string
	options Options

	snapshot pb.Snapshot
	// snapshotSegment is the first segment the snapshot's log continues in.
	snapshotSegment uint64
	hardState       pb.HardState

	// offsetIndex and offsetTerm describe the entry before positions[0] (the
	// snapshot's, or the last compacted one).
	offsetIndex uint64
	offsetTerm  uint64
	positions   []position
	// cache holds the entries from cacheFirst to the last index.
	cache      []pb.Entry
	cacheFirst uint64
	cacheBytes uint64

	segments []*segment
	// pending are encoded records not yet written to the current segment.
	pending []byte

	stateFile     env.File
	stateSequence uint64
	durable       raft.Durable
	repairIndex   uint64
	failed        error
}

// Open opens (creating if needed) the WAL in dir on fsys and recovers it.
func Open(fsys env.FS, dir string, options Options) (*WAL, Recovery, error) {
	if options.SegmentBytesMax <= 0 {
		options.SegmentBytesMax = segmentBytesMaxDefault
	}
	if options.CacheBytesMax == 0 {
		options.CacheBytesMax = cacheBytesMaxDefault
	}
	w := &WAL{fs: fsys, dir: dir, options: options}
	var recovery Recovery
	if err := w.open(&recovery); err != nil {
		w.closeFiles()
		return nil, recovery, err
	}
	recovery.RepairIndex = w.repairIndex
	return w, recovery, nil
}

func (w *WAL) path(name string) string { return path.Join(w.dir, name) }

func segmentName(sequence uint64) string { return fmt.Sprintf("%016x%s", sequence, segmentSuffix) }

func (w *WAL) open(recovery *Recovery) error {
	if err := w.fs.MkdirAll(w.dir, 0o755); err != nil {
		return err
	}
	// The directory's own entry (and its parents'), and any rename or removal an
	// earlier incarnation left pending, become durable before anything is built on
	// them.
	for dir := w.dir; ; dir = path.Dir(dir) {
		if err := w.fs.SyncDir(dir); err != nil {
			return err
		}
		if dir == "." || dir == "/" || path.Dir(dir) == dir {
			break
		}
	}
	names, err := w.fs.ReadDir(w.dir)
	if err != nil {
		return err
	}
	var sequences []uint64
	hasState, hasSnapshot := false, false
	for _, name := range names {
		switch {
		case name == stateFileName:
			hasState = true
		case name == snapshotFileName:
			hasSnapshot = true
		case name == snapshotTmpFileName:
			if err := w.fs.Remove(w.path(name)); err != nil {
				return err
			}
		case strings.HasSuffix(name, segmentSuffix):
			sequence, err := strconv.ParseUint(strings.TrimSuffix(name, segmentSuffix), 16, 64)
			if err == nil {
				sequences = append(sequences, sequence)
			}
		}
	}
	slices.Sort(sequences)

	state, stateOK, stateDamaged, err := w.readState(hasState)
	if err != nil {
		return err
	}
	if stateDamaged {
		recovery.Corrupt = true
	}
	if hasSnapshot {
		if err := w.readSnapshot(); err != nil {
			return err
		}
	}
	w.offsetIndex, w.offsetTerm = w.snapshot.Metadata.Index, w.snapshot.Metadata.Term

	entries, logHardState, err := w.replay(sequences, recovery)
	if err != nil {
		return err
	}
	if (len(sequences) > 0 || hasSnapshot) && !hasState {
		// The state file is created before anything else: without it, what was
		// promised is unknown.
		recovery.Corrupt = true
	}

	if !stateOK && logHardState.IsEmpty() && (len(entries) > 0 || hasSnapshot) {
		return ErrHardStateLost
	}
	w.hardState = state.hardState
	if newerHardState(logHardState, w.hardState) {
		w.hardState = logHardState
	}
	last := w.offsetIndex + uint64(len(entries))
	w.repairIndex = state.repairIndex
	if stateOK && state.durableIndex > w.offsetIndex {
		if state.durableIndex > last || entries[state.durableIndex-w.offsetIndex-1].Term != state.durableTerm {
			recovery.LostDurable = true
			w.repairIndex = max(w.repairIndex, state.durableIndex)
		}
	}
	if recovery.Corrupt {
		// What was acknowledged is not known for sure: repair up to everything this
		// node may have promised.
		w.repairIndex = max(w.repairIndex, state.durableIndex, w.hardState.Commit, last)
	}
	lastTerm := w.offsetTerm
	if len(entries) > 0 {
		lastTerm = entries[len(entries)-1].Term
	}
	if w.hardState.Term < lastTerm {
		// The log holds entries of a later term than the hard state: a crash kept a
		// leader's entries but not the hard state written after them, or damage kept
		// an older hard state. A node's term is at least its last entry's. No vote
		// in that term was durable, so none was sent (and damage has set the repair
		// marker, which forbids voting anyway).
		w.hardState = pb.HardState{Term: lastTerm, Commit: w.hardState.Commit}
	}
	if w.hardState.Commit > last {
		w.repairIndex = max(w.repairIndex, w.hardState.Commit)
		w.hardState.Commit = last
	}
	if w.repairIndex > w.snapshot.Metadata.Index {
		// Records were lost, and a lost record may be the replacement of a
		// superseded suffix (a conflicting append is written after the entries it
		// replaces), which then comes back: past the snapshot, no entry is known to
		// be the one this node stored last, and a leader that still counts on what
		// was lost would commit them. The log restarts from the snapshot; leaders
		// bring it back, which is the repair.
		entries = nil
		w.hardState.Commit = min(w.hardState.Commit, w.snapshot.Metadata.Index)
	}
	if w.repairIndex <= w.snapshot.Metadata.Index {
		// The snapshot covers everything that needed repair: nothing promised is
		// missing.
		w.repairIndex = 0
	}
	if w.hardState.Commit < w.snapshot.Metadata.Index && !w.hardState.IsEmpty() {
		w.hardState.Commit = w.snapshot.Metadata.Index
	}
	return w.rewrite(sequences, entries)
}

// readState reads the newest valid slot of the state file.
func (w *WAL) readState(exists bool) (stateRecord, bool, bool, error) {
	var best stateRecord
	found, damaged := false, false
	f, err := w.fs.OpenReadWrite(w.path(stateFileName))
	if err != nil {
		return best, false, false, err
	}
	w.stateFile = f
	if !exists {
		return best, false, false, nil
	}
	buf := make([]byte, stateRecordBytes)
	for slot := 0; slot < stateSlots; slot++ {
		clear(buf)
		n, err := f.ReadAt(buf, int64(slot*stateSlotStride))
		if err != nil && !errors.Is(err, io.EOF) {
			damaged = true
			continue
		}
		record, empty, ok := decodeStateRecord(buf[:n])
		switch {
		case ok:
			if !found || record.sequence > best.sequence {
				best = record
			}
			found = true
		case !empty:
			damaged = true
		}
	}
	if !found {
		damaged = true
	}
	w.stateSequence = best.sequence
	return best, found, damaged, nil
}

// readSnapshot reads the snapshot file: the first segment its log continues in, then
// the checksummed snapshot.
func (w *WAL) readSnapshot() error {
	data, err := w.readFile(snapshotFileName)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorruptSnapshot, err)
	}
	if len(data) < 8 {
		return fmt.Errorf("%w: %d bytes", ErrCorruptSnapshot, len(data))
	}
	snap, err := pb.DecodeSnapshot(data[8:])
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorruptSnapshot, err)
	}
	w.snapshot = snap
	w.snapshotSegment = leUint64(data)
	return nil
}

func leUint64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func appendUint64(b []byte, v uint64) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

func (w *WAL) readFile(name string) ([]byte, error) {
	f, err := w.fs.Open(w.path(name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	data := make([]byte, size)
	n, err := f.ReadAt(data, 0)
	if err != nil && !(errors.Is(err, io.EOF) && int64(n) == size) {
		return nil, err
	}
	return data, nil
}

// replay reads the segments from the snapshot's on, rebuilding the entries after the
// snapshot and the last hard state recorded in the log. It stops at the first bad
// record.
func (w *WAL) replay(sequences []uint64, recovery *Recovery) ([]pb.Entry, pb.HardState, error) {
	var entries []pb.Entry
	var hardState pb.HardState
	previous := uint64(0)
	stopped := false
	for _, sequence := range sequences {
		if sequence < w.snapshotSegment {
			continue
		}
		if stopped {
			if size, err := w.fileSize(segmentName(sequence)); err == nil {
				recovery.DroppedBytes += size
			}
			continue
		}
		if previous != 0 && sequence != previous+1 {
			recovery.Corrupt = true
			stopped = true
			continue
		}
		previous = sequence
		data, err := w.readFile(segmentName(sequence))
		if err != nil {
			// An unreadable segment (a latent sector error) is damage.
			recovery.Corrupt = true
			stopped = true
			continue
		}
		for offset := 0; offset < len(data); {
			kind, payload, size, err := decodeRecord(data[offset:])
			if err == nil {
				switch kind {
				case kindEntry:
					var ent pb.Entry
					ent, err = pb.DecodeEntry(payload)
					if err == nil {
						entries, err = w.replayEntry(entries, ent)
					}
				case kindHardState:
					var h pb.HardState
					h, err = pb.DecodeHardState(payload)
					if err == nil && newerHardState(h, hardState) {
						hardState = h
					}
				}
				if err != nil {
					err = errCorruptRecord
				}
			}
			if err != nil {
				if errors.Is(err, errTruncatedRecord) && !nonZero(data[offset:]) {
					recovery.TornTail = true
				} else if errors.Is(err, errTruncatedRecord) {
					// Bytes that are not a whole record and not zeros: a torn write
					// if nothing valid follows, damage otherwise. Either way the log
					// ends here; the durable index decides whether anything promised
					// was lost.
					recovery.TornTail = true
				} else {
					recovery.Corrupt = true
				}
				recovery.DroppedBytes += int64(len(data) - offset)
				stopped = true
				break
			}
			offset += size
		}
	}
	return entries, hardState, nil
}

func nonZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return true
		}
	}
	return false
}

func (w *WAL) fileSize(name string) (int64, error) {
	info, err := w.fs.Stat(w.path(name))
	return info.Size, err
}

// replayEntry applies one entry record to the replayed log: an index at or below the
// last replaces the suffix from there (a conflicting append), the next index extends
// it, and a gap is damage.
func (w *WAL) replayEntry(entries []pb.Entry, ent pb.Entry) ([]pb.Entry, error) {
	if ent.Index <= w.offsetIndex {
		return entries, nil
	}
	next := w.offsetIndex + uint64(len(entries)) + 1
	if ent.Index > next {
		return entries, errCorruptRecord
	}
	entries = entries[:ent.Index-w.offsetIndex-1]
	return append(entries, ent), nil
}

// rewrite makes what recovery found durable: the recovered entries and hard state go
// to a fresh segment, which is synced before the old segments are removed; then the
// state file is rewritten.
func (w *WAL) rewrite(old []uint64, entries []pb.Entry) error {
	sequence := uint64(1)
	if len(old) > 0 {
		sequence = old[len(old)-1] + 1
	}
	sequence = max(sequence, w.snapshotSegment)
	f, err := w.fs.Create(w.path(segmentName(sequence)))
	if err != nil {
		return err
	}
	s := &segment{sequence: sequence, file: f}
	w.segments = []*segment{s}
	if !w.hardState.IsEmpty() {
		w.pending = appendRecord(w.pending, kindHardState, pb.EncodeHardState(w.hardState))
	}
	w.positions = nil
	w.cache, w.cacheFirst, w.cacheBytes = nil, w.offsetIndex+1, 0
	w.appendEntries(entries)
	if err := w.flush(); err != nil {
		return err
	}
	if err := s.file.Sync(); err != nil {
		return err
	}
	if err := w.fs.SyncDir(w.dir); err != nil {
		return err
	}
	for _, sequence := range old {
		if sequence != s.sequence {
			if err := w.fs.Remove(w.path(segmentName(sequence))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	if err := w.fs.SyncDir(w.dir); err != nil {
		return err
	}
	// Both slots, so that a damaged older slot cannot win later.
	for range stateSlots {
		if err := w.writeState(); err != nil {
			return err
		}
	}
	w.trimCache()
	return nil
}

// appendEntries records entries (already contiguous with the log) in memory and encodes
// them into the pending buffer.
func (w *WAL) appendEntries(entries []pb.Entry) {
	s := w.current()
	for i := range entries {
		ent := entries[i]
		payload := pb.EncodeEntry(&ent)
		offset := s.size + int64(len(w.pending))
		w.pending = appendRecord(w.pending, kindEntry, payload)
		w.positions = append(w.positions, position{
			term: ent.Term, segment: s.sequence, offset: offset,
			size: int64(len(w.pending)) - (offset - s.size),
		})
		s.maxIndex = max(s.maxIndex, ent.Index)
		w.cache = append(w.cache, ent)
		w.cacheBytes += ent.Size()
	}
}

func (w *WAL) current() *segment { return w.segments[len(w.segments)-1] }

// flush writes the pending records to the current segment (without syncing).
func (w *WAL) flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	s := w.current()
	if _, err := s.file.WriteAt(w.pending, s.size); err != nil {
		return err
	}
	s.size += int64(len(w.pending))
	w.pending = w.pending[:0]
	return nil
}

// writeState records the whole log as durable in the next state slot and syncs it.
func (w *WAL) writeState() error { return w.writeStateRecord(w.lastIndex(), w.lastTerm()) }

// writeStateRecord writes the next state slot, with the log durable through index (of
// term), and syncs it.
func (w *WAL) writeStateRecord(index, term uint64) error {
	w.stateSequence++
	record := stateRecord{
		sequence: w.stateSequence, hardState: w.durable.HardState,
		durableIndex: index, durableTerm: term, repairIndex: w.repairIndex,
	}
	if index == w.lastIndex() {
		record.hardState = w.hardState
	}
	slot := int64(w.stateSequence % stateSlots)
	if _, err := w.stateFile.WriteAt(record.encode(), slot*stateSlotStride); err != nil {
		return err
	}
	if err := w.stateFile.Sync(); err != nil {
		return err
	}
	w.durable = raft.Durable{HardState: w.hardState, LastIndex: record.durableIndex, LastTerm: record.durableTerm}
	return nil
}

// trimCache drops the oldest cached entries beyond CacheBytesMax; only written ones are
// ever dropped (trimCache runs after a flush).
func (w *WAL) trimCache() {
	drop := 0
	for w.cacheBytes > w.options.CacheBytesMax && drop < len(w.cache)-1 {
		w.cacheBytes -= w.cache[drop].Size()
		drop++
	}
	if drop > 0 {
		w.cache = slices.Clone(w.cache[drop:])
		w.cacheFirst += uint64(drop)
	}
}

func (w *WAL) lastIndex() uint64 { return w.offsetIndex + uint64(len(w.positions)) }

func (w *WAL) lastTerm() uint64 {
	if len(w.positions) == 0 {
		return w.offsetTerm
	}
	return w.positions[len(w.positions)-1].term
}

func (w *WAL) term(i uint64) (uint64, error) {
	switch {
	case i < w.offsetIndex:
		return 0, raft.ErrCompacted
	case i == w.offsetIndex:
		return w.offsetTerm, nil
	case i > w.lastIndex():
		return 0, raft.ErrUnavailable
	}
	return w.positions[i-w.offsetIndex-1].term, nil
}

// InitialState implements raft.Storage.
func (w *WAL) InitialState() (pb.HardState, pb.ConfState, error) {
	cs := w.snapshot.Metadata.ConfState
	return w.hardState, pb.ConfState{Voters: slices.Clone(cs.Voters), Observers: slices.Clone(cs.Observers)}, nil
}

// HardState returns the last hard state set.
func (w *WAL) HardState() pb.HardState { return w.hardState }

// FirstIndex implements raft.Storage, from memory.
func (w *WAL) FirstIndex() (uint64, error) { return w.offsetIndex + 1, nil }

// LastIndex implements raft.Storage, from memory.
func (w *WAL) LastIndex() (uint64, error) { return w.lastIndex(), nil }

// Term implements raft.Storage, from memory.
func (w *WAL) Term(i uint64) (uint64, error) { return w.term(i) }

// Snapshot implements raft.Storage.
func (w *WAL) Snapshot() (pb.Snapshot, error) { return w.snapshot, nil }

// Entries implements raft.Storage: recent entries come from the cache, older ones are
// read back from their segment and checked.
func (w *WAL) Entries(lo, hi, maxBytes uint64) ([]pb.Entry, error) {
	if lo <= w.offsetIndex {
		return nil, raft.ErrCompacted
	}
	if hi > w.lastIndex()+1 {
		return nil, raft.ErrUnavailable
	}
	if lo >= hi {
		return nil, nil
	}
	if lo >= w.cacheFirst {
		ents := w.cache[lo-w.cacheFirst : hi-w.cacheFirst : hi-w.cacheFirst]
		return limitSize(ents, maxBytes), nil
	}
	var out []pb.Entry
	size := uint64(0)
	for i := lo; i < hi; i++ {
		var ent pb.Entry
		if i >= w.cacheFirst {
			ent = w.cache[i-w.cacheFirst]
		} else {
			var err error
			if ent, err = w.readEntry(i); err != nil {
				return nil, err
			}
		}
		size += ent.Size()
		if len(out) > 0 && size > maxBytes {
			break
		}
		out = append(out, ent)
	}
	return out, nil
}

// readEntry reads entry i back from its segment.
func (w *WAL) readEntry(i uint64) (pb.Entry, error) {
	p := w.positions[i-w.offsetIndex-1]
	var s *segment
	for _, candidate := range w.segments {
		if candidate.sequence == p.segment {
			s = candidate
		}
	}
	if s == nil {
		return pb.Entry{}, fmt.Errorf("%w: entry %d: segment %d is gone", ErrCorruptEntry, i, p.segment)
	}
	buf := make([]byte, p.size)
	if _, err := s.file.ReadAt(buf, p.offset); err != nil {
		return pb.Entry{}, fmt.Errorf("%w: entry %d: %v", ErrCorruptEntry, i, err)
	}
	kind, payload, _, err := decodeRecord(buf)
	if err != nil || kind != kindEntry {
		return pb.Entry{}, fmt.Errorf("%w: entry %d: record: %v", ErrCorruptEntry, i, err)
	}
	ent, err := pb.DecodeEntry(payload)
	if err != nil || ent.Index != i || ent.Term != p.term {
		return pb.Entry{}, fmt.Errorf("%w: entry %d: %v", ErrCorruptEntry, i, err)
	}
	return ent, nil
}

func limitSize(ents []pb.Entry, maxBytes uint64) []pb.Entry {
	size := uint64(0)
	for i := range ents {
		size += ents[i].Size()
		if i > 0 && size > maxBytes {
			return ents[:i:i]
		}
	}
	return ents
}

// Append adds entries (from Ready.Entries), replacing any conflicting suffix; entries
// below the first index are ignored. They become durable at the next Sync.
func (w *WAL) Append(entries []pb.Entry) error {
	if w.failed != nil {
		return w.failed
	}
	if len(entries) == 0 {
		return nil
	}
	first := w.offsetIndex + 1
	if last := entries[len(entries)-1].Index; last < first {
		return nil
	}
	if entries[0].Index < first {
		entries = entries[first-entries[0].Index:]
	}
	if entries[0].Index > w.lastIndex()+1 {
		return fmt.Errorf("wal: append at %d leaves a gap after %d", entries[0].Index, w.lastIndex())
	}
	if keep := entries[0].Index - first; keep < uint64(len(w.positions)) {
		if w.durable.LastIndex >= entries[0].Index {
			// Raft replaces durable entries (a new leader overrides an uncommitted
			// suffix). Lower the durable index first, so that a crash that tears the
			// replacement is not taken for a loss of entries this node promised.
			term, _ := w.term(entries[0].Index - 1)
			if err := w.writeStateRecord(entries[0].Index-1, term); err != nil {
				w.failed = fmt.Errorf("%w: %v", ErrFailed, err)
				return err
			}
		}
		w.positions = slices.Clone(w.positions[:keep])
		if entries[0].Index < w.cacheFirst {
			w.cache, w.cacheBytes, w.cacheFirst = nil, 0, entries[0].Index
		} else {
			w.cache = slices.Clone(w.cache[:entries[0].Index-w.cacheFirst])
			w.cacheBytes = 0
			for i := range w.cache {
				w.cacheBytes += w.cache[i].Size()
			}
		}
	}
	w.appendEntries(entries)
	return nil
}

// SetHardState records h; it becomes durable at the next Sync.
func (w *WAL) SetHardState(h pb.HardState) error {
	if w.failed != nil {
		return w.failed
	}
	w.hardState = h
	w.pending = appendRecord(w.pending, kindHardState, pb.EncodeHardState(h))
	return nil
}

// Sync makes every write since the last Sync durable with one sync of the segment and
// one of the state file, then starts a new segment if the current one is full. After a
// failure the WAL refuses every write (ErrFailed): reopen it.
func (w *WAL) Sync() error {
	if w.failed != nil {
		return w.failed
	}
	if err := w.sync(); err != nil {
		w.failed = fmt.Errorf("%w: %v", ErrFailed, err)
		return err
	}
	return nil
}

func (w *WAL) sync() error {
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.current().file.Sync(); err != nil {
		return err
	}
	if err := w.writeState(); err != nil {
		return err
	}
	w.trimCache()
	if w.current().size >= w.options.SegmentBytesMax {
		return w.rotate()
	}
	return nil
}

// rotate starts a new segment and makes its directory entry durable.
func (w *WAL) rotate() error {
	sequence := w.current().sequence + 1
	f, err := w.fs.Create(w.path(segmentName(sequence)))
	if err != nil {
		return err
	}
	w.segments = append(w.segments, &segment{sequence: sequence, file: f})
	return w.fs.SyncDir(w.dir)
}

// Save persists one Ready's snapshot, entries and hard state, in that order, with a
// single Sync. Send the Ready's messages only after it returns nil.
func (w *WAL) Save(snap pb.Snapshot, entries []pb.Entry, h pb.HardState) error {
	if !snap.IsEmpty() {
		if err := w.ApplySnapshot(snap); err != nil {
			return err
		}
	}
	if err := w.Append(entries); err != nil {
		return err
	}
	if !h.IsEmpty() {
		if err := w.SetHardState(h); err != nil {
			return err
		}
	}
	return w.Sync()
}

// writeSnapshotFile replaces the snapshot file durably: temp file, sync, rename, sync
// of the directory.
func (w *WAL) writeSnapshotFile(snap pb.Snapshot, firstSegment uint64) error {
	data := appendUint64(nil, firstSegment)
	data = append(data, pb.EncodeSnapshot(&snap)...)
	f, err := w.fs.Create(w.path(snapshotTmpFileName))
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := w.fs.Rename(w.path(snapshotTmpFileName), w.path(snapshotFileName)); err != nil {
		return err
	}
	return w.fs.SyncDir(w.dir)
}

// ApplySnapshot replaces the log with snap (received from the leader). The log after it
// starts in a new segment that the snapshot file names, so that a crash before the old
// segments are removed cannot bring their entries back.
func (w *WAL) ApplySnapshot(snap pb.Snapshot) error {
	if w.failed != nil {
		return w.failed
	}
	if snap.Metadata.Index < w.snapshot.Metadata.Index {
		return raft.ErrSnapOutOfDate
	}
	err := func() error {
		if err := w.flush(); err != nil {
			return err
		}
		if err := w.rotate(); err != nil {
			return err
		}
		if err := w.writeSnapshotFile(snap, w.current().sequence); err != nil {
			return err
		}
		return w.removeSegments(func(s *segment) bool { return s != w.current() })
	}()
	if err != nil {
		w.failed = fmt.Errorf("%w: %v", ErrFailed, err)
		return err
	}
	w.snapshot = snap
	w.snapshotSegment = w.current().sequence
	w.offsetIndex, w.offsetTerm = snap.Metadata.Index, snap.Metadata.Term
	w.positions = nil
	w.cache, w.cacheFirst, w.cacheBytes = nil, snap.Metadata.Index+1, 0
	if w.hardState.Commit < snap.Metadata.Index {
		w.hardState.Commit = snap.Metadata.Index
	}
	return nil
}

// removeSegments closes and removes the segments drop selects, then syncs the
// directory.
func (w *WAL) removeSegments(drop func(*segment) bool) error {
	kept := w.segments[:0:0]
	removed := false
	for _, s := range w.segments {
		if !drop(s) {
			kept = append(kept, s)
			continue
		}
		s.file.Close()
		if err := w.fs.Remove(w.path(segmentName(s.sequence))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed = true
	}
	w.segments = kept
	if !removed {
		return nil
	}
	return w.fs.SyncDir(w.dir)
}

// CreateSnapshot records durably a snapshot of the application's state at applied index
// i with membership cs. Call Compact afterwards to release the entries it covers.
func (w *WAL) CreateSnapshot(i uint64, cs pb.ConfState, data []byte) (pb.Snapshot, error) {
	if w.failed != nil {
		return pb.Snapshot{}, w.failed
	}
	if i <= w.snapshot.Metadata.Index {
		return pb.Snapshot{}, raft.ErrSnapOutOfDate
	}
	if i > w.lastIndex() {
		return pb.Snapshot{}, raft.ErrUnavailable
	}
	term, err := w.term(i)
	if err != nil {
		return pb.Snapshot{}, err
	}
	snap := pb.Snapshot{
		Metadata: pb.SnapshotMetadata{Index: i, Term: term, ConfState: pb.ConfState{
			Voters: slices.Clone(cs.Voters), Observers: slices.Clone(cs.Observers)}},
		Data: data,
	}
	if err := w.writeSnapshotFile(snap, w.snapshotSegment); err != nil {
		w.failed = fmt.Errorf("%w: %v", ErrFailed, err)
		return pb.Snapshot{}, err
	}
	w.snapshot = snap
	return snap, nil
}

// Compact discards the entries up to and including i from memory, and removes the
// segments that hold nothing after the snapshot.
func (w *WAL) Compact(i uint64) error {
	if w.failed != nil {
		return w.failed
	}
	if i <= w.offsetIndex {
		return raft.ErrCompacted
	}
	if i > w.lastIndex() {
		return raft.ErrUnavailable
	}
	// A segment is only removed when the snapshot covers it: after a restart the log is
	// rebuilt from the snapshot and the segments after it.
	if i > w.snapshot.Metadata.Index {
		return fmt.Errorf("wal: compact to %d beyond the snapshot at %d", i, w.snapshot.Metadata.Index)
	}
	term, _ := w.term(i)
	drop := i - w.offsetIndex
	w.positions = slices.Clone(w.positions[drop:])
	w.offsetIndex, w.offsetTerm = i, term
	if w.cacheFirst <= i {
		n := i + 1 - w.cacheFirst
		for j := uint64(0); j < n; j++ {
			w.cacheBytes -= w.cache[j].Size()
		}
		w.cache = slices.Clone(w.cache[n:])
		w.cacheFirst = i + 1
	}
	firstKept := w.current().sequence
	if len(w.positions) > 0 {
		firstKept = min(firstKept, w.positions[0].segment)
	}
	err := w.removeSegments(func(s *segment) bool { return s.sequence < firstKept && s.maxIndex <= i })
	if err != nil {
		w.failed = fmt.Errorf("%w: %v", ErrFailed, err)
	}
	return err
}

// Durable returns what the last successful Sync made durable (raft.CheckSend's input).
func (w *WAL) Durable() raft.Durable { return w.durable }

// RepairIndex is the persisted repair marker: while it is not zero, call raft's
// RequireRepair with it after every restart.
func (w *WAL) RepairIndex() uint64 { return w.repairIndex }

// ClearRepair clears the repair marker once raft reports the repair complete
// (Status().RepairIndex == 0); it is persisted at once.
func (w *WAL) ClearRepair() error {
	if w.failed != nil {
		return w.failed
	}
	if w.repairIndex == 0 {
		return nil
	}
	w.repairIndex = 0
	return w.Sync()
}

// Failed returns the error that stopped the WAL, or nil.
func (w *WAL) Failed() error { return w.failed }

// Close closes every file. It does not sync.
func (w *WAL) Close() error {
	w.closeFiles()
	if w.failed == nil {
		w.failed = fmt.Errorf("%w: closed", ErrFailed)
	}
	return nil
}

func (w *WAL) closeFiles() {
	for _, s := range w.segments {
		s.file.Close()
	}
	w.segments = nil
	if w.stateFile != nil {
		w.stateFile.Close()
		w.stateFile = nil
	}
}

var _ raft.Storage = (*WAL)(nil)
