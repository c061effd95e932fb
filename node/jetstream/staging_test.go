package jetstream

import (
	"path"
	"testing"
)

// TestUnfinishedRestoreRemovedAtStart checks that chunks a crashed restore spooled
// are removed when the server starts again, not kept forever.
func TestUnfinishedRestoreRemovedAtStart(t *testing.T) {
	dir := t.TempDir()
	w := newBatchWorld(t, dir)
	staging := w.manager.restoreStagingDir()
	fs := w.manager.config.Env.FS
	w.manager.Stop()
	if err := fs.MkdirAll(staging, 0o750); err != nil {
		t.Fatal(err)
	}
	file, err := fs.Create(path.Join(staging, "restore-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := file.WriteAt([]byte("half a backup"), 0); err != nil {
		t.Fatal(err)
	}
	_ = file.Close()
	w = newBatchWorld(t, dir)
	defer w.manager.Stop()
	if _, err := fs.Stat(staging); err == nil {
		t.Fatalf("%s still exists after a restart", staging)
	}
}
