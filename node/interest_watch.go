package node

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/natsim/natsim/ds/subject"
)

// interestWatch tells JetStream when subscriptions on the subjects it watches come
// or go: push consumers follow their deliver subject this way instead of polling
// for it, as the reference's sublist notifications do. A watch names an account, a
// literal subject and a queue group ("" for plain subscriptions); it fires when a
// subscription on exactly that subject in that group is added or removed in the
// account, or in an account importing the subject from it as a stream (the
// reference counts those through shadow subscriptions). Wildcard subscriptions
// never fire a watch, as in the reference.
//
// The subscribe and unsubscribe paths pay one atomic load while nothing is
// watched. Callbacks run from a task, never inline: the path that changed the
// subscription may hold locks (a client's, a source link's) that the callback's
// consumer takes on its way to deliver.
//
// The zero value is ready.
type interestWatch struct {
	// watches counts the live watches; zero lets subscriptionChanged return at once.
	watches atomic.Int64

	mu sync.Mutex
	// byAccount maps an account name to its watches by subject, each list in
	// registration order (so the callbacks are scheduled in a deterministic order).
	byAccount map[string]map[string][]*interestWatcher
	nextID    uint64
}

// interestWatcher is one watch.
type interestWatcher struct {
	id      uint64
	subject string
	queue   string
	changed func()
}

// watch registers changed for subscriptions on subj with queue in account and
// returns the function that cancels it (idempotent).
func (w *interestWatch) watch(account, subj, queue string, changed func()) (cancel func()) {
	w.mu.Lock()
	w.nextID++
	watcher := &interestWatcher{id: w.nextID, subject: subj, queue: queue, changed: changed}
	if w.byAccount == nil {
		w.byAccount = make(map[string]map[string][]*interestWatcher)
	}
	subjects := w.byAccount[account]
	if subjects == nil {
		subjects = make(map[string][]*interestWatcher)
		w.byAccount[account] = subjects
	}
	subjects[subj] = append(subjects[subj], watcher)
	w.watches.Add(1)
	w.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { w.unwatch(account, watcher) }) }
}

func (w *interestWatch) unwatch(account string, watcher *interestWatcher) {
	w.mu.Lock()
	defer w.mu.Unlock()
	subjects := w.byAccount[account]
	list := subjects[watcher.subject]
	for i, candidate := range list {
		if candidate == watcher {
			list = append(list[:i:i], list[i+1:]...)
			w.watches.Add(-1)
			break
		}
	}
	if len(list) == 0 {
		delete(subjects, watcher.subject)
	} else {
		subjects[watcher.subject] = list
	}
	if len(subjects) == 0 {
		delete(w.byAccount, account)
	}
}

// subscriptionChanged is called after a subscription on subj with queue was added to
// or removed from account's sublist. It schedules the callbacks of the watches it
// concerns.
func (s *Server) subscriptionChanged(account *Account, subj, queue string) {
	w := &s.interestWatch
	if w.watches.Load() == 0 || account == nil || subject.HasWildcard(subj) {
		return
	}
	w.mu.Lock()
	var due []func()
	for _, watcher := range w.byAccount[account.Name][subj] {
		if watcher.queue == queue {
			due = append(due, watcher.changed)
		}
	}
	others := make([]string, 0, len(w.byAccount))
	for name := range w.byAccount {
		if name != account.Name {
			others = append(others, name)
		}
	}
	w.mu.Unlock()
	if len(others) > 0 {
		// The exporters are looked up without the watch lock: lookupAccount takes
		// the server's lock, which must never nest inside it.
		sort.Strings(others)
		exporters := make([]*Account, 0, len(others))
		for _, name := range others {
			if exporter := s.lookupAccount(name); exporter != nil {
				exporters = append(exporters, exporter)
			}
		}
		w.mu.Lock()
		due = append(due, w.importedLocked(exporters, account, subj, queue)...)
		w.mu.Unlock()
	}
	for _, changed := range due {
		s.env.Tasks.Go(changed)
	}
}

// importedLocked returns the callbacks of the exporters' watches whose subject
// importer sees as subj through a stream import.
func (w *interestWatch) importedLocked(exporters []*Account, importer *Account, subj, queue string) []func() {
	var due []func()
	for _, exporter := range exporters {
		subjects := w.byAccount[exporter.Name]
		for _, si := range exporter.streamImporters() {
			if si.importer != importer {
				continue
			}
			for _, watched := range sortedWatchedSubjects(subjects) {
				if !subject.MatchesFilter(watched, si.subject) || si.mapSubject(watched) != subj {
					continue
				}
				for _, watcher := range subjects[watched] {
					if watcher.queue == queue {
						due = append(due, watcher.changed)
					}
				}
			}
		}
	}
	return due
}

func sortedWatchedSubjects(subjects map[string][]*interestWatcher) []string {
	names := make([]string, 0, len(subjects))
	for name := range subjects {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// deliveryInterest reports whether account, or an account importing subj from it,
// has a subscription on exactly subj in queue group queue ("" for plain ones): what
// makes a push consumer active in the reference.
func deliveryInterest(account *Account, subj, queue string) bool {
	if exactSubscription(account, subj, queue) {
		return true
	}
	for _, importer := range importersOf(account, subj) {
		if exactSubscription(importer.account, importer.subject, queue) {
			return true
		}
	}
	return false
}

// exactSubscription reports whether account has a subscription on exactly subj in
// queue group queue.
func exactSubscription(account *Account, subj, queue string) bool {
	result := account.sublist.Match(subj)
	if queue == "" {
		for _, sub := range result.Plain {
			if sub.subject == subj {
				return true
			}
		}
		return false
	}
	for _, group := range result.Queues {
		if group.Name != queue {
			continue
		}
		for _, sub := range group.Members {
			if sub.subject == subj {
				return true
			}
		}
	}
	return false
}
