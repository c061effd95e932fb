package simfs

import (
	"bytes"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/env"
)

// durabilityModel is the strict-POSIX rule written out with whole-file copies: each
// file has the bytes the process sees and the bytes its last Sync made durable; each
// directory has the entries the process sees and those its last SyncDir made durable.
// A power loss keeps exactly the durable entries, each file with its durable bytes.
type durabilityModel struct {
	data, durable [][]byte // by inode number
	entries       map[string]map[string]int
	durableEntry  map[string]map[string]int
}

func (m *durabilityModel) newInode() int {
	m.data = append(m.data, []byte{})
	m.durable = append(m.durable, []byte{})
	return len(m.data) - 1
}

func (m *durabilityModel) lookup(dir, name string) (int, bool) {
	inode, ok := m.entries[dir][name]
	return inode, ok
}

// durabilityMachine drives simfs and the model through writes, syncs, directory syncs,
// renames, removals, process kills and power losses. Directory "d" exists durably from
// the start; files are named a, b, c in the root or in d.
type durabilityMachine struct {
	disk  *Disk
	fsys  env.FS
	model *durabilityModel
}

var (
	durabilityDirs  = []string{"", "d"}
	durabilityNames = []string{"a", "b", "c"}
)

func (m *durabilityMachine) drawFile(t *rapid.T, label string) (dir, name, fullPath string) {
	dir = rapid.SampledFrom(durabilityDirs).Draw(t, label+"Dir")
	name = rapid.SampledFrom(durabilityNames).Draw(t, label+"Name")
	if dir == "" {
		return dir, name, name
	}
	return dir, name, dir + "/" + name
}

func (m *durabilityMachine) Write(t *rapid.T) {
	dir, name, fullPath := m.drawFile(t, "file")
	truncate := rapid.Bool().Draw(t, "create")
	offset := rapid.IntRange(0, 1500).Draw(t, "offset")
	data := rapid.SliceOfN(rapid.Byte(), 1, 1200).Draw(t, "data")
	open := m.fsys.OpenReadWrite
	if truncate {
		open = m.fsys.Create
	}
	f, err := open(fullPath)
	if err != nil {
		t.Fatalf("open %s: %v", fullPath, err)
	}
	defer f.Close()
	inode, exists := m.model.lookup(dir, name)
	if !exists {
		inode = m.model.newInode()
		m.model.entries[dir][name] = inode
	}
	if truncate {
		m.model.data[inode] = []byte{}
	}
	if _, err := f.WriteAt(data, int64(offset)); err != nil {
		t.Fatalf("write %s: %v", fullPath, err)
	}
	contents := m.model.data[inode]
	if len(contents) < offset+len(data) {
		contents = append(contents, make([]byte, offset+len(data)-len(contents))...)
	}
	copy(contents[offset:], data)
	m.model.data[inode] = contents
}

func (m *durabilityMachine) Truncate(t *rapid.T) {
	dir, name, fullPath := m.drawFile(t, "file")
	inode, exists := m.model.lookup(dir, name)
	if !exists {
		t.Skip("no such file")
	}
	size := rapid.IntRange(0, 3000).Draw(t, "size")
	f, err := m.fsys.OpenReadWrite(fullPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(int64(size)); err != nil {
		t.Fatal(err)
	}
	contents := m.model.data[inode]
	if len(contents) >= size {
		m.model.data[inode] = contents[:size]
	} else {
		m.model.data[inode] = append(contents, make([]byte, size-len(contents))...)
	}
}

func (m *durabilityMachine) Sync(t *rapid.T) {
	dir, name, fullPath := m.drawFile(t, "file")
	inode, exists := m.model.lookup(dir, name)
	if !exists {
		t.Skip("no such file")
	}
	f, err := m.fsys.Open(fullPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	m.model.durable[inode] = slices.Clone(m.model.data[inode])
}

func (m *durabilityMachine) SyncDir(t *rapid.T) {
	dir := rapid.SampledFrom(durabilityDirs).Draw(t, "dir")
	if err := m.fsys.SyncDir("/" + dir); err != nil {
		t.Fatal(err)
	}
	entries := map[string]int{}
	for name, inode := range m.model.entries[dir] {
		entries[name] = inode
	}
	m.model.durableEntry[dir] = entries
}

func (m *durabilityMachine) Rename(t *rapid.T) {
	oldDir, oldName, oldPath := m.drawFile(t, "old")
	newDir, newName, newPath := m.drawFile(t, "new")
	inode, exists := m.model.lookup(oldDir, oldName)
	err := m.fsys.Rename(oldPath, newPath)
	if exists != (err == nil) {
		t.Fatalf("rename %s %s: exists=%v err=%v", oldPath, newPath, exists, err)
	}
	// POSIX: renaming between two names of the same file (hard links, which a power
	// loss may leave after a rename across directories) does nothing.
	if target, ok := m.model.lookup(newDir, newName); !exists || (ok && target == inode) {
		return
	}
	delete(m.model.entries[oldDir], oldName)
	m.model.entries[newDir][newName] = inode
}

func (m *durabilityMachine) Remove(t *rapid.T) {
	dir, name, fullPath := m.drawFile(t, "file")
	_, exists := m.model.lookup(dir, name)
	err := m.fsys.Remove(fullPath)
	if exists != (err == nil) {
		t.Fatalf("remove %s: exists=%v err=%v", fullPath, exists, err)
	}
	delete(m.model.entries[dir], name)
}

func (m *durabilityMachine) ProcessKill(t *rapid.T) {
	m.disk.Crash(false)
	m.fsys = m.disk.FS()
}

func (m *durabilityMachine) PowerLoss(t *rapid.T) {
	m.disk.Crash(true)
	m.fsys = m.disk.FS()
	for _, dir := range durabilityDirs {
		entries := map[string]int{}
		for name, inode := range m.model.durableEntry[dir] {
			entries[name] = inode
			m.model.data[inode] = slices.Clone(m.model.durable[inode])
		}
		m.model.entries[dir] = entries
	}
}

// Check compares every file the process can see with the model.
func (m *durabilityMachine) Check(t *rapid.T) {
	for _, dir := range durabilityDirs {
		names, err := m.fsys.ReadDir("/" + dir)
		if err != nil {
			t.Fatal(err)
		}
		names = slices.DeleteFunc(names, func(name string) bool { return name == "d" })
		if want := sortedKeys(m.model.entries[dir]); !slices.Equal(names, want) {
			t.Fatalf("directory %q holds %v, model %v", dir, names, want)
		}
		for name, inode := range m.model.entries[dir] {
			fullPath := name
			if dir != "" {
				fullPath = dir + "/" + name
			}
			got, err := readFile(m.fsys, fullPath)
			if err != nil {
				t.Fatalf("read %s: %v", fullPath, err)
			}
			if !bytes.Equal(got, m.model.data[inode]) {
				t.Fatalf("%s holds %d bytes, model %d", fullPath, len(got), len(m.model.data[inode]))
			}
		}
	}
}

// TestDurabilityModel proves that, without faults, what survives process kills and
// power losses is exactly what the strict-POSIX model says: synced bytes under entries
// made durable by SyncDir, nothing more and nothing less.
func TestDurabilityModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		disk := newTestDisk(rapid.Uint64().Draw(t, "seed"), Faults{})
		fsys := disk.FS()
		if err := fsys.MkdirAll("d", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := fsys.SyncDir("."); err != nil {
			t.Fatal(err)
		}
		model := &durabilityModel{
			entries:      map[string]map[string]int{"": {}, "d": {}},
			durableEntry: map[string]map[string]int{"": {}, "d": {}},
		}
		t.Repeat(rapid.StateMachineActions(&durabilityMachine{disk: disk, fsys: fsys, model: model}))
	})
}
