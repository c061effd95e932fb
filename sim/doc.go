// Package sim is the deterministic world the server's distributed core runs in during
// simulation: a single-goroutine event scheduler in virtual time, per-component seeded
// random streams, processes with their own clocks, timers, tasks, disks and network
// endpoints, a TCP-like simulated network with partitions and clogging, Buggify, a swarm
// configuration drawn per seed, a fault injector (the nemesis), and the two-phase run
// (safety with faults, then liveness with faults off) whose every event folds into a
// trace hash.
//
// A scenario (Scenario) spawns processes in Setup with World.Spawn; each process's Boot
// function gets an env.Env bound to its current incarnation and runs again after every
// restart (memory lost, disk kept). Run draws the swarm Config from the seed, injects
// the nemesis's faults (crashes with or without power loss, pauses, partitions of every
// shape, clogs, resets, disk faults chosen by the simfs atlas, Buggify) for
// Config.Safety, undoes them all, waits up to Config.LivenessBound for
// Workload.Converged, and finally calls Workload.Check. Scenarios may also drive faults
// themselves (World.Crash, Restart, Pause, Resume, Partition, Cut, Isolate, Clog, Heal),
// record trace notes (World.Note), fail early (World.Fail) and attach files
// (World.AddArtifact).
//
// Nothing here reads the real clock, starts a goroutine or uses global randomness: the
// same seed replays the same run, event for event. The package may import env/ and the
// simulator's own sub-packages (sim/simfs, sim/check); production code never imports it.
package sim
