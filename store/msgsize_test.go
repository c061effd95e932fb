package store

import "testing"

// TestMsgSizeByStorage proves each storage type counts a message as the reference's
// store of that type does: a memory record is the parts plus 16 bytes, a file record
// the parts plus 30, and 4 more for the header length when there are headers (the
// numbers nats-server v2.15.2 reports as stream bytes for the same messages).
func TestMsgSizeByStorage(t *testing.T) {
	header := []byte("NATS/1.0\r\nNats-TTL: 1s\r\n\r\n")
	cases := []struct {
		storage   StorageType
		subject   string
		hdr, msg  []byte
		wantBytes uint64
		reason    string
	}{
		{MemoryStorage, "fs.a", nil, []byte("x"), 4 + 1 + 16, "memory without headers"},
		{MemoryStorage, "fs.a", header, []byte("x"), 4 + uint64(len(header)) + 1 + 16, "memory with headers"},
		{FileStorage, "fs.a", nil, []byte("x"), 35, "file without headers (the reference's 35 for fs.a/x)"},
		{FileStorage, "ttl.a", header, []byte("x"), 5 + uint64(len(header)) + 1 + 34, "file with headers"},
		{FileStorage, "e", nil, nil, 31, "file, empty payload"},
		{0, "e", nil, nil, 17, "unset storage counts as memory"},
	}
	for _, c := range cases {
		if got := c.storage.MsgSize(c.subject, c.hdr, c.msg); got != c.wantBytes {
			t.Errorf("%s: MsgSize = %d, want %d", c.reason, got, c.wantBytes)
		}
	}
	if FileMsgSize("a", nil, []byte("bc")) != FileStorage.MsgSize("a", nil, []byte("bc")) {
		t.Error("FileMsgSize and FileStorage.MsgSize disagree")
	}
}
