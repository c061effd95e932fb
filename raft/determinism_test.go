package raft

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackagesArePure proves the raft packages keep the determinism rules: no clock,
// no global randomness, no os/net, no goroutines, and no imports from the layers above.
func TestPackagesArePure(t *testing.T) {
	forbidden := []string{"time", "math/rand", "math/rand/v2", "crypto/rand", "os", "net", "sync/atomic",
		"github.com/natsim/natsim/node", "github.com/natsim/natsim/sim",
		"github.com/natsim/natsim/scenarios", "github.com/natsim/natsim/cmd"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"raftpb", "rafttest"} {
		more, _ := filepath.Glob(dir + "/*.go")
		files = append(files, more...)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			for _, bad := range forbidden {
				if path == bad || strings.HasPrefix(path, bad+"/") {
					t.Errorf("%s imports %s", file, path)
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if g, ok := n.(*ast.GoStmt); ok {
				t.Errorf("%s: go statement at %s", file, fset.Position(g.Pos()))
			}
			return true
		})
	}
}
