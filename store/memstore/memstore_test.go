package memstore

import (
	"testing"

	"github.com/natsim/natsim/store"
	"github.com/natsim/natsim/store/storetest"
)

// TestConformance runs the shared store suite against the memory store.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Factory{
		New: func(t *testing.T, cfg store.StreamConfig) store.StreamStore {
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	})
}
