package sim

import (
	"bytes"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/env"
)

// TestNetworkPrefixProperty drives one connection through random writes, flushes,
// partitions, clogs, heals and time steps, and checks the stream model: what the
// receiver got is always a prefix of what was flushed, and once every link is open and
// enough time has passed, it is all of it (unless the connection was reset, after which
// nothing more arrives).
func TestNetworkPrefixProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := testConfig(rapid.Uint64().Draw(t, "seed"))
		c.ChunkSplitProbability = rapid.Float64Range(0, 1).Draw(t, "split")
		w := NewWorld(c, Options{})
		server := &recorder{}
		var client env.Conn
		n1 := w.Spawn("n1", ProcessOptions{}, func(e env.Env) any {
			e.Net.Listen(":1", func(conn env.Conn) { conn.Start(server) })
			return nil
		})
		n2 := w.Spawn("n2", ProcessOptions{}, func(e env.Env) any {
			e.Net.Dial("n1:1", func(conn env.Conn, err error) {
				if err == nil {
					client = conn
					conn.Start(&recorder{})
				}
			})
			return nil
		})
		w.RunUntil(time.Second, 1e6)
		if client == nil {
			t.Fatalf("no connection")
		}
		var flushed, written []byte
		next := byte(0)
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			switch rapid.IntRange(0, 6).Draw(t, "action") {
			case 0, 1:
				n := rapid.IntRange(1, 50).Draw(t, "bytes")
				b := make([]byte, n)
				for j := range b {
					b[j] = next
					next++
				}
				if _, err := client.Write(b); err == nil {
					written = append(written, b...)
				}
			case 2:
				client.Flush()
				flushed = append(flushed, written...)
				written = nil
			case 3:
				w.Cut(n2, n1)
			case 4:
				w.Clog(n2, n1, 0)
			case 5:
				w.Heal()
				w.UnclogAll()
			case 6:
				w.RunUntil(w.Now()+time.Duration(rapid.IntRange(0, 3000).Draw(t, "ms"))*time.Millisecond, 1e6)
			}
			if !bytes.HasPrefix(flushed, server.data.Bytes()) {
				t.Fatalf("received bytes are not a prefix of the flushed stream")
			}
		}
		w.Heal()
		w.UnclogAll()
		w.RunUntil(w.Now()+2*time.Second, 1e6)
		if !server.closed && !bytes.Equal(server.data.Bytes(), flushed) {
			t.Fatalf("after healing, %d of %d flushed bytes arrived and the connection is open", server.data.Len(), len(flushed))
		}
	})
}

// TestTimerModelProperty checks timers against a model under random AfterFunc, Stop,
// Reset, pauses and time steps: a timer fires exactly once iff it was pending, at its
// due time, or at the resume if it came due while paused.
func TestTimerModelProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := NewWorld(testConfig(1), Options{})
		var e env.Env
		p := w.Spawn("n1", ProcessOptions{}, func(booted env.Env) any { e = booted; return nil })
		type model struct {
			timer   env.Timer
			pending bool
			due     time.Duration // virtual time it should fire, when pending
			firedAt []time.Duration
			fires   int // len(firedAt) when last armed or settled
		}
		var timers []*model
		paused := false
		var pausedSince time.Duration
		steps := rapid.IntRange(1, 80).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			switch rapid.IntRange(0, 5).Draw(t, "action") {
			case 0:
				if paused {
					continue // a paused process runs no code
				}
				m := &model{}
				d := time.Duration(rapid.IntRange(0, 1000).Draw(t, "d")) * time.Millisecond
				m.due, m.pending, m.fires = w.Now()+d, true, 0
				m.timer = e.Clock.AfterFunc(d, func() { m.firedAt = append(m.firedAt, w.Now()) })
				timers = append(timers, m)
			case 1:
				if len(timers) == 0 || paused {
					continue
				}
				m := timers[rapid.IntRange(0, len(timers)-1).Draw(t, "which")]
				if got := m.timer.Stop(); got != m.pending {
					t.Fatalf("Stop reported %v, model says pending=%v", got, m.pending)
				}
				m.pending = false
				m.fires = len(m.firedAt)
			case 2:
				if len(timers) == 0 || paused {
					continue
				}
				m := timers[rapid.IntRange(0, len(timers)-1).Draw(t, "which")]
				d := time.Duration(rapid.IntRange(0, 1000).Draw(t, "d")) * time.Millisecond
				if got := m.timer.Reset(d); got != m.pending {
					t.Fatalf("Reset reported %v, model says pending=%v", got, m.pending)
				}
				m.due, m.pending, m.fires = w.Now()+d, true, len(m.firedAt)
			case 3:
				if !paused {
					w.Pause(p)
					paused, pausedSince = true, w.Now()
				}
			case 4:
				if paused {
					w.Resume(p)
					paused = false
					for _, m := range timers {
						if m.pending && m.due >= pausedSince && m.due <= w.Now() {
							m.due = w.Now() // held timers run at the resume
						}
					}
				}
			case 5:
				until := w.Now() + time.Duration(rapid.IntRange(0, 700).Draw(t, "ms"))*time.Millisecond
				w.RunUntil(until, 1e6)
				for _, m := range timers {
					if m.pending && m.due <= w.Now() && !(paused && m.due >= pausedSince) {
						if len(m.firedAt) != m.fires+1 || m.firedAt[len(m.firedAt)-1] != m.due {
							t.Fatalf("timer due at %v fired at %v", m.due, m.firedAt)
						}
						m.pending = false
						m.fires = len(m.firedAt)
					}
				}
			}
			for _, m := range timers {
				if m.pending && len(m.firedAt) != m.fires {
					t.Fatalf("timer fired while the model has it pending")
				}
				if !m.pending && len(m.firedAt) != m.fires {
					t.Fatalf("a stopped or settled timer fired again")
				}
			}
		}
	})
}
