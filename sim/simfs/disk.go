package simfs

import (
	"path"
	"strings"
	"sync"

	"github.com/natsim/natsim/env"
)

// sectorBytesDefault is the unit of torn writes and sector faults when Config leaves it
// unset: the logical sector of most drives.
const sectorBytesDefault = 512

// fileBytesMax bounds one file's length. The disk lives in memory, so a write at a wild
// offset must fail (EFBIG) instead of allocating it.
const fileBytesMax = 1 << 32

// Config describes one disk.
type Config struct {
	// Name identifies the disk in listings and reports (e.g. the process's name).
	Name string
	// SectorBytes is the unit of torn writes, latent errors, stale reads and
	// misdirected writes. Zero means 512.
	SectorBytes int
	// Faults are the fault rates in force from the start; SetFaults changes them.
	Faults Faults
}

// Disk is one simulated process's storage. It survives the process's crashes; FS gives
// the file system of the current incarnation. A Disk is safe for concurrent use,
// though the simulator calls it from one goroutine.
type Disk struct {
	mu          sync.Mutex
	rnd         env.Rand
	name        string
	sectorBytes int64
	faults      Faults
	counters    Counters

	root *inode
	// incarnation grows with every crash; handles and file systems of an older one
	// are dead.
	incarnation uint64
	nextID      uint64
	// usedBytes is the sum of the lengths of the linked files, checked against
	// Faults.CapacityBytes.
	usedBytes int64
}

// New returns an empty disk that draws every random decision from rnd.
func New(rnd env.Rand, cfg Config) *Disk {
	sectorBytes := int64(cfg.SectorBytes)
	if sectorBytes <= 0 {
		sectorBytes = sectorBytesDefault
	}
	d := &Disk{rnd: rnd, name: cfg.Name, sectorBytes: sectorBytes, faults: cfg.Faults}
	d.root = newDirectory(d.allocateID())
	return d
}

// Name returns the name the disk was configured with.
func (d *Disk) Name() string { return d.name }

// FS returns the file system of the current incarnation. After Crash it, and every
// file opened through it, returns env.ErrClosed.
func (d *Disk) FS() env.FS {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &fileSystem{disk: d, incarnation: d.incarnation}
}

// SetFaults replaces the fault rates, e.g. to switch faults off for a liveness phase.
func (d *Disk) SetFaults(f Faults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
	if f.StaleReadProbability <= 0 {
		d.forgetPreviousVersions(d.root, map[*inode]bool{})
	}
}

// Faults returns the fault rates in force.
func (d *Disk) Faults() Faults {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.faults
}

// Counters returns the faults injected and crashes seen so far.
func (d *Disk) Counters() Counters {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.counters
}

// Crash ends the current incarnation: every handle and file system handed out so far
// returns env.ErrClosed from then on. A process kill (powerLoss false) keeps every byte
// and entry, synced or not, since the page cache survives the process. A power loss
// reverts the disk to its durable state: unsynced file bytes and directory entry
// changes not made durable by SyncDir of their parent are lost, except that with
// Faults.TornWriteProbability a file may keep a random prefix of its unsynced sectors.
// Either kind of crash then applies the crash-time faults (truncation, bit flips at
// rest).
func (d *Disk) Crash(powerLoss bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.incarnation++
	if powerLoss {
		d.counters.PowerLosses++
		d.revertToDurable()
	} else {
		d.counters.ProcessKills++
	}
	d.injectCrashFaults()
}

func (d *Disk) allocateID() uint64 {
	d.nextID++
	return d.nextID
}

// fire draws whether a fault of the given probability happens now to the file at
// filePath. It draws nothing when the probability is zero or the file is not a target.
func (d *Disk) fire(probability float64, filePath string) bool {
	if probability <= 0 {
		return false
	}
	if d.faults.Target != nil && !d.faults.Target(filePath) {
		return false
	}
	return d.rnd.Float64() < probability
}

// cleanPath turns a name into the slash-separated components below the disk's root.
// Every name is relative to the root; ".." never climbs above it.
func cleanPath(name string) []string {
	cleaned := path.Clean("/" + name)
	if cleaned == "/" {
		return nil
	}
	return strings.Split(cleaned[1:], "/")
}

// joinPath is the inverse of cleanPath.
func joinPath(parts []string) string {
	return strings.Join(parts, "/")
}

// lookup walks parts from the root. It returns the inode, or the error POSIX gives:
// fs.ErrNotExist for a missing component, ErrNotDirectory for a file in the middle.
func (d *Disk) lookup(parts []string) (*inode, error) {
	node := d.root
	for _, part := range parts {
		if !node.isDir {
			return nil, ErrNotDirectory
		}
		child, ok := node.children[part]
		if !ok {
			return nil, errNotExist
		}
		node = child
	}
	return node, nil
}

// lookupParent returns the directory that holds the last component of parts.
func (d *Disk) lookupParent(parts []string) (*inode, error) {
	if len(parts) == 0 {
		return nil, errInvalid
	}
	parent, err := d.lookup(parts[:len(parts)-1])
	if err != nil {
		return nil, err
	}
	if !parent.isDir {
		return nil, ErrNotDirectory
	}
	return parent, nil
}

// link adds an entry to a directory, replacing nothing: callers unlink first.
func (d *Disk) link(parent *inode, name string, child *inode) {
	parent.children[name] = child
	if !child.isDir {
		child.links++
		if child.links == 1 {
			d.usedBytes += int64(len(child.data))
		}
	}
}

// unlink removes an entry; a file whose last name goes releases its space.
func (d *Disk) unlink(parent *inode, name string) {
	child := parent.children[name]
	delete(parent.children, name)
	if child != nil && !child.isDir {
		child.links--
		if child.links == 0 {
			d.usedBytes -= int64(len(child.data))
		}
	}
}

// forgetPreviousVersions drops the sector versions kept for stale reads.
func (d *Disk) forgetPreviousVersions(dir *inode, visited map[*inode]bool) {
	stack := []*inode{dir}
	for len(stack) > 0 {
		node := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if visited[node] {
			continue
		}
		visited[node] = true
		node.previous = nil
		for _, child := range node.children {
			stack = append(stack, child)
		}
		for _, child := range node.durableChildren {
			stack = append(stack, child)
		}
	}
}
