// Package jsarchive is the entry format of JetStream stream backups as nats-server
// 2.15 writes them (its "NATSARC1" archive, sent s2-compressed in snapshot chunks
// and saved by natscli as stream.arc.s2). It owns the framing only: what the
// entries mean (state.json, consumers/<name>, one entry per message, the empty
// end-of-backup entry) is the JetStream layer's. It imports only the standard
// library.
//
// On the wire the magic comes once, then each entry is: the name's length
// (uvarint), the timestamp (varint), the sequence (uvarint), the header size
// (uvarint), the payload size (uvarint), the name, then header size + payload size
// bytes.
package jsarchive

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Magic opens every archive.
const Magic = "NATSARC1"

// Bounds on what a Reader accepts, so that a corrupt or hostile archive cannot make
// it allocate without limit.
const (
	// NameBytesMax bounds an entry name (a subject or a consumer entry name).
	NameBytesMax = 1 << 20
	// EntryBytesMax bounds one entry's header and payload together.
	EntryBytesMax = 1 << 30
)

// Errors a Reader returns; the strings are the reference's.
var (
	// ErrInvalid: the bytes are not an archive, or an entry is cut short or
	// exceeds the bounds.
	ErrInvalid = errors.New("archive: invalid archive stream")
	// ErrNotArchive: the bytes do not start with Magic (another format, such as
	// the tar of servers before 2.15). It is an ErrInvalid.
	ErrNotArchive = fmt.Errorf("%w: no %s magic", ErrInvalid, Magic)
	// ErrNegativeSize: a header or payload size is negative.
	ErrNegativeSize = errors.New("archive: negative entry size")
	// ErrWriteTooLong: more payload was written than the header declared.
	ErrWriteTooLong = errors.New("archive: write exceeds declared entry size")
	// ErrIncomplete: a new entry or Close came before the payload was complete.
	ErrIncomplete = errors.New("archive: entry not fully written")
)

// Entry describes one archive entry. For a message, Name is its subject and the
// payload is the message header (HeaderSize bytes) followed by its body
// (PayloadSize bytes); other entries carry only a payload. Sequence 0 means unset.
type Entry struct {
	Name        string
	Timestamp   int64
	Sequence    uint64
	HeaderSize  int64
	PayloadSize int64
}

// IsEnd reports whether e is the end-of-backup entry: every field zero.
func (e *Entry) IsEnd() bool {
	return e.Name == "" && e.Timestamp == 0 && e.Sequence == 0 && e.HeaderSize == 0 && e.PayloadSize == 0
}

// Writer writes entries to an io.Writer.
type Writer struct {
	w          io.Writer
	wroteMagic bool
	remaining  int64
	scratch    [5 * binary.MaxVarintLen64]byte
}

// NewWriter returns a Writer over w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteEntry starts an entry; its payload follows through Write.
func (a *Writer) WriteEntry(e Entry) error {
	if e.HeaderSize < 0 || e.PayloadSize < 0 || e.HeaderSize+e.PayloadSize < 0 {
		return ErrNegativeSize
	}
	if a.remaining > 0 {
		return ErrIncomplete
	}
	if !a.wroteMagic {
		if _, err := io.WriteString(a.w, Magic); err != nil {
			return err
		}
		a.wroteMagic = true
	}
	fields := binary.AppendUvarint(a.scratch[:0], uint64(len(e.Name)))
	fields = binary.AppendVarint(fields, e.Timestamp)
	fields = binary.AppendUvarint(fields, e.Sequence)
	fields = binary.AppendUvarint(fields, uint64(e.HeaderSize))
	fields = binary.AppendUvarint(fields, uint64(e.PayloadSize))
	if _, err := a.w.Write(fields); err != nil {
		return err
	}
	if _, err := io.WriteString(a.w, e.Name); err != nil {
		return err
	}
	a.remaining = e.HeaderSize + e.PayloadSize
	return nil
}

// Write writes payload bytes of the current entry.
func (a *Writer) Write(p []byte) (int, error) {
	if int64(len(p)) > a.remaining {
		return 0, ErrWriteTooLong
	}
	n, err := a.w.Write(p)
	a.remaining -= int64(n)
	return n, err
}

// WriteFull writes an entry and its whole payload.
func (a *Writer) WriteFull(e Entry, payload []byte) error {
	if err := a.WriteEntry(e); err != nil {
		return err
	}
	if int64(len(payload)) != e.HeaderSize+e.PayloadSize {
		return ErrIncomplete
	}
	_, err := a.Write(payload)
	return err
}

// WriteEnd writes the end-of-backup entry. A reader that reaches the end of the
// bytes without it knows the backup was truncated.
func (a *Writer) WriteEnd() error { return a.WriteEntry(Entry{}) }

// Close reports an entry left incomplete; it does not close the underlying writer.
func (a *Writer) Close() error {
	if a.remaining > 0 {
		return ErrIncomplete
	}
	return nil
}

// Reader reads entries from an io.Reader.
type Reader struct {
	r         *bufio.Reader
	remaining int64
	seenMagic bool
	err       error
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReader(r)} }

// Next skips what is left of the current entry and returns the next one. It
// returns io.EOF only when the bytes end cleanly between entries (or are empty).
func (u *Reader) Next() (Entry, error) {
	if u.err != nil {
		return Entry{}, u.err
	}
	entry, err := u.next()
	if err != nil {
		u.err = err
	}
	return entry, err
}

func (u *Reader) next() (Entry, error) {
	if u.remaining > 0 {
		if _, err := io.CopyN(io.Discard, u.r, u.remaining); err != nil {
			return Entry{}, truncated(err)
		}
		u.remaining = 0
	}
	if !u.seenMagic {
		var magic [len(Magic)]byte
		if _, err := io.ReadFull(u.r, magic[:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return Entry{}, ErrInvalid
			}
			return Entry{}, err
		}
		if string(magic[:]) != Magic {
			return Entry{}, ErrNotArchive
		}
		u.seenMagic = true
	}
	nameBytes, err := binary.ReadUvarint(u.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Entry{}, io.EOF
		}
		return Entry{}, truncated(err)
	}
	timestamp, err := binary.ReadVarint(u.r)
	if err != nil {
		return Entry{}, truncated(err)
	}
	var sizes [3]uint64
	for i := range sizes {
		if sizes[i], err = binary.ReadUvarint(u.r); err != nil {
			return Entry{}, truncated(err)
		}
	}
	sequence, headerSize, payloadSize := sizes[0], int64(sizes[1]), int64(sizes[2])
	if headerSize < 0 || payloadSize < 0 || headerSize+payloadSize < 0 {
		return Entry{}, ErrNegativeSize
	}
	if nameBytes > NameBytesMax || headerSize+payloadSize > EntryBytesMax {
		return Entry{}, ErrInvalid
	}
	name := make([]byte, nameBytes)
	if _, err := io.ReadFull(u.r, name); err != nil {
		return Entry{}, truncated(err)
	}
	u.remaining = headerSize + payloadSize
	return Entry{Name: string(name), Timestamp: timestamp, Sequence: sequence, HeaderSize: headerSize, PayloadSize: payloadSize}, nil
}

// Read reads payload bytes of the current entry; io.EOF ends the payload.
func (u *Reader) Read(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	if u.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > u.remaining {
		p = p[:u.remaining]
	}
	n, err := u.r.Read(p)
	u.remaining -= int64(n)
	if err != nil {
		u.err = truncated(err)
		return n, u.err
	}
	return n, nil
}

// Payload reads the whole payload of the current entry. The buffer grows with the
// bytes actually read, so a declared size larger than the input costs nothing.
func (u *Reader) Payload() ([]byte, error) {
	want := u.remaining
	payload, err := io.ReadAll(io.LimitReader(u, want))
	if err != nil {
		return nil, truncated(err)
	}
	if int64(len(payload)) != want {
		return nil, ErrInvalid
	}
	return payload, nil
}

// truncated maps the end of the bytes inside an entry to ErrInvalid and keeps
// other errors (the underlying reader's, a decompressor's).
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrInvalid
	}
	if errors.Is(err, errVarintOverflow) {
		return ErrInvalid
	}
	return err
}

// errVarintOverflow is encoding/binary's (unexported) error for a varint longer
// than 64 bits, obtained once from a too-long varint.
var errVarintOverflow = func() error {
	_, err := binary.ReadUvarint(bytes.NewReader(bytes.Repeat([]byte{0xff}, binary.MaxVarintLen64+1)))
	return err
}()
