package simfs

import (
	"io"

	"github.com/natsim/natsim/env"
)

// file is an open handle of one incarnation. It names its inode, so it keeps working
// after the file is renamed or removed, as a POSIX descriptor does.
type file struct {
	disk        *Disk
	node        *inode
	name        string // as opened, for Name and errors
	path        string // cleaned, for Faults.Target
	writable    bool
	incarnation uint64
	closed      bool
}

var _ env.File = (*file)(nil)

// begin locks the disk and returns the error for a dead handle. Callers unlock.
func (f *file) begin(op string) error {
	f.disk.mu.Lock()
	if f.closed || f.incarnation != f.disk.incarnation {
		return pathError(op, f.name, env.ErrClosed)
	}
	return nil
}

// Name returns the name the file was opened with.
func (f *file) Name() string { return f.name }

// Close releases the handle; it does not sync.
func (f *file) Close() error {
	defer f.disk.mu.Unlock()
	if err := f.begin("close"); err != nil {
		return err
	}
	f.closed = true
	return nil
}

// Size returns the file's current length.
func (f *file) Size() (int64, error) {
	defer f.disk.mu.Unlock()
	if err := f.begin("stat"); err != nil {
		return 0, err
	}
	return int64(len(f.node.data)), nil
}

// ReadAt reads what the process sees (synced or not), subject to latent sector errors,
// stale reads and bit flips on read.
func (f *file) ReadAt(p []byte, offset int64) (int, error) {
	defer f.disk.mu.Unlock()
	if err := f.begin("read"); err != nil {
		return 0, err
	}
	if offset < 0 {
		return 0, pathError("read", f.name, errInvalid)
	}
	return f.disk.read(f.node, f.path, p, offset, f.name)
}

// WriteAt writes p at offset, extending the file with zeros as needed. The bytes are
// durable only after Sync.
func (f *file) WriteAt(p []byte, offset int64) (int, error) {
	defer f.disk.mu.Unlock()
	if err := f.begin("write"); err != nil {
		return 0, err
	}
	if !f.writable {
		return 0, pathError("write", f.name, ErrReadOnly)
	}
	if offset < 0 {
		return 0, pathError("write", f.name, errInvalid)
	}
	return f.disk.write(f.node, f.path, p, offset, f.name)
}

// Truncate changes the file's length; the change is durable only after Sync.
func (f *file) Truncate(size int64) error {
	defer f.disk.mu.Unlock()
	if err := f.begin("truncate"); err != nil {
		return err
	}
	if !f.writable {
		return pathError("truncate", f.name, ErrReadOnly)
	}
	if size < 0 {
		return pathError("truncate", f.name, errInvalid)
	}
	if size > fileBytesMax {
		return pathError("truncate", f.name, ErrFileTooLarge)
	}
	d, n := f.disk, f.node
	growth := size - int64(len(n.data))
	if !d.hasRoom(growth) {
		d.counters.NoSpaceErrors++
		return pathError("truncate", f.name, env.ErrNoSpace)
	}
	if n.links > 0 {
		d.usedBytes += growth
	}
	n.truncateData(size)
	return nil
}

// Sync makes the file's bytes durable. With Faults.SyncErrorProbability it may fail
// with env.ErrIO, after which the unsynced bytes are in an unknown state (see Faults).
func (f *file) Sync() error {
	defer f.disk.mu.Unlock()
	if err := f.begin("sync"); err != nil {
		return err
	}
	d, n := f.disk, f.node
	if d.fire(d.faults.SyncErrorProbability, f.path) {
		d.counters.SyncErrors++
		count := 0
		if len(n.dirty) > 0 {
			count = d.rnd.Intn(len(n.dirty) + 1)
		}
		d.counters.UnsyncedBytesLost += n.syncPrefix(count, d.sectorBytes)
		return pathError("sync", f.name, env.ErrIO)
	}
	n.sync(d.sectorBytes)
	return nil
}

// hasRoom reports whether growing the used space by growth bytes fits the capacity.
func (d *Disk) hasRoom(growth int64) bool {
	capacity := d.faults.CapacityBytes
	return capacity <= 0 || growth <= 0 || d.usedBytes+growth <= capacity
}

// read serves ReadAt.
func (d *Disk) read(n *inode, filePath string, p []byte, offset int64, name string) (int, error) {
	size := int64(len(n.data))
	if offset >= size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	end := min(offset+int64(len(p)), size)
	if len(n.unreadable) > 0 {
		for sector := offset / d.sectorBytes; sector*d.sectorBytes < end; sector++ {
			if _, bad := n.unreadable[sector]; bad {
				d.counters.LatentSectorReads++
				return 0, pathError("read", name, env.ErrIO)
			}
		}
	}
	count := copy(p, n.data[offset:end])
	if len(n.previous) > 0 && d.fire(d.faults.StaleReadProbability, filePath) {
		d.readStaleSector(n, p[:count], offset)
	}
	if count > 0 && d.fire(d.faults.ReadBitFlipProbability, filePath) {
		d.counters.ReadBitFlips++
		p[d.rnd.Intn(count)] ^= byte(1) << d.rnd.Intn(8)
	}
	if count < len(p) {
		return count, io.EOF
	}
	return count, nil
}

// readStaleSector replaces, in the bytes just read from offset, one sector that has a
// previous version by that version.
func (d *Disk) readStaleSector(n *inode, read []byte, offset int64) {
	end := offset + int64(len(read))
	var candidates []int64
	for sector := offset / d.sectorBytes; sector*d.sectorBytes < end; sector++ {
		if _, ok := n.previous[sector]; ok {
			candidates = append(candidates, sector)
		}
	}
	if len(candidates) == 0 {
		return
	}
	d.counters.StaleReads++
	sector := candidates[d.rnd.Intn(len(candidates))]
	old := n.previous[sector]
	start := sector * d.sectorBytes
	for i := max(start, offset); i < min(start+int64(len(old)), end); i++ {
		read[i-offset] = old[i-start]
	}
}

// write serves WriteAt.
func (d *Disk) write(n *inode, filePath string, p []byte, offset int64, name string) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	target := offset
	misdirected := d.fire(d.faults.MisdirectedWriteProbability, filePath)
	if misdirected {
		target = d.misdirect(n, offset, int64(len(p)))
	}
	end := target + int64(len(p))
	if end > fileBytesMax || end < 0 {
		return 0, pathError("write", name, ErrFileTooLarge)
	}
	growth := end - int64(len(n.data))
	if !d.hasRoom(growth) {
		d.counters.NoSpaceErrors++
		return 0, pathError("write", name, env.ErrNoSpace)
	}
	if misdirected {
		d.counters.MisdirectedWrites++
	}
	if d.faults.StaleReadProbability > 0 {
		d.keepPreviousVersions(n, target, end)
	}
	if growth > 0 {
		n.data = resize(n.data, end)
		if n.links > 0 {
			d.usedBytes += growth
		}
	}
	copy(n.data[target:end], p)
	n.markDirty(target, end, d.sectorBytes)
	for sector := target / d.sectorBytes; sector*d.sectorBytes < end && len(n.unreadable) > 0; sector++ {
		delete(n.unreadable, sector)
	}
	if d.fire(d.faults.LatentSectorErrorProbability, filePath) {
		d.counters.LatentSectorsMade++
		first, last := target/d.sectorBytes, (end-1)/d.sectorBytes
		if n.unreadable == nil {
			n.unreadable = map[int64]struct{}{}
		}
		n.unreadable[first+d.rnd.Int63n(last-first+1)] = struct{}{}
	}
	return len(p), nil
}

// misdirect picks where a misdirected write lands: the same offset within another
// sector of the file (or just past its end), so the intended sectors keep their bytes.
func (d *Disk) misdirect(n *inode, offset, length int64) int64 {
	sectors := max(int64(len(n.data)), offset+length)/d.sectorBytes + 1
	sector := d.rnd.Int63n(sectors)
	if sector == offset/d.sectorBytes {
		sector++
	}
	return sector*d.sectorBytes + offset%d.sectorBytes
}

// keepPreviousVersions saves, for each existing sector that [offset, end) overwrites,
// the bytes it holds now, for stale reads.
func (d *Disk) keepPreviousVersions(n *inode, offset, end int64) {
	if n.previous == nil {
		n.previous = map[int64][]byte{}
	}
	size := int64(len(n.data))
	for sector := offset / d.sectorBytes; sector*d.sectorBytes < min(end, size); sector++ {
		start := sector * d.sectorBytes
		n.previous[sector] = append([]byte(nil), n.data[start:min(start+d.sectorBytes, size)]...)
	}
}
