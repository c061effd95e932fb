// Package scenarios holds the simulator's named workloads: each one spawns processes in
// a sim.World, drives them through the safety and liveness phases, and checks what it
// observed (porcupine for registers, exact stream checks for the network mesh).
//
// The registry (All, Lookup) lists what `sim -seeds` sweeps. Deliberately broken
// variants used to prove the checkers work are not registered; only this package's
// tests reach them.
//
// Scenario code runs inside the simulator, so it follows the determinism rules: no
// goroutines, no real time, no global randomness; every draw comes from the world.
package scenarios
