package websocket

import (
	"errors"
	"fmt"
)

// ErrMessageTooBig: a compressed message longer than the decoder's bound.
var ErrMessageTooBig = errors.New("websocket: message too big")

// ErrUnexpectedContinuation: a continuation frame with no message in progress.
var ErrUnexpectedContinuation = errors.New("websocket: unexpected continuation frame")

// ErrExpectedContinuation: a new data message started before the previous one ended.
var ErrExpectedContinuation = errors.New("websocket: new message started before final frame for previous message was received")

// ErrCompressionNotNegotiated: a compressed frame on a connection that did not
// negotiate permessage-deflate.
var ErrCompressionNotNegotiated = errors.New("websocket: compressed frame without negotiated compression")

// unmaskChunkBytes is the size of the scratch buffer data is unmasked into before it
// is handed on, so one huge frame never needs a buffer of its own size.
const unmaskChunkBytes = 32 * 1024

// Sink receives what a Decoder finds in the stream. Slices are only valid during the
// call.
type Sink interface {
	// Data receives the unmasked payload of uncompressed data frames, in order, as it
	// arrives (a frame may come in several calls).
	Data(b []byte) error
	// CompressedMessage receives the whole payload of a compressed message, its
	// fragments joined, still deflated (see Inflate).
	CompressedMessage(b []byte) error
	// Control receives one complete control frame.
	Control(opcode byte, payload []byte) error
}

// Decoder reads the frames a client sends: masked, possibly fragmented, possibly
// compressed, with control frames between fragments. It keeps only a partial header,
// a partial control payload and a compressed message in progress, all bounded.
type Decoder struct {
	// CompressionAllowed accepts RSV1 (permessage-deflate was negotiated).
	CompressionAllowed bool
	// MaskOptional accepts unmasked frames (the reference does so only for leaf nodes
	// that asked for it); client connections leave it false.
	MaskOptional bool
	// CompressedBytesMax bounds a compressed message held for inflation.
	CompressedBytesMax int

	header       [HeaderBytesMax]byte
	headerLength int
	inFrame      bool
	frame        Header
	offset       uint64
	inMessage    bool
	compressed   bool
	message      []byte
	control      []byte
	scratch      []byte
}

// Feed decodes b, calling sink for what it completes. An error ends the stream: the
// caller closes the connection (with status 1002 for protocol errors).
func (d *Decoder) Feed(b []byte, sink Sink) error {
	for len(b) > 0 {
		if !d.inFrame {
			consumed, err := d.readHeader(b)
			if err != nil {
				return err
			}
			b = b[consumed:]
			if !d.inFrame {
				return nil
			}
			if d.frame.PayloadBytes == 0 {
				if err := d.endFrame(sink); err != nil {
					return err
				}
			}
			continue
		}
		remaining := d.frame.PayloadBytes - d.offset
		n := len(b)
		if uint64(n) > remaining {
			n = int(remaining)
		}
		if err := d.payload(b[:n], sink); err != nil {
			return err
		}
		b = b[n:]
		if d.offset == d.frame.PayloadBytes {
			if err := d.endFrame(sink); err != nil {
				return err
			}
		}
	}
	return nil
}

// readHeader gathers header bytes from b, across calls when a header is split, and
// starts the frame once it is whole. It returns the bytes of b it consumed.
func (d *Decoder) readHeader(b []byte) (int, error) {
	take := min(len(b), HeaderBytesMax-d.headerLength)
	copy(d.header[d.headerLength:], b[:take])
	available := d.headerLength + take
	header, length, err := ParseHeader(d.header[:available])
	if errors.Is(err, ErrIncomplete) {
		d.headerLength = available
		return take, nil
	}
	if err != nil {
		return 0, err
	}
	consumed := length - d.headerLength
	d.headerLength = 0
	if err := d.startFrame(header); err != nil {
		return 0, err
	}
	return consumed, nil
}

// startFrame checks a frame against the message state.
func (d *Decoder) startFrame(h Header) error {
	if !h.Masked && !d.MaskOptional {
		return ErrMaskMissing
	}
	if IsControl(h.Opcode) {
		if h.Compressed {
			return ErrReservedBits
		}
	} else {
		switch {
		case h.Opcode == OpContinuation && !d.inMessage:
			return ErrUnexpectedContinuation
		case h.Opcode != OpContinuation && d.inMessage:
			return ErrExpectedContinuation
		case h.Compressed && (h.Opcode == OpContinuation || !d.CompressionAllowed):
			if !d.CompressionAllowed {
				return ErrCompressionNotNegotiated
			}
			return ErrReservedBits
		}
		if h.Opcode != OpContinuation {
			d.inMessage = true
			d.compressed = h.Compressed
		}
		if d.compressed && d.CompressedBytesMax > 0 && uint64(len(d.message))+h.PayloadBytes > uint64(d.CompressedBytesMax) {
			return fmt.Errorf("%w: over %d bytes", ErrMessageTooBig, d.CompressedBytesMax)
		}
	}
	d.frame = h
	d.offset = 0
	d.inFrame = true
	return nil
}

// payload unmasks part of the current frame's payload and routes it.
func (d *Decoder) payload(b []byte, sink Sink) error {
	for len(b) > 0 {
		n := min(len(b), unmaskChunkBytes)
		chunk := append(d.scratch[:0], b[:n]...)
		d.scratch = chunk[:0]
		if d.frame.Masked {
			ApplyMask(d.frame.Mask, d.offset, chunk)
		}
		d.offset += uint64(n)
		b = b[n:]
		switch {
		case IsControl(d.frame.Opcode):
			d.control = append(d.control, chunk...)
		case d.compressed:
			d.message = append(d.message, chunk...)
		default:
			if err := sink.Data(chunk); err != nil {
				return err
			}
		}
	}
	return nil
}

// endFrame finishes the current frame: a control frame or a compressed message is
// handed on whole.
func (d *Decoder) endFrame(sink Sink) error {
	d.inFrame = false
	if IsControl(d.frame.Opcode) {
		payload := d.control
		d.control = d.control[:0]
		return sink.Control(d.frame.Opcode, payload)
	}
	if !d.frame.Final {
		return nil
	}
	d.inMessage = false
	if !d.compressed {
		return nil
	}
	d.compressed = false
	message := d.message
	d.message = d.message[:0]
	err := sink.CompressedMessage(message)
	if cap(d.message) > unmaskChunkBytes*8 {
		// A huge message's buffer is not kept for the life of the connection.
		d.message = nil
	}
	return err
}
