package jetstream

import (
	"errors"
	"strconv"
	"strings"
)

// errTransformNoMatch: the subject does not match the transform's source.
var errTransformNoMatch = errors.New("subject does not match the transform source")

// transformSubject maps subject, which matches source, to destination. Destination
// tokens may be {{wildcard(n)}} or $n (the n-th wildcard token of source), or "*"
// and ">" (the wildcards in order, the rest of the subject), as the reference's
// subject mapping allows for streams.
func transformSubject(source, destination, subject string) (string, error) {
	if destination == "" {
		return subject, nil
	}
	sourceTokens := strings.Split(source, ".")
	subjectTokens := strings.Split(subject, ".")
	var wildcards []string
	var rest string
	for i, token := range sourceTokens {
		if token == ">" {
			if i >= len(subjectTokens) {
				return "", errTransformNoMatch
			}
			rest = strings.Join(subjectTokens[i:], ".")
			break
		}
		if i >= len(subjectTokens) {
			return "", errTransformNoMatch
		}
		if token == "*" {
			wildcards = append(wildcards, subjectTokens[i])
		} else if token != subjectTokens[i] {
			return "", errTransformNoMatch
		}
	}
	var out []string
	next := 0
	for _, token := range strings.Split(destination, ".") {
		switch {
		case token == "*":
			if next >= len(wildcards) {
				return "", errTransformNoMatch
			}
			out = append(out, wildcards[next])
			next++
		case token == ">":
			out = append(out, rest)
		case len(token) > 1 && token[0] == '$' && strings.Trim(token[1:], "0123456789") == "":
			// Only "$<digits>" names a wildcard; "$KV" and the like are literal tokens.
			value, err := wildcardToken(wildcards, token[1:])
			if err != nil {
				return "", err
			}
			out = append(out, value)
		case strings.HasPrefix(token, "{{") && strings.HasSuffix(token, "}}"):
			inner := strings.TrimSpace(token[2 : len(token)-2])
			lower := strings.ToLower(inner)
			if !strings.HasPrefix(lower, "wildcard(") || !strings.HasSuffix(lower, ")") {
				return "", errTransformNoMatch
			}
			value, err := wildcardToken(wildcards, strings.TrimSpace(inner[len("wildcard("):len(inner)-1]))
			if err != nil {
				return "", err
			}
			out = append(out, value)
		default:
			out = append(out, token)
		}
	}
	return strings.Join(out, "."), nil
}

func wildcardToken(wildcards []string, index string) (string, error) {
	n, err := strconv.Atoi(index)
	if err != nil || n < 1 || n > len(wildcards) {
		return "", errTransformNoMatch
	}
	return wildcards[n-1], nil
}
