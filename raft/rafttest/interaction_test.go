package rafttest

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "regenerate the golden output of testdata/*.txt")

// TestInteraction runs each script in testdata/ and compares every command's output
// with the golden output written under it. Each script proves one behaviour, stated in
// its opening comment; -rewrite regenerates the outputs (commit them only after reading
// the diff).
func TestInteraction(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scripts in testdata/")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runScript(t, file) })
	}
}

func runScript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := ParseScript(file, data)
	if err != nil {
		t.Fatal(err)
	}
	env := NewEnv(DefaultConfig())
	outputs := make([]string, len(cases))
	for i, tc := range cases {
		out, err := env.Run(tc)
		if err != nil {
			t.Fatalf("%s: %s: %v", tc.Pos, tc.Cmd, err)
		}
		outputs[i] = out
		if !*rewrite && out != tc.Expected {
			t.Errorf("%s: %s: output differs\n--- expected\n%s\n--- actual\n%s", tc.Pos, tc.Cmd, tc.Expected, out)
		}
	}
	if *rewrite {
		if err := os.WriteFile(file, []byte(FormatScript(cases, outputs)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
