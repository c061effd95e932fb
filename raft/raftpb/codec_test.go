package raftpb

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

func genEntry(t *rapid.T, label string) Entry {
	return Entry{
		Term:  rapid.Uint64().Draw(t, label+"term"),
		Index: rapid.Uint64().Draw(t, label+"index"),
		Type:  EntryType(rapid.IntRange(0, int(entryTypeEnd)-1).Draw(t, label+"type")),
		Data:  nilIfEmpty(rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, label+"data")),
	}
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func genIDs(t *rapid.T, label string) []uint64 {
	ids := rapid.SliceOfN(rapid.Uint64(), 0, 5).Draw(t, label)
	if len(ids) == 0 {
		return nil
	}
	return ids
}

func genMessage(t *rapid.T) Message {
	m := Message{
		Type:       MessageType(rapid.IntRange(int(MsgVote), int(messageTypeEnd)-1).Draw(t, "type")),
		GroupID:    rapid.Uint64().Draw(t, "group"),
		From:       rapid.Uint64().Draw(t, "from"),
		To:         rapid.Uint64().Draw(t, "to"),
		Term:       rapid.Uint64().Draw(t, "term"),
		LogTerm:    rapid.Uint64().Draw(t, "logterm"),
		Index:      rapid.Uint64().Draw(t, "index"),
		Commit:     rapid.Uint64().Draw(t, "commit"),
		Reject:     rapid.Bool().Draw(t, "reject"),
		RejectHint: rapid.Uint64().Draw(t, "hint"),
		Context:    nilIfEmpty(rapid.SliceOfN(rapid.Byte(), 0, 10).Draw(t, "context")),
		Snapshot: SnapshotMetadata{
			Index: rapid.Uint64().Draw(t, "snapindex"),
			Term:  rapid.Uint64().Draw(t, "snapterm"),
			ConfState: ConfState{
				Voters:    genIDs(t, "voters"),
				Observers: genIDs(t, "observers"),
			},
		},
		SnapshotOffset: rapid.Uint64().Draw(t, "offset"),
		SnapshotData:   nilIfEmpty(rapid.SliceOfN(rapid.Byte(), 0, 30).Draw(t, "snapdata")),
		SnapshotDone:   rapid.Bool().Draw(t, "done"),
	}
	n := rapid.IntRange(0, 4).Draw(t, "entries")
	for i := range n {
		m.Entries = append(m.Entries, genEntry(t, string(rune('a'+i))))
	}
	return m
}

// TestMessageRoundTrip proves Decode(Encode(m)) == m for arbitrary messages.
func TestMessageRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage(t)
		got, err := DecodeMessage(EncodeMessage(&m))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
		}
	})
}

// TestMessageDamageDetected proves that any single flipped bit and any truncation is
// reported as an error (the checksum covers every byte), never a panic.
func TestMessageDamageDetected(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage(t)
		data := EncodeMessage(&m)
		bit := rapid.IntRange(0, len(data)*8-1).Draw(t, "bit")
		damaged := bytes.Clone(data)
		damaged[bit/8] ^= 1 << (bit % 8)
		if _, err := DecodeMessage(damaged); err == nil {
			t.Fatalf("flipped bit %d not detected", bit)
		}
		cut := rapid.IntRange(0, len(data)-1).Draw(t, "cut")
		if _, err := DecodeMessage(data[:cut]); err == nil {
			t.Fatalf("truncation to %d bytes not detected", cut)
		}
	})
}

// TestDecodeRejectsForgedCounts proves a well-checksummed frame with absurd lengths is
// refused without allocating what it claims.
func TestDecodeRejectsForgedCounts(t *testing.T) {
	e := encoder{}
	e.begin(kindMessage)
	e.byte(byte(MsgApp))
	for range 9 {
		e.uint(1)
	}
	e.uint(1 << 40) // entries count
	if _, err := DecodeMessage(e.finish()); !errors.Is(err, ErrLimitExceed) {
		t.Fatalf("forged entry count: got %v, want ErrLimitExceed", err)
	}
	e = encoder{}
	e.begin(kindMessage)
	e.byte(byte(MsgApp))
	for range 9 {
		e.uint(1)
	}
	e.uint(1000) // within the limit, but more than the bytes left
	if _, err := DecodeMessage(e.finish()); !errors.Is(err, ErrTruncated) {
		t.Fatalf("entry count beyond input: got %v, want ErrTruncated", err)
	}
}

// TestDecodeRejectsUnknownType proves an unknown message type or a foreign record kind
// is an error.
func TestDecodeRejectsUnknownType(t *testing.T) {
	m := Message{Type: messageTypeEnd}
	if _, err := DecodeMessage(EncodeMessage(&m)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown type: got %v", err)
	}
	h := EncodeHardState(HardState{Term: 1})
	if _, err := DecodeMessage(h); !errors.Is(err, ErrKind) {
		t.Fatalf("hard state as message: got %v", err)
	}
}

// TestRecordRoundTrips covers the other records: hard state, entry, snapshot and
// conf change.
func TestRecordRoundTrips(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := HardState{Term: rapid.Uint64().Draw(t, "t"), Vote: rapid.Uint64().Draw(t, "v"), Commit: rapid.Uint64().Draw(t, "c")}
		if got, err := DecodeHardState(EncodeHardState(h)); err != nil || got != h {
			t.Fatalf("hard state: %v %v", got, err)
		}
		ent := genEntry(t, "e")
		if got, err := DecodeEntry(EncodeEntry(&ent)); err != nil || !reflect.DeepEqual(got, ent) {
			t.Fatalf("entry: %v %v", got, err)
		}
		snap := Snapshot{Metadata: SnapshotMetadata{Index: 3, Term: 2, ConfState: ConfState{Voters: genIDs(t, "sv")}},
			Data: nilIfEmpty(rapid.SliceOfN(rapid.Byte(), 0, 50).Draw(t, "sd"))}
		if got, err := DecodeSnapshot(EncodeSnapshot(&snap)); err != nil || !reflect.DeepEqual(got, snap) {
			t.Fatalf("snapshot: %v %v", got, err)
		}
		cc := ConfChange{Type: ConfChangeType(rapid.IntRange(1, 3).Draw(t, "cct")), NodeID: rapid.Uint64Min(1).Draw(t, "ccid")}
		var got ConfChange
		if err := got.Unmarshal(cc.Marshal()); err != nil || got != cc {
			t.Fatalf("conf change: %v %v", got, err)
		}
	})
}

// FuzzDecodeMessage feeds arbitrary bytes to the decoder: it must never panic, and
// whatever it accepts must re-encode to the same bytes.
func FuzzDecodeMessage(f *testing.F) {
	seeds := []Message{
		{Type: MsgVote, GroupID: 1, From: 1, To: 2, Term: 3, LogTerm: 2, Index: 9},
		{Type: MsgApp, From: 1, To: 2, Term: 3, Entries: []Entry{{Term: 3, Index: 4, Data: []byte("x")}}},
		{Type: MsgSnap, From: 1, To: 3, Term: 1, Snapshot: SnapshotMetadata{Index: 5, Term: 1,
			ConfState: ConfState{Voters: []uint64{1, 2, 3}}}, SnapshotData: []byte("abcd"), SnapshotDone: true},
		{Type: MsgHeartbeat, From: 1, To: 2, Term: 1, Context: []byte("r1")},
	}
	for i := range seeds {
		f.Add(EncodeMessage(&seeds[i]))
	}
	f.Add([]byte{})
	f.Add([]byte{codecVersion, kindMessage})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMessage(data)
		if err != nil {
			return
		}
		again, err := DecodeMessage(EncodeMessage(&m))
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("re-encoding an accepted message: %v", err)
		}
	})
}

// FuzzDecodeRecords covers the write-ahead log records.
func FuzzDecodeRecords(f *testing.F) {
	f.Add(EncodeHardState(HardState{Term: 1, Vote: 2, Commit: 3}))
	f.Add(EncodeEntry(&Entry{Term: 1, Index: 2, Data: []byte("x")}))
	f.Add(EncodeSnapshot(&Snapshot{Metadata: SnapshotMetadata{Index: 1}}))
	f.Add(ConfChange{Type: ConfChangeAddVoter, NodeID: 4}.Marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = DecodeHardState(data)
		_, _ = DecodeEntry(data)
		_, _ = DecodeSnapshot(data)
		var cc ConfChange
		_ = cc.Unmarshal(data)
	})
}

// FuzzDecodeMessageFields frames arbitrary bytes with a valid header and checksum, so
// the fuzzer exercises the field decoding behind the checksum: it must never panic.
func FuzzDecodeMessageFields(f *testing.F) {
	m := Message{Type: MsgApp, From: 1, To: 2, Term: 3, Entries: []Entry{{Term: 3, Index: 4, Data: []byte("x")}},
		Snapshot: SnapshotMetadata{ConfState: ConfState{Voters: []uint64{1}}}}
	full := EncodeMessage(&m)
	f.Add(full[headerBytes : len(full)-checksumBytes])
	f.Add([]byte{byte(MsgVote), 1, 2, 3, 4, 5, 6, 7, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, body []byte) {
		e := encoder{}
		e.begin(kindMessage)
		e.buf = append(e.buf, body...)
		data := e.finish()
		m, err := DecodeMessage(data)
		if err != nil {
			return
		}
		// Accepted input decodes to a message whose own encoding decodes to it again.
		again, err := DecodeMessage(EncodeMessage(&m))
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("re-encoding an accepted message: %v", err)
		}
	})
}
