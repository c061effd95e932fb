package simfs

// pathNode is an inode with the path it was reached by, for walks.
type pathNode struct {
	node  *inode
	parts []string
}

// childParts returns parts extended by name, in a fresh slice.
func childParts(parts []string, name string) []string {
	extended := make([]string, len(parts)+1)
	copy(extended, parts)
	extended[len(parts)] = name
	return extended
}

// revertToDurable rebuilds the tree from the durable entries, breadth first and in name
// order so that the random draws of torn writes are deterministic. Strict POSIX lets a
// rename whose source and target directories were synced apart leave both names or
// neither: a file reached twice keeps both names (like a hard link), and a directory
// reached twice keeps only the first, so the tree stays a tree.
func (d *Disk) revertToDurable() {
	d.usedBytes = 0
	visited := map[*inode]bool{d.root: true}
	queue := []pathNode{{node: d.root}}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		d.counters.EntryChangesLost += countEntryChanges(dir.node)
		dir.node.children = map[string]*inode{}
		for _, name := range sortedNames(dir.node.durableChildren) {
			child := dir.node.durableChildren[name]
			parts := childParts(dir.parts, name)
			if child.isDir {
				if visited[child] {
					delete(dir.node.durableChildren, name)
					continue
				}
				visited[child] = true
				queue = append(queue, pathNode{node: child, parts: parts})
			} else if !visited[child] {
				visited[child] = true
				child.links = 0
				d.powerLossFile(child, joinPath(parts))
			}
			d.link(dir.node, name, child)
		}
	}
}

// countEntryChanges counts the names whose entry differs between what the process saw
// and what was durable.
func countEntryChanges(dir *inode) int64 {
	var changes int64
	for name, child := range dir.children {
		if dir.durableChildren[name] != child {
			changes++
		}
	}
	for name := range dir.durableChildren {
		if _, ok := dir.children[name]; !ok {
			changes++
		}
	}
	return changes
}

// powerLossFile drops a file's unsynced bytes, or with a torn write keeps a random
// strict prefix of its unsynced sectors.
func (d *Disk) powerLossFile(n *inode, filePath string) {
	if len(n.dirty) > 0 && d.fire(d.faults.TornWriteProbability, filePath) {
		d.counters.TornWrites++
		d.counters.UnsyncedBytesLost += n.syncPrefix(d.rnd.Intn(len(n.dirty)), d.sectorBytes)
	} else {
		d.counters.UnsyncedBytesLost += int64(len(n.dirty)) * d.sectorBytes
	}
	n.revertToDurable()
}

// injectCrashFaults applies the faults that strike while the process is down: a file
// loses its tail, or a stored bit flips.
func (d *Disk) injectCrashFaults() {
	if d.faults.CrashTruncateProbability <= 0 && d.faults.AtRestBitFlipProbability <= 0 {
		return
	}
	for _, file := range d.files() {
		n, filePath := file.node, joinPath(file.parts)
		if len(n.data) > 0 && d.fire(d.faults.CrashTruncateProbability, filePath) {
			d.counters.Truncations++
			size := d.rnd.Int63n(int64(len(n.data)))
			d.usedBytes -= int64(len(n.data)) - size
			n.data = n.data[:size]
			n.durable = n.durable[:min(int64(len(n.durable)), size)]
			n.truncatedMin = min(n.truncatedMin, size)
		}
		if len(n.data) > 0 && d.fire(d.faults.AtRestBitFlipProbability, filePath) {
			d.counters.AtRestBitFlips++
			position := d.rnd.Int63n(int64(len(n.data)))
			mask := byte(1) << d.rnd.Intn(8)
			n.data[position] ^= mask
			if position < int64(len(n.durable)) {
				n.durable[position] ^= mask
			}
		}
	}
}

// files lists every file the process can reach, once each, in path order.
func (d *Disk) files() []pathNode {
	var files []pathNode
	for _, entry := range d.walk(false) {
		if !entry.node.isDir {
			files = append(files, entry)
		}
	}
	return files
}

// walk lists the inodes reachable from the root, depth first in name order, each once.
// With durable it follows the durable entries: what a power loss would leave.
func (d *Disk) walk(durable bool) []pathNode {
	var out []pathNode
	visited := map[*inode]bool{d.root: true}
	stack := []pathNode{{node: d.root}}
	for len(stack) > 0 {
		dir := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		entries := dir.node.children
		if durable {
			entries = dir.node.durableChildren
		}
		names := sortedNames(entries)
		// Push in reverse so that the stack pops names in order.
		var pushed []pathNode
		for _, name := range names {
			child := entries[name]
			if visited[child] {
				continue
			}
			visited[child] = true
			entry := pathNode{node: child, parts: childParts(dir.parts, name)}
			out = append(out, entry)
			if child.isDir {
				pushed = append(pushed, entry)
			}
		}
		for i := len(pushed) - 1; i >= 0; i-- {
			stack = append(stack, pushed[i])
		}
	}
	return out
}
