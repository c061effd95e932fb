package memstore

import (
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/store"
)

// model is the simplest possible stream: a map of messages and two sequences.
type model struct {
	msgs        map[uint64]store.StoreMsg
	first, last uint64
	maxMsgs     int
	maxPer      int
	maxBytes    uint64
	maxAge      int64
	ttls        map[uint64]int64
}

func (m *model) bytes() uint64 {
	var total uint64
	for _, msg := range m.msgs {
		total += store.MsgSize(msg.Subject, nil, msg.Msg)
	}
	return total
}

// expire removes what MaxAge and TTLs expire at now.
func (m *model) expire(now int64) int {
	removed := 0
	if m.maxAge > 0 {
		for _, seq := range m.sorted() {
			if m.msgs[seq].TS > now-m.maxAge {
				break
			}
			delete(m.msgs, seq)
			removed++
		}
	}
	for seq, ttl := range m.ttls {
		msg, ok := m.msgs[seq]
		if !ok {
			delete(m.ttls, seq)
			continue
		}
		if msg.TS+ttl <= now {
			delete(m.msgs, seq)
			delete(m.ttls, seq)
			removed++
		}
	}
	m.fixFirst()
	return removed
}

func (m *model) sorted() []uint64 {
	seqs := make([]uint64, 0, len(m.msgs))
	for seq := range m.msgs {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs
}

func (m *model) fixFirst() {
	seqs := m.sorted()
	if len(seqs) == 0 {
		m.first = m.last + 1
	} else {
		m.first = seqs[0]
	}
}

func (m *model) store(subj string, payload []byte, ts int64) uint64 {
	m.last++
	m.msgs[m.last] = store.StoreMsg{Subject: subj, Msg: payload, Seq: m.last, TS: ts}
	if m.maxPer > 0 {
		var same []uint64
		for _, seq := range m.sorted() {
			if m.msgs[seq].Subject == subj {
				same = append(same, seq)
			}
		}
		for len(same) > m.maxPer {
			delete(m.msgs, same[0])
			same = same[1:]
		}
	}
	for m.maxMsgs > 0 && len(m.msgs) > m.maxMsgs || m.maxBytes > 0 && len(m.msgs) > 0 && m.bytes() > m.maxBytes {
		delete(m.msgs, m.sorted()[0])
	}
	m.fixFirst()
	return m.last
}

func matches(subj, filter string) bool {
	return filter == "" || filter == ">" || subj == filter || subject.MatchesFilter(subj, filter)
}

// TestModel proves the memory store (and the index it shares with the file store)
// against a map-based model: states, per-subject states, filtered loads and counts.
func TestModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := &model{msgs: map[uint64]store.StoreMsg{}, first: 1, ttls: map[uint64]int64{},
			maxMsgs:  rapid.SampledFrom([]int{0, 0, 6}).Draw(rt, "maxMsgs"),
			maxPer:   rapid.SampledFrom([]int{0, 0, 2}).Draw(rt, "maxPer"),
			maxBytes: rapid.SampledFrom([]uint64{0, 0, 100}).Draw(rt, "maxBytes"),
			maxAge:   rapid.SampledFrom([]int64{0, 0, 5}).Draw(rt, "maxAge")}
		s, _ := New(store.StreamConfig{MaxMsgs: int64(m.maxMsgs), MaxMsgsPer: int64(m.maxPer), MaxBytes: int64(m.maxBytes),
			MaxAge: time.Duration(m.maxAge), AllowMsgTTL: true})
		subjects := []string{"a", "b.x", "b.y", "c.d.e"}
		filters := []string{"", ">", "a", "b.*", "b.y", "c.>", "*.x", "zz"}
		ts := int64(0)
		rt.Repeat(map[string]func(*rapid.T){
			"store": func(rt *rapid.T) {
				subj := rapid.SampledFrom(subjects).Draw(rt, "subject")
				payload := rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(rt, "payload")
				ts++
				ttl := rapid.SampledFrom([]int64{0, 0, 2, 4}).Draw(rt, "ttl")
				seq, _, err := s.StoreMsg(subj, nil, payload, ts, ttl)
				want := m.store(subj, payload, ts)
				delete(m.ttls, want)
				if ttl > 0 {
					m.ttls[want] = ttl
				}
				if err != nil || seq != want {
					rt.Fatalf("StoreMsg = %d, %v, want %d", seq, err, want)
				}
			},
			"skip": func(rt *rapid.T) {
				n := rapid.Uint64Range(1, 3).Draw(rt, "n")
				if err := s.SkipMsgs(m.last+1, n); err != nil {
					rt.Fatal(err)
				}
				m.last += n
				m.fixFirst()
			},
			"remove": func(rt *rapid.T) {
				seq := rapid.Uint64Range(0, m.last+1).Draw(rt, "seq")
				ok, err := s.RemoveMsg(seq)
				_, want := m.msgs[seq]
				if err != nil || ok != want {
					rt.Fatalf("RemoveMsg(%d) = %v, %v, want %v", seq, ok, err, want)
				}
				delete(m.msgs, seq)
				m.fixFirst()
			},
			"purgeSubject": func(rt *rapid.T) {
				filter := rapid.SampledFrom(filters[2:]).Draw(rt, "filter")
				n, err := s.PurgeEx(filter, 0, 0)
				want := uint64(0)
				for seq, msg := range m.msgs {
					if matches(msg.Subject, filter) {
						delete(m.msgs, seq)
						want++
					}
				}
				m.fixFirst()
				if err != nil || n != want {
					rt.Fatalf("PurgeEx(%q) = %d, %v, want %d", filter, n, err, want)
				}
			},
			"compact": func(rt *rapid.T) {
				seq := rapid.Uint64Range(1, m.last+3).Draw(rt, "seq")
				n, err := s.Compact(seq)
				want := uint64(0)
				for q := range m.msgs {
					if q < seq {
						delete(m.msgs, q)
						want++
					}
				}
				if seq > m.last+1 {
					m.last = seq - 1
				}
				m.fixFirst()
				if err != nil || n != want {
					rt.Fatalf("Compact(%d) = %d, %v, want %d", seq, n, err, want)
				}
			},
			"truncate": func(rt *rapid.T) {
				seq := rapid.Uint64Range(0, m.last+1).Draw(rt, "seq")
				if err := s.Truncate(seq); err != nil {
					rt.Fatal(err)
				}
				if seq < m.last {
					for q := range m.msgs {
						if q > seq {
							delete(m.msgs, q)
						}
					}
					m.last = seq
				}
				m.fixFirst()
			},
			"expire": func(rt *rapid.T) {
				ts += rapid.Int64Range(0, 4).Draw(rt, "advance")
				n, err := s.ExpireMsgs(ts)
				if want := m.expire(ts); err != nil || n != want {
					rt.Fatalf("ExpireMsgs(%d) = %d, %v, want %d", ts, n, err, want)
				}
			},
			"": func(rt *rapid.T) {
				checkModel(rt, s, m, filters, rapid.Uint64Range(0, m.last+2).Draw(rt, "start"))
			},
		})
	})
}

func checkModel(rt *rapid.T, s *Store, m *model, filters []string, start uint64) {
	state := s.State()
	seqs := m.sorted()
	var bytes uint64
	subjects := map[string]store.SimpleState{}
	for _, seq := range seqs {
		msg := m.msgs[seq]
		bytes += store.MsgSize(msg.Subject, nil, msg.Msg)
		ss := subjects[msg.Subject]
		if ss.Msgs == 0 {
			ss.First = seq
		}
		ss.Msgs++
		ss.Last = seq
		subjects[msg.Subject] = ss
	}
	var deleted []uint64
	if len(seqs) > 0 {
		for q := m.first; q <= m.last; q++ {
			if _, ok := m.msgs[q]; !ok {
				deleted = append(deleted, q)
			}
		}
	}
	if state.Msgs != uint64(len(seqs)) || state.FirstSeq != m.first || state.LastSeq != m.last || state.Bytes != bytes ||
		state.NumSubjects != len(subjects) || !reflect.DeepEqual(state.Deleted, deleted) || state.NumDeleted != len(deleted) {
		rt.Fatalf("state %+v, model msgs %d first %d last %d bytes %d subjects %d deleted %v", state, len(seqs), m.first, m.last, bytes, len(subjects), deleted)
	}
	if got := s.SubjectsState(">"); !reflect.DeepEqual(got, subjects) {
		rt.Fatalf("SubjectsState %v, model %v", got, subjects)
	}
	for _, filter := range filters {
		var want store.SimpleState
		var next, lastMatch uint64
		lastPer := map[string]uint64{}
		for _, seq := range seqs {
			msg := m.msgs[seq]
			if !matches(msg.Subject, filter) {
				continue
			}
			lastMatch = seq
			if seq >= start {
				lastPer[msg.Subject] = seq
				if want.Msgs == 0 {
					want.First, next = seq, seq
				}
				want.Msgs++
				want.Last = seq
			}
		}
		if got := s.FilteredState(start, filter); got != want {
			rt.Fatalf("FilteredState(%d, %q) = %+v, want %+v", start, filter, got, want)
		}
		_, seq, err := s.LoadNextMsg(filter, true, start, nil)
		if next == 0 && !errors.Is(err, store.ErrStoreEOF) || next != 0 && (err != nil || seq != next) {
			rt.Fatalf("LoadNextMsg(%q, %d) = %d, %v, want %d", filter, start, seq, err, next)
		}
		sm, err := s.LoadLastMsg(filter, nil)
		if lastMatch == 0 && !errors.Is(err, store.ErrStoreMsgNotFound) || lastMatch != 0 && (err != nil || sm.Seq != lastMatch) {
			rt.Fatalf("LoadLastMsg(%q) = %v, %v, want %d", filter, sm, err, lastMatch)
		}
		if n, _, _ := s.NumPending(start, filter, true); n != uint64(len(lastPer)) {
			rt.Fatalf("NumPending(%d, %q, last) = %d, want %d", start, filter, n, len(lastPer))
		}
		if filter == "" {
			continue
		}
		lastOf := map[string]uint64{}
		for _, seq := range seqs {
			if seq <= start && matches(m.msgs[seq].Subject, filter) {
				lastOf[m.msgs[seq].Subject] = seq
			}
		}
		var wantLast []uint64
		for _, seq := range lastOf {
			wantLast = append(wantLast, seq)
		}
		sort.Slice(wantLast, func(i, j int) bool { return wantLast[i] < wantLast[j] })
		maxSeq := start
		if maxSeq == 0 {
			maxSeq = 0
			wantLast = nil
			for _, seq := range seqs {
				if matches(m.msgs[seq].Subject, filter) {
					lastOf[m.msgs[seq].Subject] = seq
				}
			}
			for _, seq := range lastOf {
				wantLast = append(wantLast, seq)
			}
			sort.Slice(wantLast, func(i, j int) bool { return wantLast[i] < wantLast[j] })
		}
		got, err := s.MultiLastSeqs([]string{filter}, maxSeq, 0)
		if err != nil || len(got) != len(wantLast) || len(got) > 0 && !reflect.DeepEqual(got, wantLast) {
			rt.Fatalf("MultiLastSeqs(%q, %d) = %v, %v, want %v", filter, maxSeq, got, err, wantLast)
		}
	}
}
