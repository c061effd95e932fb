package simfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/env"
)

// fsModel is the trivial model of a file system: a map of file contents and a set of
// directories, with the POSIX rules written out directly.
type fsModel struct {
	files map[string][]byte
	dirs  map[string]bool // "" is the root
}

func parentOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// ancestorsFail reports the error POSIX gives when walking to p's parent: a missing
// directory or a file in the way.
func (m *fsModel) parentError(p string) bool {
	return !m.dirs[parentOf(p)]
}

func (m *fsModel) isEmptyDir(p string) bool {
	for name := range m.files {
		if parentOf(name) == p {
			return false
		}
	}
	for name := range m.dirs {
		if name != "" && parentOf(name) == p {
			return false
		}
	}
	return true
}

func under(p, prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }

func (m *fsModel) mkdirAll(p string) bool {
	parts := strings.Split(p, "/")
	for i := range parts {
		if _, isFile := m.files[strings.Join(parts[:i+1], "/")]; isFile {
			return false
		}
	}
	for i := range parts {
		m.dirs[strings.Join(parts[:i+1], "/")] = true
	}
	return true
}

func (m *fsModel) openWritable(p string, truncate bool) bool {
	if m.parentError(p) || m.dirs[p] {
		return false
	}
	if _, ok := m.files[p]; !ok || truncate {
		m.files[p] = []byte{}
	}
	return true
}

func (m *fsModel) remove(p string) bool {
	if _, ok := m.files[p]; ok {
		delete(m.files, p)
		return true
	}
	if m.dirs[p] && m.isEmptyDir(p) {
		delete(m.dirs, p)
		return true
	}
	return false
}

func (m *fsModel) removeAll(p string) bool {
	parts := strings.Split(p, "/")
	for i := 0; i < len(parts)-1; i++ {
		ancestor := strings.Join(parts[:i+1], "/")
		if _, isFile := m.files[ancestor]; isFile {
			return false
		}
		if !m.dirs[ancestor] {
			return true
		}
	}
	for name := range m.files {
		if under(name, p) {
			delete(m.files, name)
		}
	}
	for name := range m.dirs {
		if name != "" && under(name, p) {
			delete(m.dirs, name)
		}
	}
	return true
}

func (m *fsModel) rename(oldPath, newPath string) bool {
	_, oldIsFile := m.files[oldPath]
	oldIsDir := m.dirs[oldPath]
	if m.parentError(oldPath) || (!oldIsFile && !oldIsDir) || m.parentError(newPath) {
		return false
	}
	if oldIsDir && under(newPath, oldPath) {
		return oldPath == newPath
	}
	_, newIsFile := m.files[newPath]
	newIsDir := m.dirs[newPath]
	switch {
	case oldPath == newPath:
		return true
	case newIsDir && oldIsFile, newIsFile && oldIsDir, newIsDir && !m.isEmptyDir(newPath):
		return false
	}
	if oldIsFile {
		m.files[newPath] = m.files[oldPath]
		delete(m.files, oldPath)
		return true
	}
	delete(m.dirs, newPath)
	for _, name := range sortedKeys(m.dirs) {
		if under(name, oldPath) {
			delete(m.dirs, name)
			m.dirs[newPath+strings.TrimPrefix(name, oldPath)] = true
		}
	}
	for _, name := range sortedKeys(m.files) {
		if under(name, oldPath) {
			m.files[newPath+strings.TrimPrefix(name, oldPath)] = m.files[name]
			delete(m.files, name)
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// fsMachine drives simfs and the model with the same operations.
type fsMachine struct {
	disk  *Disk
	fsys  env.FS
	model *fsModel
}

var modelPaths = []string{"a", "b", "a/a", "a/b", "b/a", "a/a/a", "a/a/b", "b/a/b"}

func (m *fsMachine) path(t *rapid.T, label string) string {
	return rapid.SampledFrom(modelPaths).Draw(t, label)
}

func agree(t *rapid.T, what string, modelOK bool, err error) {
	if modelOK != (err == nil) {
		t.Fatalf("%s: model ok=%v, simfs err=%v", what, modelOK, err)
	}
}

func (m *fsMachine) MkdirAll(t *rapid.T) {
	p := m.path(t, "path")
	agree(t, "mkdirall "+p, m.model.mkdirAll(p), m.fsys.MkdirAll(p, 0o755))
}

func (m *fsMachine) Create(t *rapid.T) {
	p := m.path(t, "path")
	f, err := m.fsys.Create(p)
	agree(t, "create "+p, m.model.openWritable(p, true), err)
	if err == nil {
		_ = f.Close()
	}
}

func (m *fsMachine) Write(t *rapid.T) {
	p := m.path(t, "path")
	offset := rapid.IntRange(0, 2000).Draw(t, "offset")
	data := rapid.SliceOfN(rapid.Byte(), 0, 1500).Draw(t, "data")
	f, err := m.fsys.OpenReadWrite(p)
	agree(t, "openreadwrite "+p, m.model.openWritable(p, false), err)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.WriteAt(data, int64(offset)); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
	if len(data) > 0 {
		contents := m.model.files[p]
		if len(contents) < offset+len(data) {
			contents = append(contents, make([]byte, offset+len(data)-len(contents))...)
		}
		copy(contents[offset:], data)
		m.model.files[p] = contents
	}
	if rapid.Bool().Draw(t, "sync") {
		if err := f.Sync(); err != nil {
			t.Fatalf("sync %s: %v", p, err)
		}
	}
}

func (m *fsMachine) Truncate(t *rapid.T) {
	p := m.path(t, "path")
	size := rapid.IntRange(0, 3000).Draw(t, "size")
	f, err := m.fsys.OpenReadWrite(p)
	agree(t, "openreadwrite "+p, m.model.openWritable(p, false), err)
	if err != nil {
		return
	}
	defer f.Close()
	if err := f.Truncate(int64(size)); err != nil {
		t.Fatalf("truncate %s: %v", p, err)
	}
	contents := m.model.files[p]
	if len(contents) >= size {
		m.model.files[p] = contents[:size]
	} else {
		m.model.files[p] = append(contents, make([]byte, size-len(contents))...)
	}
}

func (m *fsMachine) Remove(t *rapid.T) {
	p := m.path(t, "path")
	agree(t, "remove "+p, m.model.remove(p), m.fsys.Remove(p))
}

func (m *fsMachine) RemoveAll(t *rapid.T) {
	p := m.path(t, "path")
	agree(t, "removeall "+p, m.model.removeAll(p), m.fsys.RemoveAll(p))
}

func (m *fsMachine) Rename(t *rapid.T) {
	oldPath, newPath := m.path(t, "old"), m.path(t, "new")
	agree(t, "rename "+oldPath+" "+newPath, m.model.rename(oldPath, newPath), m.fsys.Rename(oldPath, newPath))
}

func (m *fsMachine) SyncDir(t *rapid.T) {
	p := rapid.SampledFrom(append([]string{"."}, modelPaths...)).Draw(t, "path")
	wantOK := p == "." || m.model.dirs[p]
	agree(t, "syncdir "+p, wantOK, m.fsys.SyncDir(p))
}

func (m *fsMachine) ProcessKill(t *rapid.T) {
	m.disk.Crash(false)
	m.fsys = m.disk.FS()
}

// Check compares everything the process can observe with the model.
func (m *fsMachine) Check(t *rapid.T) {
	var wantDirs []string
	for _, name := range sortedKeys(m.model.dirs) {
		if name != "" {
			wantDirs = append(wantDirs, name)
		}
	}
	var gotDirs []string
	var gotFiles []string
	for _, entry := range m.disk.List() {
		if entry.IsDir {
			gotDirs = append(gotDirs, entry.Path)
		} else {
			gotFiles = append(gotFiles, entry.Path)
		}
	}
	if !slices.Equal(gotDirs, wantDirs) {
		t.Fatalf("directories %v, model %v", gotDirs, wantDirs)
	}
	if wantFiles := sortedKeys(m.model.files); !slices.Equal(gotFiles, wantFiles) {
		t.Fatalf("files %v, model %v", gotFiles, wantFiles)
	}
	for _, name := range sortedKeys(m.model.files) {
		got, err := readFile(m.fsys, name)
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("read %s: %v", name, err)
		}
		if !bytes.Equal(got, m.model.files[name]) {
			t.Fatalf("%s holds %d bytes, model %d", name, len(got), len(m.model.files[name]))
		}
	}
	var wantUsed int64
	for _, contents := range m.model.files {
		wantUsed += int64(len(contents))
	}
	if m.disk.UsedBytes() != wantUsed {
		t.Fatalf("used %d bytes, model %d", m.disk.UsedBytes(), wantUsed)
	}
	for _, dir := range append([]string{""}, wantDirs...) {
		names, err := m.fsys.ReadDir(dir)
		if err != nil {
			t.Fatalf("readdir %q: %v", dir, err)
		}
		var wantNames []string
		for _, name := range append(sortedKeys(m.model.files), wantDirs...) {
			if parentOf(name) == dir {
				wantNames = append(wantNames, name[strings.LastIndexByte(name, '/')+1:])
			}
		}
		slices.Sort(wantNames)
		if !slices.Equal(names, wantNames) {
			t.Fatalf("readdir %q = %v, model %v", dir, names, wantNames)
		}
	}
	if _, err := m.fsys.Stat("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat of a missing file: %v", err)
	}
}

// TestModel proves that simfs without faults or power losses behaves like the trivial
// model, operation by operation, including which operations fail.
func TestModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		disk := newTestDisk(rapid.Uint64().Draw(t, "seed"), Faults{})
		machine := &fsMachine{disk: disk, fsys: disk.FS(), model: &fsModel{files: map[string][]byte{}, dirs: map[string]bool{"": true}}}
		t.Repeat(rapid.StateMachineActions(machine))
	})
}
