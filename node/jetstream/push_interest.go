package jetstream

// InterestWatcher is what a Host implements when it can report subscription changes;
// push consumers then follow the interest on their deliver subject from these
// reports, as the reference's sublist notifications drive them, instead of polling
// for it.
type InterestWatcher interface {
	// WatchInterest calls changed whenever a subscription on exactly subject in
	// queue group queue ("" for plain subscriptions) comes or goes in account, or in
	// an account importing subject from it as a stream. changed runs from a task,
	// never inline in the subscribe or unsubscribe that caused it, and may be
	// called when nothing changed. cancel stops the watch (idempotent).
	WatchInterest(account, subject, queue string, changed func()) (cancel func())
	// HasDeliveryInterest reports whether such a subscription exists now.
	HasDeliveryInterest(account, subject, queue string) bool
}
