package simfs

import (
	"io/fs"
	"path"
	"slices"

	"github.com/natsim/natsim/env"
)

var (
	errNotExist = fs.ErrNotExist
	errInvalid  = fs.ErrInvalid
)

// fileSystem is the env.FS of one incarnation of a disk.
type fileSystem struct {
	disk        *Disk
	incarnation uint64
}

var _ env.FS = (*fileSystem)(nil)

// begin locks the disk and reports whether this incarnation is still alive. Callers
// unlock.
func (f *fileSystem) begin() bool {
	f.disk.mu.Lock()
	return f.incarnation == f.disk.incarnation
}

// Create creates or truncates the named file for reading and writing. The truncation,
// like the creation, is durable only after Sync and SyncDir.
func (f *fileSystem) Create(name string) (env.File, error) {
	return f.open("create", name, true, true, true)
}

// Open opens an existing file read-only.
func (f *fileSystem) Open(name string) (env.File, error) {
	return f.open("open", name, false, false, false)
}

// OpenReadWrite opens the named file for reading and writing, creating it if needed.
func (f *fileSystem) OpenReadWrite(name string) (env.File, error) {
	return f.open("open", name, true, true, false)
}

func (f *fileSystem) open(op, name string, writable, create, truncate bool) (env.File, error) {
	defer f.disk.mu.Unlock()
	if !f.begin() {
		return nil, pathError(op, name, env.ErrClosed)
	}
	d := f.disk
	parts := cleanPath(name)
	parent, err := d.lookupParent(parts)
	if err != nil {
		return nil, pathError(op, name, err)
	}
	base := parts[len(parts)-1]
	node, exists := parent.children[base]
	switch {
	case exists && node.isDir:
		return nil, pathError(op, name, ErrIsDirectory)
	case !exists && !create:
		return nil, pathError(op, name, errNotExist)
	case !exists:
		node = newFile(d.allocateID())
		d.link(parent, base, node)
	case truncate && len(node.data) > 0:
		d.usedBytes -= int64(len(node.data))
		node.truncateData(0)
	}
	return &file{disk: d, node: node, name: name, path: joinPath(parts), writable: writable, incarnation: f.incarnation}, nil
}

// Remove removes a file or an empty directory.
func (f *fileSystem) Remove(name string) error {
	defer f.disk.mu.Unlock()
	if !f.begin() {
		return pathError("remove", name, env.ErrClosed)
	}
	parts := cleanPath(name)
	parent, err := f.disk.lookupParent(parts)
	if err != nil {
		return pathError("remove", name, err)
	}
	base := parts[len(parts)-1]
	node, ok := parent.children[base]
	if !ok {
		return pathError("remove", name, errNotExist)
	}
	if node.isDir && len(node.children) > 0 {
		return pathError("remove", name, ErrDirectoryNotEmpty)
	}
	f.disk.unlink(parent, base)
	return nil
}

// RemoveAll removes a path and everything below it; a missing path is not an error.
// Only the top entry changes in its parent, so SyncDir of that parent makes the
// removal durable.
func (f *fileSystem) RemoveAll(name string) error {
	defer f.disk.mu.Unlock()
	if !f.begin() {
		return pathError("removeall", name, env.ErrClosed)
	}
	parts := cleanPath(name)
	if len(parts) == 0 {
		return pathError("removeall", name, errInvalid)
	}
	parent, err := f.disk.lookupParent(parts)
	if err != nil {
		if err == errNotExist {
			return nil
		}
		return pathError("removeall", name, err)
	}
	base := parts[len(parts)-1]
	node, ok := parent.children[base]
	if !ok {
		return nil
	}
	f.disk.releaseTree(node)
	f.disk.unlink(parent, base)
	return nil
}

// releaseTree unlinks every entry below dir, so that the space of its files is
// released. The entries stay in the durable view: after a power loss without SyncDir
// of the top parent, the tree comes back as it was last made durable.
func (d *Disk) releaseTree(dir *inode) {
	if !dir.isDir {
		return
	}
	stack := []*inode{dir}
	for len(stack) > 0 {
		node := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, name := range sortedNames(node.children) {
			child := node.children[name]
			if child.isDir {
				stack = append(stack, child)
			}
			d.unlink(node, name)
		}
	}
}

// Rename atomically replaces newname with oldname. POSIX rules apply: a file cannot
// replace a directory, a directory replaces only an empty directory, and a directory
// cannot move below itself.
func (f *fileSystem) Rename(oldname, newname string) error {
	defer f.disk.mu.Unlock()
	if !f.begin() {
		return &fsLinkError{op: "rename", old: oldname, new: newname, err: env.ErrClosed}
	}
	err := f.disk.rename(cleanPath(oldname), cleanPath(newname))
	if err != nil {
		return &fsLinkError{op: "rename", old: oldname, new: newname, err: err}
	}
	return nil
}

func (d *Disk) rename(oldParts, newParts []string) error {
	oldParent, err := d.lookupParent(oldParts)
	if err != nil {
		return err
	}
	oldBase := oldParts[len(oldParts)-1]
	node, ok := oldParent.children[oldBase]
	if !ok {
		return errNotExist
	}
	newParent, err := d.lookupParent(newParts)
	if err != nil {
		return err
	}
	if node.isDir && isPrefix(oldParts, newParts) {
		if len(oldParts) == len(newParts) {
			return nil
		}
		return errInvalid
	}
	newBase := newParts[len(newParts)-1]
	if target, exists := newParent.children[newBase]; exists {
		if target == node {
			return nil
		}
		switch {
		case target.isDir && !node.isDir:
			return ErrIsDirectory
		case !target.isDir && node.isDir:
			return ErrNotDirectory
		case target.isDir && len(target.children) > 0:
			return ErrDirectoryNotEmpty
		}
		d.unlink(newParent, newBase)
	}
	d.link(newParent, newBase, node)
	d.unlink(oldParent, oldBase)
	return nil
}

// isPrefix reports whether prefix names an ancestor of parts, or parts itself.
func isPrefix(prefix, parts []string) bool {
	if len(prefix) > len(parts) {
		return false
	}
	for i := range prefix {
		if prefix[i] != parts[i] {
			return false
		}
	}
	return true
}

// MkdirAll creates a directory and any missing parents. Each new directory's entry is
// durable only after SyncDir of its parent.
func (f *fileSystem) MkdirAll(name string, perm fs.FileMode) error {
	defer f.disk.mu.Unlock()
	if !f.begin() {
		return pathError("mkdir", name, env.ErrClosed)
	}
	d := f.disk
	node := d.root
	for _, part := range cleanPath(name) {
		child, ok := node.children[part]
		if !ok {
			child = newDirectory(d.allocateID())
			d.link(node, part, child)
		} else if !child.isDir {
			return pathError("mkdir", name, ErrNotDirectory)
		}
		node = child
	}
	return nil
}

// ReadDir lists the names in a directory, sorted.
func (f *fileSystem) ReadDir(name string) ([]string, error) {
	defer f.disk.mu.Unlock()
	if !f.begin() {
		return nil, pathError("readdir", name, env.ErrClosed)
	}
	node, err := f.disk.lookup(cleanPath(name))
	if err != nil {
		return nil, pathError("readdir", name, err)
	}
	if !node.isDir {
		return nil, pathError("readdir", name, ErrNotDirectory)
	}
	return sortedNames(node.children), nil
}

// Stat describes a file or directory.
func (f *fileSystem) Stat(name string) (env.FileInfo, error) {
	defer f.disk.mu.Unlock()
	if !f.begin() {
		return env.FileInfo{}, pathError("stat", name, env.ErrClosed)
	}
	parts := cleanPath(name)
	node, err := f.disk.lookup(parts)
	if err != nil {
		return env.FileInfo{}, pathError("stat", name, err)
	}
	info := env.FileInfo{Name: path.Base("/" + joinPath(parts)), IsDir: node.isDir}
	if !node.isDir {
		info.Size = int64(len(node.data))
	}
	return info, nil
}

// SyncDir makes the directory's entries durable. With Faults.SyncErrorProbability it
// may fail with env.ErrIO after making only some of the pending changes durable.
func (f *fileSystem) SyncDir(name string) error {
	defer f.disk.mu.Unlock()
	if !f.begin() {
		return pathError("sync", name, env.ErrClosed)
	}
	d := f.disk
	parts := cleanPath(name)
	node, err := d.lookup(parts)
	if err != nil {
		return pathError("sync", name, err)
	}
	if !node.isDir {
		return pathError("sync", name, ErrNotDirectory)
	}
	if d.fire(d.faults.SyncErrorProbability, joinPath(parts)) {
		d.counters.SyncErrors++
		d.syncSomeEntries(node)
		return pathError("sync", name, env.ErrIO)
	}
	node.durableChildren = cloneEntries(node.children)
	return nil
}

// syncSomeEntries is a failed SyncDir: each pending entry change, in name order, is
// made durable or left pending by a coin flip.
func (d *Disk) syncSomeEntries(dir *inode) {
	changed := map[string]bool{}
	for name, child := range dir.children {
		if dir.durableChildren[name] != child {
			changed[name] = true
		}
	}
	for name := range dir.durableChildren {
		if _, ok := dir.children[name]; !ok {
			changed[name] = true
		}
	}
	names := make([]string, 0, len(changed))
	for name := range changed {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if d.rnd.Intn(2) == 0 {
			continue
		}
		if child, ok := dir.children[name]; ok {
			dir.durableChildren[name] = child
		} else {
			delete(dir.durableChildren, name)
		}
	}
}

func cloneEntries(entries map[string]*inode) map[string]*inode {
	cloned := make(map[string]*inode, len(entries))
	for name, child := range entries {
		cloned[name] = child
	}
	return cloned
}

// fsLinkError is os.LinkError's shape for Rename: it names both paths and unwraps to
// the cause, so errors.Is(err, fs.ErrNotExist) works as with osenv.
type fsLinkError struct {
	op, old, new string
	err          error
}

func (e *fsLinkError) Error() string { return e.op + " " + e.old + " " + e.new + ": " + e.err.Error() }

// Unwrap returns the cause.
func (e *fsLinkError) Unwrap() error { return e.err }
