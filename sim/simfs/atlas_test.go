package simfs

import (
	"fmt"
	"testing"
)

// TestAtlasRecoverableKeepsHealthyMajority proves that in the default mode every group
// keeps a strict majority of healthy disks, whatever the draw, that disks are faulty in
// some draws, and that healthy disks keep only the legal faults.
func TestAtlasRecoverableKeepsHealthyMajority(t *testing.T) {
	everFaulty := 0
	for seed := uint64(0); seed < 200; seed++ {
		rnd := newTestRand(seed)
		disks := make([]*Disk, 5)
		for i := range disks {
			disks[i] = New(rnd, Config{Name: fmt.Sprint(i)})
		}
		atlas := NewAtlas(rnd, AtlasRecoverable)
		groups := [][]*Disk{disks[:3], disks[2:5], disks, disks[1:2]}
		for _, group := range groups {
			atlas.AddGroup(group...)
		}
		atlas.Choose()
		faults := Faults{ReadBitFlipProbability: 0.5, SyncErrorProbability: 0.25}
		atlas.Apply(faults)
		for _, group := range groups {
			faulty := 0
			for _, disk := range group {
				if atlas.Faulty(disk) {
					faulty++
				}
			}
			if 2*faulty >= len(group) {
				t.Fatalf("seed %d: %d of %d disks faulty", seed, faulty, len(group))
			}
		}
		for _, disk := range disks {
			got := disk.Faults()
			if atlas.Faulty(disk) {
				everFaulty++
				if got.ReadBitFlipProbability != 0.5 {
					t.Fatalf("seed %d: a faulty disk lacks its faults", seed)
				}
			} else if got.Corrupting() || got.SyncErrorProbability != 0.25 {
				t.Fatalf("seed %d: a healthy disk got %+v", seed, got)
			}
		}
		if atlas.Faulty(disks[1]) {
			t.Fatalf("seed %d: the only copy of a datum is faulty", seed)
		}
	}
	if everFaulty == 0 {
		t.Fatal("no disk was ever faulty")
	}
}

// TestAtlasSafetyOnlyMayBreakEveryCopy proves that the safety-only mode can make a
// whole group faulty.
func TestAtlasSafetyOnlyMayBreakEveryCopy(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		rnd := newTestRand(seed)
		disks := []*Disk{New(rnd, Config{}), New(rnd, Config{}), New(rnd, Config{})}
		atlas := NewAtlas(rnd, AtlasSafetyOnly)
		atlas.AddGroup(disks...)
		atlas.Choose()
		if atlas.Faulty(disks[0]) && atlas.Faulty(disks[1]) && atlas.Faulty(disks[2]) {
			atlas.Disable()
			if disks[0].Faults().Corrupting() {
				t.Fatal("Disable left faults on")
			}
			return
		}
	}
	t.Fatal("no draw made the whole group faulty")
}
