package node

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/natsim/natsim/node/opts"
)

// seededRand is a deterministic env.Rand for tests.
type seededRand struct{ *rand.Rand }

func (r seededRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.Uint64())
	}
	return len(p), nil
}

func (r seededRand) Intn(n int) int       { return r.IntN(n) }
func (r seededRand) Int63n(n int64) int64 { return r.Int64N(n) }

func newSeededRand() seededRand { return seededRand{rand.New(rand.NewPCG(1, 2))} }

// TestMapSubject proves the destination forms: literal, $N, {{wildcard(N)}}, legacy
// '*', partition, a trailing '>', and weights that leave a share unmapped.
func TestMapSubject(t *testing.T) {
	r := newSeededRand()
	compile := func(source string, destinations ...*opts.MappingDestination) []*subjectMapping {
		mappings := compileMappings([]*opts.Mapping{{Source: source, Destinations: destinations}}, discardLogger{})
		if len(mappings) != 1 {
			t.Fatalf("%s did not compile", source)
		}
		return mappings
	}
	one := func(subject string) *opts.MappingDestination {
		return &opts.MappingDestination{Subject: subject, Weight: 100}
	}
	cases := []struct {
		mappings  []*subjectMapping
		published string
		want      string
	}{
		{compile("foo", one("bar")), "foo", "bar"},
		{compile("a.*.*", one("b.$2.$1")), "a.x.y", "b.y.x"},
		{compile("a.*.*", one("b.{{wildcard(2)}}.{{ wildcard(1) }}")), "a.x.y", "b.y.x"},
		{compile("a.*", one("b.*")), "a.x", "b.x"},
		{compile("a.>", one("b.>")), "a.x.y", "b.x.y"},
		{compile("a.*", one("b.{{partition(1,1)}}")), "a.anything", "b.0"},
		{compile("a.*", one("b.*")), "c.x", "c.x"},
	}
	for _, c := range cases {
		if got, _ := mapSubject(c.mappings, c.published, r); got != c.want {
			t.Errorf("%s -> %q, want %q", c.published, got, c.want)
		}
	}
	split := compile("w", &opts.MappingDestination{Subject: "left", Weight: 30}, &opts.MappingDestination{Subject: "right", Weight: 30})
	counts := map[string]int{}
	for range 10000 {
		got, _ := mapSubject(split, "w", r)
		counts[got]++
	}
	for name, want := range map[string]int{"left": 3000, "right": 3000, "w": 4000} {
		if counts[name] < want-300 || counts[name] > want+300 {
			t.Errorf("weights: %v", counts)
		}
	}
	if mappings := compileMappings([]*opts.Mapping{{Source: "a.*", Destinations: []*opts.MappingDestination{one("{{nosuch(1)}}")}}}, discardLogger{}); len(mappings) != 0 {
		t.Error("an unknown function was accepted")
	}
	if mappings := compileMappings([]*opts.Mapping{{Source: "a.*", Destinations: []*opts.MappingDestination{one("$2")}}}, discardLogger{}); len(mappings) != 0 {
		t.Error("a wildcard the source lacks was accepted")
	}
}

// TestMappingsEndToEnd proves a configured mapping rewrites what clients publish.
func TestMappingsEndToEnd(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.Mappings = []*opts.Mapping{{Source: "orders.*", Destinations: []*opts.MappingDestination{{Subject: "processed.$1", Weight: 100}}}}
	})
	nc := connect(t, s)
	sub, _ := nc.SubscribeSync("processed.>")
	nc.Publish("orders.42", []byte("x"))
	msg, err := sub.NextMsg(time.Second)
	if err != nil || msg.Subject != "processed.42" {
		t.Fatalf("%v %v", msg, err)
	}
}
