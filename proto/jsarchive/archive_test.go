package jsarchive

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"pgregory.net/rapid"
)

// referenceArchive was written by nats-server v2.15.2's server/archive package:
// state.json with "{}", a message orders.a at sequence 300 with a 3-byte header
// and a 4-byte body and a negative timestamp, and the end entry.
const referenceArchive = "4e415453415243310a8080d0e2c6bfce972f00000273746174652e6a736f6e7b7d0809ac0203046f72646572732e61686472626f64790000000000"

// TestWriterMatchesReference proves the Writer produces the reference's bytes for
// the same entries, and the Reader reads them back.
func TestWriterMatchesReference(t *testing.T) {
	var buffer bytes.Buffer
	w := NewWriter(&buffer)
	if err := w.WriteFull(Entry{Name: "state.json", Timestamp: 1700000000000000000, PayloadSize: 2}, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFull(Entry{Name: "orders.a", Timestamp: -5, Sequence: 300, HeaderSize: 3, PayloadSize: 4}, []byte("hdrbody")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteEnd(); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(buffer.Bytes()); got != referenceArchive {
		t.Fatalf("got  %s\nwant %s", got, referenceArchive)
	}
	data, _ := hex.DecodeString(referenceArchive)
	r := NewReader(bytes.NewReader(data))
	first, err := r.Next()
	if err != nil || first.Name != "state.json" {
		t.Fatalf("%+v %v", first, err)
	}
	// The payload of state.json is skipped by Next.
	second, err := r.Next()
	if err != nil || second != (Entry{Name: "orders.a", Timestamp: -5, Sequence: 300, HeaderSize: 3, PayloadSize: 4}) {
		t.Fatalf("%+v %v", second, err)
	}
	payload, err := r.Payload()
	if err != nil || string(payload) != "hdrbody" {
		t.Fatalf("%q %v", payload, err)
	}
	end, err := r.Next()
	if err != nil || !end.IsEnd() {
		t.Fatalf("%+v %v", end, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the end: %v", err)
	}
}

// TestReaderRejects proves bad input gets ErrInvalid (or ErrNegativeSize), never a
// panic or a huge allocation: another format, cut entries, oversized names.
func TestReaderRejects(t *testing.T) {
	data, _ := hex.DecodeString(referenceArchive)
	cases := map[string][]byte{
		"tar":              append([]byte("meta.inf"), make([]byte, 504)...),
		"short magic":      []byte("NATS"),
		"cut in fields":    data[:len(Magic)+3],
		"cut in name":      data[:len(Magic)+12],
		"cut in payload":   data[:len(Magic)+24],
		"name too long":    append([]byte(Magic), 0xff, 0xff, 0xff, 0xff, 0x0f),
		"varint overflow":  append([]byte(Magic), bytes.Repeat([]byte{0xff}, 11)...),
		"negative size":    append([]byte(Magic), 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0),
		"entry too large":  append([]byte(Magic), 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f),
		"payload past end": append([]byte(Magic), 0, 0, 0, 0, 10, 'x'),
	}
	for name, input := range cases {
		r := NewReader(bytes.NewReader(input))
		var err error
		for range 10 {
			if _, err = r.Next(); err != nil {
				break
			}
			if _, err = r.Payload(); err != nil {
				break
			}
		}
		if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNegativeSize) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := NewReader(bytes.NewReader(cases["tar"])).Next(); !errors.Is(err, ErrNotArchive) {
		t.Errorf("tar: %v", err)
	}
	if _, err := NewReader(bytes.NewReader(nil)).Next(); err != io.EOF {
		t.Errorf("empty input: %v", err)
	}
}

// TestWriterMisuse proves the Writer refuses payloads that do not match the entry.
func TestWriterMisuse(t *testing.T) {
	w := NewWriter(io.Discard)
	if err := w.WriteEntry(Entry{PayloadSize: -1}); !errors.Is(err, ErrNegativeSize) {
		t.Fatal(err)
	}
	if err := w.WriteEntry(Entry{Name: "x", PayloadSize: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("abc")); !errors.Is(err, ErrWriteTooLong) {
		t.Fatal(err)
	}
	if err := w.WriteEntry(Entry{Name: "y"}); !errors.Is(err, ErrIncomplete) {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, ErrIncomplete) {
		t.Fatal(err)
	}
}

// TestRoundTrip proves any sequence of entries reads back as written, and that any
// cut of the bytes short of the end entry is noticed (ErrInvalid or a clean io.EOF
// before the end entry, never a wrong entry).
func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		type written struct {
			entry   Entry
			payload []byte
		}
		entries := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) written {
			header := rapid.SliceOfN(rapid.Byte(), 0, 20).Draw(t, "header")
			body := rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "body")
			return written{entry: Entry{
				Name:        rapid.StringN(1, 12, -1).Draw(t, "name"),
				Timestamp:   rapid.Int64().Draw(t, "timestamp"),
				Sequence:    rapid.Uint64().Draw(t, "sequence"),
				HeaderSize:  int64(len(header)),
				PayloadSize: int64(len(body)),
			}, payload: append(header, body...)}
		}), 0, 8).Draw(t, "entries")
		var buffer bytes.Buffer
		w := NewWriter(&buffer)
		for _, e := range entries {
			if err := w.WriteFull(e.entry, e.payload); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.WriteEnd(); err != nil {
			t.Fatal(err)
		}
		data := buffer.Bytes()
		cut := rapid.IntRange(0, len(data)).Draw(t, "cut")
		r := NewReader(bytes.NewReader(data[:cut]))
		for i := 0; ; i++ {
			entry, err := r.Next()
			if err != nil {
				if cut == len(data) {
					t.Fatalf("entry %d: %v", i, err)
				}
				if err != io.EOF && !errors.Is(err, ErrInvalid) {
					t.Fatalf("cut at %d: %v", cut, err)
				}
				return
			}
			if i == len(entries) {
				if !entry.IsEnd() {
					t.Fatalf("end entry %+v", entry)
				}
				if cut != len(data) {
					t.Fatalf("read the end entry from a cut at %d of %d", cut, len(data))
				}
				return
			}
			if entry != entries[i].entry {
				t.Fatalf("entry %d: %+v, want %+v", i, entry, entries[i].entry)
			}
			payload, err := r.Payload()
			if err != nil {
				if cut == len(data) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("payload %d: %v", i, err)
				}
				return
			}
			if !bytes.Equal(payload, entries[i].payload) {
				t.Fatalf("payload %d", i)
			}
		}
	})
}

// FuzzReader proves arbitrary bytes never panic the Reader.
func FuzzReader(f *testing.F) {
	data, _ := hex.DecodeString(referenceArchive)
	f.Add(data)
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, input []byte) {
		r := NewReader(bytes.NewReader(input))
		for range 64 {
			if _, err := r.Next(); err != nil {
				return
			}
			if _, err := r.Payload(); err != nil {
				return
			}
		}
	})
}
