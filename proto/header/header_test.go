package header

import (
	"bytes"
	"errors"
	"testing"
)

// TestParseTable proves Parse reads status lines and fields as the reference writes
// them and refuses malformed blocks with the matching error.
func TestParseTable(t *testing.T) {
	cases := []struct {
		block       string
		status      int
		description string
		fields      [][2]string
		err         error
	}{
		{"NATS/1.0\r\n\r\n", 0, "", nil, nil},
		{"NATS/1.0 404 No Messages\r\n\r\n", 404, "No Messages", nil, nil},
		{"NATS/1.0 204\r\n\r\n", 204, "", nil, nil},
		{"NATS/1.0 409 Message Size Exceeds MaxBytes\r\nNats-Pending-Messages: 3\r\nNats-Pending-Bytes: 100\r\n\r\n",
			409, "Message Size Exceeds MaxBytes", [][2]string{{"Nats-Pending-Messages", "3"}, {"Nats-Pending-Bytes", "100"}}, nil},
		{"NATS/1.0\r\nNats-Msg-Id: abc\r\nNats-Msg-Id:  def \r\nX:\r\n\r\n", 0, "",
			[][2]string{{"Nats-Msg-Id", "abc"}, {"Nats-Msg-Id", "def"}, {"X", ""}}, nil},
		{"NATS/1.0\r\nKey: a: b\r\n\r\n", 0, "", [][2]string{{"Key", "a: b"}}, nil},
		{"NATS/1.0 503\r\n\r\n", 503, "", nil, nil},
		{"NATS/1.1\r\n\r\n", 0, "", nil, ErrNoVersion},
		{"HTTP/1.0\r\n\r\n", 0, "", nil, ErrNoVersion},
		{"NATS/1.0 40\r\n\r\n", 0, "", nil, ErrBadStatus},
		{"NATS/1.0 4044\r\n\r\n", 0, "", nil, ErrBadStatus},
		{"NATS/1.0 abc\r\n\r\n", 0, "", nil, ErrBadStatus},
		{"NATS/1.0 099\r\n\r\n", 0, "", nil, ErrBadStatus},
		{"NATS/1.0001\r\n\r\n", 0, "", nil, ErrNoVersion},
		{"NATS/1.0\r\n", 0, "", nil, ErrUnterminated},
		{"NATS/1.0\r\nA: b\r\n", 0, "", nil, ErrUnterminated},
		{"NATS/1.0", 0, "", nil, ErrUnterminated},
		{"NATS/1.0\r\nno colon\r\n\r\n", 0, "", nil, ErrBadField},
		{"NATS/1.0\r\n: empty key\r\n\r\n", 0, "", nil, ErrBadField},
		{"NATS/1.0\r\nBad Key: v\r\n\r\n", 0, "", nil, ErrBadField},
		{"NATS/1.0\r\n\r\npayload", 0, "", nil, ErrTrailingBytes},
	}
	for _, c := range cases {
		h, err := Parse([]byte(c.block))
		if !errors.Is(err, c.err) {
			t.Errorf("%q: error %v, want %v", c.block, err, c.err)
			continue
		}
		if err != nil {
			continue
		}
		if h.Status != c.status || string(h.Description) != c.description || len(h.Fields) != len(c.fields) {
			t.Errorf("%q: got %d %q %d fields", c.block, h.Status, h.Description, len(h.Fields))
			continue
		}
		for i, field := range c.fields {
			if string(h.Fields[i].Key) != field[0] || string(h.Fields[i].Value) != field[1] {
				t.Errorf("%q: field %d is %q: %q", c.block, i, h.Fields[i].Key, h.Fields[i].Value)
			}
		}
	}
}

// TestTooManyFields proves the field bound holds.
func TestTooManyFields(t *testing.T) {
	block := AppendStatus(nil, 0, "")
	for range FieldsMax + 1 {
		block = AppendField(block, "K", "v")
	}
	block = AppendEnd(block)
	if _, err := Parse(block); !errors.Is(err, ErrTooManyFields) {
		t.Fatalf("got %v", err)
	}
}

// TestBuildAndLookup proves Build writes the reference's bytes, Get and GetFold find
// values without parsing, never in the status line, and Set/Remove rewrite fields.
func TestBuildAndLookup(t *testing.T) {
	block := Build(408, "Request Timeout", "Nats-Pending-Messages", "5", "Nats-Pending-Bytes", "0")
	want := "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 5\r\nNats-Pending-Bytes: 0\r\n\r\n"
	if string(block) != want {
		t.Fatalf("built %q", block)
	}
	if string(Build(0, "", "A", "1")) != "NATS/1.0\r\nA: 1\r\n\r\n" || string(Build(0, "")) != Empty {
		t.Fatal("plain blocks")
	}
	if string(Build(204, "")) != "NATS/1.0 204\r\n\r\n" {
		t.Fatal("status without description")
	}
	if value, ok := Get(block, "Nats-Pending-Messages"); !ok || string(value) != "5" {
		t.Fatalf("Get: %q %v", value, ok)
	}
	if _, ok := Get(block, "nats-pending-messages"); ok {
		t.Fatal("Get is exact")
	}
	if value, ok := GetFold(block, "nats-pending-bytes"); !ok || string(value) != "0" {
		t.Fatal("GetFold")
	}
	if _, ok := Get(Build(0, "", "Nats-Msg-Id", "x"), "Nats-Msg"); ok {
		t.Fatal("a prefix of a key matched")
	}
	if _, ok := Get([]byte("NATS/1.0 100 Idle: Heartbeat\r\n\r\n"), "NATS/1.0 100 Idle"); ok {
		t.Fatal("matched the status line")
	}
	if code, description := Status(block); code != 408 || string(description) != "Request Timeout" {
		t.Fatal("Status")
	}
	if code, _ := Status([]byte("garbage")); code != 0 {
		t.Fatal("Status of garbage")
	}
	updated, err := Set(Build(0, "", "A", "1", "B", "2", "A", "3"), "A", "9")
	if err != nil || string(updated) != "NATS/1.0\r\nB: 2\r\nA: 9\r\n\r\n" {
		t.Fatalf("Set: %q %v", updated, err)
	}
	removed, err := Remove(Build(404, "No Messages", "A", "1", "B", "2"), "A")
	if err != nil || string(removed) != "NATS/1.0 404 No Messages\r\nB: 2\r\n\r\n" {
		t.Fatalf("Remove: %q %v", removed, err)
	}
	if _, err := Set([]byte("bad"), "A", "1"); err == nil {
		t.Fatal("Set of a bad block")
	}
	h, _ := Parse(Build(0, "", "A", "1", "A", "2"))
	if values := h.Values("A"); len(values) != 2 || string(values[1]) != "2" {
		t.Fatal("Values")
	}
	if value, ok := h.Get("A"); !ok || string(value) != "1" {
		t.Fatal("Header.Get")
	}
	if value := AppendIntField(nil, "N", -12); string(value) != "N: -12\r\n" {
		t.Fatal("AppendIntField")
	}
}

// TestGetDoesNotAllocate proves the lookup is zero-copy.
func TestGetDoesNotAllocate(t *testing.T) {
	block := Build(0, "", "Nats-Msg-Id", "abc", "Nats-Expected-Stream", "ORDERS")
	allocations := testing.AllocsPerRun(100, func() {
		if _, ok := Get(block, "Nats-Expected-Stream"); !ok {
			t.Fatal("missing")
		}
	})
	if allocations != 0 {
		t.Fatalf("%v allocations", allocations)
	}
}

// FuzzParse proves Parse never panics; that a block it accepts rebuilds (status,
// description and fields) into a block that parses to the same content; and that Get
// agrees with the parsed fields.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{Empty, "NATS/1.0 404 No Messages\r\n\r\n", "NATS/1.0\r\nA: b\r\nA: c\r\n\r\n",
		"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1\r\n\r\n", "NATS/1.0\r\n", "NATS/1.0 1\r\n\r\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, block []byte) {
		h, err := Parse(block)
		if err != nil {
			return
		}
		rebuilt := AppendStatus(nil, h.Status, string(h.Description))
		for _, field := range h.Fields {
			rebuilt = AppendField(rebuilt, string(field.Key), string(field.Value))
			first, ok := Get(block, string(field.Key))
			parsedFirst, _ := h.Get(string(field.Key))
			if !ok || !bytes.Equal(first, parsedFirst) {
				t.Fatalf("Get(%q) = %q %v, parsed %q", field.Key, first, ok, parsedFirst)
			}
		}
		again, err := Parse(AppendEnd(rebuilt))
		if err != nil {
			t.Fatalf("rebuilt %q: %v", rebuilt, err)
		}
		if again.Status != h.Status || !bytes.Equal(again.Description, h.Description) || len(again.Fields) != len(h.Fields) {
			t.Fatalf("rebuilt differs: %+v vs %+v", again, h)
		}
		for i := range h.Fields {
			if !bytes.Equal(again.Fields[i].Key, h.Fields[i].Key) || !bytes.Equal(again.Fields[i].Value, h.Fields[i].Value) {
				t.Fatalf("field %d differs", i)
			}
		}
	})
}

// BenchmarkGet measures a lookup of the last of four fields.
func BenchmarkGet(b *testing.B) {
	block := Build(0, "", "Nats-Msg-Id", "abc", "Nats-Expected-Stream", "ORDERS",
		"Nats-Expected-Last-Sequence", "10", "Nats-TTL", "5s")
	for b.Loop() {
		Get(block, "Nats-TTL")
	}
}
