// Package fixture touches files, processes and the environment through os.
package fixture

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"   // want
	"os/signal" // want
)

// Load reads a file, which must go through env.FS.
func Load(name string) ([]byte, error) {
	data, err := os.ReadFile(name) // want
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	f, _ := os.OpenFile(name, os.O_RDWR, 0o600) // want
	defer f.Close()
	_ = os.Rename(name, name+".old")                     // want
	_ = os.MkdirAll(name, os.ModePerm)                   // want
	fmt.Fprintln(os.Stderr, "loaded", os.Getenv("HOME")) // want
	if _, ok := os.LookupEnv("X"); ok {                  // want
		os.Exit(1) // want
	}
	_ = exec.Command
	_ = signal.Notify
	return data, err
}

var arguments = os.Args // want
