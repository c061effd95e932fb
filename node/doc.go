// Package node is the NATS server: client connections, subscriptions, accounts and
// authorization, and monitoring, built over the env contract so that the same code runs
// on real sockets (env/osenv) and in the deterministic simulator.
//
// It never reads the clock, sleeps, starts goroutines or touches os/net directly: time,
// timers, randomness and the network all come from the env.Env it is given. In
// production env callbacks arrive on many goroutines, so shared state is guarded by
// mutexes; in simulation the same callbacks arrive on one goroutine.
//
// The wire protocol lives in proto/client; the configuration in node/opts. This package
// must not import cmd/, scenarios/ or sim/.
package node
