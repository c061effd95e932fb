package jsapi

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Subject mapping destination errors, with the reference's wording.
var (
	ErrInvalidMappingDestination         = errors.New("invalid mapping destination")
	ErrInvalidMappingDestinationSubject  = fmt.Errorf("%w: invalid transform", ErrInvalidMappingDestination)
	ErrUnknownMappingDestinationFunction = fmt.Errorf("%w: unknown function", ErrInvalidMappingDestination)
)

// ErrBadSubject is the reference's error for an invalid subject in a configuration.
var ErrBadSubject = errors.New("invalid subject")

// mappingFunction matches a mustache token naming one of the reference's mapping
// functions; the arguments are checked by the transform itself, not here.
var mappingFunction = regexp.MustCompile(
	`^{{\s*(?:[pP]artition|[wW]ildcard|[sS]plit[fF]rom[lL]eft|[sS]plit[fF]rom[rR]ight|` +
		`[sS]lice[fF]rom[lL]eft|[sS]lice[fF]rom[rR]ight|[sS]plit|[lL]eft|[rR]ight|[rR]andom)\s*\((.*)\)\s*}}$`)

// mappingDestinationError names the token that made a destination invalid.
type mappingDestinationError struct {
	token string
	err   error
}

func (e *mappingDestinationError) Error() string {
	if e.token == "" {
		return e.err.Error()
	}
	return fmt.Sprintf("%s in %s", e.err, e.token)
}

func (e *mappingDestinationError) Unwrap() error { return e.err }

// ValidateMappingDestination is the structural part of the reference's mapping check:
// no empty token, nothing after '>', mustache tokens must name a known function, and
// no whitespace. It does not check function arguments or that the destination uses
// the source's wildcards; a subject transform implementation should add that through
// StreamCheckOptions.ValidateMapping.
func ValidateMappingDestination(destination string) error {
	if destination == "" {
		return nil
	}
	sawFullWildcard := false
	for token := range strings.SplitSeq(destination, ".") {
		if token == "" || sawFullWildcard {
			return &mappingDestinationError{token, ErrInvalidMappingDestinationSubject}
		}
		if len(token) > 4 && strings.HasPrefix(token, "{{") && strings.HasSuffix(token, "}}") {
			if !mappingFunction.MatchString(token) {
				return &mappingDestinationError{token, ErrUnknownMappingDestinationFunction}
			}
			continue
		}
		if token == ">" {
			sawFullWildcard = true
		} else if strings.ContainsAny(token, "\t\n\f\r ") {
			return ErrInvalidMappingDestinationSubject
		}
	}
	return nil
}
