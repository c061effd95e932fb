package stree_test

import (
	"fmt"

	"github.com/natsim/natsim/ds/stree"
)

// Example shows the store's use: per-subject state found, updated in place and matched.
func Example() {
	type subjectState struct{ messages, lastSequence uint64 }
	states := stree.NewSubjectTree[subjectState]()
	for sequence, subject := range []string{"orders.eu.1", "orders.us.7", "orders.eu.1", "metrics.cpu"} {
		if state, ok := states.Find([]byte(subject)); ok {
			state.messages++ // Find returns a pointer into the tree.
			state.lastSequence = uint64(sequence + 1)
			continue
		}
		states.Insert([]byte(subject), subjectState{messages: 1, lastSequence: uint64(sequence + 1)})
	}
	states.Match([]byte("orders.*.>"), func(subject []byte, state *subjectState) {
		fmt.Printf("%s: %d messages, last %d\n", subject, state.messages, state.lastSequence)
	})
	fmt.Println("subjects:", states.Size())
	// Output:
	// orders.eu.1: 2 messages, last 3
	// orders.us.7: 1 messages, last 2
	// subjects: 3
}
