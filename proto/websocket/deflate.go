package websocket

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
)

// deflateTrailer is the empty stored block a sender strips from the end of each
// compressed message (RFC 7692 7.2.1); the receiver puts it back. The extra final
// empty block after it lets the inflater end cleanly.
var deflateTrailer = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// ErrInflatedTooBig: a compressed message that inflates past the caller's bound.
var ErrInflatedTooBig = errors.New("websocket: inflated message too big")

// Inflate appends the inflated form of one permessage-deflate message (without
// context takeover) to dst, refusing to produce more than bytesMax bytes.
func Inflate(dst, compressed []byte, bytesMax int) ([]byte, error) {
	source := io.MultiReader(bytes.NewReader(compressed), bytes.NewReader(deflateTrailer))
	reader := flate.NewReader(source)
	defer func() { _ = reader.Close() }()
	limited := io.LimitReader(reader, int64(bytesMax)+1)
	start := len(dst)
	buffer := bytes.NewBuffer(dst)
	if _, err := buffer.ReadFrom(limited); err != nil {
		return dst, fmt.Errorf("websocket: inflate: %w", err)
	}
	out := buffer.Bytes()
	if len(out)-start > bytesMax {
		return dst, ErrInflatedTooBig
	}
	return out, nil
}

// Compressor deflates server messages for permessage-deflate without context
// takeover. It keeps its flate state between calls to save allocations only.
type Compressor struct {
	writer *flate.Writer
	buffer bytes.Buffer
}

// Deflate appends the compressed form of payload, without the 4-byte trailer, to dst.
func (c *Compressor) Deflate(dst, payload []byte) ([]byte, error) {
	c.buffer.Reset()
	if c.writer == nil {
		writer, err := flate.NewWriter(&c.buffer, flate.BestSpeed)
		if err != nil {
			return dst, err
		}
		c.writer = writer
	} else {
		c.writer.Reset(&c.buffer)
	}
	if _, err := c.writer.Write(payload); err != nil {
		return dst, err
	}
	if err := c.writer.Flush(); err != nil {
		return dst, err
	}
	out := c.buffer.Bytes()
	out = bytes.TrimSuffix(out, deflateTrailer[:4])
	return append(dst, out...), nil
}
