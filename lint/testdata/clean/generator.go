//go:build ignore

// A generator run by hand (go run generator.go): excluded from every build, so the
// rules do not apply to it.
package main

import (
	"os"
	"time"
)

func main() {
	data, _ := os.ReadFile("in.json")
	_ = os.WriteFile("out.go", data, 0o644)
	go func() {}()
	_ = time.Now()
}
