package jetstream

import (
	"encoding/json"
	"fmt"
	"math/big"
	"testing"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// counterEntry is one stored counter message in the model: its sequence and the
// subject's total after it.
type counterEntry struct {
	seq   uint64
	total *big.Int
}

// TestCounterStateMachine checks counters against a model: random increments (some
// past 64 bits, some negative), subject purges and deletes of a subject's last
// message. Every PubAck's val is the model's total, and the stored body agrees.
func TestCounterStateMachine(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		w := newBatchWorld(t, t.TempDir())
		defer w.manager.Stop()
		stream := w.createStream("C", `{"name":"C","subjects":["c.>"],"allow_msg_counter":true,"storage":"memory"}`)
		history := map[string][]counterEntry{}
		total := func(subject string) *big.Int {
			entries := history[subject]
			if len(entries) == 0 {
				return new(big.Int)
			}
			return entries[len(entries)-1].total
		}
		steps := rapid.IntRange(1, 50).Draw(rt, "steps")
		for range steps {
			subject := rapid.SampledFrom([]string{"c.a", "c.b", "c.c"}).Draw(rt, "subject")
			switch rapid.IntRange(0, 9).Draw(rt, "op") {
			case 0:
				if answer := w.call("$JS.API.STREAM.PURGE.C", nil, fmt.Sprintf(`{"filter":%q}`, subject)); len(answer.Data) == 0 {
					rt.Fatal("purge: no answer")
				}
				delete(history, subject)
			case 1:
				entries := history[subject]
				if len(entries) == 0 {
					continue
				}
				if apiErr := stream.DeleteMsg(entries[len(entries)-1].seq, false); apiErr != nil {
					rt.Fatalf("delete: %v", apiErr)
				}
				history[subject] = entries[:len(entries)-1]
			default:
				by := new(big.Int).SetInt64(rapid.Int64().Draw(rt, "by"))
				if rapid.Bool().Draw(rt, "big") {
					by.Mul(by, new(big.Int).Lsh(big.NewInt(1), 80))
				}
				ack := w.publish(subject, "", "Nats-Incr", by.String())
				want := new(big.Int).Add(total(subject), by)
				if ack.Error != nil || ack.Value != want.String() {
					rt.Fatalf("%s += %s: %+v, want %s", subject, by, ack, want)
				}
				history[subject] = append(history[subject], counterEntry{seq: ack.Sequence, total: want})
			}
			for _, subj := range []string{"c.a", "c.b", "c.c"} {
				message, err := stream.store.LoadLastMsg(subj, nil)
				if err != nil {
					if len(history[subj]) != 0 {
						rt.Fatalf("%s: %v with a total of %s", subj, err, total(subj))
					}
					continue
				}
				if want := string(counterBody(total(subj))); string(message.Msg) != want {
					rt.Fatalf("%s stores %q, model %s", subj, message.Msg, want)
				}
			}
		}
	})
}

// TestCounterSourcedArithmetic proves the aggregation of sourced totals: each
// origin's change since its last total is added, Nats-Incr is rewritten to that
// change, and Nats-Counter-Sources keeps every origin's last total.
func TestCounterSourcedArithmetic(t *testing.T) {
	total := &counterTotal{}
	total.value.SetInt64(100) // the aggregate's own increments
	steps := []struct {
		origin, value, wantIncrement, wantTotal string
	}{
		{"A", "5", "5", "105"},
		{"B", "7", "7", "112"},
		{"A", "15", "10", "122"},
		{"B", "-3", "-10", "112"},
	}
	for _, step := range steps {
		hdr := header.Build(0, "", jsapi.HeaderIncrement, "1", jsapi.HeaderStreamSource, step.origin+" 9 > > c.x")
		stored, body, apiErr := total.add("agg.x", hdr, []byte(fmt.Sprintf(`{"val":%q}`, step.value)), big.NewInt(1))
		if apiErr != nil {
			t.Fatal(apiErr)
		}
		if string(body) != fmt.Sprintf(`{"val":%q}`, step.wantTotal) {
			t.Fatalf("%s at %s: body %s, want total %s", step.origin, step.value, body, step.wantTotal)
		}
		if increment, _ := header.Get(stored, jsapi.HeaderIncrement); string(increment) != step.wantIncrement {
			t.Fatalf("%s at %s: Nats-Incr %s, want %s", step.origin, step.value, increment, step.wantIncrement)
		}
		var sources counterSources
		raw, _ := header.Get(stored, jsapi.HeaderCounterSources)
		if err := json.Unmarshal(raw, &sources); err != nil || sources[step.origin]["c.x"] != step.value {
			t.Fatalf("Nats-Counter-Sources %s (%v)", raw, err)
		}
		// The next step starts from what was stored, as the stream does.
		total = &counterTotal{}
		if apiErr := total.decode(&store.StoreMsg{Hdr: stored, Msg: body}); apiErr != nil {
			t.Fatal(apiErr)
		}
	}
}

// TestCounterBroken proves a subject whose last message is not a counter body
// refuses increments with the reference's "counter is broken".
func TestCounterBroken(t *testing.T) {
	for _, body := range []string{"plain", `{"val":"x"}`, `[1]`} {
		total := &counterTotal{}
		if apiErr := total.decode(&store.StoreMsg{Msg: []byte(body)}); apiErr == nil || apiErr.ErrCode != jsapi.ErrCodeMessageCounterBroken {
			t.Fatalf("%q: %v", body, apiErr)
		}
	}
	total := &counterTotal{}
	hdr := header.Build(0, "", jsapi.HeaderCounterSources, "not json")
	if apiErr := total.decode(&store.StoreMsg{Hdr: hdr, Msg: []byte(`{"val":"1"}`)}); apiErr == nil {
		t.Fatal("a broken Nats-Counter-Sources was accepted")
	}
}

// FuzzCounterAndBatchHeaders feeds arbitrary header blocks and bodies to the
// counter and batch header readers: they must never panic, and an accepted
// increment must be a base-10 integer that prints back the same value.
func FuzzCounterAndBatchHeaders(f *testing.F) {
	f.Add([]byte("NATS/1.0\r\nNats-Incr: 5\r\n\r\n"), []byte(""))
	f.Add([]byte("NATS/1.0\r\nNats-Incr: -99999999999999999999999\r\nNats-Stream-Source: A 1 > > a\r\n\r\n"), []byte(`{"val":"3"}`))
	f.Add([]byte("NATS/1.0\r\nNats-Batch-Id: x\r\nNats-Batch-Sequence: 18446744073709551615\r\n\r\n"), []byte("x"))
	f.Add([]byte("NATS/1.0\r\nNats-Counter-Sources: {\"A\":{\"a\":\"1\"}}\r\n\r\n"), []byte(`{"val":"1"}`))
	f.Add([]byte("garbage"), []byte{0xff})
	config := &jsapi.StreamConfig{Name: "C", AllowMsgCounter: true}
	f.Fuzz(func(t *testing.T, hdr, body []byte) {
		increment, ok := parseIncrement(hdr)
		if ok && increment != nil {
			value, _ := header.Get(hdr, jsapi.HeaderIncrement)
			var again big.Int
			if _, parsed := again.SetString(string(value), 10); !parsed || again.Cmp(increment) != 0 {
				t.Fatalf("increment %q read as %s", value, increment)
			}
		}
		_ = checkCounterPublish(config, hdr, body)
		_, _, _ = batchHeaders(hdr)
		_, _, _ = partialBatchMessage(hdr)
		total := &counterTotal{}
		if total.decode(&store.StoreMsg{Hdr: hdr, Msg: body}) == nil && increment != nil {
			_, _, _ = total.add("s", hdr, body, increment)
		}
	})
}
