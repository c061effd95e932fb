// Command nats-server links the simulator, which production binaries must not.
package main

import (
	"fmt"

	"example.com/layered/raft"
	"example.com/layered/sim" // want layering
)

func main() { fmt.Println(raft.Name, sim.Name) }
