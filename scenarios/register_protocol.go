package scenarios

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// The register's messages. Clients coordinate ABD operations: a query phase that asks
// every replica for its (tag, value) and waits for a majority, then a store phase that
// writes a (tag, value) to a majority. Replicas also query each other when they
// recover after a restart.
const (
	messageQuery        uint8 = iota + 1 // client -> replica: your (tag, value)?
	messageQueryReply                    // replica -> client
	messageStore                         // client -> replica: keep (tag, value) if newer
	messageStoreAck                      // replica -> client: durably at least that tag
	messageRecoverQuery                  // replica -> replica, answered even while recovering
	messageRecoverReply                  // replica -> replica
	messageKindLast     = messageRecoverReply
)

// registerValueBytesMax bounds a value, so that a state fits in one disk slot.
const registerValueBytesMax = 200

// registerTag orders writes: a counter, ties broken by the writer's id.
type registerTag struct {
	counter uint64
	writer  uint32
}

func (t registerTag) less(o registerTag) bool {
	if t.counter != o.counter {
		return t.counter < o.counter
	}
	return t.writer < o.writer
}

// registerMessage is one protocol message.
type registerMessage struct {
	kind    uint8
	request uint64
	tag     registerTag
	value   string
}

var errBadMessage = errors.New("scenarios: malformed register message")

// registerMessageHeaderBytes: kind, request, counter, writer.
const registerMessageHeaderBytes = 1 + 8 + 8 + 4

func (m registerMessage) appendTo(dst []byte) []byte {
	payload := make([]byte, 0, registerMessageHeaderBytes+len(m.value))
	payload = append(payload, m.kind)
	payload = binary.BigEndian.AppendUint64(payload, m.request)
	payload = binary.BigEndian.AppendUint64(payload, m.tag.counter)
	payload = binary.BigEndian.AppendUint32(payload, m.tag.writer)
	payload = append(payload, m.value...)
	return appendFrame(dst, payload)
}

func decodeRegisterMessage(payload []byte) (registerMessage, error) {
	if len(payload) < registerMessageHeaderBytes || len(payload)-registerMessageHeaderBytes > registerValueBytesMax {
		return registerMessage{}, errBadMessage
	}
	m := registerMessage{
		kind:    payload[0],
		request: binary.BigEndian.Uint64(payload[1:]),
		tag: registerTag{
			counter: binary.BigEndian.Uint64(payload[9:]),
			writer:  binary.BigEndian.Uint32(payload[17:]),
		},
		value: string(payload[registerMessageHeaderBytes:]),
	}
	if m.kind == 0 || m.kind > messageKindLast {
		return registerMessage{}, errBadMessage
	}
	return m, nil
}

// The replica's state file holds two slots; each write goes to the slot that does not
// hold the last durable state, so a torn or failed write never destroys it. A slot is
// magic, sequence, counter, writer, value length, value, then a CRC-32C of all that.
const (
	registerSlotBytes  = 512
	registerSlots      = 2
	registerSlotMagic  = 0x52454731 // "REG1"
	registerSlotHeader = 4 + 8 + 8 + 4 + 2
)

// A whole record fits in one slot, and a slot in one 512-byte sector, so that a slot
// write lands whole or not at all; the array length goes negative (a compile error) if
// a change breaks that.
var _ = [registerSlotBytes - (registerSlotHeader + registerValueBytesMax + 4)]struct{}{}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// registerSlot is one decoded slot.
type registerSlot struct {
	sequence uint64
	tag      registerTag
	value    string
}

func (s registerSlot) encode() []byte {
	b := make([]byte, 0, registerSlotBytes)
	b = binary.BigEndian.AppendUint32(b, registerSlotMagic)
	b = binary.BigEndian.AppendUint64(b, s.sequence)
	b = binary.BigEndian.AppendUint64(b, s.tag.counter)
	b = binary.BigEndian.AppendUint32(b, s.tag.writer)
	b = binary.BigEndian.AppendUint16(b, uint16(len(s.value)))
	b = append(b, s.value...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return b
}

// decodeRegisterSlot reports whether b holds an intact slot.
func decodeRegisterSlot(b []byte) (registerSlot, bool) {
	if len(b) < registerSlotHeader+4 || binary.BigEndian.Uint32(b) != registerSlotMagic {
		return registerSlot{}, false
	}
	size := int(binary.BigEndian.Uint16(b[24:]))
	end := registerSlotHeader + size
	if size > registerValueBytesMax || end+4 > len(b) {
		return registerSlot{}, false
	}
	if crc32.Checksum(b[:end], castagnoli) != binary.BigEndian.Uint32(b[end:]) {
		return registerSlot{}, false
	}
	return registerSlot{
		sequence: binary.BigEndian.Uint64(b[4:]),
		tag: registerTag{
			counter: binary.BigEndian.Uint64(b[12:]),
			writer:  binary.BigEndian.Uint32(b[20:]),
		},
		value: string(b[registerSlotHeader:end]),
	}, true
}
