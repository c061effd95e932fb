package simfs

import "sort"

// inode is a file or a directory. A file keeps two copies of its bytes: data, what the
// process reads (the page cache), and durable, what a power loss would leave. The
// sectors written since the last Sync are listed in dirty, in the order they were
// first written, so a power loss can tear them as a prefix. A directory likewise keeps
// children, the entries the process sees, and durableChildren, the entries its last
// SyncDir made durable; an inode reachable only through a pending entry is lost on
// power loss.
type inode struct {
	// id is the creation order, used to name inodes deterministically in listings.
	id    uint64
	isDir bool

	// Files.
	data     []byte
	durable  []byte
	dirty    []int64
	dirtySet map[int64]struct{}
	// truncatedMin is the smallest length data had since the last Sync: durable bytes
	// beyond it are gone from data, whatever durable still holds.
	truncatedMin int64
	// previous holds, per sector, its bytes before its last overwrite (stale reads).
	previous map[int64][]byte
	// unreadable marks sectors with latent errors.
	unreadable map[int64]struct{}
	// links counts the directory entries naming this file, for space accounting.
	links int

	// Directories.
	children        map[string]*inode
	durableChildren map[string]*inode
}

func newFile(id uint64) *inode {
	return &inode{id: id, dirtySet: map[int64]struct{}{}}
}

func newDirectory(id uint64) *inode {
	return &inode{id: id, isDir: true, children: map[string]*inode{}, durableChildren: map[string]*inode{}}
}

// sortedNames returns the keys of entries in order, so that nothing observable depends
// on map iteration order.
func sortedNames(entries map[string]*inode) []string {
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// resize returns b with length n; bytes it exposes are zero even when b's capacity
// held older bytes there.
func resize(b []byte, n int64) []byte {
	if n <= int64(len(b)) {
		return b[:n]
	}
	if n <= int64(cap(b)) {
		old := len(b)
		b = b[:n]
		clear(b[old:])
		return b
	}
	grown := make([]byte, n, max(n, 2*int64(cap(b))))
	copy(grown, b)
	return grown
}

// markDirty records that the sectors overlapping [offset, end) changed since the
// last Sync.
func (n *inode) markDirty(offset, end, sectorBytes int64) {
	for sector := offset / sectorBytes; sector*sectorBytes < end; sector++ {
		if _, ok := n.dirtySet[sector]; ok {
			continue
		}
		n.dirtySet[sector] = struct{}{}
		n.dirty = append(n.dirty, sector)
	}
}

// truncateData sets the length of what the process sees.
func (n *inode) truncateData(size int64) {
	n.data = resize(n.data, size)
	n.truncatedMin = min(n.truncatedMin, size)
}

// sync makes data durable: durable loses what a truncation removed, grows to data's
// length, and takes every dirty sector.
func (n *inode) sync(sectorBytes int64) {
	keep := min(int64(len(n.durable)), n.truncatedMin)
	n.durable = resize(n.durable[:keep], int64(len(n.data)))
	for _, sector := range n.dirty {
		n.copySectorToDurable(sector, sectorBytes)
	}
	n.clearDirty()
}

// syncPrefix makes only the first count dirty sectors durable, extending durable to
// cover them, and forgets the other dirty sectors: what a torn write or a failed Sync
// leaves. It returns the bytes of the sectors it dropped.
func (n *inode) syncPrefix(count int, sectorBytes int64) (droppedBytes int64) {
	for i, sector := range n.dirty {
		if i >= count {
			droppedBytes += sectorBytes
			continue
		}
		end := min((sector+1)*sectorBytes, int64(len(n.data)))
		if end > int64(len(n.durable)) {
			n.durable = resize(n.durable, end)
		}
		n.copySectorToDurable(sector, sectorBytes)
	}
	n.clearDirty()
	return droppedBytes
}

func (n *inode) copySectorToDurable(sector, sectorBytes int64) {
	start := sector * sectorBytes
	end := min(start+sectorBytes, int64(len(n.data)), int64(len(n.durable)))
	if start < end {
		copy(n.durable[start:end], n.data[start:end])
	}
}

func (n *inode) clearDirty() {
	n.dirty = n.dirty[:0]
	clear(n.dirtySet)
	n.truncatedMin = int64(len(n.data))
}

// revertToDurable is a power loss for this file: what the process sees becomes what
// was durable.
func (n *inode) revertToDurable() {
	n.data = append(n.data[:0], n.durable...)
	n.clearDirty()
}
