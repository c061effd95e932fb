package filestore

import (
	"errors"
	"fmt"
	"path"
	"testing"

	"github.com/natsim/natsim/sim/simfs"
	"github.com/natsim/natsim/store"
)

const ttlBase = int64(1_000_000_000_000)

// ttlFixture stores 40 messages, every other one with a TTL of 10 to 49 seconds.
func ttlFixture(t testing.TB) (*simfs.Disk, Config) {
	t.Helper()
	disk := newDisk(31)
	cfg := variants()["plain"](disk.FS())
	s := mustOpen(t, cfg, store.StreamConfig{Name: "T", AllowMsgTTL: true})
	for i := range 40 {
		ttl := int64(0)
		if i%2 == 0 {
			ttl = int64(10+i) * 1e9
		}
		if _, _, err := s.StoreMsg(fmt.Sprintf("t.%d", i%3), nil, []byte("ttl payload"), ttlBase+int64(i), ttl); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	return disk, cfg
}

// expiryTrace reopens the store and expires step by step, recording what remains.
func expiryTrace(t *testing.T, cfg Config) (string, RecoveryStats) {
	t.Helper()
	s := mustOpen(t, cfg, store.StreamConfig{Name: "T", AllowMsgTTL: true})
	defer s.Stop()
	stats := s.Recovery()
	trace := fmt.Sprintf("next %d\n", s.NextExpiration())
	for step := int64(0); step <= 60; step += 7 {
		n, err := s.ExpireMsgs(ttlBase + step*1e9)
		if err != nil {
			t.Fatal(err)
		}
		state := s.State()
		trace += fmt.Sprintf("at %d: expired %d, msgs %d, first %d, next %d\n", step, n, state.Msgs, state.FirstSeq, s.NextExpiration())
	}
	return trace, stats
}

// ttlScenario reopens the fixture (loading the TTL file), stores one more message
// with a TTL and stops; it returns the TTL file of the first and of the second stop.
func ttlScenario(t *testing.T) (disk *simfs.Disk, cfg Config, stale, current []byte) {
	t.Helper()
	disk, cfg = ttlFixture(t)
	ttlPath := path.Join(cfg.Dir, ttlFileName)
	stale, ok := disk.Contents(ttlPath)
	if !ok {
		t.Fatal("no TTL file after Stop")
	}
	s := mustOpen(t, cfg, store.StreamConfig{Name: "T", AllowMsgTTL: true})
	if !s.Recovery().TTLsLoaded {
		t.Fatalf("clean reopen did not load the TTL file: %+v", s.Recovery())
	}
	if _, _, err := s.StoreMsg("t.late", nil, nil, ttlBase+100, 5e9); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	current, _ = disk.Contents(ttlPath)
	return disk, cfg, stale, current
}

// TestTTLFileLoadedOrRebuilt proves the saved TTL wheel is loaded when current, and
// that a missing, damaged or stale one is rejected and rebuilt from the messages
// with the same expirations.
func TestTTLFileLoadedOrRebuilt(t *testing.T) {
	_, cfg, _, _ := ttlScenario(t)
	want, stats := expiryTrace(t, cfg)
	if !stats.TTLsLoaded {
		t.Fatalf("TTL file not loaded: %+v", stats)
	}
	for _, name := range []string{"stale", "damaged", "missing"} {
		t.Run(name, func(t *testing.T) {
			disk, cfg, stale, current := ttlScenario(t)
			ttlPath := path.Join(cfg.Dir, ttlFileName)
			switch name {
			case "stale":
				writeFile(t, disk, ttlPath, stale)
			case "damaged":
				damaged := append([]byte(nil), current...)
				damaged[len(damaged)/2] ^= 0x20
				writeFile(t, disk, ttlPath, damaged)
			case "missing":
				if err := disk.FS().Remove(ttlPath); err != nil {
					t.Fatal(err)
				}
			}
			got, stats := expiryTrace(t, cfg)
			if stats.TTLsLoaded || stats.TTLsRejected != (name != "missing") {
				t.Fatalf("recovery %+v", stats)
			}
			if got != want {
				t.Fatalf("rebuilt wheel expires differently:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestTTLFileAfterTruncate proves a saved wheel never outlives a Truncate: sequences
// stored again after it, with other TTLs, expire by their own TTLs after a power
// loss, although the old file's stamp equals the new last sequence.
func TestTTLFileAfterTruncate(t *testing.T) {
	disk, cfg := ttlFixture(t)
	// The TTL file is written without fsync; the OS may still have made it durable.
	ttlPath := path.Join(cfg.Dir, ttlFileName)
	saved, _ := disk.Contents(ttlPath)
	f, err := disk.FS().Create(ttlPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(saved, 0); err != nil || f.Sync() != nil || f.Close() != nil || disk.FS().SyncDir(cfg.Dir) != nil {
		t.Fatal("making the TTL file durable failed")
	}
	s := mustOpen(t, cfg, store.StreamConfig{Name: "T", AllowMsgTTL: true})
	if err := s.Truncate(30); err != nil {
		t.Fatal(err)
	}
	// As many messages with a TTL as before the Truncate, so that the old file's entry
	// count cannot give it away either.
	for i := range 10 {
		subject, ttl := "t.again", int64(1e9)
		if i%2 == 1 {
			subject, ttl = "t.kept", 0
		}
		if _, _, err := s.StoreMsg(subject, nil, nil, ttlBase+50, ttl); err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
	durable(t, s)
	disk.Crash(true)
	cfg.FS = disk.FS()
	s = mustOpen(t, cfg, store.StreamConfig{Name: "T", AllowMsgTTL: true})
	defer s.Stop()
	if s.stream.Last() != 40 || s.Recovery().TTLsLoaded {
		t.Fatalf("last %d, recovery %+v", s.stream.Last(), s.Recovery())
	}
	if _, err := s.ExpireMsgs(ttlBase + 52e9); err != nil {
		t.Fatal(err)
	}
	if n := s.FilteredState(0, "t.again").Msgs; n != 0 {
		t.Fatalf("%d re-stored messages outlived their TTL", n)
	}
}

// TestEncryptedAuxFiles proves the meta, index, TTL and consumer state files of an
// encrypted store hold no plaintext and reopen with the key; a consumer state file
// sealed under another key, or left in the clear, fails with store.ErrBadKey, and a
// damaged one with store.ErrCorrupt.
func TestEncryptedAuxFiles(t *testing.T) {
	for _, name := range []string{"aes", "chacha-s2"} {
		t.Run(name, func(t *testing.T) {
			disk := newDisk(41)
			cfg := variants()[name](disk.FS())
			s := mustOpen(t, cfg, store.StreamConfig{Name: "SecretStream", Subjects: []string{"secret.>"}, AllowMsgTTL: true})
			for i := range 30 {
				if _, _, err := s.StoreMsg("secret.subject", nil, []byte("secret payload"), ttlBase+int64(i), 1e12); err != nil {
					t.Fatal(err)
				}
			}
			c, err := s.ConsumerStore("secretconsumer", store.ConsumerConfig{AckPolicy: store.AckExplicit})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.UpdateDelivered(1, 7, 1, ttlBase); err != nil {
				t.Fatal(err)
			}
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			files := append(indexFiles(t, disk, cfg), path.Join(cfg.Dir, metaFileName), path.Join(cfg.Dir, ttlFileName), path.Join(cfg.Dir, obsDirName, "secretconsumer", consumerStateFileName))
			for _, file := range files {
				contents, ok := disk.Contents(file)
				if !ok {
					t.Fatalf("%s missing", file)
				}
				for _, secret := range []string{"secret", "Secret"} {
					if containsBytes(contents, []byte(secret)) {
						t.Fatalf("plaintext %q in %s", secret, file)
					}
				}
			}
			s = mustOpen(t, cfg, store.StreamConfig{Name: "SecretStream", Subjects: []string{"secret.>"}, AllowMsgTTL: true})
			if stats := s.Recovery(); stats.BlocksReplayed != 0 || !stats.TTLsLoaded {
				t.Fatalf("recovery %+v", stats)
			}
			c, err = s.ConsumerStore("secretconsumer", store.ConsumerConfig{})
			if err != nil {
				t.Fatal(err)
			}
			if state, _ := c.State(); state.Delivered.Stream != 7 {
				t.Fatalf("consumer state %+v", state)
			}
			_ = s.Stop()

			consumerFile := files[len(files)-1]
			sealedRight, _ := disk.Contents(consumerFile)
			wrong := &Store{config: cfg}
			wrong.config.Key = []byte("ffffffffffffffffffffffffffffffff")
			sealedWrong, err := wrong.sealAuxFile(consumerFile, store.EncodeConsumerState(&store.ConsumerState{}))
			if err != nil {
				t.Fatal(err)
			}
			damaged := append([]byte(nil), sealedRight...)
			damaged[len(damaged)-1] ^= 1
			for label, tc := range map[string]struct {
				contents []byte
				want     error
			}{
				"other key": {sealedWrong, store.ErrBadKey},
				"clear":     {store.EncodeConsumerState(&store.ConsumerState{}), store.ErrBadKey},
				"damaged":   {damaged, store.ErrCorrupt},
			} {
				writeFile(t, disk, consumerFile, tc.contents)
				s = mustOpen(t, cfg, store.StreamConfig{Name: "SecretStream", Subjects: []string{"secret.>"}, AllowMsgTTL: true})
				if _, err := s.ConsumerStore("secretconsumer", store.ConsumerConfig{}); !errors.Is(err, tc.want) {
					t.Fatalf("%s: ConsumerStore = %v, want %v", label, err, tc.want)
				}
				_ = s.Stop()
			}
			// The meta file is the first thing Open reads: a wrong key fails there, loudly.
			other := cfg
			other.Key = []byte("ffffffffffffffffffffffffffffffff")
			if _, err := Open(other, store.StreamConfig{Name: "SecretStream"}); !errors.Is(err, store.ErrBadKey) {
				t.Fatalf("Open with the wrong key = %v", err)
			}
		})
	}
}

// FuzzTTLFile proves whatever the TTL file holds, the store opens with the TTLs of
// its messages: a file that is not a current wheel is rebuilt, never trusted.
func FuzzTTLFile(f *testing.F) {
	disk, cfg := ttlFixture(f)
	saved, _ := disk.Contents(path.Join(cfg.Dir, ttlFileName))
	f.Add(saved)
	f.Add([]byte{})
	f.Add(appendRecord(nil, []byte{ttlFileKind, 2, 0, 40}))
	s := mustOpen(f, cfg, store.StreamConfig{Name: "T", AllowMsgTTL: true})
	want := s.NextExpiration()
	_ = s.Stop()
	f.Fuzz(func(t *testing.T, data []byte) {
		writeFile(t, disk, path.Join(cfg.Dir, ttlFileName), data)
		s := mustOpen(t, cfg, store.StreamConfig{Name: "T", AllowMsgTTL: true})
		got := s.NextExpiration()
		loaded := s.Recovery().TTLsLoaded
		if err := s.Stop(); err != nil {
			t.Fatal(err)
		}
		// A loaded wheel may hold extra entries (of removed messages), never fewer.
		if got > want || !loaded && got != want {
			t.Fatalf("next expiration %d, want %d (loaded %v)", got, want, loaded)
		}
	})
}
