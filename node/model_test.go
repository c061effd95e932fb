package node

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/node/opts"
)

// modelSub is the model's view of one subscription.
type modelSub struct {
	conn, sid      int
	subject, queue string
	max, delivered int
	gone           bool
}

// delivered parses the MSG lines a memoryConn received since offset, returning
// "sid:payload" entries and the new offset.
func parseDeliveries(t *rapid.T, data []byte, offset int) ([]string, int) {
	var out []string
	for {
		rest := data[offset:]
		end := bytes.Index(rest, []byte("\r\n"))
		if end < 0 {
			return out, offset
		}
		fields := strings.Fields(string(rest[:end]))
		if len(fields) == 0 || fields[0] != "MSG" {
			if len(fields) > 0 && (fields[0] == "INFO" || fields[0] == "PONG" || fields[0] == "+OK") {
				offset += end + 2
				continue
			}
			t.Fatalf("unexpected line %q", rest[:end])
		}
		size, _ := strconv.Atoi(fields[len(fields)-1])
		if len(rest) < end+2+size+2 {
			return out, offset
		}
		out = append(out, fields[2]+":"+string(rest[end+2:end+2+size]))
		offset += end + 2 + size + 2
	}
}

// TestRoutingModel proves, against a simple model, that with random subscriptions
// (wildcards, queue groups, auto-unsubscribe) and publishes over several connections,
// every message reaches each matching plain subscription exactly once, exactly one
// member of each matching queue group, and nothing after an UNSUB or past a max.
func TestRoutingModel(t *testing.T) {
	o := opts.Default()
	o.Host, o.Port = "127.0.0.1", opts.RandomPort
	s, err := New(osEnvForTests(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	subjects := []string{"a", "a.b", "a.c", "b.b"}
	filters := []string{"a", "a.b", "a.*", "*.b", ">", "a.>", "b.b"}
	rapid.Check(t, func(rt *rapid.T) {
		const connsCount = 3
		conns := make([]*memoryConn, connsCount)
		offsets := make([]int, connsCount)
		for i := range conns {
			conns[i] = &memoryConn{keep: true}
			s.acceptClient(conns[i])
			conns[i].handler.OnData([]byte("CONNECT {\"verbose\":false}\r\n"))
		}
		defer func() {
			for _, conn := range conns {
				conn.handler.OnClose(nil)
			}
		}()
		var subs []*modelSub
		nextSID := 1
		for step := range rapid.IntRange(1, 40).Draw(rt, "steps") {
			switch rapid.IntRange(0, 2).Draw(rt, "op") {
			case 0:
				sub := &modelSub{
					conn:    rapid.IntRange(0, connsCount-1).Draw(rt, "conn"),
					sid:     nextSID,
					subject: rapid.SampledFrom(filters).Draw(rt, "filter"),
					queue:   rapid.SampledFrom([]string{"", "", "q1", "q2"}).Draw(rt, "queue"),
				}
				nextSID++
				subs = append(subs, sub)
				conns[sub.conn].handler.OnData([]byte(fmt.Sprintf("SUB %s %s %d\r\n", sub.subject, sub.queue, sub.sid)))
			case 1:
				if len(subs) == 0 {
					continue
				}
				sub := rapid.SampledFrom(subs).Draw(rt, "unsub")
				max := rapid.IntRange(0, 3).Draw(rt, "max")
				if max == 0 {
					conns[sub.conn].handler.OnData([]byte(fmt.Sprintf("UNSUB %d\r\n", sub.sid)))
					sub.gone = true
				} else {
					conns[sub.conn].handler.OnData([]byte(fmt.Sprintf("UNSUB %d %d\r\n", sub.sid, max)))
					if max <= sub.delivered {
						sub.gone = true
					} else {
						sub.max = max
					}
				}
			case 2:
				subj := rapid.SampledFrom(subjects).Draw(rt, "subject")
				publisher := rapid.IntRange(0, connsCount-1).Draw(rt, "publisher")
				payload := fmt.Sprintf("m%d", step)
				conns[publisher].handler.OnData([]byte(fmt.Sprintf("PUB %s %d\r\n%s\r\n", subj, len(payload), payload)))
				// Expected plain deliveries, and the candidate members of each queue.
				expected := map[int]bool{}
				queues := map[string][]*modelSub{}
				for _, sub := range subs {
					if sub.gone || !subject.MatchesFilter(subj, sub.subject) {
						continue
					}
					if sub.queue == "" {
						expected[sub.sid] = true
						sub.delivered++
						if sub.max > 0 && sub.delivered >= sub.max {
							sub.gone = true
						}
					} else {
						queues[sub.queue] = append(queues[sub.queue], sub)
					}
				}
				got := map[int]int{}
				for i, conn := range conns {
					var entries []string
					entries, offsets[i] = parseDeliveries(rt, conn.written, offsets[i])
					for _, entry := range entries {
						sid, text, _ := strings.Cut(entry, ":")
						if text != payload {
							rt.Fatalf("stale or foreign message %q", entry)
						}
						n, _ := strconv.Atoi(sid)
						got[n]++
					}
				}
				for sid := range expected {
					if got[sid] != 1 {
						rt.Fatalf("sid %d got %d copies of %s on %s", sid, got[sid], payload, subj)
					}
					delete(got, sid)
				}
				for name, members := range queues {
					receivers := 0
					for _, member := range members {
						if got[member.sid] == 1 {
							receivers++
							member.delivered++
							if member.max > 0 && member.delivered >= member.max {
								member.gone = true
							}
						}
						delete(got, member.sid)
					}
					if receivers != 1 {
						rt.Fatalf("queue %s: %d receivers", name, receivers)
					}
				}
				if len(got) > 0 {
					rt.Fatalf("unexpected deliveries %v", got)
				}
			}
		}
	})
}
