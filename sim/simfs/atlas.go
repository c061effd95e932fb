package simfs

import "github.com/natsim/natsim/env"

// AtlasMode says how many disks of a group the fault atlas may make faulty.
type AtlasMode int

const (
	// AtlasRecoverable lets corrupting faults hit at most a minority of every group,
	// so that each datum keeps a healthy majority to repair from. The default.
	AtlasRecoverable AtlasMode = iota
	// AtlasSafetyOnly lifts the limit: any disk may be faulty, even all of a group. A
	// cluster may then lose data, but must never lie about it (safety, not liveness).
	AtlasSafetyOnly
)

// Atlas decides which disks may suffer corrupting faults (see Faults.Corrupting). A
// group is a set of disks that hold copies of one datum, e.g. the replicas of one
// stream; a disk may belong to several groups. In AtlasRecoverable mode the atlas picks
// the faulty disks so that every group keeps a strict majority of healthy disks.
type Atlas struct {
	rnd    env.Rand
	mode   AtlasMode
	disks  []*Disk // every disk of every group, in the order first added
	groups [][]*Disk
	faulty map[*Disk]bool
}

// NewAtlas returns an empty atlas drawing its choices from rnd.
func NewAtlas(rnd env.Rand, mode AtlasMode) *Atlas {
	return &Atlas{rnd: rnd, mode: mode, faulty: map[*Disk]bool{}}
}

// AddGroup adds the disks that hold copies of one datum. Call Choose afterwards.
func (a *Atlas) AddGroup(disks ...*Disk) {
	group := make([]*Disk, 0, len(disks))
	for _, disk := range disks {
		if !a.known(disk) {
			a.disks = append(a.disks, disk)
		}
		group = append(group, disk)
	}
	a.groups = append(a.groups, group)
}

func (a *Atlas) known(disk *Disk) bool {
	for _, known := range a.disks {
		if known == disk {
			return true
		}
	}
	return false
}

// Choose draws the faulty disks anew: in a random order, each disk turns faulty with
// probability one half if every group it belongs to can still afford it (a minority in
// AtlasRecoverable mode; always in AtlasSafetyOnly mode).
func (a *Atlas) Choose() {
	a.faulty = map[*Disk]bool{}
	order := make([]*Disk, len(a.disks))
	copy(order, a.disks)
	for i := len(order) - 1; i > 0; i-- {
		j := a.rnd.Intn(i + 1)
		order[i], order[j] = order[j], order[i]
	}
	for _, disk := range order {
		if a.rnd.Intn(2) == 0 {
			continue
		}
		if a.mode == AtlasSafetyOnly || a.affordable(disk) {
			a.faulty[disk] = true
		}
	}
}

// affordable reports whether making disk faulty keeps a strict healthy majority in
// every group that holds it.
func (a *Atlas) affordable(disk *Disk) bool {
	for _, group := range a.groups {
		member, faulty := false, 0
		for _, other := range group {
			member = member || other == disk
			if a.faulty[other] {
				faulty++
			}
		}
		if member && 2*(faulty+1) >= len(group) {
			return false
		}
	}
	return true
}

// Faulty reports whether the last Choose made disk faulty.
func (a *Atlas) Faulty(disk *Disk) bool { return a.faulty[disk] }

// Apply sets the fault rates of every disk in the atlas: faulty disks get f, the others
// f without its corrupting faults.
func (a *Atlas) Apply(f Faults) {
	for _, disk := range a.disks {
		if a.faulty[disk] {
			disk.SetFaults(f)
		} else {
			disk.SetFaults(f.WithoutCorruption())
		}
	}
}

// Disable turns every fault off on every disk of the atlas, e.g. for a liveness phase.
func (a *Atlas) Disable() {
	for _, disk := range a.disks {
		disk.SetFaults(Faults{})
	}
}
