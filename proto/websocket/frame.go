// Package websocket is the websocket wire format (RFC 6455) as a NATS server speaks
// it: frame headers, masking, close bodies, permessage-deflate payloads and the HTTP
// upgrade request and responses. Everything here is a pure function over bytes; the
// connection state lives in node/. It imports only the standard library.
package websocket

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"
)

// Opcodes of RFC 6455 section 5.2.
const (
	OpContinuation byte = 0
	OpText         byte = 1
	OpBinary       byte = 2
	OpClose        byte = 8
	OpPing         byte = 9
	OpPong         byte = 10
)

// Close status codes of RFC 6455 section 7.4.1, those the server sends or reads.
const (
	CloseNormal             = 1000
	CloseGoingAway          = 1001
	CloseProtocolError      = 1002
	CloseUnsupportedData    = 1003
	CloseNoStatusReceived   = 1005
	CloseInvalidPayloadData = 1007
	ClosePolicyViolation    = 1008
	CloseMessageTooBig      = 1009
	CloseInternalError      = 1011
	CloseTLSHandshake       = 1015
)

// Header bits of the first two bytes of a frame.
const (
	finalBit       = 0x80
	rsv1Bit        = 0x40
	rsv2Bit        = 0x20
	rsv3Bit        = 0x10
	opcodeBits     = 0x0f
	maskBit        = 0x80
	lengthBits     = 0x7f
	length16Marker = 126
	length64Marker = 127
)

// ControlPayloadBytesMax is the largest payload of a control frame (RFC 6455 5.5).
const ControlPayloadBytesMax = 125

// HeaderBytesMax is the longest frame header: 2 bytes, an 8-byte length, a 4-byte mask.
const HeaderBytesMax = 14

// Errors of frame decoding; the reference closes the connection with status 1002
// (protocol error) for each of them.
var (
	// ErrIncomplete: more bytes are needed to decode the header.
	ErrIncomplete = errors.New("websocket: incomplete frame header")
	// ErrReservedBits: RSV2 or RSV3 set, or RSV1 where no compression applies.
	ErrReservedBits = errors.New("websocket: reserved bits set")
	// ErrUnknownOpcode: an opcode RFC 6455 leaves reserved.
	ErrUnknownOpcode = errors.New("websocket: unknown opcode")
	// ErrMaskMissing: a client frame without the mask bit.
	ErrMaskMissing = errors.New("mask bit missing")
	// ErrControlTooLong: a control frame payload over 125 bytes.
	ErrControlTooLong = errors.New("control frame length bigger than maximum allowed of 125 bytes")
	// ErrControlFragmented: a control frame without the final bit.
	ErrControlFragmented = errors.New("control frame must not be fragmented")
	// ErrLengthTooLarge: a 64-bit length with the most significant bit set.
	ErrLengthTooLarge = errors.New("websocket: frame length too large")
	// ErrCloseBody: a close payload of one byte, or a reason that is not UTF-8.
	ErrCloseBody = errors.New("websocket: invalid close payload")
)

// Header is one decoded frame header.
type Header struct {
	// Final is the FIN bit: the last frame of a message.
	Final bool
	// Compressed is the RSV1 bit: the message is permessage-deflate compressed (set
	// on the first frame of a message only).
	Compressed bool
	// Opcode is the frame's opcode.
	Opcode byte
	// Masked tells whether Mask applies to the payload.
	Masked bool
	// Mask is the masking key of a client frame.
	Mask [4]byte
	// PayloadBytes is the payload length that follows the header.
	PayloadBytes uint64
}

// IsControl reports whether opcode is a control opcode (close, ping, pong).
func IsControl(opcode byte) bool { return opcode&0x08 != 0 }

// ParseHeader decodes the frame header at the start of b and returns it with its
// length in bytes. It returns ErrIncomplete when b holds only part of a header; other
// errors mean the frame is malformed. It checks what a header alone shows: known
// opcodes, RSV2/RSV3 clear, control frames final and short.
func ParseHeader(b []byte) (Header, int, error) {
	var h Header
	if len(b) < 2 {
		return h, 0, ErrIncomplete
	}
	first, second := b[0], b[1]
	h.Final = first&finalBit != 0
	h.Compressed = first&rsv1Bit != 0
	h.Opcode = first & opcodeBits
	h.Masked = second&maskBit != 0
	if first&(rsv2Bit|rsv3Bit) != 0 {
		return h, 0, ErrReservedBits
	}
	switch h.Opcode {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
	default:
		return h, 0, ErrUnknownOpcode
	}
	n := 2
	length := uint64(second & lengthBits)
	switch length {
	case length16Marker:
		if len(b) < n+2 {
			return h, 0, ErrIncomplete
		}
		length = uint64(binary.BigEndian.Uint16(b[n:]))
		n += 2
	case length64Marker:
		if len(b) < n+8 {
			return h, 0, ErrIncomplete
		}
		length = binary.BigEndian.Uint64(b[n:])
		n += 8
		if length&(1<<63) != 0 {
			return h, 0, ErrLengthTooLarge
		}
	}
	h.PayloadBytes = length
	if IsControl(h.Opcode) {
		if length > ControlPayloadBytesMax {
			return h, 0, ErrControlTooLong
		}
		if !h.Final {
			return h, 0, ErrControlFragmented
		}
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, ErrIncomplete
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// AppendHeader appends an unmasked frame header (the server's side) to dst.
func AppendHeader(dst []byte, final, compressed bool, opcode byte, payloadBytes int) []byte {
	first := opcode & opcodeBits
	if final {
		first |= finalBit
	}
	if compressed {
		first |= rsv1Bit
	}
	switch {
	case payloadBytes <= 125:
		return append(dst, first, byte(payloadBytes))
	case payloadBytes <= 0xffff:
		dst = append(dst, first, length16Marker)
		return binary.BigEndian.AppendUint16(dst, uint16(payloadBytes))
	default:
		dst = append(dst, first, length64Marker)
		return binary.BigEndian.AppendUint64(dst, uint64(payloadBytes))
	}
}

// AppendMaskedHeader appends a masked frame header (a client's side) to dst; tests
// and clients use it.
func AppendMaskedHeader(dst []byte, final, compressed bool, opcode byte, payloadBytes int, mask [4]byte) []byte {
	start := len(dst)
	dst = AppendHeader(dst, final, compressed, opcode, payloadBytes)
	dst[start+1] |= maskBit
	return append(dst, mask[:]...)
}

// ApplyMask XORs b with mask in place, b starting offset bytes into the payload; the
// same call masks and unmasks.
func ApplyMask(mask [4]byte, offset uint64, b []byte) {
	phase := int(offset & 3)
	for i := range b {
		b[i] ^= mask[(phase+i)&3]
	}
}

// AppendFrame appends one whole unmasked frame.
func AppendFrame(dst []byte, final, compressed bool, opcode byte, payload []byte) []byte {
	dst = AppendHeader(dst, final, compressed, opcode, len(payload))
	return append(dst, payload...)
}

// AppendClose appends an unmasked close frame with status and reason; a reason too
// long for a control frame is cut, keeping it valid UTF-8.
func AppendClose(dst []byte, status int, reason string) []byte {
	if status == CloseNoStatusReceived {
		return AppendHeader(dst, true, false, OpClose, 0)
	}
	if len(reason) > ControlPayloadBytesMax-2 {
		reason = reason[:ControlPayloadBytesMax-2]
		for len(reason) > 0 && !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	dst = AppendHeader(dst, true, false, OpClose, 2+len(reason))
	dst = binary.BigEndian.AppendUint16(dst, uint16(status))
	return append(dst, reason...)
}

// ParseClose decodes an unmasked close payload: an empty one is status 1005 (no
// status received), as RFC 6455 7.1.5 says.
func ParseClose(payload []byte) (status int, reason string, err error) {
	switch {
	case len(payload) == 0:
		return CloseNoStatusReceived, "", nil
	case len(payload) == 1:
		return 0, "", ErrCloseBody
	}
	status = int(binary.BigEndian.Uint16(payload))
	reason = string(payload[2:])
	if !utf8.ValidString(reason) {
		return 0, "", ErrCloseBody
	}
	return status, reason, nil
}
