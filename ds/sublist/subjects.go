package sublist

import "github.com/natsim/natsim/ds/subject"

// The subject helpers below carry the reference server's names so that server code can
// find them next to the Sublist; they are thin forwards to package ds/subject, which holds
// the single definition.

// IsValidSubject reports whether s is a valid subscription subject (wildcards allowed).
func IsValidSubject(s string) bool { return subject.IsValidSubject(s) }

// IsValidPublishSubject reports whether s is a valid subject without wildcards.
func IsValidPublishSubject(s string) bool { return subject.IsValidPublishSubject(s) }

// IsValidLiteralSubject reports whether s is a valid subject without wildcards.
func IsValidLiteralSubject(s string) bool { return subject.IsValidLiteralSubject(s) }

// SubjectMatchesFilter reports whether the literal subject s is matched by filter.
func SubjectMatchesFilter(s, filter string) bool { return subject.MatchesFilter(s, filter) }

// SubjectIsSubsetMatch reports whether every subject matched by the wildcard subject s is
// also matched by filter.
func SubjectIsSubsetMatch(s, filter string) bool { return subject.IsSubsetMatch(s, filter) }

// SubjectsCollide reports whether some literal subject matches both a and b.
func SubjectsCollide(a, b string) bool { return subject.Collide(a, b) }

// TokenizeSubject appends the tokens of s to dst.
func TokenizeSubject(dst []string, s string) []string { return subject.Tokenize(dst, s) }
