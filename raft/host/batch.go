package host

import (
	"encoding/binary"
	"errors"
	"fmt"

	pb "github.com/natsim/natsim/raft/raftpb"
)

// Heartbeat is one group's coalesced heartbeat (leader to follower: Term and Commit)
// or heartbeat response (follower to leader: Term).
type Heartbeat struct {
	GroupID uint64
	Term    uint64
	Commit  uint64
}

// Batch is everything one node sends another in one Ready: raft messages of any group,
// plus the coalesced heartbeats and heartbeat responses of every group the pair
// shares.
type Batch struct {
	From, To           uint64
	Heartbeats         []Heartbeat
	HeartbeatResponses []Heartbeat
	Messages           []pb.Message
}

// Limits of a decoded batch: input beyond them is refused.
const (
	// BatchHeartbeatsMax bounds the heartbeats (and the responses) of one batch.
	BatchHeartbeatsMax = 1 << 20
	// BatchMessagesMax bounds the messages of one batch.
	BatchMessagesMax = 1 << 16
	// batchMessageBytesMax bounds one encoded message.
	batchMessageBytesMax = 256 << 20
)

// ErrMalformedBatch: a batch's encoding is truncated, oversized or otherwise invalid.
var ErrMalformedBatch = errors.New("host: malformed batch")

// Encode appends the batch's encoding to dst: From, To, the heartbeats as varint
// triples, the responses as pairs, then each message's raftpb encoding (checksummed)
// with its length.
func (b *Batch) Encode(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, b.From)
	dst = binary.AppendUvarint(dst, b.To)
	dst = binary.AppendUvarint(dst, uint64(len(b.Heartbeats)))
	for _, hb := range b.Heartbeats {
		dst = binary.AppendUvarint(dst, hb.GroupID)
		dst = binary.AppendUvarint(dst, hb.Term)
		dst = binary.AppendUvarint(dst, hb.Commit)
	}
	dst = binary.AppendUvarint(dst, uint64(len(b.HeartbeatResponses)))
	for _, hb := range b.HeartbeatResponses {
		dst = binary.AppendUvarint(dst, hb.GroupID)
		dst = binary.AppendUvarint(dst, hb.Term)
	}
	dst = binary.AppendUvarint(dst, uint64(len(b.Messages)))
	for i := range b.Messages {
		encoded := pb.EncodeMessage(&b.Messages[i])
		dst = binary.AppendUvarint(dst, uint64(len(encoded)))
		dst = append(dst, encoded...)
	}
	return dst
}

// DecodeBatch decodes a batch encoded by Encode. Hostile input is an error, never a
// panic; every message must come from the batch's sender to its receiver.
func DecodeBatch(data []byte) (*Batch, error) {
	var failure error
	next := func() uint64 {
		if failure != nil {
			return 0
		}
		v, n := binary.Uvarint(data)
		if n <= 0 {
			failure = fmt.Errorf("%w: bad varint", ErrMalformedBatch)
			return 0
		}
		data = data[n:]
		return v
	}
	count := func(limit uint64, minBytes int) int {
		n := next()
		if failure == nil && (n > limit || n*uint64(minBytes) > uint64(len(data))) {
			failure = fmt.Errorf("%w: count %d", ErrMalformedBatch, n)
			return 0
		}
		return int(n)
	}
	b := &Batch{From: next(), To: next()}
	if n := count(BatchHeartbeatsMax, 3); n > 0 {
		b.Heartbeats = make([]Heartbeat, n)
		for i := range b.Heartbeats {
			b.Heartbeats[i] = Heartbeat{GroupID: next(), Term: next(), Commit: next()}
		}
	}
	if n := count(BatchHeartbeatsMax, 2); n > 0 {
		b.HeartbeatResponses = make([]Heartbeat, n)
		for i := range b.HeartbeatResponses {
			b.HeartbeatResponses[i] = Heartbeat{GroupID: next(), Term: next()}
		}
	}
	n := count(BatchMessagesMax, 1)
	for i := 0; i < n && failure == nil; i++ {
		size := next()
		if failure != nil {
			break
		}
		if size > batchMessageBytesMax || size > uint64(len(data)) {
			failure = fmt.Errorf("%w: message of %d bytes", ErrMalformedBatch, size)
			break
		}
		m, err := pb.DecodeMessage(data[:size])
		if err != nil {
			failure = fmt.Errorf("%w: %v", ErrMalformedBatch, err)
			break
		}
		if m.From != b.From || m.To != b.To {
			failure = fmt.Errorf("%w: message %d->%d in batch %d->%d", ErrMalformedBatch, m.From, m.To, b.From, b.To)
			break
		}
		data = data[size:]
		b.Messages = append(b.Messages, m)
	}
	if failure == nil && len(data) != 0 {
		failure = fmt.Errorf("%w: %d trailing bytes", ErrMalformedBatch, len(data))
	}
	if failure != nil {
		return nil, failure
	}
	return b, nil
}
