// Package sim is the deterministic world the server's distributed core runs in during
// simulation: a single-goroutine event scheduler in virtual time, per-component seeded
// random streams, processes with their own clocks, timers, tasks, disks and network
// endpoints, a TCP-like simulated network with partitions and clogging, Buggify, a swarm
// configuration drawn per seed, a fault injector (the nemesis), and the two-phase run
// (safety with faults, then liveness with faults off) whose every event folds into a
// trace hash.
//
// Nothing here reads the real clock, starts a goroutine or uses global randomness: the
// same seed replays the same run, event for event. The package may import env/ and the
// simulator's own sub-packages (sim/simfs, sim/check); production code never imports it.
package sim
