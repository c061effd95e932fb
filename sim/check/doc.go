// Package check holds the history checkers the simulator runs after a scenario:
// linearizability through porcupine (a register model, a key-value model partitioned
// by key, and an append-log model for streams, with timed-out operations that may or
// may not have happened), and a Jepsen-style checker for the JetStream queue workload
// (lost acked writes, unexpected values, duplicates, divergence between nodes,
// per-publisher order).
//
// The checkers are pure functions over recorded histories: they never touch the
// simulated world, the clock or the os. Where a checker writes something for people
// (porcupine's HTML visualization, a textual report), it writes to an io.Writer or
// returns a string that the caller places.
//
// This package imports the standard library and porcupine only; it must not import the
// simulator core (sim/), node/ or anything above them, so that any scenario can use it.
package check
