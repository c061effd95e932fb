package jetstream

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"pgregory.net/rapid"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/sim/simfs"
	"github.com/natsim/natsim/store"
)

// snapshotT is what the helpers need of *testing.T, *testing.F and *rapid.T.
type snapshotT interface {
	Helper()
	Fatal(args ...any)
}

// newSnapshotAccount is an account of a manager on an in-memory disk, in fake time.
func newSnapshotAccount(t snapshotT, seed uint64) (*Account, *durableTasks) {
	t.Helper()
	random := durableRand{rand.New(rand.NewPCG(seed, 7))}
	disk := simfs.New(random, simfs.Config{Name: "snapshot"})
	tasks := &durableTasks{}
	e := env.Env{Clock: &durableClock{now: time.Unix(1_700_000_000, 0)}, Tasks: tasks, Rand: random, FS: disk.FS()}
	manager, err := New(Config{Env: e, StoreDir: "/data"}, &durableHost{})
	if err != nil {
		t.Fatal(err)
	}
	account, err := manager.EnableAccount("A", AccountLimits{})
	if err != nil {
		t.Fatal(err)
	}
	return account, tasks
}

// storedMessages reads every message of a store in sequence order.
func storedMessages(t snapshotT, st store.StreamStore) []store.StoreMsg {
	t.Helper()
	var state store.StreamState
	st.FastState(&state)
	var messages []store.StoreMsg
	for seq := state.FirstSeq; seq <= state.LastSeq && state.Msgs > 0; {
		var message store.StoreMsg
		loaded, next, err := st.LoadNextMsg("", false, seq, &message)
		if err != nil {
			break
		}
		copied := *loaded
		copied.Hdr = bytes.Clone(loaded.Hdr)
		copied.Msg = bytes.Clone(loaded.Msg)
		copied.Buf = nil
		messages = append(messages, copied)
		seq = next + 1
	}
	return messages
}

// TestSnapshotRoundTrip proves that any stream (messages with and without headers,
// deleted sequences, a purged prefix, file or memory storage) restores from its
// snapshot with the same messages at the same sequences and times, the same first
// and last sequences, and the same number of deleted sequences.
func TestSnapshotRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		account, tasks := newSnapshotAccount(t, rapid.Uint64().Draw(t, "seed"))
		storage := rapid.SampledFrom([]jsapi.StorageType{jsapi.FileStorage, jsapi.MemoryStorage}).Draw(t, "storage")
		config := jsapi.StreamConfig{Name: "R", Subjects: []string{"r.>"}, Storage: storage}
		stream, _, apiErr := account.AddStream(config, false)
		if apiErr != nil {
			t.Fatal(apiErr)
		}
		count := rapid.IntRange(0, 60).Draw(t, "messages")
		for i := range count {
			var header []byte
			if rapid.Bool().Draw(t, "header") {
				header = []byte(fmt.Sprintf("NATS/1.0\r\nX-Index: %d\r\n\r\n", i))
			}
			subject := fmt.Sprintf("r.%d", rapid.IntRange(0, 3).Draw(t, "subject"))
			body := bytes.Repeat([]byte{byte(i)}, rapid.IntRange(0, 50).Draw(t, "body"))
			if _, _, err := stream.store.StoreMsg(subject, header, body, int64(1_700_000_000_000_000_000+i), 0); err != nil {
				t.Fatal(err)
			}
		}
		for _, seq := range rapid.SliceOfN(rapid.Uint64Range(1, uint64(count)+1), 0, 10).Draw(t, "deletes") {
			_, _ = stream.store.RemoveMsg(seq)
		}
		if count > 0 && rapid.Bool().Draw(t, "compact") {
			if _, err := stream.store.Compact(rapid.Uint64Range(1, uint64(count)+1).Draw(t, "first")); err != nil {
				t.Fatal(err)
			}
		}
		tasks.runAll()
		var data bytes.Buffer
		state, err := writeSnapshotArchive(&data, stream, true)
		if err != nil {
			t.Fatal(err)
		}
		before := storedMessages(t, stream.store)
		if apiErr := account.DeleteStream("R"); apiErr != nil {
			t.Fatal(apiErr)
		}
		if apiErr := account.restoreStream(config, bytes.NewReader(data.Bytes())); apiErr != nil {
			t.Fatalf("restore: %v", apiErr)
		}
		restored := account.Stream("R")
		after := restored.Info(false, "").State
		if after.Msgs != state.Msgs || after.LastSeq != state.LastSeq || after.NumDeleted != state.NumDeleted ||
			(state.Msgs > 0 && after.FirstSeq != state.FirstSeq) {
			t.Fatalf("snapshot state %+v, restored %+v", state, after)
		}
		got := storedMessages(t, restored.store)
		if len(got) != len(before) {
			t.Fatalf("%d messages restored, want %d", len(got), len(before))
		}
		for i := range before {
			b, a := before[i], got[i]
			if a.Seq != b.Seq || a.Subject != b.Subject || a.TS != b.TS || !bytes.Equal(a.Hdr, b.Hdr) || !bytes.Equal(a.Msg, b.Msg) {
				t.Fatalf("message %d: restored %+v, want %+v", i, a, b)
			}
		}
	})
}

// FuzzRestoreSnapshot proves that no archive, however damaged, panics a restore or
// leaves a stream behind when it fails. The fuzzed bytes are the uncompressed
// archive (the s2 layer is applied here, so that the fuzzer works on the entries);
// the seeds are an archive of this server and the reference's backup fixture.
func FuzzRestoreSnapshot(f *testing.F) {
	account, _ := newSnapshotAccount(f, 1)
	config := jsapi.StreamConfig{Name: "F", Subjects: []string{"f.>"}, Storage: jsapi.MemoryStorage}
	stream, _, apiErr := account.AddStream(config, false)
	if apiErr != nil {
		f.Fatal(apiErr)
	}
	for i := range 5 {
		if _, _, err := stream.store.StoreMsg("f.x", []byte("NATS/1.0\r\nNats-TTL: 5s\r\n\r\n"), []byte(fmt.Sprint(i)), int64(i+1), 0); err != nil {
			f.Fatal(err)
		}
	}
	var seed bytes.Buffer
	if _, err := writeSnapshotArchive(&seed, stream, true); err != nil {
		f.Fatal(err)
	}
	if apiErr := account.DeleteStream("F"); apiErr != nil {
		f.Fatal(apiErr)
	}
	for _, compressed := range [][]byte{seed.Bytes(), readFixture(f, "../testdata/reference_backup/stream.arc.s2")} {
		raw, err := io.ReadAll(s2.NewReader(bytes.NewReader(compressed)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var compressed bytes.Buffer
		writer := s2.NewWriter(&compressed, s2.WriterConcurrency(1))
		_, _ = writer.Write(raw)
		_ = writer.Close()
		for _, data := range [][]byte{compressed.Bytes(), raw} {
			if apiErr := account.restoreStream(config, bytes.NewReader(data)); apiErr != nil {
				if apiErr.ErrCode != jsapi.ErrCodeStreamRestore {
					t.Fatalf("error %v, want 10062", apiErr)
				}
				if account.Stream("F") != nil {
					t.Fatalf("failed restore left a stream: %v", apiErr)
				}
				continue
			}
			if err := account.DeleteStream("F"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestRestoreRespectsStorageLimits proves a restore whose snapshot holds more bytes
// than the account may store is refused with the reference's 10047 (10028 for
// memory) and creates nothing, while one that fits is restored.
func TestRestoreRespectsStorageLimits(t *testing.T) {
	account, _ := newSnapshotAccount(t, 3)
	for _, storage := range []jsapi.StorageType{jsapi.FileStorage, jsapi.MemoryStorage} {
		config := jsapi.StreamConfig{Name: "L", Subjects: []string{"l.>"}, Storage: storage}
		stream, _, apiErr := account.AddStream(config, false)
		if apiErr != nil {
			t.Fatal(apiErr)
		}
		for i := range 20 {
			if _, _, err := stream.store.StoreMsg("l.x", nil, bytes.Repeat([]byte("x"), 100), int64(i+1), 0); err != nil {
				t.Fatal(err)
			}
		}
		var data bytes.Buffer
		state, err := writeSnapshotArchive(&data, stream, false)
		if err != nil {
			t.Fatal(err)
		}
		if apiErr := account.DeleteStream("L"); apiErr != nil {
			t.Fatal(apiErr)
		}
		want := jsapi.ErrCodeStorageResourcesExceeded
		limits := AccountLimits{MaxMemory: -1, MaxStore: int64(state.Bytes) - 1}
		if storage == jsapi.MemoryStorage {
			want = jsapi.ErrCodeMemoryResourcesExceeded
			limits = AccountLimits{MaxMemory: int64(state.Bytes) - 1, MaxStore: -1}
		}
		account.setLimits(limits)
		if apiErr := account.restoreStream(config, bytes.NewReader(data.Bytes())); apiErr == nil || apiErr.ErrCode != want {
			t.Fatalf("%s: %v, want %d", storage, apiErr, want)
		}
		if account.Stream("L") != nil {
			t.Fatalf("%s: refused restore left a stream", storage)
		}
		account.setLimits(AccountLimits{MaxMemory: -1, MaxStore: -1})
		if apiErr := account.restoreStream(config, bytes.NewReader(data.Bytes())); apiErr != nil {
			t.Fatalf("%s: %v", storage, apiErr)
		}
		if apiErr := account.DeleteStream("L"); apiErr != nil {
			t.Fatal(apiErr)
		}
	}
}
