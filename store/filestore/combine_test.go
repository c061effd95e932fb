package filestore

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/natsim/natsim/store"
)

// TestCombinedCallsKeepOrder proves the queued StoreMsg and Durable calls (see
// storeMutex) under the way JetStream calls the store: publishers that store and ask
// for durability under their own lock, while readers hold the store's lock often
// enough that calls queue. Every publisher gets the sequence following the previous
// one, every callback comes exactly once, in the order Durable was called, with no
// error, and the messages read back as written; in both sync modes (run with -race).
func TestCombinedCallsKeepOrder(t *testing.T) {
	for _, interval := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprint(interval), func(t *testing.T) {
			disk := newDisk(21)
			var tasksDone sync.WaitGroup
			cfg := variants()["plain"](disk.FS())
			cfg.Tasks, cfg.SyncInterval, cfg.BlockBytesMax = goTasks{wg: &tasksDone}, interval, 64<<10
			s := mustOpen(t, cfg, store.StreamConfig{Name: "C"})
			const publishers, perPublisher, readers = 8, 150, 4
			var outer sync.Mutex // the stream's lock in JetStream
			var callbacksMu sync.Mutex
			var callbacks []uint64 // sequences in the order their callbacks came
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for range readers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						_, _ = s.LoadLastMsg(">", nil)
						s.FastState(&store.StreamState{})
					}
				}()
			}
			var publishersDone sync.WaitGroup
			var last uint64
			for p := range publishers {
				publishersDone.Add(1)
				go func() {
					defer publishersDone.Done()
					acked := make(chan error, 1)
					for i := range perPublisher {
						outer.Lock()
						seq, _, err := s.StoreMsg(fmt.Sprintf("c.%d", p), nil, []byte(fmt.Sprintf("%d-%d", p, i)), int64(i+1), 0)
						if err != nil || seq != last+1 {
							outer.Unlock()
							t.Errorf("StoreMsg = %d, %v after %d", seq, err, last)
							return
						}
						last = seq
						s.Durable(func(err error) {
							callbacksMu.Lock()
							callbacks = append(callbacks, seq)
							callbacksMu.Unlock()
							acked <- err
						})
						outer.Unlock()
						if err := <-acked; err != nil {
							t.Errorf("callback of %d: %v", seq, err)
							return
						}
					}
				}()
			}
			publishersDone.Wait()
			close(stop)
			wg.Wait()
			tasksDone.Wait()
			if len(callbacks) != publishers*perPublisher {
				t.Fatalf("%d callbacks for %d writes", len(callbacks), publishers*perPublisher)
			}
			for i, seq := range callbacks {
				if seq != uint64(i+1) {
					t.Fatalf("callback %d was for sequence %d: out of order", i, seq)
				}
			}
			for seq := uint64(1); seq <= last; seq++ {
				sm, err := s.LoadMsg(seq, nil)
				if err != nil || sm.Seq != seq {
					t.Fatalf("LoadMsg(%d) = %v, %v", seq, sm, err)
				}
			}
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			tasksDone.Wait()
		})
	}
}

// TestCombinedStoresFromManyWriters proves that StoreMsg calls queued behind the lock
// get distinct sequences in one gapless range, each the sequence its message was
// stored at (run with -race).
func TestCombinedStoresFromManyWriters(t *testing.T) {
	disk := newDisk(22)
	var tasksDone sync.WaitGroup
	cfg := variants()["plain"](disk.FS())
	cfg.Tasks, cfg.SyncInterval = goTasks{wg: &tasksDone}, time.Hour
	s := mustOpen(t, cfg, store.StreamConfig{Name: "M"})
	defer func() {
		_ = s.Stop()
		tasksDone.Wait()
	}()
	const writers, perWriter = 32, 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	payloadOf := map[uint64]string{}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				payload := fmt.Sprintf("%d-%d", w, i)
				seq, _, err := s.StoreMsg("m", nil, []byte(payload), 1, 0)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if _, dup := payloadOf[seq]; dup {
					t.Errorf("sequence %d handed out twice", seq)
				}
				payloadOf[seq] = payload
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(payloadOf) != writers*perWriter {
		t.Fatalf("%d sequences for %d writes", len(payloadOf), writers*perWriter)
	}
	for seq := uint64(1); seq <= writers*perWriter; seq++ {
		sm, err := s.LoadMsg(seq, nil)
		if err != nil || string(sm.Msg) != payloadOf[seq] {
			t.Fatalf("LoadMsg(%d) = %v, %v; want %q", seq, sm, err, payloadOf[seq])
		}
	}
	if s.mu.queued.Load() != 0 {
		t.Fatalf("%d calls left queued", s.mu.queued.Load())
	}
}
