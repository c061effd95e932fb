package filestore

import (
	"sort"
	"testing"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/store"
	"github.com/natsim/natsim/store/storetest"
)

// TestConformance runs the shared store suite against the file store in every
// variant (plain, S2, AES-GCM, XChaCha20-Poly1305 with S2), with tiny blocks so that
// rollover and block removal happen, reopening after every test.
func TestConformance(t *testing.T) {
	all := variants()
	names := make([]string, 0, len(all))
	for name := range all {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		makeConfig := all[name]
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, storetest.Factory{
				New: func(t *testing.T, cfg store.StreamConfig) store.StreamStore {
					return mustOpen(t, makeConfig(newDisk(1).FS()), cfg)
				},
				Reopen: func(t *testing.T, s store.StreamStore, cfg store.StreamConfig) store.StreamStore {
					fs := s.(*Store)
					fsys := fs.config.FS
					if err := s.Stop(); err != nil {
						t.Fatalf("Stop: %v", err)
					}
					return mustOpen(t, makeConfig(fsys), cfg)
				},
			})
		})
	}
}

var _ env.FS = nil
