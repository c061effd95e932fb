package subject

// Cut splits s at its first separator: token is the text before it and rest the text after.
// found reports whether there was a separator; when it is false, token is all of s and rest
// is empty. Cut never allocates, so callers walk tokens with it in hot paths.
func Cut(s string) (token, rest string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == Separator {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// Tokenize appends the tokens of s to dst and returns the extended slice. Empty tokens are
// kept, so an invalid subject still tokenizes into exactly NumTokens(s) tokens. Passing a
// stack array as dst (var buffer [32]string; Tokenize(buffer[:0], s)) avoids allocation for
// subjects of up to that many tokens.
func Tokenize(dst []string, s string) []string {
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == Separator {
			dst = append(dst, s[start:i])
			start = i + 1
		}
	}
	return append(dst, s[start:])
}

// NumTokens returns the number of tokens in s: one more than its number of separators, and
// zero for the empty string.
func NumTokens(s string) int {
	if len(s) == 0 {
		return 0
	}
	count := 1
	for i := 0; i < len(s); i++ {
		if s[i] == Separator {
			count++
		}
	}
	return count
}

// TokenAt returns the token of s at the zero-based index, or "" when s has fewer tokens.
func TokenAt(s string, index int) string {
	if index < 0 {
		return ""
	}
	for current := 0; ; current++ {
		token, rest, found := Cut(s)
		if current == index {
			return token
		}
		if !found {
			return ""
		}
		s = rest
	}
}

// isPartialWildcard reports whether a token is the single-token wildcard.
func isPartialWildcard(token string) bool {
	return len(token) == 1 && token[0] == PartialWildcard
}

// isFullWildcard reports whether a token is the trailing wildcard.
func isFullWildcard(token string) bool {
	return len(token) == 1 && token[0] == FullWildcard
}

// MatchesFilter reports whether subject is matched by filter. The tokens of subject are
// taken literally (a '*' in subject only matches a '*' or a wildcard in filter); in filter
// '*' matches any one token and '>' matches one or more trailing tokens, so "foo.>" does not
// match "foo". An empty subject or filter matches nothing. It does not allocate.
func MatchesFilter(subject, filter string) bool {
	if len(subject) == 0 || len(filter) == 0 {
		return false
	}
	for {
		filterToken, filterRest, filterMore := Cut(filter)
		subjectToken, subjectRest, subjectMore := Cut(subject)
		if isFullWildcard(filterToken) {
			return true
		}
		if !isPartialWildcard(filterToken) && filterToken != subjectToken {
			return false
		}
		if !filterMore || !subjectMore {
			return filterMore == subjectMore
		}
		filter, subject = filterRest, subjectRest
	}
}

// IsSubsetMatch reports whether every literal subject matched by the (possibly wildcard)
// subject is also matched by filter, for example "foo.*" against "foo.>" or "foo.bar"
// against "*.bar". It does not allocate.
func IsSubsetMatch(subject, filter string) bool {
	if len(subject) == 0 || len(filter) == 0 {
		return false
	}
	for {
		filterToken, filterRest, filterMore := Cut(filter)
		subjectToken, subjectRest, subjectMore := Cut(subject)
		if isFullWildcard(filterToken) {
			return true
		}
		// A trailing wildcard in subject covers subjects of any length, which only a
		// trailing wildcard in filter (handled above) can cover.
		if isFullWildcard(subjectToken) {
			return false
		}
		if !isPartialWildcard(filterToken) {
			if isPartialWildcard(subjectToken) || filterToken != subjectToken {
				return false
			}
		}
		if !filterMore || !subjectMore {
			return filterMore == subjectMore
		}
		filter, subject = filterRest, subjectRest
	}
}

// Collide reports whether some literal subject is matched by both a and b, each of which
// may contain wildcards. It does not allocate.
func Collide(a, b string) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	for {
		aToken, aRest, aMore := Cut(a)
		bToken, bRest, bMore := Cut(b)
		if isFullWildcard(aToken) || isFullWildcard(bToken) {
			return true
		}
		if !isPartialWildcard(aToken) && !isPartialWildcard(bToken) && aToken != bToken {
			return false
		}
		if !aMore || !bMore {
			return aMore == bMore
		}
		a, b = aRest, bRest
	}
}
