package jsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DecodeRequest decodes an API request body into v the way the reference does. In
// strict mode (the reference's default, jetstream { strict: true }) unknown fields
// and trailing garbage are errors and syntax errors name their offset; otherwise a
// body that fails the strict decode is decoded again leniently. Every value in the body
// is decoded in turn, as a stream of JSON values. The caller wraps a returned error in
// NewInvalidJSONError.
func DecodeRequest(body []byte, v any, strict bool) error {
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.DisallowUnknownFields()
	for {
		err := decoder.Decode(v)
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		var syntaxError *json.SyntaxError
		if errors.As(err, &syntaxError) {
			err = fmt.Errorf("%w at offset %d", err, syntaxError.Offset)
		}
		if strict {
			return err
		}
		return json.Unmarshal(body, v)
	}
}

// DecodeRequestError is DecodeRequest with the error already wrapped as the API's
// invalid-JSON error (10025).
func DecodeRequestError(body []byte, v any, strict bool) *Error {
	if err := DecodeRequest(body, v, strict); err != nil {
		return NewInvalidJSONError(err)
	}
	return nil
}

// MarshalResponse encodes an API response. Marshalling fails only for enumeration
// values outside their range, which the checks reject before a response is built;
// such a failure becomes a 500 system response rather than a panic.
func MarshalResponse(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(Response{Type: SystemResponseType, Error: &Error{Code: 500, Description: err.Error()}})
	}
	return data
}

// IsEmptyRequest reports whether body is empty or an empty JSON object, which the
// reference refuses as a bad request where a body is required (STREAM.MSG.DELETE).
func IsEmptyRequest(body []byte) bool {
	if len(body) == 0 || bytes.Equal(body, []byte("{}")) {
		return true
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return false
	}
	return fields != nil && len(fields) == 0
}
