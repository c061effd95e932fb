package simfs

import (
	"fmt"
	"testing"
)

// BenchmarkAppendSync measures the store's hot path: append 4 KiB to a block file and
// sync it.
func BenchmarkAppendSync(b *testing.B) {
	disk := newTestDisk(1, Faults{})
	f, err := disk.FS().Create("block")
	if err != nil {
		b.Fatal(err)
	}
	record := make([]byte, 4096)
	b.SetBytes(int64(len(record)))
	var offset int64
	for b.Loop() {
		if _, err := f.WriteAt(record, offset); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		offset += int64(len(record))
		if offset >= 64<<20 {
			offset = 0
		}
	}
}

// BenchmarkReadAt measures 4 KiB reads with every read-time fault armed but rare.
func BenchmarkReadAt(b *testing.B) {
	disk := newTestDisk(1, Faults{ReadBitFlipProbability: 0.001, StaleReadProbability: 0.001})
	f, err := disk.FS().Create("block")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 1<<20), 0); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 4096)
	b.SetBytes(int64(len(buf)))
	var offset int64
	for b.Loop() {
		if _, err := f.ReadAt(buf, offset); err != nil {
			b.Fatal(err)
		}
		offset = (offset + 4096) % (1 << 20)
	}
}

// BenchmarkPowerLoss measures a power loss over 1,000 files of 4 KiB in 10
// directories, half of them with unsynced writes.
func BenchmarkPowerLoss(b *testing.B) {
	disk := newTestDisk(1, Faults{TornWriteProbability: 0.5})
	data := make([]byte, 4096)
	for b.Loop() {
		fsys := disk.FS()
		for dir := 0; dir < 10; dir++ {
			name := fmt.Sprintf("d%d", dir)
			if err := fsys.MkdirAll(name, 0o755); err != nil {
				b.Fatal(err)
			}
			for file := 0; file < 100; file++ {
				f, err := fsys.OpenReadWrite(fmt.Sprintf("%s/%d", name, file))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = f.WriteAt(data, 0)
				if file%2 == 0 {
					_ = f.Sync()
				}
			}
			_ = fsys.SyncDir(name)
		}
		_ = fsys.SyncDir(".")
		disk.Crash(true)
	}
}
