package raft

import (
	"errors"
	"reflect"
	"testing"

	pb "github.com/natsim/natsim/raft/raftpb"
)

func entries(terms ...uint64) []pb.Entry {
	ents := make([]pb.Entry, len(terms))
	for i, t := range terms {
		ents[i] = pb.Entry{Index: uint64(i + 1), Term: t}
	}
	return ents
}

// TestMemoryStorageAppendAndCompact checks the storage contract: ranges, compaction,
// conflicting appends replacing the suffix, and gap detection.
func TestMemoryStorageAppendAndCompact(t *testing.T) {
	ms := NewMemoryStorage()
	if err := ms.Append(entries(1, 1, 2, 2)); err != nil {
		t.Fatal(err)
	}
	if last, _ := ms.LastIndex(); last != 4 {
		t.Fatalf("last %d", last)
	}
	// Replace the suffix from index 3.
	if err := ms.Append([]pb.Entry{{Index: 3, Term: 3}}); err != nil {
		t.Fatal(err)
	}
	if last, _ := ms.LastIndex(); last != 3 {
		t.Fatalf("last after conflict %d", last)
	}
	if term, _ := ms.Term(3); term != 3 {
		t.Fatalf("term(3) = %d", term)
	}
	if err := ms.Append([]pb.Entry{{Index: 9, Term: 3}}); err == nil {
		t.Fatal("gap accepted")
	}
	if err := ms.Compact(2); err != nil {
		t.Fatal(err)
	}
	if _, err := ms.Entries(2, 3, 1<<20); !errors.Is(err, ErrCompacted) {
		t.Fatalf("entries below first: %v", err)
	}
	if _, err := ms.Term(1); !errors.Is(err, ErrCompacted) {
		t.Fatalf("term below first: %v", err)
	}
	if term, err := ms.Term(2); err != nil || term != 1 {
		t.Fatalf("term of the compacted boundary: %d %v", term, err)
	}
	if _, err := ms.Entries(3, 5, 1<<20); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("entries beyond last: %v", err)
	}
}

// TestMemoryStorageOwnership proves a slice returned by Entries never changes when the
// storage is appended to, truncated or compacted afterwards.
func TestMemoryStorageOwnership(t *testing.T) {
	ms := NewMemoryStorage()
	_ = ms.Append(entries(1, 1, 1, 1))
	got, err := ms.Entries(2, 5, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]pb.Entry(nil), got...)
	_ = ms.Append([]pb.Entry{{Index: 3, Term: 2}, {Index: 4, Term: 2}})
	_ = ms.Append([]pb.Entry{{Index: 5, Term: 2}})
	_ = ms.Compact(3)
	got = append(got, pb.Entry{Index: 99})
	if !reflect.DeepEqual(got[:3], want) {
		t.Fatalf("returned slice changed: %v, was %v", got[:3], want)
	}
}

// TestMemoryStorageSnapshots checks CreateSnapshot and ApplySnapshot ordering rules.
func TestMemoryStorageSnapshots(t *testing.T) {
	ms := NewMemoryStorage()
	_ = ms.Append(entries(1, 1, 2))
	cs := pb.ConfState{Voters: []uint64{1, 2, 3}}
	snap, err := ms.CreateSnapshot(2, cs, []byte("s"))
	if err != nil || snap.Metadata.Term != 1 || !snap.Metadata.ConfState.Equal(cs) {
		t.Fatalf("create: %+v %v", snap, err)
	}
	if _, err := ms.CreateSnapshot(1, cs, nil); !errors.Is(err, ErrSnapOutOfDate) {
		t.Fatalf("older snapshot: %v", err)
	}
	if err := ms.ApplySnapshot(pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 1}}); !errors.Is(err, ErrSnapOutOfDate) {
		t.Fatalf("apply older: %v", err)
	}
	if err := ms.ApplySnapshot(pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 10, Term: 4}}); err != nil {
		t.Fatal(err)
	}
	if first, _ := ms.FirstIndex(); first != 11 {
		t.Fatalf("first after apply %d", first)
	}
	if last, _ := ms.LastIndex(); last != 10 {
		t.Fatalf("last after apply %d", last)
	}
}

// TestInflightsBounds proves the window fills by count and by bytes and frees in order.
func TestInflightsBounds(t *testing.T) {
	in := NewInflights(3, 100)
	in.Add(1, 10)
	in.Add(2, 10)
	if in.Full() {
		t.Fatal("full too early")
	}
	in.Add(5, 10)
	if !in.Full() {
		t.Fatal("not full by count")
	}
	in.FreeLE(2)
	if in.Count() != 1 || in.Bytes() != 10 {
		t.Fatalf("after free: %d %d", in.Count(), in.Bytes())
	}
	in.Add(6, 95)
	if !in.Full() {
		t.Fatal("not full by bytes")
	}
	in.FreeFirstOne()
	if in.Count() != 1 || in.Bytes() != 95 {
		t.Fatalf("after free first: %d %d", in.Count(), in.Bytes())
	}
}

// TestProgressTransitions checks the probe/replicate/snapshot state machine.
func TestProgressTransitions(t *testing.T) {
	p := &Progress{Next: 5, Inflights: NewInflights(2, 0)}
	if p.IsPaused() {
		t.Fatal("fresh probe paused")
	}
	p.ProbeSent = true
	if !p.IsPaused() {
		t.Fatal("probe with an append out not paused")
	}
	// A stale rejection (not of Next-1) is ignored.
	if p.MaybeDecreaseTo(2, 1) {
		t.Fatal("stale rejection accepted")
	}
	if !p.MaybeDecreaseTo(4, 1) || p.Next != 2 || p.ProbeSent {
		t.Fatalf("rejection: next=%d probeSent=%t", p.Next, p.ProbeSent)
	}
	p.MaybeUpdate(3)
	p.BecomeReplicate()
	if p.Next != 4 || p.State != StateReplicate {
		t.Fatalf("replicate: %s", p)
	}
	snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 9}}
	p.BecomeSnapshot(&snap)
	if !p.IsPaused() {
		t.Fatal("snapshot state sends appends")
	}
	p.MaybeUpdate(9)
	p.BecomeProbe()
	if p.Next != 10 {
		t.Fatalf("probe after snapshot: next=%d", p.Next)
	}
}
