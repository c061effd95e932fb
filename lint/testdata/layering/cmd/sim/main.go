// Command sim links the simulator, as it should.
package main

import (
	"fmt"

	"example.com/layered/sim"
)

func main() { fmt.Println(sim.Name) }
