package conf

import (
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"time"
)

// parseAny parses text with the given environment and no includes and returns the
// tree as plain Go values.
func parseAny(t *testing.T, text string, environment map[string]string) (map[string]any, error) {
	t.Helper()
	m, err := Parse([]byte(text), "test.conf", Source{LookupEnv: mapLookup(environment)})
	if err != nil {
		return nil, err
	}
	return m.Interface(), nil
}

func mapLookup(environment map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := environment[name]
		return v, ok
	}
}

func mapReader(files map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		text, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("open %s: %w", name, fs.ErrNotExist)
		}
		return []byte(text), nil
	}
}

// TestParseSyntaxForms proves that every syntax form of the language yields the value
// the reference parser yields for it.
func TestParseSyntaxForms(t *testing.T) {
	date := time.Date(2016, time.May, 4, 18, 53, 41, 0, time.UTC)
	cases := []struct {
		name string
		text string
		want map[string]any
	}{
		{"colon", "foo: 1", map[string]any{"foo": int64(1)}},
		{"equals", "foo = 1", map[string]any{"foo": int64(1)}},
		{"space", "foo 1", map[string]any{"foo": int64(1)}},
		{"no spaces", "foo:1\nbar=2", map[string]any{"foo": int64(1), "bar": int64(2)}},
		{"semicolons", "a: 1; b: 2;", map[string]any{"a": int64(1), "b": int64(2)}},
		{"commas at top", "a: 1, b: 2", map[string]any{"a": int64(1), "b": int64(2)}},
		{"crlf", "a: 1\r\nb: two\r\n", map[string]any{"a": int64(1), "b": "two"}},
		{"tabs", "\ta\t:\t1\t\n", map[string]any{"a": int64(1)}},
		{"empty", "", map[string]any{}},
		{"only comments", "# one\n// two\n", map[string]any{}},
		{"hash comment after value", "a: 1 # c\nb: 2", map[string]any{"a": int64(1), "b": int64(2)}},
		{"slash comment after value", "a: x // c\nb: 2", map[string]any{"a": "x", "b": int64(2)}},
		{"hash inside bare string", "a: b#c", map[string]any{"a": "b#c"}},
		{"url with slashes", "a: nats://h:4222", map[string]any{"a": "nats://h:4222"}},
		{"map with separator", "m: {a: 1}", map[string]any{"m": map[string]any{"a": int64(1)}}},
		{"map without separator", "m {a: 1}", map[string]any{"m": map[string]any{"a": int64(1)}}},
		{"map with equals", "m = {a = 1}", map[string]any{"m": map[string]any{"a": int64(1)}}},
		{"map multi line", "m {\n  a: 1\n  b: 2\n}", map[string]any{"m": map[string]any{"a": int64(1), "b": int64(2)}}},
		{"map commas", "m {a: 1, b: 2,}", map[string]any{"m": map[string]any{"a": int64(1), "b": int64(2)}}},
		{"map semicolons", "m {a: 1; b: 2}", map[string]any{"m": map[string]any{"a": int64(1), "b": int64(2)}}},
		{"map comments", "m {\n # c\n a: 1 // d\n // e\n}", map[string]any{"m": map[string]any{"a": int64(1)}}},
		{"empty map", "m {}", map[string]any{"m": map[string]any{}}},
		{"nested maps", "a { b { c: 1 } }", map[string]any{"a": map[string]any{"b": map[string]any{"c": int64(1)}}}},
		{"brace right after key", "m{a: 1}", map[string]any{"m": map[string]any{"a": int64(1)}}},
		{"array", "a: [1, 2, 3]", map[string]any{"a": []any{int64(1), int64(2), int64(3)}}},
		{"array new lines", "a: [\n 1\n 2,\n 3\n]", map[string]any{"a": []any{int64(1), int64(2), int64(3)}}},
		{"array comments", "a: [ # c\n 1, // d\n 2 ]", map[string]any{"a": []any{int64(1), int64(2)}}},
		{"array trailing comma", "a: [1, 2,]", map[string]any{"a": []any{int64(1), int64(2)}}},
		{"empty array", "a: []", map[string]any{"a": []any{}}},
		{"array of maps", "a: [{x: 1}, {y: 2}]", map[string]any{"a": []any{map[string]any{"x": int64(1)}, map[string]any{"y": int64(2)}}}},
		{"array of bare strings", "a: [x, y.z, 'q']", map[string]any{"a": []any{"x", "y.z", "q"}}},
		{"nested arrays", "a: [[1], [2, [3]]]", map[string]any{"a": []any{[]any{int64(1)}, []any{int64(2), []any{int64(3)}}}}},
		{"double quoted", `a: "x y"`, map[string]any{"a": "x y"}},
		{"double quoted escapes", `a: "t\tn\nr\rq\"b\\x\x41"`, map[string]any{"a": "t\tn\nr\rq\"b\\xA"}},
		{"single quoted raw", `a: 'x\ty'`, map[string]any{"a": `x\ty`}},
		{"quoted keys", `"a b": 1` + "\n'c': 2", map[string]any{"a b": int64(1), "c": int64(2)}},
		{"quoted dollar is a string", `a: "$SYS"`, map[string]any{"a": "$SYS"}},
		{"bare string", "a: hello", map[string]any{"a": "hello"}},
		{"bare string escape", `a: x\ty`, map[string]any{"a": "x\ty"}},
		{"bare dotted", "a: foo.bar.>", map[string]any{"a": "foo.bar.>"}},
		{"bare wildcard", "a: foo.*", map[string]any{"a": "foo.*"}},
		{"booleans true", "a: true\nb: yes\nc: on\nd: TRUE", map[string]any{"a": true, "b": true, "c": true, "d": true}},
		{"booleans false", "a: false\nb: no\nc: off\nd: Off", map[string]any{"a": false, "b": false, "c": false, "d": false}},
		{"negative", "a: -1", map[string]any{"a": int64(-1)}},
		{"float", "a: 2.5", map[string]any{"a": 2.5}},
		{"negative float", "a: -0.5", map[string]any{"a": -0.5}},
		{"k is 1000", "a: 1k", map[string]any{"a": int64(1000)}},
		{"K is 1000", "a: 1K", map[string]any{"a": int64(1000)}},
		{"kb is 1024", "a: 1kb", map[string]any{"a": int64(1024)}},
		{"KB is 1024", "a: 1KB", map[string]any{"a": int64(1024)}},
		{"Ki is 1024", "a: 1Ki", map[string]any{"a": int64(1024)}},
		{"KiB is 1024", "a: 1KiB", map[string]any{"a": int64(1024)}},
		{"m is a million", "a: 2m", map[string]any{"a": int64(2000000)}},
		{"MB", "a: 8MB", map[string]any{"a": int64(8 << 20)}},
		{"G", "a: 1G", map[string]any{"a": int64(1e9)}},
		{"GB", "a: 1GB", map[string]any{"a": int64(1 << 30)}},
		{"T and TB", "a: 1T\nb: 1TB", map[string]any{"a": int64(1e12), "b": int64(1 << 40)}},
		{"P and E", "a: 1P\nb: 1EB", map[string]any{"a": int64(1e15), "b": int64(1 << 60)}},
		{"negative suffix", "a: -1k", map[string]any{"a": int64(-1000)}},
		{"duration strings", "a: 10s\nb: 1h\nc: 500ms\nd: 1m30s", map[string]any{"a": "10s", "b": "1h", "c": "500ms", "d": "1m30s"}},
		{"number then letters", "a: 4222abc", map[string]any{"a": "4222abc"}},
		{"ip", "a: 127.0.0.1", map[string]any{"a": "127.0.0.1"}},
		{"ip and port", "a: 127.0.0.1:4222", map[string]any{"a": "127.0.0.1:4222"}},
		{"bare host and port", "a: localhost:4222", map[string]any{"a": "localhost:4222"}},
		{"datetime", "a: 2016-05-04T18:53:41Z", map[string]any{"a": date}},
		{"block string", "a: (\nline one\nline two\n)\nb: 1", map[string]any{"a": "\nline one\nline two\n", "b": int64(1)}},
		{"block string parenthesis inside", "a: (\nx) y\n)\n", map[string]any{"a": "\nx) y\n"}},
		{"top-level braces", "{\n a: 1\n b: 2\n}\n", map[string]any{"a": int64(1), "b": int64(2)}},
		{"json style", `{"a": 1, "b": {"c": "d"}, "e": [true, false]}`, map[string]any{"a": int64(1), "b": map[string]any{"c": "d"}, "e": []any{true, false}}},
		{"later key wins", "a: 1\na: 2", map[string]any{"a": int64(2)}},
		{"key on its own line", "a\n: 1", map[string]any{"a": int64(1)}},
		{"variable", "v: 42\na: $v", map[string]any{"v": int64(42), "a": int64(42)}},
		{"variable in block", "v: 42\nm { a: $v }", map[string]any{"v": int64(42), "m": map[string]any{"a": int64(42)}}},
		{"inner scope shadows", "v: 1\nm { v: 2, a: $v }\nb: $v", map[string]any{"v": int64(1), "m": map[string]any{"v": int64(2), "a": int64(2)}, "b": int64(1)}},
		{"variable in array", "v: x\na: [$v, y]", map[string]any{"v": "x", "a": []any{"x", "y"}}},
		{"variable holding a map", "v { x: 1 }\na: $v", map[string]any{"v": map[string]any{"x": int64(1)}, "a": map[string]any{"x": int64(1)}}},
		{"bcrypt is not a variable", "a: $2a$11$abcdef", map[string]any{"a": "$2a$11$abcdef"}},
		{"bom", "\xEF\xBB\xBFa: 1", map[string]any{"a": int64(1)}},
		{"dollar key", "accounts { $SYS { users: [] } }", map[string]any{"accounts": map[string]any{"$SYS": map[string]any{"users": []any{}}}}},
		{"unicode string", "a: héllo", map[string]any{"a": "héllo"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseAny(t, c.text, nil)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.text, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Parse(%q)\n got %#v\nwant %#v", c.text, got, c.want)
			}
		})
	}
}

// TestParseEnvironment proves that a variable no block defines comes from the
// environment, parsed with the language's typing, and that blocks shadow it.
func TestParseEnvironment(t *testing.T) {
	environment := map[string]string{
		"PORT":    "4222",
		"NAME":    "server-a",
		"SIZE":    "1MB",
		"ON":      "true",
		"LIST":    "[a, b]",
		"NESTED":  "$PORT",
		"SELF":    "$SELF",
		"BROKEN":  "[",
		"QUOTED":  `"x y"`,
		"SHADOWS": "env",
	}
	got, err := parseAny(t, "p: $PORT\nn: $NAME\ns: $SIZE\no: $ON\nl: $LIST\nx: $NESTED\nq: $QUOTED\nSHADOWS: file\nv: $SHADOWS", environment)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"p": int64(4222), "n": "server-a", "s": int64(1 << 20), "o": true, "l": []any{"a", "b"},
		"x": int64(4222), "q": "x y", "SHADOWS": "file", "v": "file"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	for _, text := range []string{"a: $SELF", "a: $BROKEN", "a: $MISSING"} {
		if _, err := parseAny(t, text, environment); err == nil {
			t.Errorf("Parse(%q) succeeded; want an error", text)
		}
	}
}

// TestParseUsedVariable proves that entries read through `$NAME` are marked, so the
// options layer can skip them when it reports unknown keys.
func TestParseUsedVariable(t *testing.T) {
	m, err := Parse([]byte("TOKEN: secret\nUNUSED: 1\nauthorization { token: $TOKEN }"), "x.conf", Source{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Get("TOKEN").UsedAsVariable {
		t.Error("TOKEN not marked as used")
	}
	if m.Get("UNUSED").UsedAsVariable {
		t.Error("UNUSED marked as used")
	}
	token := m.Get("authorization").Value.Map.Get("token").Value
	if token.Variable != "TOKEN" || token.Pos.Line != 3 {
		t.Errorf("token value = %+v; want variable TOKEN at line 3", token)
	}
}

// TestParseInclude proves includes are read through the callback, relative to the
// including file, merged into the enclosing block, and positioned in their own file.
func TestParseInclude(t *testing.T) {
	files := map[string]string{
		"/etc/nats/users.conf":         "users: [{user: a, password: b}]\n",
		"/etc/nats/sub/tls.conf":       "tls {\n  cert_file: c.pem\n  bad_key\n}\n",
		"/etc/nats/sub/nested.conf":    "include 'leaf.conf'\n",
		"/etc/nats/sub/leaf.conf":      "leaf: 1\n",
		"/etc/nats/loop.conf":          "include loop.conf\n",
		"/abs/x.conf":                  "x: 1\n",
		"/etc/nats/sub/badsyntax.conf": "a: [1,,]\n",
	}
	source := Source{ReadFile: mapReader(files)}
	main := "port: 4222\nauthorization {\n  include \"users.conf\"\n  timeout: 1\n}\ninclude sub/nested.conf; include /abs/x.conf\n"
	m, err := Parse([]byte(main), "/etc/nats/main.conf", source)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"port":          int64(4222),
		"authorization": map[string]any{"users": []any{map[string]any{"user": "a", "password": "b"}}, "timeout": int64(1)},
		"leaf":          int64(1),
		"x":             int64(1),
	}
	if got := m.Interface(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	users := m.Get("authorization").Value.Map.Get("users")
	if users.KeyPos.File != "/etc/nats/users.conf" || users.KeyPos.Line != 1 || users.KeyPos.Column != 1 {
		t.Errorf("included key position = %v", users.KeyPos)
	}

	for _, c := range []struct{ text, want string }{
		{"include missing.conf", "main.conf:1:9: error parsing include file 'missing.conf'"},
		{"include loop.conf", "includes nest deeper than"},
		{"include sub/badsyntax.conf", "/etc/nats/sub/badsyntax.conf:1:7: Unexpected array value terminator ','."},
		{"include sub/tls.conf", "/etc/nats/sub/tls.conf:3:3: config is invalid: key 'bad_key' has no value"},
		{"include [x]", "Expected include value but found start of an array"},
	} {
		_, err := Parse([]byte(c.text), "/etc/nats/main.conf", source)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) error = %v; want it to contain %q", c.text, err, c.want)
		}
	}
	if _, err := Parse([]byte("include x.conf"), "main.conf", Source{}); err == nil {
		t.Error("include without a reader succeeded")
	}
}

// TestParseErrors proves that malformed input gives an *Error naming the file, line and
// column, with the reference's wording where it has one.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		text string
		want string
	}{
		{"a: 1 2", "bad.conf:1:6: Expected a top-level value to end with a new line, comment or EOF, but got '2' instead."},
		{"a {\n b: 1 2\n}", "bad.conf:2:7: Expected a map value terminator ',' or a map terminator '}', but got '2' instead."},
		{"a: [1 2]", "bad.conf:1:7: Expected an array value terminator ',' or an array terminator ']', but got '2' instead."},
		{"a: [1,,2]", "bad.conf:1:7: Unexpected array value terminator ','."},
		{"a {\n b: 1\n", "bad.conf:3:1: Unexpected EOF processing map."},
		{"a: [1, 2", "bad.conf:1:9: Unexpected EOF processing array."},
		{"a: \"open", "bad.conf:1:9: Unexpected EOF."},
		{"a: 'open", "bad.conf:1:9: Unexpected EOF."},
		{"a: \"bad \\q\"", "bad.conf:1:10: Invalid escape character 'q'."},
		{"a: \"\\xZZ\"", "Expected two hexadecimal digits after '\\x', but got 'ZZ'"},
		{"= 1", "bad.conf:1:1: Unexpected key separator '='"},
		{"a:\nb: 1", "bad.conf:1:3: Expected value but found new line"},
		{"a: .5", "bad.conf:1:4: Floats must start with a digit"},
		{"a: 1.x", "bad.conf:1:6: Floats must have a digit after the '.', but got 'x' instead."},
		{"a: -x", "bad.conf:1:5: Expected a digit but got 'x'."},
		{"a: 12-3", "All ISO8601 dates must be in full Zulu form."},
		{"a: 2016-05-04X", "Expected 'T' in ISO8601 datetime, but found 'X' instead."},
		{"a: 2016-13-04T18:53:41Z", "expected Zulu formatted DateTime"},
		{"a: 99999999999999999999", "bad.conf:1:4: Value '99999999999999999999' is outside of the integer range"},
		{"a: 9000000000000EB", "integer '9000000000000EB' is out of the range"},
		{"a: 1kbb", "expected integer, but got '1kbb'"},
		{"\n\n  x: $nope", "bad.conf:3:6: variable reference for 'nope' on line 3 can not be found"},
		{"a: (\nno end", "Unexpected EOF processing block."},
		{"a", "bad.conf:1:1: config is invalid: key 'a' has no value"},
		{"a {\n b\n}", "bad.conf:2:2: config is invalid: key 'b' has no value"},
		{"a:", "Expected value but found EOF"},
		{"{ a: 1 } b", "Unexpected 'b' after the closing '}'"},
		{"a: 1\n}", "Unexpected '}' where a key was expected"},
		{"a: {b: 1,, c: 2}", "Unexpected ',' where a key was expected"},
		{"'unterminated key", "Unexpected EOF processing quoted map key."},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.text), "bad.conf", Source{})
		var perr *Error
		if err == nil || !errors.As(err, &perr) {
			t.Errorf("Parse(%q) error = %v; want a *conf.Error", c.text, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) error = %q; want it to contain %q", c.text, err, c.want)
		}
	}
}

// TestParsePositions proves keys and values carry 1-based lines and columns.
func TestParsePositions(t *testing.T) {
	m, err := Parse([]byte("a: 1\nm {\n  key = \"v\"\n  arr: [x,\n    y]\n}\n"), "p.conf", Source{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got Position, line, column int) {
		t.Helper()
		if got != (Position{File: "p.conf", Line: line, Column: column}) {
			t.Errorf("%s at %v; want p.conf:%d:%d", what, got, line, column)
		}
	}
	check("a", m.Get("a").KeyPos, 1, 1)
	check("a's value", m.Get("a").Value.Pos, 1, 4)
	inner := m.Get("m").Value.Map
	check("key", inner.Get("key").KeyPos, 3, 3)
	check("key's value", inner.Get("key").Value.Pos, 3, 9)
	arr := inner.Get("arr").Value.Array
	check("x", arr[0].Pos, 4, 9)
	check("y", arr[1].Pos, 5, 5)
}

// TestParseNestingLimit proves deep nesting is an error, not a stack overflow.
func TestParseNestingLimit(t *testing.T) {
	deep := "a: " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	if _, err := Parse([]byte(deep), "deep.conf", Source{}); err == nil || !strings.Contains(err.Error(), "nest deeper") {
		t.Fatalf("error = %v; want a nesting error", err)
	}
	maps := strings.Repeat("a {", 10000) + strings.Repeat("}", 10000)
	if _, err := Parse([]byte(maps), "deep.conf", Source{}); err == nil || !strings.Contains(err.Error(), "nest deeper") {
		t.Fatalf("error = %v; want a nesting error", err)
	}
	ok := "a: " + strings.Repeat("[", 50) + strings.Repeat("]", 50)
	if _, err := Parse([]byte(ok), "ok.conf", Source{}); err != nil {
		t.Fatalf("50 levels: %v", err)
	}
}

// TestParseValue proves single values parse with the language's typing.
func TestParseValue(t *testing.T) {
	for text, want := range map[string]any{"4222": int64(4222), "1MB": int64(1 << 20), "x": "x", "[1]": []any{int64(1)}, "yes": true} {
		v, err := ParseValue(text, Source{})
		if err != nil {
			t.Fatalf("ParseValue(%q): %v", text, err)
		}
		if got := v.Interface(); !reflect.DeepEqual(got, want) {
			t.Errorf("ParseValue(%q) = %#v; want %#v", text, got, want)
		}
	}
}

// TestMapOrder proves entries keep their first-appearance order and the last value.
func TestMapOrder(t *testing.T) {
	m, err := Parse([]byte("b: 1\na: 2\nb: 3\nc: 4"), "", Source{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range m.Entries {
		keys = append(keys, e.Key)
	}
	if strings.Join(keys, ",") != "b,a,c" || m.Get("b").Value.Integer != 3 {
		t.Fatalf("keys %v, b = %d", keys, m.Get("b").Value.Integer)
	}
	if m.Get("zzz") != nil {
		t.Fatal("Get of a missing key returned an entry")
	}
}

// TestReferenceStyleSamples proves the parser reads config shapes the reference's
// documentation and tests use: mixed separators on one line, nested blocks with
// comments of both styles, bare route URLs with credentials, multi-line single-quoted
// strings and bcrypt hashes in variable position.
func TestReferenceStyleSamples(t *testing.T) {
	cases := []struct {
		text string
		want map[string]any
	}{
		{"foo='1'; bar=2.2; baz=true; boo=22", map[string]any{"foo": "1", "bar": 2.2, "baz": true, "boo": int64(22)}},
		{"cluster {\n  port: 4244\n\n  authorization {\n    user: route_user\n    password: top_secret\n    timeout: 1\n  }\n\n" +
			"  # hash comment\n  // slash comment\n\n  routes = [\n    nats-route://foo:bar@apcera.me:4245\n    nats-route://foo:bar@apcera.me:4246\n  ]\n}\n",
			map[string]any{"cluster": map[string]any{
				"port":          int64(4244),
				"authorization": map[string]any{"user": "route_user", "password": "top_secret", "timeout": int64(1)},
				"routes":        []any{"nats-route://foo:bar@apcera.me:4245", "nats-route://foo:bar@apcera.me:4246"},
			}}},
		{"foo  {\n  expr = '(true == \"false\")'\n  text = 'This is a multi-line\ntext block.'\n}\n",
			map[string]any{"foo": map[string]any{"expr": `(true == "false")`, "text": "This is a multi-line\ntext block."}}},
		{"  array [\n    { abc: 123 }\n    { xyz: \"word\" }\n  ]\n",
			map[string]any{"array": []any{map[string]any{"abc": int64(123)}, map[string]any{"xyz": "word"}}}},
		{"authorization {\n  PASS: $2a$10$UHR6GhotWhpLsKtVP0/i6.Nh9.fuY73cWjLoJjb2sKT8KISBcUW5q\n  users: [{user: alice, password: $PASS}]\n  timeout: 0.5\n}",
			map[string]any{"authorization": map[string]any{
				"PASS":    "$2a$10$UHR6GhotWhpLsKtVP0/i6.Nh9.fuY73cWjLoJjb2sKT8KISBcUW5q",
				"users":   []any{map[string]any{"user": "alice", "password": "$2a$10$UHR6GhotWhpLsKtVP0/i6.Nh9.fuY73cWjLoJjb2sKT8KISBcUW5q"}},
				"timeout": 0.5,
			}}},
	}
	for _, c := range cases {
		got, err := parseAny(t, c.text, nil)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.text, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q)\n got %#v\nwant %#v", c.text, got, c.want)
		}
	}
}
