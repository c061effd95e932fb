// Package jetstream is JetStream on one server: the server-wide Manager (store
// directory, resource limits, domain, recovery), per-account state, streams as
// deterministic state machines, the $JS.API request handlers, the publish path with its
// PubAck, and the consumers.
//
// # Layering
//
// This package must not import node/ (node imports it). Everything it needs from the
// server comes through Host (publish into an account, subscribe internal handlers) and
// Config (env.Env for the clock, timers, tasks, file system and randomness; a Logger).
// It imports store/, proto/, ds/ and env/ only.
//
// # The ordered log
//
// A Stream applies entries from an ordered log (DESIGN.md, node/). For R1 the log is
// local: the publish path validates a message against the stream's state (expected
// headers, dedup, limits) and applies it at once; clustering will put a raft group in
// between and call the same apply methods with committed entries, so nothing in apply
// may read the clock or randomness: the timestamp travels in the entry.
//
// # The seam between streams and consumers (for the consumer files)
//
// The files consumer*.go, pull*.go, push*.go and ack*.go are the consumer side. They
// implement two things:
//
//  1. A consumerEngine (see seam.go), installed from an init function in their file
//     with registerConsumerEngine(func(m *Manager) consumerEngine { ... }). The Manager
//     makes one per Manager. It answers every consumer API request (every jsapi.Op
//     whose subject starts with $JS.API.CONSUMER., including MSG.NEXT), through
//     HandleAPI(account, op, args, request); the request carries the raw message and
//     Respond. It also reopens a recovered stream's consumers (RecoverConsumers), after
//     the stream has recovered its messages and before it takes new ones.
//  2. A StreamConsumer per consumer, registered on its Stream with AddConsumer and
//     removed with RemoveConsumer. The stream calls MessageStored after each stored
//     message (in sequence order, without the stream's lock held), StreamPurged after a
//     purge or compaction moved the first sequence, NeedsAck for interest and work
//     queue retention, and Stop/Delete when the server stops or the stream is deleted.
//
// In the other direction a consumer uses the Stream's exported methods: Name, Account,
// Config, Store (reads only: LoadNextMsg, NumPending, ...), Host, Env, Consumers, and
// Acknowledged(seq) after it has acknowledged seq, which lets interest and work queue
// streams remove messages no consumer needs any more. Consumers send their
// deliveries and status messages through Stream.Host().Publish.
package jetstream
