package simfs

// The methods below inject one fault at a chosen place, for regression scenarios that
// must hit a given file (a block, an index, a snapshot) at a given offset rather than
// wait for a random draw. They act on the disk directly, whatever the incarnation, and
// count in Counters like drawn faults.

// FlipBit flips one bit of the named file at rest, in what the process reads and in
// what is durable.
func (d *Disk) FlipBit(name string, offset int64, bit uint) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.lookupFile("flipbit", name)
	if err != nil {
		return err
	}
	if offset < 0 || offset >= int64(len(n.data)) {
		return pathError("flipbit", name, errInvalid)
	}
	mask := byte(1) << (bit % 8)
	n.data[offset] ^= mask
	if offset < int64(len(n.durable)) {
		n.durable[offset] ^= mask
	}
	d.counters.AtRestBitFlips++
	return nil
}

// CutTail shortens the named file to size at rest, synced bytes included.
func (d *Disk) CutTail(name string, size int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.lookupFile("cuttail", name)
	if err != nil {
		return err
	}
	if size < 0 || size > int64(len(n.data)) {
		return pathError("cuttail", name, errInvalid)
	}
	d.usedBytes -= int64(len(n.data)) - size
	n.data = n.data[:size]
	n.durable = n.durable[:min(int64(len(n.durable)), size)]
	n.truncatedMin = min(n.truncatedMin, size)
	d.counters.Truncations++
	return nil
}

// MakeUnreadable gives the sector holding offset in the named file a latent error:
// reads covering it fail with env.ErrIO until it is written again.
func (d *Disk) MakeUnreadable(name string, offset int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.lookupFile("unreadable", name)
	if err != nil {
		return err
	}
	if offset < 0 || offset >= int64(len(n.data)) {
		return pathError("unreadable", name, errInvalid)
	}
	if n.unreadable == nil {
		n.unreadable = map[int64]struct{}{}
	}
	n.unreadable[offset/d.sectorBytes] = struct{}{}
	d.counters.LatentSectorsMade++
	return nil
}

// lookupFile finds a file the process can see.
func (d *Disk) lookupFile(op, name string) (*inode, error) {
	n, err := d.lookup(cleanPath(name))
	if err != nil {
		return nil, pathError(op, name, err)
	}
	if n.isDir {
		return nil, pathError(op, name, ErrIsDirectory)
	}
	return n, nil
}
