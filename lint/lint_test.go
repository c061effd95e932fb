package lint

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// moduleRoot is the directory of this module's go.mod, one level above lint/.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod above lint/: %v", err)
	}
	return root
}

// goCommand runs the go tool in directory and returns its standard output.
func goCommand(t *testing.T, directory string, arguments ...string) []byte {
	t.Helper()
	command := exec.Command("go", arguments...)
	command.Dir = directory
	command.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	command.Stderr = &stderr
	out, err := command.Output()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(arguments, " "), directory, err, stderr.String())
	}
	return out
}

// listPackages runs `go list -e -deps -json ./...` in directory, with extra flags (a
// build tag) before the pattern. With -e, packages that do not build yet are still
// listed, so a half-written package elsewhere does not hide the layering of the rest.
func listPackages(t *testing.T, directory string, flags ...string) (modulePath string, packages []Package) {
	t.Helper()
	modulePath = strings.TrimSpace(string(goCommand(t, directory, "list", "-m")))
	arguments := append(append([]string{"list", "-e", "-deps", "-json"}, flags...), "./...")
	decoder := json.NewDecoder(bytes.NewReader(goCommand(t, directory, arguments...)))
	for {
		var p Package
		if err := decoder.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		packages = append(packages, p)
	}
	return modulePath, packages
}

func reportViolations(t *testing.T, violations []Violation) {
	t.Helper()
	for _, v := range violations {
		t.Errorf("%s", v)
	}
}

// TestLintLayering proves this module's imports point down, env/ uses the standard
// library only, and cmd/nats-server does not link sim/.
func TestLintLayering(t *testing.T) {
	root := moduleRoot(t)
	modulePath, packages := listPackages(t, root)
	reportViolations(t, CheckLayering(os.DirFS(root), modulePath, root, packages))
}

// TestLintProductionBuild proves the production build keeps the rules too: with the
// "production" tag the layering holds and cmd/nats-server links neither sim/ nor
// scenarios/, and env's production-tag tests pass, which assert at compile time that
// Buggify's switch is the constant false there.
func TestLintProductionBuild(t *testing.T) {
	root := moduleRoot(t)
	modulePath, packages := listPackages(t, root, "-tags", "production")
	reportViolations(t, CheckLayering(os.DirFS(root), modulePath, root, packages))
	var server *Package
	for i := range packages {
		if packages[i].ImportPath == modulePath+"/cmd/nats-server" {
			server = &packages[i]
		}
	}
	if server == nil {
		t.Fatal("cmd/nats-server is not listed")
	}
	if !slices.Contains(server.Deps, modulePath+"/env") {
		t.Errorf("cmd/nats-server does not depend on env: the dependency list is wrong")
	}
	for _, dependency := range server.Deps {
		for _, forbidden := range []string{"/sim", "/scenarios"} {
			if dependency == modulePath+forbidden || strings.HasPrefix(dependency, modulePath+forbidden+"/") {
				t.Errorf("the production cmd/nats-server links %s", dependency)
			}
		}
	}
	goCommand(t, root, "test", "-tags", "production", "-count=1", "-run", "Buggify", "./env/")
}

// TestLintDeterminism proves no non-test file outside env/osenv and cmd/ reads the
// clock, uses global or operating-system randomness, touches os files, processes or
// the environment, imports net, or starts a goroutine.
func TestLintDeterminism(t *testing.T) {
	violations, err := Check(os.DirFS(moduleRoot(t)))
	if err != nil {
		t.Fatal(err)
	}
	reportViolations(t, violations)
}

// wantLines returns the lines of the fixture files under directory that carry a
// "// want" marker, as "file:line" relative to directory.
func wantLines(t *testing.T, directory string) []string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(directory, func(name string, entry os.DirEntry, err error) error {
		if err != nil || entry.IsDir() || !strings.HasSuffix(name, ".go") {
			return err
		}
		source, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		relative, _ := filepath.Rel(directory, name)
		scanner := bufio.NewScanner(bytes.NewReader(source))
		for line := 1; scanner.Scan(); line++ {
			if strings.Contains(scanner.Text(), "// want") {
				lines = append(lines, fmt.Sprintf("%s:%d", filepath.ToSlash(relative), line))
			}
		}
		return scanner.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	return slices.Compact(lines)
}

// violationLines returns the distinct "file:line" of violations, sorted.
func violationLines(violations []Violation) []string {
	var lines []string
	for _, v := range violations {
		lines = append(lines, fmt.Sprintf("%s:%d", v.File, v.Line))
	}
	slices.Sort(lines)
	return slices.Compact(lines)
}

// TestLintFixtures proves each determinism rule fires on exactly the lines of its
// fixture marked "// want" and on nothing else, that no other rule fires there, and
// that the clean fixture (allowed uses and shadowed package names) fires nothing.
func TestLintFixtures(t *testing.T) {
	for _, rule := range []string{RuleTime, RuleRand, RuleCryptoRand, RuleOS, RuleNet, RuleGo, "clean"} {
		t.Run(rule, func(t *testing.T) {
			directory := filepath.Join("testdata", rule)
			violations, err := Check(os.DirFS(directory))
			if err != nil {
				t.Fatal(err)
			}
			want := wantLines(t, directory)
			if rule != "clean" && len(want) == 0 {
				t.Fatalf("fixture %s marks no line", directory)
			}
			if got := violationLines(violations); !slices.Equal(got, want) {
				t.Errorf("violations at %v, want %v", got, want)
			}
			for _, v := range violations {
				if v.Rule != rule {
					t.Errorf("rule %q fired in the %s fixture: %s", v.Rule, rule, v)
				}
			}
			if testing.Verbose() {
				for _, v := range violations {
					t.Log(v)
				}
			}
		})
	}
}

// TestLintLayeringFixture proves the layering rules fire on exactly the marked import
// lines of a small module built to break each of them once: raft importing node,
// cmd/nats-server importing sim, node importing a test helper package, and env
// importing a non-standard package.
func TestLintLayeringFixture(t *testing.T) {
	directory, err := filepath.Abs(filepath.Join("testdata", "layering"))
	if err != nil {
		t.Fatal(err)
	}
	modulePath, packages := listPackages(t, directory)
	violations := CheckLayering(os.DirFS(directory), modulePath, directory, packages)
	if got, want := violationLines(violations), wantLines(t, directory); !slices.Equal(got, want) {
		t.Errorf("violations at %v, want %v", got, want)
	}
	rules := map[string]string{
		"raft/raft.go":            RuleLayering,
		"cmd/nats-server/main.go": RuleLayering,
		"env/env.go":              RuleEnvStandardLibrary,
		"node/node.go":            RuleLayering,
	}
	for _, v := range violations {
		if rules[v.File] != v.Rule {
			t.Errorf("unexpected rule: %s", v)
		}
	}
	if len(violations) != len(rules) {
		t.Errorf("%d violations, want %d: %v", len(violations), len(rules), violations)
	}
}

// TestLintParseError proves a file that does not parse is reported, with its line,
// rather than skipped.
func TestLintParseError(t *testing.T) {
	violations := CheckFile("broken.go", []byte("package broken\n\nfunc f( {\n"))
	if len(violations) != 1 || violations[0].Rule != RuleParse || violations[0].Line != 3 {
		t.Fatalf("violations = %v, want one parse error on line 3", violations)
	}
}

// TestLintSkipsExemptAndTestFiles proves the exempt trees, test files and testdata
// are not checked, while the same code elsewhere is.
func TestLintSkipsExemptAndTestFiles(t *testing.T) {
	root := t.TempDir()
	source := []byte("package p\n\nfunc f() { go f() }\n")
	for _, name := range []string{
		"cmd/nats-server/main.go", "env/osenv/net.go", "node/client_test.go",
		"node/testdata/x.go", ".hidden/x.go", "raft/rafttest/script.go",
		"node/client.go", "envx/osenv/y.go",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), source, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	violations, err := Check(os.DirFS(root))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, v := range violations {
		files = append(files, v.File)
	}
	if want := []string{"envx/osenv/y.go", "node/client.go"}; !slices.Equal(files, want) {
		t.Fatalf("violations in %v, want %v", files, want)
	}
}
