package scenarios

import (
	"sort"

	"github.com/natsim/natsim/sim"
)

// registry maps a scenario's name to its definition.
var registry = map[string]*sim.Scenario{}

// register adds a scenario to the registry at init time.
func register(s *sim.Scenario) {
	if _, exists := registry[s.Name]; exists {
		panic("scenarios: duplicate scenario " + s.Name)
	}
	registry[s.Name] = s
}

// All returns every registered scenario, sorted by name.
func All() []*sim.Scenario {
	out := make([]*sim.Scenario, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the registered scenario with the given name, or nil.
func Lookup(name string) *sim.Scenario { return registry[name] }
