// Package lint enforces the layering and determinism rules of DESIGN.md: imports point
// down (cmd -> scenarios -> sim -> node -> raft/store -> proto -> ds -> env), env/ uses
// the standard library only, cmd/nats-server never links sim/, and nothing outside
// env/osenv and cmd/ reads the clock, sleeps, starts goroutines, uses global or
// operating-system randomness, or touches files, processes, the environment or the
// network directly. Those go through package env, so that the simulator can replace them.
//
// The checks are plain functions over source files (Check) and over the package graph
// that `go list -deps -json` prints (CheckLayering); lint_test.go runs them over this
// module and over the fixtures in testdata/. This package itself follows the rules it
// enforces: it reads files only through the fs.FS it is given.
//
// Choices where the rules leave room:
//   - time.Since and time.Until read the clock too, so they are forbidden with Now.
//     Types, constants and pure functions (time.Duration, time.Unix) are fine.
//   - math/rand and math/rand/v2 constructors (New, NewPCG, NewChaCha8, NewSource,
//     NewZipf) and types are allowed: a generator seeded from env.Rand is deterministic.
//   - The environment (os.Getenv, os.LookupEnv ...) is forbidden like files: the
//     config parser's $VAR expansion takes a lookup function that cmd/ builds from
//     os.LookupEnv, and the simulator passes its own. os.Stdout and os.Stderr, error
//     values and file mode types stay allowed. os/exec and os/signal are forbidden.
//   - net/netip, net/url, net/textproto and net/mail are pure parsers and allowed;
//     net, net/http and every other net/ package are forbidden (monitoring handlers
//     are pure functions; cmd/ serves them over net/http).
//   - Test helper packages (a directory named like rafttest) serve _test.go files and
//     may read golden files, so the determinism rules skip them; in exchange only
//     tests may import them, which CheckLayering enforces.
//   - Files excluded from every build by a "//go:build ignore" constraint are
//     generators run by hand (go run gen.go), like the commands under cmd/, so they
//     are skipped. Any other constraint (production, !production, linux) is checked.
//   - Layering is enforced for every ranked top-level directory, not only for the
//     raft/store/proto/ds core, and over transitive dependencies (go list -deps).
package lint

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/scanner"
	"go/token"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Rule names, one per forbidden pattern; each has a fixture directory of the same name
// under testdata/.
const (
	// RuleTime: reading the wall clock or scheduling on it (use env.Clock).
	RuleTime = "time"
	// RuleRand: package-level math/rand or math/rand/v2 functions, which draw from
	// a global, unseeded source (use env.Rand, or a seeded rand.New value).
	RuleRand = "rand"
	// RuleCryptoRand: importing crypto/rand (use env.Rand, whose production
	// implementation is seeded from it).
	RuleCryptoRand = "cryptorand"
	// RuleOS: os functions that touch files, processes or the environment, and the
	// os/exec and os/signal packages (use env.FS; pass what cmd/ reads in).
	RuleOS = "os"
	// RuleNet: importing net or net/http and their kin (use env.Network).
	RuleNet = "net"
	// RuleGo: a go statement (use env.Tasks).
	RuleGo = "go"
	// RuleParse: a file that does not parse, so nothing else can be checked in it.
	RuleParse = "parse"
	// RuleLayering: a package depends on a layer above it, or cmd/nats-server links
	// the simulator.
	RuleLayering = "layering"
	// RuleEnvStandardLibrary: a package under env/ depends on something outside the
	// standard library (env/osenv may import env itself).
	RuleEnvStandardLibrary = "env-stdlib"
)

// Violation is one forbidden use, at a file and line.
type Violation struct {
	// File is the slash-separated path relative to the checked root.
	File string
	// Line is 1-based.
	Line    int
	Rule    string
	Message string
}

// String formats the violation as "file:line: [rule] message".
func (v Violation) String() string {
	return fmt.Sprintf("%s:%d: [%s] %s", v.File, v.Line, v.Rule, v.Message)
}

// exemptDirectories may use the real world directly: they are the production
// implementation of env and the binaries that wire it up.
var exemptDirectories = []string{"cmd", "env/osenv"}

// forbiddenTimeFunctions read the wall clock or schedule on it.
var forbiddenTimeFunctions = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"AfterFunc": true, "NewTimer": true, "Tick": true, "NewTicker": true,
}

// allowedRandNames are the math/rand and math/rand/v2 names that do not touch the
// global source: constructors of seeded generators and types. Everything else at
// package level (Intn, N, Shuffle, Seed, Perm, Float64 ...) draws from the global one.
var allowedRandNames = map[string]bool{
	"New": true, "NewPCG": true, "NewChaCha8": true, "NewSource": true, "NewZipf": true,
	"Rand": true, "Source": true, "Source64": true, "PCG": true, "ChaCha8": true, "Zipf": true,
}

// forbiddenOSNames touch files, processes or the environment. Error values, file mode
// types and os.Stdout/os.Stderr stay allowed. The environment is included: config's
// $VAR expansion takes a lookup function that cmd/ builds from os.LookupEnv.
const (
	filesAdvice       = "use env.FS"
	processAdvice     = "have cmd/ do it and pass the result in"
	environmentAdvice = "have cmd/ pass a lookup function in"
)

var forbiddenOSNames = map[string]string{
	// Files and directories.
	"Open": filesAdvice, "Create": filesAdvice, "OpenFile": filesAdvice, "ReadFile": filesAdvice, "WriteFile": filesAdvice,
	"Remove": filesAdvice, "RemoveAll": filesAdvice, "Rename": filesAdvice, "Mkdir": filesAdvice, "MkdirAll": filesAdvice,
	"MkdirTemp": filesAdvice, "CreateTemp": filesAdvice, "ReadDir": filesAdvice, "Stat": filesAdvice, "Lstat": filesAdvice,
	"Truncate": filesAdvice, "Chdir": filesAdvice, "Chmod": filesAdvice, "Chown": filesAdvice, "Lchown": filesAdvice,
	"Chtimes": filesAdvice, "Link": filesAdvice, "Symlink": filesAdvice, "Readlink": filesAdvice, "Getwd": filesAdvice,
	"DirFS": filesAdvice, "CopyFS": filesAdvice, "TempDir": filesAdvice, "UserHomeDir": filesAdvice,
	"UserCacheDir": filesAdvice, "UserConfigDir": filesAdvice, "NewFile": filesAdvice, "Pipe": filesAdvice,
	"SameFile": filesAdvice, "Stdin": filesAdvice,
	// Processes.
	"Exit": processAdvice, "Args": processAdvice, "Getpid": processAdvice, "Getppid": processAdvice, "Getuid": processAdvice,
	"Geteuid": processAdvice, "Getgid": processAdvice, "Getegid": processAdvice, "Getgroups": processAdvice,
	"StartProcess": processAdvice, "FindProcess": processAdvice, "Executable": processAdvice, "Hostname": processAdvice,
	// The environment.
	"Getenv": environmentAdvice, "LookupEnv": environmentAdvice, "Environ": environmentAdvice, "Setenv": environmentAdvice, "Unsetenv": environmentAdvice,
	"Clearenv": environmentAdvice, "ExpandEnv": environmentAdvice,
}

// forbiddenImports are packages whose import alone breaks a rule.
var forbiddenImports = map[string]string{
	"crypto/rand": RuleCryptoRand,
	"os/exec":     RuleOS,
	"os/signal":   RuleOS,
}

// allowedNetPackages are pure parsers and value types under net/ that do no I/O.
var allowedNetPackages = map[string]bool{
	"net/netip": true, "net/url": true, "net/textproto": true, "net/mail": true,
}

// Check parses every non-test .go file under fsys and reports the determinism
// violations, sorted by file and line. It skips testdata, vendor and hidden
// directories, test helper packages (see isTestHelper), and the exempt cmd/ and
// env/osenv/ trees at the root. The error is only
// for a file system that cannot be walked; unparsable files are RuleParse violations.
func Check(fsys fs.FS) ([]Violation, error) {
	var violations []Violation
	err := fs.WalkDir(fsys, ".", func(name string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if entry.IsDir() {
			if name != "." && skipDirectory(name) {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		source, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		violations = append(violations, CheckFile(name, source)...)
		return nil
	})
	return violations, err
}

func skipDirectory(name string) bool {
	base := path.Base(name)
	if base == "testdata" || base == "vendor" || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") {
		return true
	}
	return slices.Contains(exemptDirectories, name) || isTestHelper(name)
}

// isTestHelper reports whether a directory holds a test helper package, named like
// the standard library's httptest and fstest (rafttest, storetest). Such packages
// serve _test.go files only, may read golden files with os, and are exempt from the
// determinism rules; CheckLayering fails any non-test code that imports one.
func isTestHelper(directory string) bool {
	return strings.HasSuffix(path.Base(directory), "test")
}

// CheckFile reports the determinism violations in one Go source file; name is used in
// the violations only.
func CheckFile(name string, source []byte) []Violation {
	fileSet := token.NewFileSet()
	file, err := parser.ParseFile(fileSet, name, source, parser.SkipObjectResolution|parser.ParseComments)
	if err != nil {
		return []Violation{{File: name, Line: parseErrorLine(err), Rule: RuleParse, Message: err.Error()}}
	}
	if ignoredByBuild(file) {
		return nil
	}
	checker := &fileChecker{name: name, fileSet: fileSet, packages: map[string]string{}}
	checker.checkImports(file)
	checker.checkBody(file)
	slices.SortStableFunc(checker.violations, func(a, b Violation) int { return a.Line - b.Line })
	return checker.violations
}

// ignoredByBuild reports whether the file's //go:build constraint excludes it from
// every build that does not ask for the "ignore" tag: the convention for generator
// programs kept next to the code they generate.
func ignoredByBuild(file *ast.File) bool {
	for _, group := range file.Comments {
		if group.Pos() >= file.Package {
			break
		}
		for _, comment := range group.List {
			if !constraint.IsGoBuild(comment.Text) {
				continue
			}
			expression, err := constraint.Parse(comment.Text)
			if err != nil {
				return false
			}
			return !expression.Eval(func(tag string) bool { return tag != "ignore" })
		}
	}
	return false
}

func parseErrorLine(err error) int {
	var list scanner.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		return list[0].Pos.Line
	}
	return 1
}

// fileChecker holds one file's import names while its syntax tree is walked.
type fileChecker struct {
	name    string
	fileSet *token.FileSet
	// packages maps a local package name to the import path of a package whose
	// selectors are checked (time, math/rand, math/rand/v2, os).
	packages   map[string]string
	violations []Violation
}

func (c *fileChecker) report(position token.Pos, rule, format string, args ...any) {
	c.violations = append(c.violations, Violation{
		File:    c.name,
		Line:    c.fileSet.Position(position).Line,
		Rule:    rule,
		Message: fmt.Sprintf(format, args...),
	})
}

// checkImports flags forbidden imports and records the local names of the packages
// whose selectors checkBody inspects, resolving aliases.
func (c *fileChecker) checkImports(file *ast.File) {
	for _, spec := range file.Imports {
		importPath, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		if rule, forbidden := forbiddenImports[importPath]; forbidden {
			c.report(spec.Pos(), rule, "import of %q", importPath)
			continue
		}
		if (importPath == "net" || strings.HasPrefix(importPath, "net/")) && !allowedNetPackages[importPath] {
			c.report(spec.Pos(), RuleNet, "import of %q: use env.Network", importPath)
			continue
		}
		rule := selectorRule(importPath)
		if rule == "" {
			continue
		}
		localName := defaultPackageName(importPath)
		if spec.Name != nil {
			localName = spec.Name.Name
		}
		switch localName {
		case "_":
		case ".":
			c.report(spec.Pos(), rule, "dot import of %q hides its calls from this check", importPath)
		default:
			c.packages[localName] = importPath
		}
	}
}

// selectorRule returns the rule for packages whose individual names are checked.
func selectorRule(importPath string) string {
	switch importPath {
	case "time":
		return RuleTime
	case "math/rand", "math/rand/v2":
		return RuleRand
	case "os":
		return RuleOS
	}
	return ""
}

func defaultPackageName(importPath string) string {
	if importPath == "math/rand/v2" {
		return "rand"
	}
	return path.Base(importPath)
}

// checkBody walks the declarations, flagging go statements and forbidden package
// selectors. It tracks the names declared in enclosing scopes so that a local variable
// or parameter that shadows an import (a *rand.Rand named rand) is not mistaken for it.
func (c *fileChecker) checkBody(file *ast.File) {
	if len(c.packages) == 0 {
		ast.Inspect(file, func(node ast.Node) bool {
			if statement, ok := node.(*ast.GoStmt); ok {
				c.report(statement.Pos(), RuleGo, "go statement: use env.Tasks")
			}
			return true
		})
		return
	}
	shadow := &scopes{}
	for _, declaration := range file.Decls {
		c.walk(declaration, shadow)
	}
}

// scopes is a stack of sets of local names that shadow tracked package names.
type scopes struct{ stack []map[string]bool }

func (s *scopes) push() { s.stack = append(s.stack, nil) }
func (s *scopes) pop()  { s.stack = s.stack[:len(s.stack)-1] }
func (s *scopes) shadowed(name string) bool {
	for _, scope := range s.stack {
		if scope[name] {
			return true
		}
	}
	return false
}
func (s *scopes) declare(name string) {
	if len(s.stack) == 0 {
		return
	}
	top := &s.stack[len(s.stack)-1]
	if *top == nil {
		*top = map[string]bool{}
	}
	(*top)[name] = true
}

// walk inspects node with the shadowing scopes of Go's block structure: function
// parameters and results, block statements, and the implicit blocks of if, for,
// switch, select and range clauses. Package-level declarations cannot shadow an
// import of the same file (the compiler rejects that), so they are not tracked.
func (c *fileChecker) walk(node ast.Node, shadow *scopes) {
	ast.Inspect(node, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			c.report(n.Pos(), RuleGo, "go statement: use env.Tasks")
		case *ast.SelectorExpr:
			c.checkSelector(n, shadow)
		case *ast.FuncDecl:
			// Receiver and parameter types are resolved outside the function's
			// scope, then the names are declared for the body.
			c.walkFieldTypes(n.Recv, shadow)
			c.walkFieldTypes(n.Type.TypeParams, shadow)
			c.walkFieldTypes(n.Type.Params, shadow)
			c.walkFieldTypes(n.Type.Results, shadow)
			if n.Body != nil {
				shadow.push()
				declareFields(shadow, n.Recv, n.Type.TypeParams, n.Type.Params, n.Type.Results)
				c.walkStatements(n.Body.List, shadow)
				shadow.pop()
			}
			return false
		case *ast.FuncLit:
			c.walkFieldTypes(n.Type.Params, shadow)
			c.walkFieldTypes(n.Type.Results, shadow)
			shadow.push()
			declareFields(shadow, n.Type.Params, n.Type.Results)
			c.walkStatements(n.Body.List, shadow)
			shadow.pop()
			return false
		case *ast.BlockStmt:
			shadow.push()
			c.walkStatements(n.List, shadow)
			shadow.pop()
			return false
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt,
			*ast.TypeSwitchStmt, *ast.CaseClause, *ast.CommClause:
			shadow.push()
			c.walkClause(n, shadow)
			shadow.pop()
			return false
		}
		return true
	})
}

// walkStatements walks a statement list in order, declaring each statement's new
// names after the statement itself is checked (x := rand.N(3) refers to the package).
func (c *fileChecker) walkStatements(list []ast.Stmt, shadow *scopes) {
	for _, statement := range list {
		c.walk(statement, shadow)
		declareStatement(shadow, statement)
	}
}

// walkClause walks the parts of a statement that opens an implicit block.
func (c *fileChecker) walkClause(node ast.Node, shadow *scopes) {
	// Optional parts (a missing else, init or condition) are nil interfaces; the
	// *ast.BlockStmt bodies are never nil.
	walkIf := func(n ast.Node) {
		if n != nil {
			c.walk(n, shadow)
		}
	}
	switch n := node.(type) {
	case *ast.IfStmt:
		walkIf(n.Init)
		declareStatement(shadow, n.Init)
		walkIf(n.Cond)
		walkIf(n.Body)
		walkIf(n.Else)
	case *ast.ForStmt:
		walkIf(n.Init)
		declareStatement(shadow, n.Init)
		walkIf(n.Cond)
		walkIf(n.Post)
		walkIf(n.Body)
	case *ast.RangeStmt:
		walkIf(n.X)
		if n.Tok == token.DEFINE {
			declareExpression(shadow, n.Key)
			declareExpression(shadow, n.Value)
		} else {
			walkIf(n.Key)
			walkIf(n.Value)
		}
		walkIf(n.Body)
	case *ast.SwitchStmt:
		walkIf(n.Init)
		declareStatement(shadow, n.Init)
		walkIf(n.Tag)
		walkIf(n.Body)
	case *ast.TypeSwitchStmt:
		walkIf(n.Init)
		declareStatement(shadow, n.Init)
		walkIf(n.Assign)
		declareStatement(shadow, n.Assign)
		walkIf(n.Body)
	case *ast.CaseClause:
		for _, expression := range n.List {
			walkIf(expression)
		}
		c.walkStatements(n.Body, shadow)
	case *ast.CommClause:
		walkIf(n.Comm)
		declareStatement(shadow, n.Comm)
		c.walkStatements(n.Body, shadow)
	}
}

func (c *fileChecker) walkFieldTypes(fields *ast.FieldList, shadow *scopes) {
	if fields == nil {
		return
	}
	for _, field := range fields.List {
		c.walk(field.Type, shadow)
	}
}

func declareFields(shadow *scopes, lists ...*ast.FieldList) {
	for _, fields := range lists {
		if fields == nil {
			continue
		}
		for _, field := range fields.List {
			for _, name := range field.Names {
				shadow.declare(name.Name)
			}
		}
	}
}

// declareStatement declares the names a statement introduces in its scope.
func declareStatement(shadow *scopes, statement ast.Stmt) {
	switch s := statement.(type) {
	case *ast.AssignStmt:
		if s.Tok == token.DEFINE {
			for _, left := range s.Lhs {
				declareExpression(shadow, left)
			}
		}
	case *ast.DeclStmt:
		if general, ok := s.Decl.(*ast.GenDecl); ok {
			for _, spec := range general.Specs {
				switch spec := spec.(type) {
				case *ast.ValueSpec:
					for _, name := range spec.Names {
						shadow.declare(name.Name)
					}
				case *ast.TypeSpec:
					shadow.declare(spec.Name.Name)
				}
			}
		}
	case *ast.LabeledStmt:
		declareStatement(shadow, s.Stmt)
	}
}

func declareExpression(shadow *scopes, expression ast.Expr) {
	if identifier, ok := expression.(*ast.Ident); ok {
		shadow.declare(identifier.Name)
	}
}

// checkSelector flags pkg.Name when pkg is a tracked import (not shadowed) and Name is
// forbidden for it.
func (c *fileChecker) checkSelector(selector *ast.SelectorExpr, shadow *scopes) {
	identifier, ok := selector.X.(*ast.Ident)
	if !ok {
		return
	}
	importPath, tracked := c.packages[identifier.Name]
	if !tracked || shadow.shadowed(identifier.Name) {
		return
	}
	name := selector.Sel.Name
	switch importPath {
	case "time":
		if forbiddenTimeFunctions[name] {
			c.report(selector.Pos(), RuleTime, "time.%s: use env.Clock", name)
		}
	case "math/rand", "math/rand/v2":
		if !allowedRandNames[name] {
			c.report(selector.Pos(), RuleRand, "%s.%s uses the global source: use env.Rand or a seeded rand.New", importPath, name)
		}
	case "os":
		if advice, forbidden := forbiddenOSNames[name]; forbidden {
			c.report(selector.Pos(), RuleOS, "os.%s: %s", name, advice)
		}
	}
}
