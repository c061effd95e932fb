package thw

import (
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// second is one second in nanoseconds, for readable times.
const second = tickNanoseconds

// mustCheck fails the test when the wheel's invariants are broken.
func mustCheck(t *testing.T, w *HashWheel) {
	t.Helper()
	if err := w.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

// expireAll runs ExpireTasks removing everything due and returns what it offered.
func expireAll(w *HashWheel, now int64) []entry {
	var got []entry
	w.ExpireTasks(now, func(seq uint64, expires int64) bool {
		got = append(got, entry{seq, expires})
		return true
	})
	return got
}

// TestBasics proves Add, Remove and Count, and that Remove needs the exact expiration.
func TestBasics(t *testing.T) {
	w := NewHashWheel()
	for seq := range uint64(100) {
		w.Add(seq, epoch+int64(seq)*second)
	}
	if w.Count() != 100 {
		t.Fatalf("Count = %d", w.Count())
	}
	if err := w.Remove(5, epoch+5*second+1); !errors.Is(err, ErrTaskNotFound) {
		t.Fatalf("Remove at a wrong expiration in the right slot: %v", err)
	}
	if err := w.Remove(5, epoch+6*second); !errors.Is(err, ErrTaskNotFound) {
		t.Fatalf("Remove at a wrong slot: %v", err)
	}
	for seq := range uint64(100) {
		if err := w.Remove(seq, epoch+int64(seq)*second); err != nil {
			t.Fatalf("Remove(%d): %v", seq, err)
		}
	}
	if w.Count() != 0 || w.GetNextExpiration(math.MaxInt64) != math.MaxInt64 {
		t.Fatal("wheel not empty after removing everything")
	}
	mustCheck(t, w)
	var zero HashWheel
	if err := zero.Remove(1, 1); !errors.Is(err, ErrTaskNotFound) {
		t.Fatalf("Remove on the zero value: %v", err)
	}
	zero.ExpireTasks(math.MaxInt64, func(uint64, int64) bool { t.Fatal("callback on an empty wheel"); return true })
}

// TestUpdate proves that Update moves a task and refuses one that is not scheduled.
func TestUpdate(t *testing.T) {
	w := NewHashWheel()
	w.Add(1, epoch)
	if err := w.Update(1, epoch, epoch+10*second); err != nil {
		t.Fatal(err)
	}
	if got := expireAll(w, epoch+9*second); len(got) != 0 {
		t.Fatalf("expired %v before the new time", got)
	}
	if got := expireAll(w, epoch+10*second); !slices.Equal(got, []entry{{1, epoch + 10*second}}) {
		t.Fatalf("expired %v", got)
	}
	if err := w.Update(1, epoch, epoch); !errors.Is(err, ErrTaskNotFound) {
		t.Fatalf("Update of an expired task: %v", err)
	}
	mustCheck(t, w)
}

// TestAddReplacesInSameSlot proves that adding a scheduled sequence again within the
// same slot replaces its expiration, and that the lowest expiration follows.
func TestAddReplacesInSameSlot(t *testing.T) {
	w := NewHashWheel()
	w.Add(7, epoch+100)
	w.Add(7, epoch+900)
	mustCheck(t, w)
	if w.Count() != 1 || w.GetNextExpiration(math.MaxInt64) != epoch+900 {
		t.Fatalf("Count %d next %d", w.Count(), w.GetNextExpiration(math.MaxInt64))
	}
	if err := w.Remove(7, epoch+100); !errors.Is(err, ErrTaskNotFound) {
		t.Fatalf("the replaced expiration is still removable: %v", err)
	}
}

// TestExpiration proves that ExpireTasks offers exactly the due tasks in order of
// expiration, removes those the callback accepts and keeps the others.
func TestExpiration(t *testing.T) {
	w := NewHashWheel()
	tasks := map[uint64]int64{
		1: epoch + 1*second,
		2: epoch + 2*second,
		3: epoch + 3*second,
		4: epoch + 2*second,
		5: epoch - 10*second,
	}
	for seq, expires := range tasks {
		w.Add(seq, expires)
	}
	var offered []uint64
	w.ExpireTasks(epoch+2*second, func(seq uint64, expires int64) bool {
		if expires != tasks[seq] {
			t.Fatalf("seq %d offered with %d, scheduled %d", seq, expires, tasks[seq])
		}
		offered = append(offered, seq)
		return seq != 4
	})
	if !slices.Equal(offered, []uint64{5, 1, 2, 4}) {
		t.Fatalf("offered %v", offered)
	}
	if w.Count() != 2 {
		t.Fatalf("Count = %d, want 2 (the kept task and the future one)", w.Count())
	}
	// The kept task is offered again.
	if got := expireAll(w, epoch+2*second); !slices.Equal(got, []entry{{4, epoch + 2*second}}) {
		t.Fatalf("second pass offered %v", got)
	}
	mustCheck(t, w)
}

// TestExpirationAcrossWrapAround proves that tasks more than one revolution ahead share
// slots with nearer ones but expire only when their own time comes, and that a now far
// past the lowest expiration (a long pause) expires everything due.
func TestExpirationAcrossWrapAround(t *testing.T) {
	w := NewHashWheel()
	revolution := int64(wheelSize) * second
	// start is the first nanosecond of slot 0 in the revolution holding epoch.
	start := (tick(epoch) &^ wheelMask) * second
	for r := range int64(5) {
		// Slot 0 in five revolutions, and the last slot just before each.
		w.Add(uint64(r), start+r*revolution)
		w.Add(uint64(100+r), start+r*revolution-second)
	}
	for r := range int64(5) {
		got := expireAll(w, start+r*revolution)
		want := []entry{{uint64(100 + r), start + r*revolution - second}, {uint64(r), start + r*revolution}}
		if !slices.Equal(got, want) {
			t.Fatalf("revolution %d: expired %v, want %v", r, got, want)
		}
		mustCheck(t, w)
	}
	for r := range int64(5) {
		w.Add(uint64(r), start+r*revolution+second)
	}
	if w.Count() != 5 {
		t.Fatalf("Count = %d, want 5", w.Count())
	}
	if got := expireAll(w, epoch+100*revolution); len(got) != 5 || w.Count() != 0 {
		t.Fatalf("a long pause expired %d, left %d", len(got), w.Count())
	}
}

// TestNegativeTimes proves that times before 1970 map to slots by rounding down, so a
// task at -1ns is due at -1ns and not at -2ns.
func TestNegativeTimes(t *testing.T) {
	w := NewHashWheel()
	w.Add(1, -1)
	w.Add(2, -second)
	w.Add(3, -second-1)
	mustCheck(t, w)
	if got := expireAll(w, -2); !slices.Equal(got, []entry{{3, -second - 1}, {2, -second}}) {
		t.Fatalf("expired %v", got)
	}
	if got := expireAll(w, -1); !slices.Equal(got, []entry{{1, -1}}) {
		t.Fatalf("expired %v", got)
	}
	w.Add(4, math.MinInt64)
	w.Add(5, math.MaxInt64)
	if got := expireAll(w, math.MaxInt64); len(got) != 2 {
		t.Fatalf("extreme times expired %v", got)
	}
}

// TestNextExpiration proves GetNextExpiration, including after the earliest task is
// removed and with a bound that excludes it.
func TestNextExpiration(t *testing.T) {
	w := NewHashWheel()
	if w.GetNextExpiration(math.MaxInt64) != math.MaxInt64 {
		t.Fatal("empty wheel has a next expiration")
	}
	for seq := range uint64(10) {
		w.Add(seq, epoch+int64(seq)*second)
	}
	if got := w.GetNextExpiration(epoch + 1); got != epoch {
		t.Fatalf("next = %d, want %d", got, epoch)
	}
	if got := w.GetNextExpiration(epoch); got != math.MaxInt64 {
		t.Fatalf("next before %d = %d, want none", epoch, got)
	}
	if err := w.Remove(0, epoch); err != nil {
		t.Fatal(err)
	}
	if got := w.GetNextExpiration(math.MaxInt64); got != epoch+second {
		t.Fatalf("next after removing the earliest = %d", got)
	}
	expireAll(w, epoch+5*second)
	if got := w.GetNextExpiration(math.MaxInt64); got != epoch+6*second {
		t.Fatalf("next after expiring = %d", got)
	}
}

// TestCallbackChangesWheel proves that a callback may remove a task due later in the
// same pass (it is then not offered), add a task (not offered in this pass), and that
// a nested ExpireTasks does nothing.
func TestCallbackChangesWheel(t *testing.T) {
	w := NewHashWheel()
	w.Add(1, epoch)
	w.Add(2, epoch+1)
	w.Add(3, epoch+2)
	var offered []uint64
	w.ExpireTasks(epoch+2, func(seq uint64, expires int64) bool {
		offered = append(offered, seq)
		if seq == 1 {
			if err := w.Remove(2, epoch+1); err != nil {
				t.Fatal(err)
			}
			w.Add(4, epoch)
			w.ExpireTasks(epoch+2, func(uint64, int64) bool { t.Fatal("nested ExpireTasks ran"); return true })
		}
		if seq == 3 {
			// Removing itself before returning true must not fail or double count.
			if err := w.Remove(3, expires); err != nil {
				t.Fatal(err)
			}
		}
		return true
	})
	if !slices.Equal(offered, []uint64{1, 3}) || w.Count() != 1 {
		t.Fatalf("offered %v, Count %d", offered, w.Count())
	}
	mustCheck(t, w)
	if got := expireAll(w, epoch); !slices.Equal(got, []entry{{4, epoch}}) {
		t.Fatalf("added task expired as %v", got)
	}
}

// TestCallbackDecodesEmptySnapshot proves that a callback replacing the wheel's
// contents with an empty snapshot ends the pass without offering stale tasks.
func TestCallbackDecodesEmptySnapshot(t *testing.T) {
	w := NewHashWheel()
	w.Add(1, epoch)
	w.Add(2, epoch)
	calls := 0
	w.ExpireTasks(epoch, func(uint64, int64) bool {
		calls++
		if _, err := w.Decode(NewHashWheel().Encode(0)); err != nil {
			t.Fatal(err)
		}
		return true
	})
	if calls != 1 || w.Count() != 0 {
		t.Fatalf("calls %d, Count %d", calls, w.Count())
	}
	mustCheck(t, w)
}

// TestRandomAgainstModel proves agreement with a map over a large seeded workload
// spanning several revolutions.
func TestRandomAgainstModel(t *testing.T) {
	random := rand.New(rand.NewPCG(7, 7))
	w, model := NewHashWheel(), map[uint64]int64{}
	now := epoch
	for seq := range uint64(50_000) {
		expires := now + random.Int64N(3*wheelSize)*second + random.Int64N(second)
		w.Add(seq, expires)
		model[seq] = expires
		if seq%7 == 0 {
			victim := random.Uint64N(seq + 1)
			if expires, ok := model[victim]; ok {
				if err := w.Remove(victim, expires); err != nil {
					t.Fatal(err)
				}
				delete(model, victim)
			}
		}
		if seq%1000 == 0 {
			now += random.Int64N(600) * second
			want := modelEntries(model, now)
			if got := expireAll(w, now); !slices.Equal(got, want) {
				t.Fatalf("at %d expired %d tasks, want %d", now, len(got), len(want))
			}
			for _, e := range want {
				delete(model, e.seq)
			}
		}
	}
	mustCheck(t, w)
	if w.Count() != uint64(len(model)) {
		t.Fatalf("Count = %d, model %d", w.Count(), len(model))
	}
}

// TestEncodeDecode proves round trips of empty and large wheels, determinism of the
// bytes, and that the high sequence comes back.
func TestEncodeDecode(t *testing.T) {
	random := rand.New(rand.NewPCG(9, 9))
	for _, count := range []int{0, 1, 10_000} {
		w := NewHashWheel()
		for i := range count {
			w.Add(uint64(i)*3, epoch+random.Int64N(10*wheelSize)*second-random.Int64N(second))
		}
		encoded := w.Encode(uint64(count) * 5)
		decoded := NewHashWheel()
		highSeq, err := decoded.Decode(encoded)
		if err != nil || highSeq != uint64(count)*5 {
			t.Fatalf("%d tasks: Decode = %d, %v", count, highSeq, err)
		}
		mustCheck(t, decoded)
		if !slices.Equal(decoded.Encode(highSeq), encoded) {
			t.Fatalf("%d tasks: re-encoding differs", count)
		}
		if got, want := expireAll(decoded, math.MaxInt64), expireAll(w, math.MaxInt64); !slices.Equal(got, want) {
			t.Fatalf("%d tasks: decoded wheel expires differently", count)
		}
	}
}

// referenceV1Vector is a version 1 snapshot in the reference server's layout: high
// sequence 42, tasks 7 at 1e9 ns and 9 at -2 ns.
const referenceV1Vector = "01" + "0200000000000000" + "2a00000000000000" +
	"80a8d6b907" + "07" + "03" + "09"

// TestDecodeVersion1 proves that the reference server's snapshot layout decodes.
func TestDecodeVersion1(t *testing.T) {
	vector, err := hex.DecodeString(referenceV1Vector)
	if err != nil {
		t.Fatal(err)
	}
	w := NewHashWheel()
	highSeq, err := w.Decode(vector)
	if err != nil || highSeq != 42 {
		t.Fatalf("Decode = %d, %v", highSeq, err)
	}
	if got := expireAll(w, math.MaxInt64); !slices.Equal(got, []entry{{9, -2}, {7, second}}) {
		t.Fatalf("decoded tasks %v", got)
	}
}

// TestDecodeErrors proves that truncated and inconsistent snapshots return errors and
// leave the wheel unchanged.
func TestDecodeErrors(t *testing.T) {
	w := NewHashWheel()
	for seq := range uint64(50) {
		w.Add(seq, epoch+int64(seq%5)*second)
	}
	good := w.Encode(77)
	v1, _ := hex.DecodeString(referenceV1Vector)
	duplicate := []byte{encodingVersion, 2, 0, 2, 5, 0, 5}
	overflow := []byte{encodingVersion, 2, 0, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 1, 2, 2}
	for _, test := range []struct {
		name  string
		input []byte
		want  error
	}{
		{"empty", nil, ErrBadEncoding},
		{"version", []byte{9, 0, 0}, ErrInvalidVersion},
		{"trailing", append(slices.Clone(good), 0), ErrBadEncoding},
		{"count too large", []byte{encodingVersion, 100, 0, 0, 0}, ErrBadEncoding},
		{"duplicate sequence", duplicate, ErrBadEncoding},
		{"delta overflow", overflow, ErrBadEncoding},
		{"v1 trailing", append(slices.Clone(v1), 1), ErrBadEncoding},
	} {
		target := NewHashWheel()
		target.Add(1, epoch)
		if _, err := target.Decode(test.input); !errors.Is(err, test.want) {
			t.Errorf("%s: err = %v, want %v", test.name, err, test.want)
		}
		if target.Count() != 1 {
			t.Errorf("%s: a failed Decode changed the wheel", test.name)
		}
	}
	for _, input := range [][]byte{good, v1} {
		for cut := range len(input) {
			if _, err := NewHashWheel().Decode(input[:cut]); err == nil {
				t.Fatalf("Decode of %d of %d bytes succeeded", cut, len(input))
			}
		}
	}
}
