package jsapi

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// assetNameForbidden are the characters a stream or consumer name may not contain:
// subject separators and wildcards, whitespace, and path separators (names become
// directory names on disk).
const assetNameForbidden = " \t\r\n\f.*>\\/"

// IsValidName reports whether name can name a stream or consumer: not empty, none of
// '.', '*', '>', whitespace, '\\' or '/'. Length is checked apart (NameBytesMax), as
// the reference reports it with its own message.
func IsValidName(name string) bool {
	return name != "" && !strings.ContainsAny(name, assetNameForbidden)
}

// CheckStreamName returns the reference's error for an invalid or too long stream name.
func CheckStreamName(name string) *Error {
	if !IsValidName(name) {
		return NewStreamInvalidConfigError(errors.New("stream name is required and can not contain '.', '*', '>', '\\', '/'"))
	}
	if len(name) > NameBytesMax {
		return NewStreamInvalidConfigError(fmt.Errorf("stream name is too long, maximum allowed is %d", NameBytesMax))
	}
	return nil
}

// validGroupName is the reference's pattern for priority group names.
var validGroupName = regexp.MustCompile(`^[a-zA-Z0-9/_=-]{1,16}$`)

// IsValidGroupName reports whether name can name a priority group: 1 to 16 of letters,
// digits, '/', '_', '=' and '-'.
func IsValidGroupName(name string) bool { return validGroupName.MatchString(name) }

// metadataBytes is the size the reference charges metadata against MetadataBytesMax.
func metadataBytes(metadata map[string]string) int {
	total := 0
	for key, value := range metadata {
		total += len(key) + len(value)
	}
	return total
}
