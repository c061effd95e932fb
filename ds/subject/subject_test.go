package subject

import (
	"slices"
	"strings"
	"testing"
)

// referenceValid is a deliberately simple restatement of the subject rules, built on
// strings.Split, against which the single-pass scanner is checked.
func referenceValid(s string) (valid, wildcard bool) {
	if s == "" {
		return false, false
	}
	tokens := strings.Split(s, ".")
	for i, token := range tokens {
		if token == "" || strings.ContainsAny(token, " \t\r\n\f") {
			return false, false
		}
		if token == ">" && i != len(tokens)-1 {
			return false, false
		}
		if token == "*" || token == ">" {
			wildcard = true
		}
	}
	return true, wildcard
}

// referenceMatches is the brute-force definition of a filter match over token slices.
func referenceMatches(subject, filter string) bool {
	if subject == "" || filter == "" {
		return false
	}
	subjectTokens, filterTokens := strings.Split(subject, "."), strings.Split(filter, ".")
	for i, filterToken := range filterTokens {
		if filterToken == ">" {
			return len(subjectTokens) > i
		}
		if i >= len(subjectTokens) {
			return false
		}
		if filterToken != "*" && filterToken != subjectTokens[i] {
			return false
		}
	}
	return len(subjectTokens) == len(filterTokens)
}

// TestValidity proves the validity rules on the reference's edge cases: empty tokens,
// whitespace, '>' only last, wildcards only as whole tokens.
func TestValidity(t *testing.T) {
	cases := []struct {
		subject          string
		valid, published bool
	}{
		{"foo", true, true},
		{"foo.bar.baz", true, true},
		{"*", true, false},
		{">", true, false},
		{"foo.*", true, false},
		{"foo.>", true, false},
		{"*.bar.>", true, false},
		{"foo*.bar", true, true},
		{"foo.b>r", true, true},
		{"foo.>.bar", false, false},
		{">.foo", false, false},
		{"", false, false},
		{".", false, false},
		{"foo.", false, false},
		{".foo", false, false},
		{"foo..bar", false, false},
		{"foo bar", false, false},
		{"foo.\tbar", false, false},
		{"foo.bar\r", false, false},
		{"\n", false, false},
		{"foo.\f", false, false},
		{" ", false, false},
		{"$JS.API.STREAM.INFO.orders", true, true},
		{"_INBOX.abc.*", true, false},
	}
	for _, c := range cases {
		if got := IsValidSubject(c.subject); got != c.valid {
			t.Errorf("IsValidSubject(%q) = %v, want %v", c.subject, got, c.valid)
		}
		if got := IsValidSubjectBytes([]byte(c.subject)); got != c.valid {
			t.Errorf("IsValidSubjectBytes(%q) = %v, want %v", c.subject, got, c.valid)
		}
		if got := IsValidPublishSubject(c.subject); got != c.published {
			t.Errorf("IsValidPublishSubject(%q) = %v, want %v", c.subject, got, c.published)
		}
		if got := IsValidLiteralSubject(c.subject); got != c.published {
			t.Errorf("IsValidLiteralSubject(%q) = %v, want %v", c.subject, got, c.published)
		}
		if got := IsValidLiteralSubjectBytes([]byte(c.subject)); got != c.published {
			t.Errorf("IsValidLiteralSubjectBytes(%q) = %v, want %v", c.subject, got, c.published)
		}
		if err := Validate(c.subject); (err == nil) != c.valid {
			t.Errorf("Validate(%q) = %v", c.subject, err)
		}
	}
}

// TestMatchesFilter proves filter matching on wildcard edge cases, including that "foo.>"
// does not match "foo" and that '*' in the middle matches exactly one token.
func TestMatchesFilter(t *testing.T) {
	cases := []struct {
		subject, filter string
		want            bool
	}{
		{"foo", "foo", true},
		{"foo", "bar", false},
		{"foo", ">", true},
		{"foo.bar", ">", true},
		{"foo", "*", true},
		{"foo.bar", "*", false},
		{"foo", "foo.>", false},
		{"foo.bar", "foo.>", true},
		{"foo.bar.baz", "foo.>", true},
		{"foo.bar.baz", "foo.*.baz", true},
		{"foo.bar.bar.baz", "foo.*.baz", false},
		{"foo.bar.baz", "*.*.*", true},
		{"foo.bar", "*.*.*", false},
		{"foo.bar.baz", "*.bar.>", true},
		{"foo.baz.bar", "*.bar.>", false},
		{"foo.*", "foo.*", true},
		{"foo.*", "foo.bar", false},
		{"foo.>", "foo.*", true},
		{"", ">", false},
		{"foo", "", false},
		{"foo.bar", "foo", false},
		{"foo", "foo.bar", false},
	}
	for _, c := range cases {
		if got := MatchesFilter(c.subject, c.filter); got != c.want {
			t.Errorf("MatchesFilter(%q, %q) = %v, want %v", c.subject, c.filter, got, c.want)
		}
		if got := referenceMatches(c.subject, c.filter); got != c.want {
			t.Errorf("referenceMatches(%q, %q) = %v, want %v", c.subject, c.filter, got, c.want)
		}
	}
}

// TestIsSubsetMatchAndCollide proves subset and overlap tests between wildcard subjects.
func TestIsSubsetMatchAndCollide(t *testing.T) {
	cases := []struct {
		subject, filter  string
		subset, collides bool
	}{
		{"foo.bar", "foo.bar", true, true},
		{"foo.bar", "foo.*", true, true},
		{"foo.*", "foo.bar", false, true},
		{"foo.*", "foo.>", true, true},
		{"foo.>", "foo.*", false, true},
		{"foo.>", "foo.>", true, true},
		{"foo.>", ">", true, true},
		{">", "foo.>", false, true},
		{"foo.*.baz", "foo.>", true, true},
		{"foo.*.baz", "*.*.baz", true, true},
		{"*.*.baz", "foo.*.baz", false, true},
		{"foo.bar", "foo.baz", false, false},
		{"foo", "foo.>", false, false},
		{"foo.*", "foo.*.*", false, false},
		{"*.bar", "foo.*", false, true},
		{"", "foo", false, false},
	}
	for _, c := range cases {
		if got := IsSubsetMatch(c.subject, c.filter); got != c.subset {
			t.Errorf("IsSubsetMatch(%q, %q) = %v, want %v", c.subject, c.filter, got, c.subset)
		}
		if got := Collide(c.subject, c.filter); got != c.collides {
			t.Errorf("Collide(%q, %q) = %v, want %v", c.subject, c.filter, got, c.collides)
		}
		if got := Collide(c.filter, c.subject); got != c.collides {
			t.Errorf("Collide(%q, %q) = %v, want %v", c.filter, c.subject, got, c.collides)
		}
	}
}

// TestTokenize proves Tokenize, Cut, NumTokens and TokenAt agree with strings.Split,
// empty tokens included.
func TestTokenize(t *testing.T) {
	for _, s := range []string{"foo", "foo.bar.baz", "foo..bar", ".", "a.", ".a", "*.>", "x.y.z.w.v"} {
		want := strings.Split(s, ".")
		var buffer [4]string
		if got := Tokenize(buffer[:0], s); !slices.Equal(got, want) {
			t.Errorf("Tokenize(%q) = %q, want %q", s, got, want)
		}
		if got := NumTokens(s); got != len(want) {
			t.Errorf("NumTokens(%q) = %d, want %d", s, got, len(want))
		}
		for i := -1; i <= len(want); i++ {
			wantToken := ""
			if i >= 0 && i < len(want) {
				wantToken = want[i]
			}
			if got := TokenAt(s, i); got != wantToken {
				t.Errorf("TokenAt(%q, %d) = %q, want %q", s, i, got, wantToken)
			}
		}
	}
	if NumTokens("") != 0 {
		t.Errorf("NumTokens(\"\") = %d, want 0", NumTokens(""))
	}
	if token, rest, found := Cut("a.b.c"); token != "a" || rest != "b.c" || !found {
		t.Errorf("Cut(a.b.c) = %q %q %v", token, rest, found)
	}
	if token, rest, found := Cut("abc"); token != "abc" || rest != "" || found {
		t.Errorf("Cut(abc) = %q %q %v", token, rest, found)
	}
}

// TestNoAllocations proves the validators and matchers never allocate.
func TestNoAllocations(t *testing.T) {
	subjectBytes := []byte("orders.eu.12345")
	allocations := testing.AllocsPerRun(100, func() {
		_ = IsValidSubject("orders.*.new")
		_ = IsValidSubjectBytes(subjectBytes)
		_ = IsValidPublishSubject("orders.eu.12345")
		_ = MatchesFilter("orders.eu.12345", "orders.*.>")
		_ = IsSubsetMatch("orders.*.new", "orders.>")
		_ = Collide("orders.*.new", "*.eu.*")
		_ = NumTokens("orders.eu.12345")
		_ = TokenAt("orders.eu.12345", 2)
	})
	if allocations != 0 {
		t.Errorf("allocations per run = %v, want 0", allocations)
	}
}

// FuzzValidity proves the single-pass validators agree with the split-based reference on
// any input and never panic.
func FuzzValidity(f *testing.F) {
	for _, seed := range []string{"", "foo", "foo.bar", "foo.*", "foo.>", ">.foo", "foo..bar", "foo bar", ".", "*", ">", "a.b.c.>", "\x00", "é.ü"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		wantValid, wantWildcard := referenceValid(s)
		if got := IsValidSubject(s); got != wantValid {
			t.Fatalf("IsValidSubject(%q) = %v, want %v", s, got, wantValid)
		}
		if got := IsValidSubjectBytes([]byte(s)); got != wantValid {
			t.Fatalf("IsValidSubjectBytes(%q) = %v, want %v", s, got, wantValid)
		}
		if got := IsValidPublishSubject(s); got != (wantValid && !wantWildcard) {
			t.Fatalf("IsValidPublishSubject(%q) = %v", s, got)
		}
		if wantValid && HasWildcard(s) != wantWildcard {
			t.Fatalf("HasWildcard(%q) = %v", s, !wantWildcard)
		}
		if got := NumTokens(s); s != "" && got != len(strings.Split(s, ".")) {
			t.Fatalf("NumTokens(%q) = %d", s, got)
		}
	})
}

// FuzzMatchesFilter proves the streaming matcher agrees with the brute-force definition,
// and that a subject matched by a filter collides with it and is its subset.
func FuzzMatchesFilter(f *testing.F) {
	f.Add("foo.bar", "foo.*")
	f.Add("foo", "foo.>")
	f.Add("a.b.c", ">")
	f.Add("a..b", "a.*.b")
	f.Fuzz(func(t *testing.T, subject, filter string) {
		want := referenceMatches(subject, filter)
		if got := MatchesFilter(subject, filter); got != want {
			t.Fatalf("MatchesFilter(%q, %q) = %v, want %v", subject, filter, got, want)
		}
		if want && IsValidPublishSubject(subject) && IsValidSubject(filter) {
			if !IsSubsetMatch(subject, filter) || !Collide(subject, filter) {
				t.Fatalf("%q matches %q but is not its subset or does not collide", subject, filter)
			}
		}
	})
}
