package wal

import (
	"testing"

	"github.com/natsim/natsim/env/osenv"
	pb "github.com/natsim/natsim/raft/raftpb"
)

// BenchmarkAppendSync measures one Ready on the real file system: a batch of entries
// and a hard state made durable with Save (two fsyncs: the segment, the state file).
func BenchmarkAppendSync(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(map[int]string{1: "batch=1", 16: "batch=16"}[batch], func(b *testing.B) {
			w, _, err := Open(osenv.FS{}, b.TempDir()+"/wal", Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			data := make([]byte, 256)
			index := uint64(0)
			b.SetBytes(int64(batch * len(data)))
			for b.Loop() {
				ents := make([]pb.Entry, batch)
				for i := range ents {
					index++
					ents[i] = pb.Entry{Index: index, Term: 1, Data: data}
				}
				if err := w.Save(pb.Snapshot{}, ents, pb.HardState{Term: 1, Commit: index}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
