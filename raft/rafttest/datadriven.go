package rafttest

import (
	"fmt"
	"strings"
)

// TestCase is one command of a script and its expected output.
type TestCase struct {
	// Pos is file:line of the command, for failure messages.
	Pos string
	// Comments are the lines starting with '#' before the command.
	Comments []string
	Cmd      string
	Args     []Arg
	Expected string
}

// Arg is one argument: a bare value (Key empty) or key=value. Values in parentheses
// are lists: ids=(1,2,3).
type Arg struct {
	Key    string
	Values []string
}

// ParseScript parses a script (path names it in positions): blocks of comment lines,
// one command line, a "----" line and the expected output up to the next blank line or
// the end of the file. Reading the file is the caller's business (tests), so this
// package stays free of file system access.
func ParseScript(path string, data []byte) ([]TestCase, error) {
	lines := strings.Split(string(data), "\n")
	var cases []TestCase
	var comments []string
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "#"):
			comments = append(comments, line)
			continue
		}
		tc := TestCase{Pos: fmt.Sprintf("%s:%d", path, i+1), Comments: comments}
		comments = nil
		fields := strings.Fields(line)
		tc.Cmd = fields[0]
		for _, f := range fields[1:] {
			tc.Args = append(tc.Args, parseArg(f))
		}
		if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != "----" {
			return nil, fmt.Errorf("%s: expected ---- after the command", tc.Pos)
		}
		i += 2
		var out []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			out = append(out, lines[i])
		}
		tc.Expected = strings.Join(out, "\n")
		cases = append(cases, tc)
	}
	return cases, nil
}

func parseArg(f string) Arg {
	key, value, ok := strings.Cut(f, "=")
	if !ok {
		value, key = key, ""
	}
	if strings.HasPrefix(value, "(") && strings.HasSuffix(value, ")") {
		inner := value[1 : len(value)-1]
		if inner == "" {
			return Arg{Key: key}
		}
		return Arg{Key: key, Values: strings.Split(inner, ",")}
	}
	return Arg{Key: key, Values: []string{value}}
}

// FormatScript renders cases with their actual outputs, the -rewrite result.
func FormatScript(cases []TestCase, outputs []string) string {
	var b strings.Builder
	for i, tc := range cases {
		if i > 0 {
			b.WriteString("\n")
		}
		for _, c := range tc.Comments {
			b.WriteString(c + "\n")
		}
		b.WriteString(tc.Cmd)
		for _, a := range tc.Args {
			b.WriteString(" " + a.String())
		}
		b.WriteString("\n----\n")
		b.WriteString(outputs[i] + "\n")
	}
	return b.String()
}

func (a Arg) String() string {
	v := strings.Join(a.Values, ",")
	if len(a.Values) != 1 {
		v = "(" + v + ")"
	}
	if a.Key == "" {
		return v
	}
	return a.Key + "=" + v
}

// NormalizeOutput makes an output fit the format: no blank lines, "ok" when empty.
func NormalizeOutput(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, strings.TrimRight(l, " "))
		}
	}
	if len(lines) == 0 {
		return "ok"
	}
	return strings.Join(lines, "\n")
}
