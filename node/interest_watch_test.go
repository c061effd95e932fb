package node

import (
	"fmt"
	"sync"
	"testing"

	"github.com/natsim/natsim/env/osenv"
	"github.com/natsim/natsim/node/opts"
)

// queuedTasks is an env.Tasks that queues the work until run, so a test sees exactly
// which callbacks a change scheduled.
type queuedTasks struct {
	mu     sync.Mutex
	queued []func()
}

func (q *queuedTasks) Go(f func()) {
	q.mu.Lock()
	q.queued = append(q.queued, f)
	q.mu.Unlock()
}

// run runs the queued work and reports how much there was.
func (q *queuedTasks) run() int {
	q.mu.Lock()
	queued := q.queued
	q.queued = nil
	q.mu.Unlock()
	for _, f := range queued {
		f()
	}
	return len(queued)
}

// TestInterestWatchReportsExactSubscriptions proves the watch fires for
// subscriptions on exactly the watched subject in the watched queue group, in the
// account or in an account importing the subject as a stream, and for nothing else
// (wildcards, other groups, other subjects); that deliveryInterest agrees; and that
// a cancelled watch stays silent.
func TestInterestWatchReportsExactSubscriptions(t *testing.T) {
	e := osenv.New()
	tasks := &queuedTasks{}
	e.Tasks = tasks
	o := opts.Default()
	o.Accounts = []*opts.Account{
		{Name: "A", Exports: []*opts.Export{{Subject: "deliver.>"}}},
		{Name: "B", Imports: []*opts.Import{{Account: "A", Subject: "deliver.>", Prefix: "from"}}},
	}
	s, err := New(e, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := s.lookupAccount("A"), s.lookupAccount("B")
	var plain, grouped int
	cancelPlain := s.interestWatch.watch("A", "deliver.x", "", func() { plain++ })
	cancelGrouped := s.interestWatch.watch("A", "deliver.x", "g", func() { grouped++ })
	change := func(account *Account, subj, queue string, insert bool) *subscription {
		t.Helper()
		sub := &subscription{subject: subj, queue: queue}
		if insert {
			if err := account.sublist.Insert(subj, queue, sub); err != nil {
				t.Fatal(err)
			}
		}
		s.subscriptionChanged(account, subj, queue)
		return sub
	}
	remove := func(account *Account, sub *subscription) {
		t.Helper()
		if err := account.sublist.Remove(sub.subject, sub.queue, sub); err != nil {
			t.Fatal(err)
		}
		s.subscriptionChanged(account, sub.subject, sub.queue)
	}
	expect := func(label string, wantPlain, wantGrouped int, interestPlain, interestGrouped bool) {
		t.Helper()
		tasks.run()
		if plain != wantPlain || grouped != wantGrouped {
			t.Fatalf("%s: reports plain %d grouped %d, want %d %d", label, plain, grouped, wantPlain, wantGrouped)
		}
		if got := deliveryInterest(a, "deliver.x", ""); got != interestPlain {
			t.Fatalf("%s: plain interest %v", label, got)
		}
		if got := deliveryInterest(a, "deliver.x", "g"); got != interestGrouped {
			t.Fatalf("%s: grouped interest %v", label, got)
		}
	}
	wildcard := change(a, "deliver.*", "", true)
	change(a, "deliver.y", "", true)
	other := change(a, "deliver.x", "h", true)
	expect("unrelated subscriptions", 0, 0, false, false)
	own := change(a, "deliver.x", "", true)
	expect("plain subscription", 1, 0, true, false)
	member := change(a, "deliver.x", "g", true)
	expect("group member", 1, 1, true, true)
	remove(a, own)
	remove(a, member)
	remove(a, wildcard)
	remove(a, other)
	expect("all gone", 2, 2, false, false)
	imported := change(b, "from.deliver.x", "", true)
	expect("importer's subscription", 3, 2, true, false)
	change(b, "deliver.x", "", true)
	expect("importer's unmapped subject", 3, 2, true, false)
	cancelPlain()
	cancelPlain()
	cancelGrouped()
	remove(b, imported)
	expect("cancelled", 3, 2, false, false)
	if watches := s.interestWatch.watches.Load(); watches != 0 {
		t.Fatalf("%d watches left", watches)
	}
}

// BenchmarkServerSubscribeUnsubscribe measures a SUB and an UNSUB from a client,
// without watches (the cost every server pays) and with 1,000 push consumers'
// deliver subjects watched in the account.
func BenchmarkServerSubscribeUnsubscribe(b *testing.B) {
	for _, watched := range []int{0, 1000} {
		b.Run(fmt.Sprintf("watched=%d", watched), func(b *testing.B) {
			s := benchServer(b)
			for i := range watched {
				cancel := s.interestWatch.watch("$G", fmt.Sprintf("deliver.%d", i), "", func() {})
				b.Cleanup(cancel)
			}
			client := benchConnect(s)
			churn := []byte("SUB bench.churn 1\r\nUNSUB 1\r\n")
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				client.handler.OnData(churn)
			}
		})
	}
}
