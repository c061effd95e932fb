package sublist_test

import (
	"fmt"

	"github.com/natsim/natsim/ds/sublist"
)

// Example shows the server's use: subscribe, then on each publish deliver to every plain
// subscriber and to one member of each queue group.
func Example() {
	type subscription struct{ id string }
	subscriptions := sublist.New[*subscription]()
	audit, worker1, worker2 := &subscription{"audit"}, &subscription{"worker1"}, &subscription{"worker2"}
	_ = subscriptions.Insert("orders.>", "", audit)
	_ = subscriptions.Insert("orders.*.new", "workers", worker1)
	_ = subscriptions.Insert("orders.eu.new", "workers", worker2)

	result := subscriptions.Match("orders.eu.new") // Shared and cached: read, never modify.
	for _, plain := range result.Plain {
		fmt.Println("deliver to", plain.id)
	}
	for _, group := range result.Queues {
		// The server picks a member with its seeded random source; the first will do here.
		fmt.Println("deliver to one of", group.Name, "members, e.g.", group.Members[0].id, "of", len(group.Members))
	}
	plain, queued := subscriptions.NumInterest("orders.us.new")
	fmt.Println("orders.us.new interest:", plain, "plain,", queued, "queued")
	// Output:
	// deliver to audit
	// deliver to one of workers members, e.g. worker1 of 2
	// orders.us.new interest: 1 plain, 1 queued
}
