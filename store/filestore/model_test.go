package filestore

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/sim/simfs"
	"github.com/natsim/natsim/store"
	"github.com/natsim/natsim/store/memstore"
)

// TestModelAgainstMemstore proves the file store behaves like the memory store under
// random operations, with close-and-reopen (and power loss after a sync) as actions:
// every result, error, state and message must match.
func TestModelAgainstMemstore(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		variant := rapid.SampledFrom([]string{"plain", "s2", "aes", "chacha-s2"}).Draw(rt, "variant")
		scfg := store.StreamConfig{
			Name:        "M",
			AllowMsgTTL: true,
			MaxMsgs:     rapid.SampledFrom([]int64{0, 0, 5, 20}).Draw(rt, "maxMsgs"),
			MaxMsgsPer:  rapid.SampledFrom([]int64{0, 0, 2}).Draw(rt, "maxMsgsPer"),
			Discard:     store.DiscardPolicy(rapid.IntRange(0, 1).Draw(rt, "discard")),
		}
		disk := newDisk(rapid.Uint64().Draw(rt, "seed"))
		makeConfig := variants()[variant]
		fs := mustOpen(rt, makeConfig(disk.FS()), scfg)
		// The memory model counts bytes as a file store does (the reference's two
		// stores count differently), so states and byte limits compare.
		ms, _ := memstore.NewCountingAs(store.StreamConfig{Name: "M", AllowMsgTTL: true, MaxMsgs: scfg.MaxMsgs, MaxMsgsPer: scfg.MaxMsgsPer, Discard: scfg.Discard}, store.FileMsgSize)
		defer func() { _ = fs.Stop() }()
		subjects := []string{"a", "b.x", "b.y", "c.d.e"}
		now := int64(1)
		sameErr := func(op string, e1, e2 error) {
			if (e1 == nil) != (e2 == nil) || e1 != nil && !errors.Is(e1, e2) && e1.Error() != e2.Error() {
				rt.Fatalf("%s: file %v, memory %v", op, e1, e2)
			}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"store": func(rt *rapid.T) {
				subj := rapid.SampledFrom(subjects).Draw(rt, "subject")
				payload := rapid.SliceOfN(rapid.Byte(), 0, 200).Draw(rt, "payload")
				ttl := rapid.SampledFrom([]int64{0, 0, 3}).Draw(rt, "ttl")
				now++
				s1, _, e1 := fs.StoreMsg(subj, nil, payload, now, ttl)
				s2, _, e2 := ms.StoreMsg(subj, nil, payload, now, ttl)
				sameErr("store", e1, e2)
				if s1 != s2 {
					rt.Fatalf("store seq file %d memory %d", s1, s2)
				}
			},
			"skip": func(rt *rapid.T) {
				var st store.StreamState
				ms.FastState(&st)
				n := rapid.Uint64Range(1, 4).Draw(rt, "n")
				sameErr("skip", fs.SkipMsgs(st.LastSeq+1, n), ms.SkipMsgs(st.LastSeq+1, n))
			},
			"remove": func(rt *rapid.T) {
				seq := rapid.Uint64Range(0, 60).Draw(rt, "seq")
				erase := rapid.Bool().Draw(rt, "erase")
				var ok1, ok2 bool
				var e1, e2 error
				if erase {
					ok1, e1 = fs.EraseMsg(seq)
					ok2, e2 = ms.EraseMsg(seq)
				} else {
					ok1, e1 = fs.RemoveMsg(seq)
					ok2, e2 = ms.RemoveMsg(seq)
				}
				sameErr("remove", e1, e2)
				if ok1 != ok2 {
					rt.Fatalf("remove %d: file %v memory %v", seq, ok1, ok2)
				}
			},
			"purgeEx": func(rt *rapid.T) {
				subj := rapid.SampledFrom(append([]string{"", "b.*", ">"}, subjects...)).Draw(rt, "subject")
				seq := rapid.Uint64Range(0, 50).Draw(rt, "seq")
				keep := rapid.Uint64Range(0, 5).Draw(rt, "keep")
				n1, e1 := fs.PurgeEx(subj, seq, keep)
				n2, e2 := ms.PurgeEx(subj, seq, keep)
				sameErr("purgeEx", e1, e2)
				if n1 != n2 {
					rt.Fatalf("purgeEx: file %d memory %d", n1, n2)
				}
			},
			"compact": func(rt *rapid.T) {
				seq := rapid.Uint64Range(1, 70).Draw(rt, "seq")
				n1, e1 := fs.Compact(seq)
				n2, e2 := ms.Compact(seq)
				sameErr("compact", e1, e2)
				if n1 != n2 {
					rt.Fatalf("compact: file %d memory %d", n1, n2)
				}
			},
			"truncate": func(rt *rapid.T) {
				seq := rapid.Uint64Range(0, 60).Draw(rt, "seq")
				sameErr("truncate", fs.Truncate(seq), ms.Truncate(seq))
			},
			"expire": func(rt *rapid.T) {
				now += rapid.Int64Range(0, 3).Draw(rt, "advance")
				n1, e1 := fs.ExpireMsgs(now)
				n2, e2 := ms.ExpireMsgs(now)
				sameErr("expire", e1, e2)
				if n1 != n2 {
					rt.Fatalf("expire: file %d memory %d", n1, n2)
				}
			},
			"updateConfig": func(rt *rapid.T) {
				scfg.MaxMsgs = rapid.SampledFrom([]int64{0, 3, 10}).Draw(rt, "maxMsgs")
				scfg.MaxBytes = rapid.SampledFrom([]int64{0, 400}).Draw(rt, "maxBytes")
				scfg.MaxAge = time.Duration(rapid.SampledFrom([]int64{0, 6}).Draw(rt, "maxAge"))
				mcfg := scfg
				mcfg.Storage = store.MemoryStorage
				sameErr("updateConfig", fs.UpdateConfig(&scfg), ms.UpdateConfig(&mcfg))
			},
			"reopen": func(rt *rapid.T) {
				durable(rt, fs)
				powerLoss := rapid.Bool().Draw(rt, "powerLoss")
				if powerLoss {
					disk.Crash(true)
				} else if err := fs.Stop(); err != nil {
					rt.Fatalf("Stop: %v", err)
				}
				fs = mustOpen(rt, makeConfig(disk.FS()), scfg)
			},
			"load": func(rt *rapid.T) {
				seq := rapid.Uint64Range(0, 60).Draw(rt, "seq")
				m1, e1 := fs.LoadMsg(seq, nil)
				m2, e2 := ms.LoadMsg(seq, nil)
				sameErr(fmt.Sprintf("load %d", seq), e1, e2)
				if e1 == nil && !sameMsg(m1, m2) {
					rt.Fatalf("load %d: file %+v memory %+v", seq, m1, m2)
				}
				filter := rapid.SampledFrom([]string{"", "b.*", "a", "c.>"}).Draw(rt, "filter")
				m1, n1, e1 := fs.LoadNextMsg(filter, true, seq, nil)
				m2, n2, e2 := ms.LoadNextMsg(filter, true, seq, nil)
				sameErr("loadNext", e1, e2)
				if e1 == nil && (n1 != n2 || !sameMsg(m1, m2)) {
					rt.Fatalf("loadNext %q %d: file %d memory %d", filter, seq, n1, n2)
				}
				if f1, f2 := fs.FilteredState(seq, filter), ms.FilteredState(seq, filter); f1 != f2 {
					rt.Fatalf("FilteredState: file %+v memory %+v", f1, f2)
				}
			},
		})
		compareStores(rt, fs, ms)
	})
}

func sameMsg(a, b *store.StoreMsg) bool {
	return a.Seq == b.Seq && a.Subject == b.Subject && a.TS == b.TS && a.TTL == b.TTL &&
		string(a.Hdr) == string(b.Hdr) && string(a.Msg) == string(b.Msg)
}

func compareStores(t interface{ Fatalf(string, ...any) }, fs *Store, ms *memstore.Store) {
	s1, s2 := fs.State(), ms.State()
	s1.Consumers, s2.Consumers = 0, 0
	if !reflect.DeepEqual(s1, s2) {
		t.Fatalf("state: file %+v\nmemory %+v", s1, s2)
	}
	if t1, t2 := fs.SubjectsState(">"), ms.SubjectsState(">"); !reflect.DeepEqual(t1, t2) {
		t.Fatalf("subjects: file %v memory %v", t1, t2)
	}
	for seq := s2.FirstSeq; seq <= s2.LastSeq; seq++ {
		m1, e1 := fs.LoadMsg(seq, nil)
		m2, e2 := ms.LoadMsg(seq, nil)
		if (e1 == nil) != (e2 == nil) || e1 == nil && !sameMsg(m1, m2) {
			t.Fatalf("message %d: file %v %v memory %v %v", seq, m1, e1, m2, e2)
		}
	}
}

var _ = simfs.Config{}
