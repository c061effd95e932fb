package simfs

import (
	"slices"
	"strings"
)

// Entry describes one file or directory a disk holds.
type Entry struct {
	// Path is slash-separated from the disk's root, without a leading slash.
	Path  string
	IsDir bool
	// Size is the length the process sees; DurableSize the length a power loss would
	// leave (before torn writes). Both are zero for directories.
	Size        int64
	DurableSize int64
	// Unsynced reports that the file has writes or a truncation not yet synced.
	Unsynced bool
	// DurableEntry reports that the path survives a power loss: every entry on the
	// way from the root has been made durable by SyncDir.
	DurableEntry bool
}

// List describes everything the process sees, in path order.
func (d *Disk) List() []Entry {
	d.mu.Lock()
	defer d.mu.Unlock()
	durablePaths := map[string]*inode{}
	for _, entry := range d.walk(true) {
		durablePaths[joinPath(entry.parts)] = entry.node
	}
	var entries []Entry
	for _, walked := range d.walk(false) {
		entry := describe(walked)
		entry.DurableEntry = durablePaths[entry.Path] == walked.node
		entries = append(entries, entry)
	}
	sortEntries(entries)
	return entries
}

// ListDurable describes what a power loss would leave now (without torn writes or
// crash-time faults), in path order.
func (d *Disk) ListDurable() []Entry {
	d.mu.Lock()
	defer d.mu.Unlock()
	var entries []Entry
	for _, walked := range d.walk(true) {
		entry := describe(walked)
		entry.DurableEntry = true
		entry.Size = entry.DurableSize
		entry.Unsynced = false
		entries = append(entries, entry)
	}
	sortEntries(entries)
	return entries
}

// Contents returns a copy of the bytes the process would read from the named file,
// without faults, or false if it is not a file.
func (d *Disk) Contents(name string) ([]byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	node, err := d.lookup(cleanPath(name))
	if err != nil || node.isDir {
		return nil, false
	}
	return slices.Clone(node.data), true
}

// UsedBytes returns the sum of the lengths of the files, as checked against
// Faults.CapacityBytes.
func (d *Disk) UsedBytes() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.usedBytes
}

func describe(walked pathNode) Entry {
	n := walked.node
	entry := Entry{Path: joinPath(walked.parts), IsDir: n.isDir}
	if !n.isDir {
		entry.Size = int64(len(n.data))
		entry.DurableSize = int64(len(n.durable))
		entry.Unsynced = len(n.dirty) > 0 || n.truncatedMin < int64(len(n.durable)) || len(n.durable) != len(n.data)
	}
	return entry
}

func sortEntries(entries []Entry) {
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
}
