package store_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/natsim/natsim/store"
	"github.com/natsim/natsim/store/memstore"
)

// FuzzConsumerState proves DecodeConsumerState never panics and that every state it
// accepts re-encodes to the same bytes.
func FuzzConsumerState(f *testing.F) {
	f.Add(store.EncodeConsumerState(&store.ConsumerState{}))
	f.Add(store.EncodeConsumerState(&store.ConsumerState{
		Delivered:   store.SequencePair{Consumer: 9, Stream: 20},
		AckFloor:    store.SequencePair{Consumer: 3, Stream: 10},
		Pending:     map[uint64]*store.Pending{12: {Sequence: 5, Timestamp: 77}, 15: {Sequence: 6, Timestamp: -1}},
		Redelivered: map[uint64]uint64{12: 2},
	}))
	f.Add([]byte("CS\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		state, err := store.DecodeConsumerState(data)
		if err != nil {
			return
		}
		again, err := store.DecodeConsumerState(store.EncodeConsumerState(state))
		if err != nil || !reflect.DeepEqual(again, state) {
			t.Fatalf("round trip: %+v vs %+v, %v", again, state, err)
		}
	})
}

// FuzzSnapshot proves RestoreSnapshot never panics on damaged input and restores only
// snapshots whose checksum holds.
func FuzzSnapshot(f *testing.F) {
	src, _ := memstore.New(store.StreamConfig{})
	for i := range 5 {
		_, _, _ = src.StoreMsg("s.x", []byte("h"), []byte{byte(i)}, int64(i), 0)
	}
	_, _ = src.RemoveMsg(3)
	var buf bytes.Buffer
	if err := store.WriteSnapshot(&buf, src); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("NSNP\x01\x01\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dst, _ := memstore.New(store.StreamConfig{})
		if err := store.RestoreSnapshot(dst, bytes.NewReader(data)); err != nil {
			return
		}
		var again bytes.Buffer
		if err := store.WriteSnapshot(&again, dst); err != nil {
			t.Fatal(err)
		}
	})
}
