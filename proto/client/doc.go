// Package client is the NATS client protocol as pure functions over bytes: an
// incremental, zero-copy parser for what clients send (CONNECT, PUB, HPUB, SUB, UNSUB,
// PING, PONG), the same parser for what servers send (INFO, MSG, HMSG, PING, PONG,
// +OK, -ERR; NewServerStreamParser, for sans-I/O clients), encoders for both
// directions, and the JSON shapes of INFO and CONNECT.
//
// It owns no connection, clock or goroutine, and imports nothing of this module but
// the standard library; node/ drives it with the bytes each read delivers.
package client
