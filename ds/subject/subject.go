// Package subject validates, tokenizes and compares NATS subjects.
//
// A subject is a non-empty sequence of tokens separated by '.'. A token is non-empty and
// contains no whitespace (space, tab, CR, LF, form feed). Two tokens are wildcards when they
// stand alone: '*' matches exactly one token and '>' matches one or more trailing tokens, so
// '>' may only be the last token. A token such as "foo*" is a plain literal.
//
// The package is a leaf: it imports the standard library only and nothing of this module,
// so that ds/, store/, proto/ and node/ can all share one definition of a valid subject.
// None of its functions allocate unless they return a new slice.
package subject

import "errors"

// Separator and wildcard bytes of the subject syntax.
const (
	// Separator separates tokens.
	Separator = '.'
	// PartialWildcard, standing alone as a token, matches exactly one token.
	PartialWildcard = '*'
	// FullWildcard, standing alone as the last token, matches one or more tokens.
	FullWildcard = '>'
)

// ErrInvalidSubject reports a subject with an empty token, whitespace, or a '>' that is not
// the last token. The text is the reference server's.
var ErrInvalidSubject = errors.New("sublist invalid subject")

// isWhitespace reports the bytes the reference server refuses inside a subject token.
func isWhitespace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// IsValidSubject reports whether s is a valid subscription subject: wildcards are allowed.
func IsValidSubject(s string) bool {
	valid, _ := scan(s)
	return valid
}

// IsValidSubjectBytes is IsValidSubject over bytes. It does not allocate.
func IsValidSubjectBytes(b []byte) bool {
	valid, _ := scanBytes(b)
	return valid
}

// IsValidPublishSubject reports whether s is valid and has no wildcard tokens, which is
// what the reference server demands of a subject a message is published to.
func IsValidPublishSubject(s string) bool {
	valid, wildcard := scan(s)
	return valid && !wildcard
}

// IsValidLiteralSubject reports whether s is a valid subject without wildcard tokens. It is
// the same test as IsValidPublishSubject and exists because the reference uses both names.
func IsValidLiteralSubject(s string) bool {
	return IsValidPublishSubject(s)
}

// IsValidLiteralSubjectBytes is IsValidLiteralSubject over bytes. It does not allocate.
func IsValidLiteralSubjectBytes(b []byte) bool {
	valid, wildcard := scanBytes(b)
	return valid && !wildcard
}

// Validate returns nil when s is a valid subscription subject and ErrInvalidSubject when not.
func Validate(s string) error {
	if !IsValidSubject(s) {
		return ErrInvalidSubject
	}
	return nil
}

// HasWildcard reports whether s has a token that is exactly '*' or '>'. It does not check
// that s is otherwise valid.
func HasWildcard(s string) bool {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == Separator {
			if i-start == 1 && (s[start] == PartialWildcard || s[start] == FullWildcard) {
				return true
			}
			start = i + 1
		}
	}
	return false
}

// IsLiteral reports whether s has no wildcard tokens. It does not check validity.
func IsLiteral(s string) bool { return !HasWildcard(s) }

// scan validates s in one pass and reports whether it holds a wildcard token.
func scan(s string) (valid, wildcard bool) {
	if len(s) == 0 {
		return false, false
	}
	start := 0
	sawFullWildcard := false
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != Separator {
			if isWhitespace(s[i]) {
				return false, false
			}
			continue
		}
		length := i - start
		if length == 0 || sawFullWildcard {
			return false, false
		}
		if length == 1 {
			switch s[start] {
			case FullWildcard:
				sawFullWildcard, wildcard = true, true
			case PartialWildcard:
				wildcard = true
			}
		}
		start = i + 1
	}
	return true, wildcard
}

// scanBytes is scan over bytes. It is written out rather than converting, so that callers
// holding bytes never pay for a string.
func scanBytes(s []byte) (valid, wildcard bool) {
	if len(s) == 0 {
		return false, false
	}
	start := 0
	sawFullWildcard := false
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != Separator {
			if isWhitespace(s[i]) {
				return false, false
			}
			continue
		}
		length := i - start
		if length == 0 || sawFullWildcard {
			return false, false
		}
		if length == 1 {
			switch s[start] {
			case FullWildcard:
				sawFullWildcard, wildcard = true, true
			case PartialWildcard:
				wildcard = true
			}
		}
		start = i + 1
	}
	return true, wildcard
}
