package jetstream

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// TestStoredBytesFollowStreams checks the usage counts a publish checks limits
// against (kept by storage callbacks) against a full scan of every stream's state,
// through publishes, limit evictions, purges, message deletes, stream deletes and
// restarts, for file and memory streams.
func TestStoredBytesFollowStreams(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		dir := t.TempDir()
		w := newBatchWorld(t, dir)
		defer func() { w.manager.Stop() }()
		names := []string{"F1", "F2", "M1"}
		create := func(name string) {
			storage := "file"
			if name[0] == 'M' {
				storage = "memory"
			}
			w.createStream(name, fmt.Sprintf(`{"name":%q,"subjects":["%s.>"],"storage":%q,"max_msgs_per_subject":3}`, name, name, storage))
		}
		for _, name := range names {
			create(name)
		}
		check := func(step string) {
			account := w.manager.Account("A")
			wantMemory, wantFile := account.usage()
			memory, file := account.stored.load()
			if memory != wantMemory || file != wantFile {
				rt.Fatalf("after %s: account counts memory %d file %d, streams hold %d and %d", step, memory, file, wantMemory, wantFile)
			}
			serverMemory, serverFile := w.manager.stored.load()
			if serverMemory != wantMemory || serverFile != wantFile {
				rt.Fatalf("after %s: server counts memory %d file %d, streams hold %d and %d", step, serverMemory, serverFile, wantMemory, wantFile)
			}
		}
		for i := range rapid.IntRange(1, 40).Draw(rt, "steps") {
			name := rapid.SampledFrom(names).Draw(rt, "stream")
			stream := w.manager.Account("A").Stream(name)
			op := rapid.IntRange(0, 12).Draw(rt, "op")
			switch {
			case stream == nil:
				if name[0] != 'M' || op < 6 {
					create(name)
				}
			case op <= 6:
				subject := fmt.Sprintf("%s.%d", name, rapid.IntRange(0, 3).Draw(rt, "subject"))
				w.publish(subject, rapid.StringN(0, 40, -1).Draw(rt, "data"))
			case op == 7:
				stream.Purge(fmt.Sprintf("%s.%d", name, rapid.IntRange(0, 3).Draw(rt, "subject")), 0, 0)
			case op == 8:
				stream.Purge("", 0, uint64(rapid.IntRange(0, 2).Draw(rt, "keep")))
			case op == 9:
				var seq uint64 = 1
				stream.DeleteMsg(seq+uint64(rapid.IntRange(0, 10).Draw(rt, "seq")), rapid.Bool().Draw(rt, "erase"))
			case op == 10:
				w.call("$JS.API.STREAM.DELETE."+name, nil, "")
			default:
				// A restart: file streams come back with their messages, memory
				// streams do not come back.
				w.manager.Stop()
				w = newBatchWorld(t, dir)
			}
			check(fmt.Sprintf("step %d (op %d on %s)", i, op, name))
		}
	})
}
