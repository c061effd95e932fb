package filestore

import (
	"bytes"
	"errors"
	"testing"

	"github.com/natsim/natsim/store"
)

// FuzzRecord proves the record decoders never panic and that what appendRecord and
// appendMsgBody write decodes back.
func FuzzRecord(f *testing.F) {
	f.Add(appendRecord(nil, appendMsgBody(nil, 0, 7, 100, 5, appendPayload(nil, "a.b", []byte("h"), []byte("payload")))))
	f.Add(appendRecord(nil, []byte{kindRemove, 3}))
	f.Add(appendRecord(nil, []byte{kindSkip, 3, 9}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 2})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		body, n, _, err := parseRecord(data)
		if err != nil {
			return
		}
		if n > len(data) || len(body) == 0 {
			t.Fatalf("record length %d of %d bytes", n, len(data))
		}
		if !bytes.Equal(appendRecord(nil, body), data[:n]) {
			t.Fatal("record does not re-encode to the same bytes")
		}
		if rec, err := decodeMsgBody(body); err == nil {
			if subject, hdr, msg, err := decodePayload(rec.payload); err == nil {
				again := appendPayload(nil, string(subject), hdr, msg)
				if !bytes.Equal(again, rec.payload) {
					t.Fatal("payload does not re-encode")
				}
			}
		}
		_, _, _ = uvarints(body, 3)
	})
}

// FuzzRecover proves that opening a store whose newest block holds arbitrary bytes
// (after a valid prefix) never panics, and that a store that opens answers queries.
func FuzzRecover(f *testing.F) {
	disk := newDisk(1)
	s := mustOpen(f, variants()["plain"](disk.FS()), store.StreamConfig{Name: "F"})
	for i := range 5 {
		_, _, _ = s.StoreMsg("f.x", nil, []byte{byte(i)}, int64(i), 0)
	}
	_, _ = s.RemoveMsg(2)
	_ = s.Stop()
	valid, _ := disk.Contents(blockPath(1))
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(append(append([]byte(nil), valid...), 1, 2, 3, 4, 5, 6, 7, 8, 9))
	f.Fuzz(func(t *testing.T, data []byte) {
		disk := newDisk(2)
		fsys := disk.FS()
		if err := fsys.MkdirAll("data/stream/msgs", 0o750); err != nil {
			t.Fatal(err)
		}
		file, err := fsys.Create(blockPath(1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := file.WriteAt(data, 0); err != nil {
			t.Fatal(err)
		}
		_ = file.Close()
		s, err := Open(variants()["plain"](fsys), store.StreamConfig{Name: "F"})
		if err != nil {
			return
		}
		defer s.Stop()
		state := s.State()
		for seq := state.FirstSeq; seq <= state.LastSeq && seq < state.FirstSeq+64; seq++ {
			_, _ = s.LoadMsg(seq, nil)
		}
		_, _, _ = s.LoadNextMsg(">", true, 0, nil)
		_, _, err = s.StoreMsg("after", nil, nil, 1, 0)
		for _, r := range state.Lost {
			if r.Last == 0 {
				// An open-ended loss refuses new sequences until a Truncate repairs it.
				if !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("store over an open-ended loss: %v", err)
				}
				if err := s.Truncate(r.First - 1); err != nil {
					t.Fatalf("repairing truncate: %v", err)
				}
				_, _, err = s.StoreMsg("after", nil, nil, 1, 0)
			}
		}
		if err != nil {
			t.Fatalf("store after recovery: %v", err)
		}
	})
}
