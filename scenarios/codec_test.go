package scenarios

import (
	"bytes"
	"errors"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/natsim/natsim/sim"
	"github.com/natsim/natsim/sim/check"
)

// TestFrameReaderSplits proves frames reassemble exactly whatever the read boundaries.
func TestFrameReaderSplits(t *testing.T) {
	rnd := sim.NewStream(1, "frame-test")
	var stream []byte
	var want [][]byte
	for i := 0; i < 300; i++ {
		payload := make([]byte, rnd.Intn(100))
		rnd.Read(payload)
		want = append(want, payload)
		stream = appendFrame(stream, payload)
	}
	for trial := 0; trial < 50; trial++ {
		var r frameReader
		var got [][]byte
		rest := stream
		for len(rest) > 0 {
			n := 1 + rnd.Intn(min(len(rest), 64))
			if err := r.feed(rest[:n], func(p []byte) error {
				got = append(got, append([]byte(nil), p...))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if len(got) != len(want) {
			t.Fatalf("got %d frames, want %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("frame %d differs", i)
			}
		}
	}
}

// TestFrameReaderRejectsOversize proves a huge length prefix is refused, not buffered.
func TestFrameReaderRejectsOversize(t *testing.T) {
	var r frameReader
	err := r.feed([]byte{0xff, 0xff, 0xff, 0xff, 1, 2}, func([]byte) error { return nil })
	if !errors.Is(err, errFrameTooLarge) {
		t.Fatalf("got %v", err)
	}
}

// TestRegisterSlotDetectsCorruption proves a slot round-trips and that every single
// bit flip in it is detected.
func TestRegisterSlotDetectsCorruption(t *testing.T) {
	slot := registerSlot{sequence: 42, tag: registerTag{counter: 7, writer: 3}, value: "c3-17"}
	encoded := slot.encode()
	decoded, ok := decodeRegisterSlot(encoded)
	if !ok || decoded != slot {
		t.Fatalf("round trip: %+v %v", decoded, ok)
	}
	for bit := 0; bit < len(encoded)*8; bit++ {
		damaged := append([]byte(nil), encoded...)
		damaged[bit/8] ^= 1 << (bit % 8)
		if got, ok := decodeRegisterSlot(damaged); ok {
			t.Fatalf("bit %d flipped undetected: %+v", bit, got)
		}
	}
	for n := 0; n < len(encoded); n++ {
		if _, ok := decodeRegisterSlot(encoded[:n]); ok {
			t.Fatalf("truncated slot of %d bytes accepted", n)
		}
	}
}

// TestRegisterMessageRoundTrip proves messages survive encoding and that malformed ones
// are refused.
func TestRegisterMessageRoundTrip(t *testing.T) {
	m := registerMessage{kind: messageStore, request: 9, tag: registerTag{counter: 5, writer: 2}, value: "v"}
	var r frameReader
	var got registerMessage
	if err := r.feed(m.appendTo(nil), func(p []byte) error {
		var err error
		got, err = decodeRegisterMessage(p)
		return err
	}); err != nil || got != m {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {messageQuery}, append([]byte{0}, make([]byte, 20)...), append([]byte{99}, make([]byte, 20)...)} {
		if _, err := decodeRegisterMessage(bad); err == nil {
			t.Fatalf("accepted %v", bad)
		}
	}
}

// FuzzRegisterDecoders proves the decoders never panic and that whatever decodes
// re-encodes to the same bytes.
func FuzzRegisterDecoders(f *testing.F) {
	f.Add(registerMessage{kind: messageQueryReply, request: 1, value: "x"}.appendTo(nil)[4:])
	f.Add(registerSlot{sequence: 1, value: "y"}.encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := decodeRegisterMessage(b); err == nil {
			if again := m.appendTo(nil)[4:]; !bytes.Equal(again, b) {
				t.Fatalf("message re-encodes differently")
			}
		}
		if s, ok := decodeRegisterSlot(b); ok {
			if again := s.encode(); !bytes.Equal(again, b[:len(again)]) {
				t.Fatalf("slot re-encodes differently")
			}
		}
		var r frameReader
		_ = r.feed(b, func([]byte) error { return nil })
	})
}

// TestPrunePending proves only pending operations that cannot matter are dropped: reads
// without a return, and writes without a return whose value nobody read.
func TestPrunePending(t *testing.T) {
	write := func(v string, ret int64) porcupine.Operation {
		op := porcupine.Operation{Input: check.RegisterInput{Operation: check.RegisterWrite, Value: v}, Call: 1, Return: ret}
		if ret != check.Infinity {
			op.Output = check.RegisterOutput{}
		}
		return op
	}
	read := func(v string, ret int64) porcupine.Operation {
		op := porcupine.Operation{Input: check.RegisterInput{Operation: check.RegisterRead}, Call: 1, Return: ret}
		if ret != check.Infinity {
			op.Output = check.RegisterOutput{Value: v}
		}
		return op
	}
	ops := []porcupine.Operation{
		write("a", 2), write("b", check.Infinity), write("c", check.Infinity),
		read("b", 5), read("", check.Infinity),
	}
	kept := prunePending(ops)
	if len(kept) != 3 {
		t.Fatalf("kept %d operations, want 3 (a, b, the read of b)", len(kept))
	}
	for _, op := range kept {
		if in := op.Input.(check.RegisterInput); in.Operation == check.RegisterWrite && in.Value == "c" {
			t.Fatalf("kept the unobserved pending write")
		}
	}
}
