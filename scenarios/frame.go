package scenarios

import (
	"encoding/binary"
	"errors"
)

// frameBytesMax bounds one frame's payload: a peer announcing more is broken and its
// connection is dropped rather than buffered without end.
const frameBytesMax = 4096

// errFrameTooLarge: a frame announced more than frameBytesMax bytes.
var errFrameTooLarge = errors.New("scenarios: frame too large")

// appendFrame appends payload with its 4-byte big-endian length prefix.
func appendFrame(dst, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// frameReader reassembles length-prefixed frames from reads split at arbitrary places.
type frameReader struct {
	pending []byte
}

// feed consumes b and calls each for every complete frame's payload (valid during the
// call only). It stops at the first error of each, or at an oversized frame.
func (r *frameReader) feed(b []byte, each func(payload []byte) error) error {
	data := b
	if len(r.pending) > 0 {
		r.pending = append(r.pending, b...)
		data = r.pending
	}
	for {
		if len(data) < 4 {
			break
		}
		size := binary.BigEndian.Uint32(data)
		if size > frameBytesMax {
			r.pending = nil
			return errFrameTooLarge
		}
		if uint32(len(data)-4) < size {
			break
		}
		if err := each(data[4 : 4+size]); err != nil {
			r.pending = nil
			return err
		}
		data = data[4+size:]
	}
	r.pending = append(r.pending[:0], data...)
	return nil
}
