package lint

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Package is the part of `go list -deps -json` output that CheckLayering reads.
type Package struct {
	ImportPath string
	// Dir is the package's directory, absolute as go list prints it.
	Dir      string
	Standard bool
	GoFiles  []string
	// Imports are the direct imports and Deps the transitive ones, both without test
	// files.
	Imports []string
	Deps    []string
}

// layerRanks orders the module's top-level directories: a package may depend only on
// packages of its own rank or lower (raft and store share one). Directories not listed
// (lint/, scripts/ ...) are outside the layering.
var layerRanks = map[string]int{
	"env":       0,
	"ds":        1,
	"proto":     2,
	"raft":      3,
	"store":     3,
	"node":      4,
	"sim":       5,
	"scenarios": 6,
	"cmd":       7,
}

// productionBinaries must never link the simulator.
var productionBinaries = []string{"cmd/nats-server"}

// CheckLayering reports the layering violations among the packages of the module
// modulePath whose root directory is moduleDirectory: a package depending on a higher
// layer, a production binary linking sim/, non-test code depending on a test helper
// package (rafttest), and a package under env/ depending on anything outside the
// standard library and env/. Each violation points at the import
// line, in the depending package, that leads to the forbidden package; fsys is the
// module root, used to find that line.
func CheckLayering(fsys fs.FS, modulePath, moduleDirectory string, packages []Package) []Violation {
	byPath := make(map[string]*Package, len(packages))
	for i := range packages {
		byPath[packages[i].ImportPath] = &packages[i]
	}
	relative := func(importPath string) (string, bool) {
		if importPath == modulePath {
			return ".", true
		}
		rest, ok := strings.CutPrefix(importPath, modulePath+"/")
		return rest, ok
	}
	var violations []Violation
	for i := range packages {
		p := &packages[i]
		from, inModule := relative(p.ImportPath)
		if !inModule {
			continue
		}
		fromRank, fromRanked := layerRanks[topDirectory(from)]
		for _, dependency := range p.Deps {
			to, dependencyInModule := relative(dependency)
			var rule, reason string
			switch {
			case topDirectory(from) == "env" && !isStandard(byPath, dependency) &&
				!(dependencyInModule && topDirectory(to) == "env"):
				rule, reason = RuleEnvStandardLibrary, "env/ uses the standard library only"
			case !dependencyInModule:
				continue
			case isTestHelper(to) && !isTestHelper(from) && slices.Contains(p.Imports, dependency):
				// Only the direct import is reported: every package above it
				// would repeat the same violation.
				rule, reason = RuleLayering, "test helper packages serve _test.go files only"
			case slices.Contains(productionBinaries, from) && topDirectory(to) == "sim":
				rule, reason = RuleLayering, "a production binary must not link the simulator"
			case fromRanked && rankAbove(to, fromRank):
				rule, reason = RuleLayering, "imports point down: cmd -> scenarios -> sim -> node -> raft/store -> proto -> ds -> env"
			default:
				continue
			}
			via := directImportLeadingTo(byPath, p, dependency)
			file, line := importLine(fsys, moduleDirectory, p, via)
			message := fmt.Sprintf("%s depends on %s (%s)", from, dependencyName(to, dependency, dependencyInModule), reason)
			if via != dependency {
				message = fmt.Sprintf("%s depends on %s through its import of %s (%s)", from,
					dependencyName(to, dependency, dependencyInModule), via, reason)
			}
			violations = append(violations, Violation{File: file, Line: line, Rule: rule, Message: message})
		}
	}
	slices.SortFunc(violations, func(a, b Violation) int {
		return strings.Compare(a.String(), b.String())
	})
	return violations
}

func dependencyName(relativePath, importPath string, inModule bool) string {
	if inModule {
		return relativePath
	}
	return importPath
}

// rankAbove reports whether the module package at relativePath is in a layer above
// rank.
func rankAbove(relativePath string, rank int) bool {
	toRank, ranked := layerRanks[topDirectory(relativePath)]
	return ranked && toRank > rank
}

// topDirectory returns the first element of a slash-separated relative path.
func topDirectory(relativePath string) string {
	top, _, _ := strings.Cut(relativePath, "/")
	return top
}

// isStandard reports whether importPath is a standard library package. go list marks
// them; a package missing from the list (a broken import) counts as not standard when
// its first element has a dot, as module paths do.
func isStandard(byPath map[string]*Package, importPath string) bool {
	if p, ok := byPath[importPath]; ok {
		return p.Standard
	}
	return !strings.Contains(topDirectory(importPath), ".")
}

// directImportLeadingTo returns the direct import of p that is dependency or depends
// on it (the first in sorted order, so reports are stable).
func directImportLeadingTo(byPath map[string]*Package, p *Package, dependency string) string {
	for _, direct := range p.Imports {
		if direct == dependency {
			return direct
		}
	}
	for _, direct := range p.Imports {
		if d, ok := byPath[direct]; ok && slices.Contains(d.Deps, dependency) {
			return direct
		}
	}
	return dependency
}

// importLine finds the file and line of p's import of importPath; it falls back to
// the package directory and line 1 when the files cannot be read.
func importLine(fsys fs.FS, moduleDirectory string, p *Package, importPath string) (string, int) {
	directory := strings.TrimPrefix(strings.TrimPrefix(p.Dir, moduleDirectory), "/")
	if directory == "" {
		directory = "."
	}
	for _, name := range p.GoFiles {
		file := path.Join(directory, name)
		source, err := fs.ReadFile(fsys, file)
		if err != nil {
			continue
		}
		fileSet := token.NewFileSet()
		parsed, err := parser.ParseFile(fileSet, file, source, parser.ImportsOnly)
		if err != nil {
			continue
		}
		for _, spec := range parsed.Imports {
			if unquoted, err := strconv.Unquote(spec.Path.Value); err == nil && unquoted == importPath {
				return file, fileSet.Position(spec.Pos()).Line
			}
		}
	}
	return directory, 1
}
