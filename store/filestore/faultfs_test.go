package filestore

import (
	"errors"
	"io/fs"

	"github.com/natsim/natsim/env"
)

// errInjected is the error the failing FS returns.
var errInjected = errors.New("injected fault")

// faultFS counts file system operations and, at operation number at, either fails it
// (and every later one, as a dead disk would) or calls trigger (e.g. a power loss).
type faultFS struct {
	inner   env.FS
	ops     *int
	at      int
	trigger func()
	sticky  bool
}

func (f *faultFS) step() error {
	*f.ops++
	if f.at <= 0 || *f.ops < f.at {
		return nil
	}
	if f.trigger != nil {
		if *f.ops == f.at {
			f.trigger()
		}
		return nil
	}
	if *f.ops == f.at || f.sticky {
		return errInjected
	}
	return nil
}

func (f *faultFS) wrap(file env.File, err error) (env.File, error) {
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *faultFS) Create(name string) (env.File, error) {
	if err := f.step(); err != nil {
		return nil, err
	}
	return f.wrap(f.inner.Create(name))
}

func (f *faultFS) Open(name string) (env.File, error) {
	if err := f.step(); err != nil {
		return nil, err
	}
	return f.wrap(f.inner.Open(name))
}

func (f *faultFS) OpenReadWrite(name string) (env.File, error) {
	if err := f.step(); err != nil {
		return nil, err
	}
	return f.wrap(f.inner.OpenReadWrite(name))
}

func (f *faultFS) Remove(name string) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.inner.Remove(name)
}

func (f *faultFS) RemoveAll(name string) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.inner.RemoveAll(name)
}

func (f *faultFS) Rename(oldname, newname string) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.inner.Rename(oldname, newname)
}

func (f *faultFS) MkdirAll(name string, perm fs.FileMode) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.inner.MkdirAll(name, perm)
}

func (f *faultFS) ReadDir(name string) ([]string, error) {
	if err := f.step(); err != nil {
		return nil, err
	}
	return f.inner.ReadDir(name)
}

func (f *faultFS) Stat(name string) (env.FileInfo, error) {
	if err := f.step(); err != nil {
		return env.FileInfo{}, err
	}
	return f.inner.Stat(name)
}

func (f *faultFS) SyncDir(name string) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.inner.SyncDir(name)
}

type faultFile struct {
	env.File
	fs *faultFS
}

func (f *faultFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.step(); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.step(); err != nil {
		return 0, err
	}
	return f.File.WriteAt(p, off)
}

func (f *faultFile) Truncate(size int64) error {
	if err := f.fs.step(); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *faultFile) Sync() error {
	if err := f.fs.step(); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) Size() (int64, error) {
	if err := f.fs.step(); err != nil {
		return 0, err
	}
	return f.File.Size()
}
