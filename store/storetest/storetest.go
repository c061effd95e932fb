// Package storetest is the conformance suite every store.StreamStore and
// store.ConsumerStore implementation must pass: Run(t, factory) runs it.
//
// It imports store and the standard library (and testing) only.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/natsim/natsim/store"
)

// Factory builds stores for the suite.
type Factory struct {
	// New returns an empty store for cfg; the suite stops it at the end of the test.
	New func(t *testing.T, cfg store.StreamConfig) store.StreamStore
	// Reopen, when set, stops s and opens the same stream again with cfg: the suite then
	// checks that every state survives a clean restart.
	Reopen func(t *testing.T, s store.StreamStore, cfg store.StreamConfig) store.StreamStore
}

// second is one second in nanoseconds, the unit the suite's timestamps step in.
const second = int64(time.Second)

// Run runs the conformance suite.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"Basics", testBasics},
		{"LoadErrors", testLoadErrors},
		{"RemoveAndErase", testRemoveAndErase},
		{"MaxMsgsDiscardOld", testMaxMsgsDiscardOld},
		{"MaxBytesDiscardOld", testMaxBytesDiscardOld},
		{"DiscardNew", testDiscardNew},
		{"MaxMsgsPerSubject", testMaxMsgsPer},
		{"MaxMsgSize", testMaxMsgSize},
		{"Purge", testPurge},
		{"PurgeEx", testPurgeEx},
		{"Compact", testCompact},
		{"Truncate", testTruncate},
		{"LoadNextAndLast", testLoadNextAndLast},
		{"FilteredAndSubjects", testFilteredAndSubjects},
		{"NumPending", testNumPending},
		{"MultiLastSeqs", testMultiLastSeqs},
		{"Skip", testSkip},
		{"StoreRaw", testStoreRaw},
		{"MaxAge", testMaxAge},
		{"MessageTTL", testMessageTTL},
		{"FirstSeq", testFirstSeq},
		{"UpdateConfig", testUpdateConfig},
		{"InvalidSubject", testInvalidSubject},
		{"Stopped", testStopped},
		{"Snapshot", testSnapshot},
		{"ConsumerStore", testConsumerStore},
		{"StorageUpdates", testStorageUpdates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &harness{t: t, f: f}
			tc.run(t, h)
			if h.s != nil {
				h.checkReopen()
				_ = h.s.Stop()
			}
		})
	}
}

// harness holds the store under test and reopens it when the factory can.
type harness struct {
	t   *testing.T
	f   Factory
	s   store.StreamStore
	cfg store.StreamConfig
}

func (h *harness) open(cfg store.StreamConfig) store.StreamStore {
	if cfg.Name == "" {
		cfg.Name = "TEST"
	}
	h.cfg = cfg
	h.s = h.f.New(h.t, cfg)
	return h.s
}

// msgSize is the size the factory's stores count for a message (file and memory
// stores count as the reference's do, differently), learnt from a store opened for
// the purpose before the test opens its own.
func (h *harness) msgSize(subject string, hdr, msg []byte) uint64 {
	probe := h.f.New(h.t, store.StreamConfig{Name: "PROBE"})
	defer func() { _ = probe.Stop() }()
	return probe.Type().MsgSize(subject, hdr, msg)
}

// checkReopen reopens the store and requires the same state and messages.
func (h *harness) checkReopen() {
	if h.f.Reopen == nil {
		return
	}
	before := h.s.State()
	msgs := allMsgs(h.t, h.s)
	h.s = h.f.Reopen(h.t, h.s, h.cfg)
	after := h.s.State()
	after.Consumers, before.Consumers = 0, 0
	if !reflect.DeepEqual(before, after) {
		h.t.Fatalf("state changed across reopen:\nbefore %+v\nafter  %+v", before, after)
	}
	if got := allMsgs(h.t, h.s); !reflect.DeepEqual(msgs, got) {
		h.t.Fatalf("messages changed across reopen")
	}
}

func allMsgs(t *testing.T, s store.StreamStore) []store.StoreMsg {
	var out []store.StoreMsg
	for seq := uint64(0); ; {
		sm, next, err := s.LoadNextMsg("", false, seq, nil)
		if errors.Is(err, store.ErrStoreEOF) {
			return out
		}
		if err != nil {
			t.Fatalf("LoadNextMsg(%d): %v", seq, err)
		}
		sm.Buf = nil
		if len(sm.Msg) == 0 {
			sm.Msg = nil
		}
		out = append(out, *sm)
		seq = next + 1
	}
}

func (h *harness) store(subject, payload string, ts int64) uint64 {
	h.t.Helper()
	seq, _, err := h.s.StoreMsg(subject, nil, []byte(payload), ts, 0)
	if err != nil {
		h.t.Fatalf("StoreMsg(%q): %v", subject, err)
	}
	return seq
}

func (h *harness) wantState(msgs, first, last uint64) store.StreamState {
	h.t.Helper()
	state := h.s.State()
	if state.Msgs != msgs || state.FirstSeq != first || state.LastSeq != last {
		h.t.Fatalf("state msgs/first/last = %d/%d/%d, want %d/%d/%d", state.Msgs, state.FirstSeq, state.LastSeq, msgs, first, last)
	}
	return state
}

// fill stores n messages on subjects foo.0 .. foo.(mod-1) round robin.
func (h *harness) fill(n, mod int) {
	for i := range n {
		h.store(fmt.Sprintf("foo.%d", i%mod), fmt.Sprintf("msg-%d", i), int64(i+1)*second)
	}
}

// testBasics proves stored messages load back with their sequence, subject, headers,
// payload and timestamp, and that State counts them.
func testBasics(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{Subjects: []string{"foo.>"}})
	seq, ts, err := s.StoreMsg("foo.a", []byte("NATS/1.0\r\nA: b\r\n\r\n"), []byte("hello"), 10*second, 0)
	if err != nil || seq != 1 || ts != 10*second {
		t.Fatalf("StoreMsg = %d, %d, %v", seq, ts, err)
	}
	h.store("foo.b", "world", 11*second)
	h.store("foo.a", "", 12*second)
	state := h.wantState(3, 1, 3)
	if state.NumSubjects != 2 || state.NumDeleted != 0 {
		t.Fatalf("state = %+v", state)
	}
	if want := s.Type().MsgSize("foo.a", []byte("NATS/1.0\r\nA: b\r\n\r\n"), []byte("hello")) + s.Type().MsgSize("foo.b", nil, []byte("world")) + s.Type().MsgSize("foo.a", nil, nil); state.Bytes != want {
		t.Fatalf("bytes = %d, want %d", state.Bytes, want)
	}
	if !state.FirstTime.Equal(time.Unix(10, 0)) || !state.LastTime.Equal(time.Unix(12, 0)) {
		t.Fatalf("times = %v %v", state.FirstTime, state.LastTime)
	}
	sm, err := s.LoadMsg(1, nil)
	if err != nil || sm.Subject != "foo.a" || string(sm.Hdr) != "NATS/1.0\r\nA: b\r\n\r\n" || string(sm.Msg) != "hello" || sm.Seq != 1 || sm.TS != 10*second {
		t.Fatalf("LoadMsg(1) = %+v, %v", sm, err)
	}
	reuse := &store.StoreMsg{}
	if sm, err = s.LoadMsg(2, reuse); err != nil || sm != reuse || string(sm.Msg) != "world" || sm.Hdr != nil {
		t.Fatalf("LoadMsg(2) = %+v, %v", sm, err)
	}
	if subj, err := s.SubjectForSeq(2); err != nil || subj != "foo.b" {
		t.Fatalf("SubjectForSeq(2) = %q, %v", subj, err)
	}
	if s.Type() != h.cfg.Storage && h.cfg.Storage != 0 {
		t.Fatalf("type %v", s.Type())
	}
	var fast store.StreamState
	s.FastState(&fast)
	if fast.Msgs != 3 || fast.Deleted != nil || fast.LastSeq != 3 {
		t.Fatalf("FastState = %+v", fast)
	}
}

// testLoadErrors proves loads outside the stream fail with the right sentinel.
func testLoadErrors(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	if _, err := s.LoadMsg(1, nil); !errors.Is(err, store.ErrStoreEOF) && !errors.Is(err, store.ErrStoreMsgNotFound) {
		t.Fatalf("LoadMsg on empty = %v", err)
	}
	h.fill(3, 1)
	if _, err := s.LoadMsg(0, nil); !errors.Is(err, store.ErrStoreMsgNotFound) {
		t.Fatalf("LoadMsg(0) = %v", err)
	}
	if _, err := s.LoadMsg(4, nil); !errors.Is(err, store.ErrStoreEOF) {
		t.Fatalf("LoadMsg(4) = %v", err)
	}
	if _, _, err := s.LoadNextMsg("", false, 4, nil); !errors.Is(err, store.ErrStoreEOF) {
		t.Fatalf("LoadNextMsg(4) = %v", err)
	}
	if _, err := s.LoadLastMsg("bar", nil); !errors.Is(err, store.ErrStoreMsgNotFound) {
		t.Fatalf("LoadLastMsg(bar) = %v", err)
	}
	if _, err := s.SubjectForSeq(9); !errors.Is(err, store.ErrStoreMsgNotFound) {
		t.Fatalf("SubjectForSeq(9) = %v", err)
	}
}

// testRemoveAndErase proves removal creates interior deletes, moves the first sequence
// past removed heads, and is idempotent.
func testRemoveAndErase(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	h.fill(10, 2)
	for _, seq := range []uint64{5, 7} {
		if ok, err := s.RemoveMsg(seq); !ok || err != nil {
			t.Fatalf("RemoveMsg(%d) = %v, %v", seq, ok, err)
		}
	}
	if ok, err := s.EraseMsg(8); !ok || err != nil {
		t.Fatalf("EraseMsg(8) = %v, %v", ok, err)
	}
	if ok, _ := s.RemoveMsg(5); ok {
		t.Fatal("second RemoveMsg(5) reported a removal")
	}
	if ok, _ := s.RemoveMsg(99); ok {
		t.Fatal("RemoveMsg(99) reported a removal")
	}
	state := h.wantState(7, 1, 10)
	if state.NumDeleted != 3 || !reflect.DeepEqual(state.Deleted, []uint64{5, 7, 8}) {
		t.Fatalf("deleted = %d %v", state.NumDeleted, state.Deleted)
	}
	if _, err := s.LoadMsg(8, nil); !errors.Is(err, store.ErrStoreMsgNotFound) {
		t.Fatalf("LoadMsg(8) after erase = %v", err)
	}
	for seq := uint64(1); seq <= 4; seq++ {
		if _, err := s.RemoveMsg(seq); err != nil {
			t.Fatal(err)
		}
	}
	state = h.wantState(3, 6, 10)
	if !reflect.DeepEqual(state.Deleted, []uint64{7, 8}) {
		t.Fatalf("deleted = %v", state.Deleted)
	}
	if sm, err := s.LoadMsg(6, nil); err != nil || string(sm.Msg) != "msg-5" {
		t.Fatalf("LoadMsg(6) = %v, %v", sm, err)
	}
}

// testMaxMsgsDiscardOld proves MaxMsgs drops the oldest messages.
func testMaxMsgsDiscardOld(t *testing.T, h *harness) {
	h.open(store.StreamConfig{MaxMsgs: 5})
	h.fill(12, 3)
	h.wantState(5, 8, 12)
}

// testMaxBytesDiscardOld proves MaxBytes drops the oldest messages.
func testMaxBytesDiscardOld(t *testing.T, h *harness) {
	size := h.msgSize("foo.0", nil, []byte("msg-0"))
	h.open(store.StreamConfig{MaxBytes: int64(size * 4)})
	h.fill(10, 1)
	state := h.wantState(4, 7, 10)
	if state.Bytes != 4*size {
		t.Fatalf("bytes = %d", state.Bytes)
	}
}

// testDiscardNew proves DiscardNew rejects writes at the limits and keeps old data.
func testDiscardNew(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{MaxMsgs: 3, Discard: store.DiscardNew})
	h.fill(3, 1)
	if _, _, err := s.StoreMsg("foo", nil, nil, 0, 0); !errors.Is(err, store.ErrMaxMsgs) {
		t.Fatalf("StoreMsg over MaxMsgs = %v", err)
	}
	h.wantState(3, 1, 3)
	_ = s.Stop()
	size := s.Type().MsgSize("foo.0", nil, []byte("msg-0"))
	s = h.open(store.StreamConfig{MaxBytes: int64(size*2 + 1), Discard: store.DiscardNew})
	h.fill(2, 1)
	if _, _, err := s.StoreMsg("foo.0", nil, []byte("msg-9"), 0, 0); !errors.Is(err, store.ErrMaxBytes) {
		t.Fatalf("StoreMsg over MaxBytes = %v", err)
	}
	_ = s.Stop()
	s = h.open(store.StreamConfig{MaxMsgsPer: 2, Discard: store.DiscardNew, DiscardNewPer: true})
	h.fill(4, 2)
	if _, _, err := s.StoreMsg("foo.0", nil, nil, 0, 0); !errors.Is(err, store.ErrMaxMsgsPerSubject) {
		t.Fatalf("StoreMsg over MaxMsgsPer = %v", err)
	}
	h.store("foo.9", "x", 0)
	h.wantState(5, 1, 5)
}

// testMaxMsgsPer proves MaxMsgsPer keeps the newest messages of each subject.
func testMaxMsgsPer(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{MaxMsgsPer: 2})
	h.fill(10, 3)
	totals := s.SubjectsTotals("foo.*")
	if !reflect.DeepEqual(totals, map[string]uint64{"foo.0": 2, "foo.1": 2, "foo.2": 2}) {
		t.Fatalf("totals = %v", totals)
	}
	ss := s.SubjectsState(">")
	if ss["foo.0"] != (store.SimpleState{Msgs: 2, First: 7, Last: 10}) {
		t.Fatalf("foo.0 = %+v", ss["foo.0"])
	}
	h.wantState(6, 5, 10)
}

// testMaxMsgSize proves an oversized message is rejected.
func testMaxMsgSize(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{MaxMsgSize: 8})
	if _, _, err := s.StoreMsg("foo", []byte("hdr"), []byte("123456"), 0, 0); !errors.Is(err, store.ErrMsgTooLarge) {
		t.Fatalf("StoreMsg oversized = %v", err)
	}
	h.store("foo", "12345678", 0)
	h.wantState(1, 1, 1)
}

// testPurge proves Purge empties the stream and keeps the sequence going.
func testPurge(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	h.fill(10, 2)
	if n, err := s.Purge(); n != 10 || err != nil {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	state := h.wantState(0, 11, 10)
	if state.NumSubjects != 0 || state.Bytes != 0 || !state.LastTime.Equal(time.Unix(10, 0)) {
		t.Fatalf("state after purge %+v", state)
	}
	if seq := h.store("foo", "x", 20*second); seq != 11 {
		t.Fatalf("seq after purge = %d", seq)
	}
	h.wantState(1, 11, 11)
}

// testPurgeEx proves purging by subject, up to a sequence and keeping N.
func testPurgeEx(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	h.fill(20, 4)
	if n, err := s.PurgeEx("foo.1", 0, 0); n != 5 || err != nil {
		t.Fatalf("PurgeEx(foo.1) = %d, %v", n, err)
	}
	if n, err := s.PurgeEx("foo.2", 0, 2); n != 3 || err != nil {
		t.Fatalf("PurgeEx(foo.2 keep 2) = %d, %v", n, err)
	}
	if got := s.FilteredState(1, "foo.2"); got != (store.SimpleState{Msgs: 2, First: 15, Last: 19}) {
		t.Fatalf("foo.2 = %+v", got)
	}
	if n, err := s.PurgeEx("foo.*", 9, 0); n != 4 || err != nil {
		t.Fatalf("PurgeEx(foo.* below 9) = %d, %v", n, err)
	}
	if n, err := s.PurgeEx("", 0, 3); err != nil || n == 0 {
		t.Fatalf("PurgeEx keep 3 = %d, %v", n, err)
	}
	h.wantState(2, 19, 20)
	if n, err := s.PurgeEx("nomatch", 0, 0); n != 0 || err != nil {
		t.Fatalf("PurgeEx(nomatch) = %d, %v", n, err)
	}
}

// testCompact proves Compact removes below a sequence, even past the end.
func testCompact(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	h.fill(10, 2)
	if n, err := s.Compact(6); n != 5 || err != nil {
		t.Fatalf("Compact(6) = %d, %v", n, err)
	}
	h.wantState(5, 6, 10)
	if n, err := s.Compact(3); n != 0 || err != nil {
		t.Fatalf("Compact(3) = %d, %v", n, err)
	}
	if n, err := s.Compact(100); n != 5 || err != nil {
		t.Fatalf("Compact(100) = %d, %v", n, err)
	}
	h.wantState(0, 100, 99)
	if seq := h.store("foo", "x", 0); seq != 100 {
		t.Fatalf("seq after compact = %d", seq)
	}
}

// testTruncate proves Truncate removes above a sequence and reuses later ones.
func testTruncate(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	h.fill(10, 3)
	if _, err := s.RemoveMsg(5); err != nil {
		t.Fatal(err)
	}
	if err := s.Truncate(6); err != nil {
		t.Fatal(err)
	}
	state := h.wantState(5, 1, 6)
	if !reflect.DeepEqual(state.Deleted, []uint64{5}) || state.NumSubjects != 3 || !state.LastTime.Equal(time.Unix(6, 0)) {
		t.Fatalf("state after truncate %+v", state)
	}
	if ss := s.SubjectsState("foo.0"); ss["foo.0"] != (store.SimpleState{Msgs: 2, First: 1, Last: 4}) {
		t.Fatalf("foo.0 = %+v", ss)
	}
	if seq := h.store("foo.9", "new", 0); seq != 7 {
		t.Fatalf("seq after truncate = %d", seq)
	}
	if sm, err := s.LoadMsg(7, nil); err != nil || string(sm.Msg) != "new" {
		t.Fatalf("LoadMsg(7) = %v, %v", sm, err)
	}
	if err := s.Truncate(0); err != nil {
		t.Fatal(err)
	}
	h.wantState(0, 1, 0)
}

// testLoadNextAndLast proves filtered forward and backward loads.
func testLoadNextAndLast(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	for i, subj := range []string{"a.x", "b.x", "a.y", "c.z.w", "b.y", "a.x"} {
		h.store(subj, fmt.Sprint(i+1), 0)
	}
	cases := []struct {
		filter  string
		start   uint64
		wantSeq uint64
	}{
		{"", 1, 1}, {">", 4, 4}, {"b.*", 1, 2}, {"b.*", 3, 5}, {"a.x", 2, 6}, {"*.y", 1, 3}, {"c.>", 1, 4}, {"a.*", 7, 0}, {"d", 1, 0},
	}
	for _, c := range cases {
		sm, seq, err := s.LoadNextMsg(c.filter, c.filter != "", c.start, nil)
		if c.wantSeq == 0 {
			if !errors.Is(err, store.ErrStoreEOF) {
				t.Fatalf("LoadNextMsg(%q, %d) = %d, %v", c.filter, c.start, seq, err)
			}
			continue
		}
		if err != nil || seq != c.wantSeq || sm.Seq != seq {
			t.Fatalf("LoadNextMsg(%q, %d) = %d, %v, want %d", c.filter, c.start, seq, err, c.wantSeq)
		}
	}
	if _, seq, err := s.LoadNextMsgMulti([]string{"c.>", "b.y"}, 1, nil); err != nil || seq != 4 {
		t.Fatalf("LoadNextMsgMulti = %d, %v", seq, err)
	}
	if _, seq, err := s.LoadNextMsgMulti([]string{"c.>", "b.y"}, 5, nil); err != nil || seq != 5 {
		t.Fatalf("LoadNextMsgMulti(5) = %d, %v", seq, err)
	}
	for filter, want := range map[string]uint64{"a.x": 6, "b.*": 5, "": 6, "c.>": 4, "a.y": 3} {
		if sm, err := s.LoadLastMsg(filter, nil); err != nil || sm.Seq != want {
			t.Fatalf("LoadLastMsg(%q) = %v, %v, want %d", filter, sm, err, want)
		}
	}
	if _, err := s.RemoveMsg(6); err != nil {
		t.Fatal(err)
	}
	if sm, err := s.LoadLastMsg("a.x", nil); err != nil || sm.Seq != 1 {
		t.Fatalf("LoadLastMsg(a.x) after remove = %v, %v", sm, err)
	}
	if sm, err := s.LoadPrevMsg(6, nil); err != nil || sm.Seq != 5 {
		t.Fatalf("LoadPrevMsg(6) = %v, %v", sm, err)
	}
	if _, err := s.LoadPrevMsg(0, nil); !errors.Is(err, store.ErrStoreEOF) {
		t.Fatalf("LoadPrevMsg(0) = %v", err)
	}
}

// testFilteredAndSubjects proves filtered state and per-subject state and totals.
func testFilteredAndSubjects(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	h.fill(12, 3)
	if got := s.FilteredState(1, "foo.1"); got != (store.SimpleState{Msgs: 4, First: 2, Last: 11}) {
		t.Fatalf("FilteredState(1, foo.1) = %+v", got)
	}
	if got := s.FilteredState(5, "foo.1"); got != (store.SimpleState{Msgs: 3, First: 5, Last: 11}) {
		t.Fatalf("FilteredState(5, foo.1) = %+v", got)
	}
	if got := s.FilteredState(1, "foo.*"); got != (store.SimpleState{Msgs: 12, First: 1, Last: 12}) {
		t.Fatalf("FilteredState(foo.*) = %+v", got)
	}
	if got := s.FilteredState(13, ""); got.Msgs != 0 {
		t.Fatalf("FilteredState(13) = %+v", got)
	}
	if _, err := s.RemoveMsg(2); err != nil {
		t.Fatal(err)
	}
	want := map[string]store.SimpleState{
		"foo.0": {Msgs: 4, First: 1, Last: 10},
		"foo.1": {Msgs: 3, First: 5, Last: 11},
		"foo.2": {Msgs: 4, First: 3, Last: 12},
	}
	if got := s.SubjectsState(""); !reflect.DeepEqual(got, want) {
		t.Fatalf("SubjectsState = %v", got)
	}
	if got := s.SubjectsTotals("foo.2"); !reflect.DeepEqual(got, map[string]uint64{"foo.2": 4}) {
		t.Fatalf("SubjectsTotals = %v", got)
	}
	if got := s.SubjectsTotals("bar"); len(got) != 0 {
		t.Fatalf("SubjectsTotals(bar) = %v", got)
	}
}

// testNumPending proves pending counts, with and without last-per-subject.
func testNumPending(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	h.fill(12, 3)
	for _, c := range []struct {
		seq    uint64
		filter string
		last   bool
		want   uint64
	}{
		{1, "", false, 12}, {7, "", false, 6}, {1, "foo.1", false, 4}, {7, "foo.*", false, 6},
		{1, "", true, 3}, {11, "", true, 2}, {1, "foo.2", true, 1}, {13, "", false, 0},
	} {
		total, through, err := s.NumPending(c.seq, c.filter, c.last)
		if err != nil || total != c.want || through != 12 {
			t.Fatalf("NumPending(%d, %q, %v) = %d, %d, %v, want %d", c.seq, c.filter, c.last, total, through, err, c.want)
		}
	}
}

// testMultiLastSeqs proves last sequences per subject, bounded by maxSeq and maxAllowed.
func testMultiLastSeqs(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	h.fill(12, 3)
	h.store("bar", "x", 0)
	if got, err := s.MultiLastSeqs([]string{"foo.*"}, 0, 0); err != nil || !reflect.DeepEqual(got, []uint64{10, 11, 12}) {
		t.Fatalf("MultiLastSeqs(foo.*) = %v, %v", got, err)
	}
	if got, err := s.MultiLastSeqs([]string{"foo.0", "bar"}, 0, 0); err != nil || !reflect.DeepEqual(got, []uint64{10, 13}) {
		t.Fatalf("MultiLastSeqs(foo.0, bar) = %v, %v", got, err)
	}
	if got, err := s.MultiLastSeqs([]string{">"}, 8, 0); err != nil || !reflect.DeepEqual(got, []uint64{6, 7, 8}) {
		t.Fatalf("MultiLastSeqs(>, 8) = %v, %v", got, err)
	}
	if _, err := s.MultiLastSeqs([]string{">"}, 0, 2); !errors.Is(err, store.ErrTooManyResults) {
		t.Fatalf("MultiLastSeqs over maxAllowed = %v", err)
	}
}

// testSkip proves skipped sequences advance the stream without messages.
func testSkip(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	if seq, err := s.SkipMsg(1); seq != 1 || err != nil {
		t.Fatalf("SkipMsg(1) = %d, %v", seq, err)
	}
	h.wantState(0, 2, 1)
	if err := s.SkipMsgs(2, 10); err != nil {
		t.Fatal(err)
	}
	h.wantState(0, 12, 11)
	if seq := h.store("foo", "x", 0); seq != 12 {
		t.Fatalf("seq after skip = %d", seq)
	}
	if err := s.SkipMsgs(13, 3); err != nil {
		t.Fatal(err)
	}
	if seq := h.store("foo", "y", 0); seq != 16 {
		t.Fatalf("seq after second skip = %d", seq)
	}
	state := h.wantState(2, 12, 16)
	if !reflect.DeepEqual(state.Deleted, []uint64{13, 14, 15}) {
		t.Fatalf("deleted = %v", state.Deleted)
	}
	if _, err := s.SkipMsg(5); !errors.Is(err, store.ErrSequenceMismatch) {
		t.Fatalf("SkipMsg(5) = %v", err)
	}
}

// testStoreRaw proves StoreRawMsg takes only the next sequence.
func testStoreRaw(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	if err := s.StoreRawMsg("foo", nil, []byte("a"), 1, 5*second, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreRawMsg("foo", nil, []byte("b"), 5, 6*second, 0); !errors.Is(err, store.ErrSequenceMismatch) {
		t.Fatalf("StoreRawMsg gap = %v", err)
	}
	if sm, err := s.LoadMsg(1, nil); err != nil || sm.TS != 5*second {
		t.Fatalf("LoadMsg(1) = %v, %v", sm, err)
	}
}

// testMaxAge proves ExpireMsgs removes messages older than MaxAge at the given time.
func testMaxAge(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{MaxAge: 5 * time.Second})
	h.fill(10, 2) // timestamps 1s .. 10s
	if next := s.NextExpiration(); next != 6*second {
		t.Fatalf("NextExpiration = %d", next)
	}
	if n, err := s.ExpireMsgs(8 * second); n != 3 || err != nil {
		t.Fatalf("ExpireMsgs(8s) = %d, %v", n, err)
	}
	h.wantState(7, 4, 10)
	if n, _ := s.ExpireMsgs(100 * second); n != 7 {
		t.Fatalf("ExpireMsgs(100s) = %d", n)
	}
	h.wantState(0, 11, 10)
}

// testMessageTTL proves per-message TTLs expire at ts+ttl, and need AllowMsgTTL.
func testMessageTTL(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	if _, _, err := s.StoreMsg("foo", nil, nil, second, second); !errors.Is(err, store.ErrMsgTTLDisabled) {
		t.Fatalf("TTL without AllowMsgTTL = %v", err)
	}
	_ = s.Stop()
	s = h.open(store.StreamConfig{AllowMsgTTL: true})
	for i, ttl := range []int64{5, 0, 2, 9} {
		if _, _, err := s.StoreMsg("foo", nil, []byte{byte(i)}, second, ttl*second); err != nil {
			t.Fatal(err)
		}
	}
	if next := s.NextExpiration(); next != 3*second {
		t.Fatalf("NextExpiration = %d", next)
	}
	if n, err := s.ExpireMsgs(6 * second); n != 2 || err != nil {
		t.Fatalf("ExpireMsgs(6s) = %d, %v", n, err)
	}
	state := h.wantState(2, 2, 4)
	if !reflect.DeepEqual(state.Deleted, []uint64{3}) {
		t.Fatalf("deleted = %v", state.Deleted)
	}
	if sm, err := s.LoadMsg(4, nil); err != nil || sm.TTL != 9*second {
		t.Fatalf("LoadMsg(4) = %v, %v", sm, err)
	}
	_ = s.Stop()
	// A negative TTL ("never") keeps a message past MaxAge.
	s = h.open(store.StreamConfig{AllowMsgTTL: true, MaxAge: 2 * time.Second})
	if _, _, err := s.StoreMsg("keep", nil, nil, second, -1); err != nil {
		t.Fatal(err)
	}
	h.store("go", "", second)
	if next := s.NextExpiration(); next != 3*second {
		t.Fatalf("NextExpiration with a never-TTL head = %d", next)
	}
	if n, err := s.ExpireMsgs(10 * second); n != 1 || err != nil {
		t.Fatalf("ExpireMsgs past MaxAge = %d, %v", n, err)
	}
	if sm, err := s.LoadMsg(1, nil); err != nil || sm.TTL != -1 {
		t.Fatalf("never-TTL message = %v, %v", sm, err)
	}
}

// testFirstSeq proves a new stream can start at a configured sequence.
func testFirstSeq(t *testing.T, h *harness) {
	h.open(store.StreamConfig{FirstSeq: 1000})
	h.wantState(0, 1000, 999)
	if seq := h.store("foo", "x", second); seq != 1000 {
		t.Fatalf("first sequence %d", seq)
	}
	h.wantState(1, 1000, 1000)
}

// testUpdateConfig proves tighter limits apply at once.
func testUpdateConfig(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	h.fill(10, 2)
	cfg := h.cfg
	cfg.MaxMsgs = 4
	if err := s.UpdateConfig(&cfg); err != nil {
		t.Fatal(err)
	}
	h.cfg = cfg
	h.wantState(4, 7, 10)
	cfg.MaxMsgsPer = 1
	if err := s.UpdateConfig(&cfg); err != nil {
		t.Fatal(err)
	}
	h.cfg = cfg
	h.wantState(2, 9, 10)
}

// testInvalidSubject proves bad subjects are rejected, not stored.
func testInvalidSubject(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	for _, subj := range []string{"", "foo.*", "foo.>", "foo..bar", "a b"} {
		if _, _, err := s.StoreMsg(subj, nil, nil, 0, 0); !errors.Is(err, store.ErrInvalidSubject) {
			t.Fatalf("StoreMsg(%q) = %v", subj, err)
		}
	}
	h.wantState(0, 1, 0)
}

// testStopped proves a stopped store refuses calls with ErrStoreClosed.
func testStopped(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	h.fill(2, 1)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.StoreMsg("foo", nil, nil, 0, 0); !errors.Is(err, store.ErrStoreClosed) {
		t.Fatalf("StoreMsg after Stop = %v", err)
	}
	if _, err := s.LoadMsg(1, nil); !errors.Is(err, store.ErrStoreClosed) {
		t.Fatalf("LoadMsg after Stop = %v", err)
	}
	var got error
	s.Durable(func(err error) { got = err })
	if !errors.Is(got, store.ErrStoreClosed) {
		t.Fatalf("Durable after Stop = %v", got)
	}
	h.s = nil
}

// testSnapshot proves a snapshot restores into a new store with the same state.
func testSnapshot(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{AllowMsgTTL: true})
	h.fill(20, 3)
	for _, seq := range []uint64{1, 2, 7, 19} {
		if _, err := s.RemoveMsg(seq); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := store.WriteSnapshot(&buf, s); err != nil {
		t.Fatal(err)
	}
	snap := buf.Bytes()
	restored := h.f.New(t, h.cfg)
	defer restored.Stop()
	if err := store.RestoreSnapshot(restored, bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	want, got := s.State(), restored.State()
	want.Consumers, got.Consumers = 0, 0
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("restored state %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(allMsgs(t, s), allMsgs(t, restored)) {
		t.Fatal("restored messages differ")
	}
	snap[len(snap)/2] ^= 1
	bad := h.f.New(t, h.cfg)
	defer bad.Stop()
	if err := store.RestoreSnapshot(bad, bytes.NewReader(snap)); !errors.Is(err, store.ErrCorruptStreamState) {
		t.Fatalf("RestoreSnapshot(corrupt) = %v", err)
	}
}

// testConsumerStore proves deliveries, acks, redeliveries and the encoding round trip.
func testConsumerStore(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{})
	c, err := s.ConsumerStore("dur", store.ConsumerConfig{AckPolicy: store.AckExplicit})
	if err != nil {
		t.Fatal(err)
	}
	if c.HasState() {
		t.Fatal("new consumer has state")
	}
	for i := uint64(1); i <= 4; i++ {
		if err := c.UpdateDelivered(i, i+10, 1, int64(i)*second); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.UpdateDelivered(5, 12, 2, 9*second); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateAcks(1, 11); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateAcks(3, 13); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateAcks(9, 99); !errors.Is(err, store.ErrBadAckSequence) {
		t.Fatalf("ack beyond delivered = %v", err)
	}
	state, err := c.State()
	if err != nil {
		t.Fatal(err)
	}
	want := &store.ConsumerState{
		Delivered:   store.SequencePair{Consumer: 5, Stream: 14},
		AckFloor:    store.SequencePair{Consumer: 1, Stream: 11},
		Pending:     map[uint64]*store.Pending{12: {Sequence: 2, Timestamp: 9 * second}, 14: {Sequence: 4, Timestamp: 4 * second}},
		Redelivered: map[uint64]uint64{12: 1},
	}
	if !reflect.DeepEqual(state, want) {
		t.Fatalf("state %+v, want %+v", state, want)
	}
	if err := c.UpdateAcks(2, 12); err != nil {
		t.Fatal(err)
	}
	if state, _ = c.State(); state.AckFloor != (store.SequencePair{Consumer: 3, Stream: 13}) {
		t.Fatalf("ack floor %+v", state.AckFloor)
	}
	encoded, err := c.EncodedState()
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := store.DecodeConsumerState(encoded)
	if err != nil || !reflect.DeepEqual(decoded, state) {
		t.Fatalf("decoded %+v, %v, want %+v", decoded, err, state)
	}
	durable := false
	c.Durable(func(err error) { durable = err == nil })
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	c.Durable(func(error) {})
	_ = durable
	c, err = s.ConsumerStore("dur", store.ConsumerConfig{AckPolicy: store.AckExplicit})
	if err != nil {
		t.Fatal(err)
	}
	if state2, err := c.State(); err != nil || !reflect.DeepEqual(state2, state) {
		t.Fatalf("reopened consumer %+v, %v", state2, err)
	}
	none, _ := s.ConsumerStore("none", store.ConsumerConfig{AckPolicy: store.AckNone})
	if err := none.UpdateDelivered(1, 1, 2, 0); !errors.Is(err, store.ErrNoAckPolicy) {
		t.Fatalf("redelivery with AckNone = %v", err)
	}
	if err := none.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
}

// testStorageUpdates proves the callback sees every count and size change.
func testStorageUpdates(t *testing.T, h *harness) {
	s := h.open(store.StreamConfig{MaxMsgs: 5})
	var msgs, bytes int64
	s.RegisterStorageUpdates(func(m, b int64, _ uint64, _ string) { msgs += m; bytes += b })
	h.fill(8, 2)
	if _, err := s.RemoveMsg(6); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PurgeEx("foo.0", 0, 0); err != nil {
		t.Fatal(err)
	}
	state := s.State()
	if uint64(msgs) != state.Msgs || uint64(bytes) != state.Bytes {
		t.Fatalf("updates summed to %d msgs %d bytes, state %d %d", msgs, bytes, state.Msgs, state.Bytes)
	}
	if _, err := s.Purge(); err != nil {
		t.Fatal(err)
	}
	if msgs != 0 || bytes != 0 {
		t.Fatalf("after purge updates summed to %d msgs %d bytes", msgs, bytes)
	}
}
