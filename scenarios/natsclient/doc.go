// Package natsclient is a sans-I/O NATS client for the simulator: it speaks the core
// client protocol (CONNECT, PUB, HPUB, SUB, UNSUB, PING, PONG) over an env.Network,
// with queue subscriptions, request/reply with timeouts on env.Clock, and reconnection
// with backoff that resubscribes. It starts no goroutine and never blocks: every result
// arrives through a callback, in the order the simulator delivers events.
//
// Parser is its pure, incremental parser of what a server sends (INFO, MSG, HMSG, PING,
// PONG, +OK, -ERR), correct for reads split at any byte.
//
// The package lives under scenarios/ because only simulated workloads use it; it imports
// env/ and proto/client (for the client-side encoders), never sim/ or node/.
package natsclient
