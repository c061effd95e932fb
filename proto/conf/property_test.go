package conf

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// treeDepthMax bounds generated trees so each case stays small.
const treeDepthMax = 3

var booleanSpellings = map[bool][]string{
	true:  {"true", "yes", "on", "TRUE", "Yes"},
	false: {"false", "no", "off", "FALSE", "Off"},
}

var reservedBare = map[string]bool{"true": true, "false": true, "yes": true, "no": true, "on": true, "off": true, "include": true}

// generatedValue is a value and one way of writing it.
type generatedValue struct {
	want any
	text string
}

func keyGenerator() *rapid.Generator[string] {
	return rapid.StringMatching(`[a-zA-Z_][a-zA-Z0-9_]{0,8}`).Filter(func(s string) bool {
		return !reservedBare[strings.ToLower(s)]
	})
}

// drawString draws a string and writes it double-quoted, single-quoted or bare.
func drawString(t *rapid.T, label string) generatedValue {
	switch rapid.IntRange(0, 2).Draw(t, label+"-style") {
	case 0:
		s := rapid.String().Draw(t, label)
		return generatedValue{want: s, text: quoteDouble(s)}
	case 1:
		s := rapid.StringMatching(`[^']{0,12}`).Draw(t, label)
		return generatedValue{want: s, text: "'" + s + "'"}
	}
	s := rapid.StringMatching(`[a-zA-Z][a-zA-Z0-9._/>*-]{0,12}`).Filter(func(s string) bool {
		return !reservedBare[strings.ToLower(s)]
	}).Draw(t, label)
	return generatedValue{want: s, text: s}
}

// quoteDouble writes s with the language's escapes.
func quoteDouble(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 || c >= 0x7f {
				fmt.Fprintf(&b, `\x%02x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func drawScalar(t *rapid.T, label string) generatedValue {
	switch rapid.IntRange(0, 4).Draw(t, label+"-kind") {
	case 0:
		n := rapid.Int64().Draw(t, label)
		return generatedValue{want: n, text: strconv.FormatInt(n, 10)}
	case 1:
		n := rapid.Int64Range(-1000, 1000).Draw(t, label)
		suffixes := []string{"k", "K", "kb", "KB", "Ki", "KiB", "m", "M", "MB", "Mi", "g", "G", "GB", "gib"}
		suffix := rapid.SampledFrom(suffixes).Draw(t, label+"-suffix")
		return generatedValue{want: n * sizeMultipliers[strings.ToLower(suffix)], text: strconv.FormatInt(n, 10) + suffix}
	case 2:
		b := rapid.Bool().Draw(t, label)
		return generatedValue{want: b, text: rapid.SampledFrom(booleanSpellings[b]).Draw(t, label+"-spelling")}
	case 3:
		whole := rapid.Int64Range(-100000, 100000).Draw(t, label+"-whole")
		fraction := rapid.IntRange(0, 9999).Draw(t, label+"-fraction")
		text := fmt.Sprintf("%d.%d", whole, fraction)
		f, _ := strconv.ParseFloat(text, 64)
		return generatedValue{want: f, text: text}
	}
	return drawString(t, label)
}

func drawValue(t *rapid.T, label string, depth int) generatedValue {
	kind := 0
	if depth < treeDepthMax {
		kind = rapid.IntRange(0, 4).Draw(t, label+"-shape")
	}
	switch kind {
	case 3:
		return drawArray(t, label, depth+1)
	case 4:
		want, text := drawMap(t, label, depth+1, false)
		return generatedValue{want: want, text: text}
	}
	return drawScalar(t, label)
}

func drawArray(t *rapid.T, label string, depth int) generatedValue {
	n := rapid.IntRange(0, 4).Draw(t, label+"-length")
	want := make([]any, 0, n)
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i < n; i++ {
		v := drawValue(t, fmt.Sprintf("%s[%d]", label, i), depth)
		want = append(want, v.want)
		if i > 0 {
			b.WriteString(rapid.SampledFrom([]string{", ", ",", "\n", " ,\n", " # note\n"}).Draw(t, label+"-comma"))
		}
		b.WriteString(v.text)
	}
	b.WriteString(rapid.SampledFrom([]string{"]", ",]", "\n]", " ]"}).Draw(t, label+"-close"))
	if n == 0 {
		return generatedValue{want: want, text: "[]"}
	}
	return generatedValue{want: want, text: b.String()}
}

// drawMap writes the entries of a map; top is the file itself (no braces).
func drawMap(t *rapid.T, label string, depth int, top bool) (map[string]any, string) {
	keys := rapid.SliceOfNDistinct(keyGenerator(), 0, 5, func(s string) string { return s }).Draw(t, label+"-keys")
	want := make(map[string]any, len(keys))
	var b strings.Builder
	if !top {
		b.WriteString("{")
		b.WriteString(rapid.SampledFrom([]string{"", "\n", " "}).Draw(t, label+"-open"))
	}
	for i, key := range keys {
		v := drawValue(t, label+"."+key, depth)
		want[key] = v.want
		writtenKey := key
		if rapid.IntRange(0, 4).Draw(t, label+"-quote-key") == 0 {
			writtenKey = `"` + key + `"`
		}
		separators := []string{": ", ":", " = ", "=", " "}
		if strings.HasPrefix(v.text, "{") {
			separators = append(separators, " ")
		}
		b.WriteString(writtenKey)
		b.WriteString(rapid.SampledFrom(separators).Draw(t, label+"-separator"))
		b.WriteString(v.text)
		if i < len(keys)-1 || top {
			b.WriteString(rapid.SampledFrom([]string{"\n", "; ", ", ", " # comment\n", " // comment\n", ";\n"}).Draw(t, label+"-end"))
		}
	}
	if !top {
		b.WriteString(rapid.SampledFrom([]string{"}", "\n}", " }"}).Draw(t, label+"-close"))
	}
	return want, b.String()
}

// TestParseRoundTrip proves that any tree, written with any mix of the language's
// separators, quoting styles, size suffixes, boolean spellings and comments, parses
// back to the same values.
func TestParseRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		want, text := drawMap(t, "root", 0, true)
		m, err := Parse([]byte(text), "gen.conf", Source{})
		if err != nil {
			t.Fatalf("Parse failed: %v\n%s", err, text)
		}
		if got := m.Interface(); !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip mismatch\n got %#v\nwant %#v\ntext:\n%s", got, want, text)
		}
	})
}
