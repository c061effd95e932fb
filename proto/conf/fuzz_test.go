package conf

import (
	"errors"
	"testing"
)

// FuzzParse proves the parser never panics, always returns either a tree or a
// positioned *Error, and that includes and environment variables (which re-enter the
// parser) stay bounded.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"port: 4222\nhost: 127.0.0.1\n",
		"a = 1; b: 2, c 3",
		"m { a: [1, 2, {b: c}] }",
		"{ \"json\": [true, false, 1.5, -2, 1KB] }",
		"a: \"esc \\t \\x41 \\\"\"\nb: 'raw'",
		"a: (\nblock\n)\n",
		"include 'x.conf'\n",
		"v: 1\nm { w: $v, e: $ENV }",
		"a: 2016-05-04T18:53:41Z",
		"a: 127.0.0.1:4222\nb: 10s\nc: 2m",
		"# comment\n// comment\n",
		"accounts { $SYS { users: [{user: s, password: $2a$11$x}] } }",
		"a: [", "a {", "a: \"", "a: (", "a: 1.", "a: -", "a: \\x",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	source := Source{
		ReadFile: func(name string) ([]byte, error) {
			if name == "x.conf" {
				return []byte("include x.conf\nx: 1"), nil
			}
			return nil, errors.New("no such file")
		},
		LookupEnv: func(name string) (string, bool) {
			if name == "ENV" {
				return "[$ENV]", true
			}
			return "", false
		},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, "fuzz.conf", source)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("error %v is not a *conf.Error", err)
			}
			if perr.Pos.Line < 1 || perr.Pos.Column < 1 {
				t.Fatalf("error %v has no position", err)
			}
			return
		}
		if m == nil {
			t.Fatal("nil map without an error")
		}
		_ = m.Interface()
	})
}
