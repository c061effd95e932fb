package jsapi

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

//go:generate go run errors_gen.go

// ErrorCode is a JetStream API error's numeric err_code, the number clients branch on
// (10059 is "stream not found"). The constants (ErrCodeStreamNotFound ...) come from the
// reference's errors.json.
type ErrorCode uint16

// Error is the error object of every JetStream API response:
// {"code":404,"err_code":10059,"description":"stream not found"}. Code is HTTP-like,
// ErrCode identifies the error, Description is rendered from the code's template.
type Error struct {
	Code        int       `json:"code"`
	ErrCode     ErrorCode `json:"err_code,omitempty"`
	Description string    `json:"description,omitempty"`
}

// errorTemplate is one row of the reference's error table.
type errorTemplate struct {
	name        string
	code        int
	description string
	// parameters are the {name} placeholders of description, in order of appearance.
	parameters []string
}

// Error renders the error the way the reference logs and nats.go prints it:
// "<description> (<err_code>)".
func (e *Error) Error() string {
	return fmt.Sprintf("%s (%d)", e.Description, e.ErrCode)
}

// Is reports whether target is an *Error with the same err_code, so that
// errors.Is(err, jsapi.NewStreamNotFoundError()) holds whatever the description.
func (e *Error) Is(target error) bool {
	var other *Error
	if !errors.As(target, &other) || other == nil || e == nil {
		return false
	}
	return e.ErrCode == other.ErrCode
}

// Err builds the error for code, filling the description's {placeholders} in order from
// args. An error argument renders as its Error() text, anything else with %v; missing
// arguments leave their placeholder as it is. An unknown code gives a 500 error whose
// description names the code, so a caller's typo is visible rather than silent.
func Err(code ErrorCode, args ...any) *Error {
	template, ok := errorTemplates[code]
	if !ok {
		return &Error{Code: 500, ErrCode: code, Description: fmt.Sprintf("unknown error code %d", code)}
	}
	description := template.description
	if len(template.parameters) > 0 && len(args) > 0 {
		replacements := make([]string, 0, 2*len(template.parameters))
		for i, name := range template.parameters {
			if i >= len(args) {
				break
			}
			replacements = append(replacements, "{"+name+"}", errorArgument(args[i]))
		}
		description = strings.NewReplacer(replacements...).Replace(description)
	}
	return &Error{Code: template.code, ErrCode: code, Description: description}
}

// errorArgument renders one template argument as the reference does.
func errorArgument(argument any) string {
	switch value := argument.(type) {
	case string:
		return value
	case error:
		return value.Error()
	default:
		return fmt.Sprintf("%v", value)
	}
}

// Unless returns err itself when it already is an API error, and otherwise fallback: a
// handler that got a specific API error from below keeps it instead of a generic one.
func Unless(err error, fallback *Error) *Error {
	var apiError *Error
	if errors.As(err, &apiError) && apiError != nil {
		return apiError
	}
	return fallback
}

// IsError reports whether err is an API error carrying one of codes.
func IsError(err error, codes ...ErrorCode) bool {
	var apiError *Error
	if !errors.As(err, &apiError) || apiError == nil {
		return false
	}
	return slices.Contains(codes, apiError.ErrCode)
}

// ErrorCodes returns every known err_code in ascending order.
func ErrorCodes() []ErrorCode {
	codes := make([]ErrorCode, 0, len(errorTemplates))
	for code := range errorTemplates {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	return codes
}

// Known reports whether code is in the reference's table.
func (c ErrorCode) Known() bool {
	_, ok := errorTemplates[c]
	return ok
}

// Name returns the code's name without prefix (StreamNotFound), or "" for an unknown code.
func (c ErrorCode) Name() string { return errorTemplates[c].name }

// HTTPCode returns the HTTP-like code the reference pairs with c, or 0 for an unknown code.
func (c ErrorCode) HTTPCode() int { return errorTemplates[c].code }

// Template returns the description template with its {placeholders}, or "" for an
// unknown code.
func (c ErrorCode) Template() string { return errorTemplates[c].description }

// Parameters returns the names of the template's placeholders, in order.
func (c ErrorCode) Parameters() []string {
	return slices.Clone(errorTemplates[c].parameters)
}
