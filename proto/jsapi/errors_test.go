package jsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorTableMatchesReference proves the generated table holds exactly the
// reference's rows: every err_code with its HTTP-like code and description template.
// It reads errors.json from the module cache and skips when the module is absent.
func TestErrorTableMatchesReference(t *testing.T) {
	path := referenceErrorsPath(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("reference errors.json not available: %v", err)
	}
	var rows []struct {
		Code        int    `json:"code"`
		ErrorCode   uint16 `json:"error_code"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(ErrorCodes()) {
		t.Fatalf("reference has %d errors, table has %d", len(rows), len(ErrorCodes()))
	}
	for _, row := range rows {
		code := ErrorCode(row.ErrorCode)
		if !code.Known() {
			t.Errorf("err_code %d missing", row.ErrorCode)
			continue
		}
		if code.HTTPCode() != row.Code || code.Template() != row.Description {
			t.Errorf("err_code %d: got (%d, %q), reference (%d, %q)",
				row.ErrorCode, code.HTTPCode(), code.Template(), row.Code, row.Description)
		}
	}
}

func referenceErrorsPath(t *testing.T) string {
	t.Helper()
	output, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env GOMODCACHE: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(output)),
		"github.com/nats-io/nats-server/v2@v2.15.2/server/errors.json")
}

// TestEveryCodeRenders proves each known code renders: without arguments the
// description is the template itself; with one argument per placeholder no
// placeholder is left and each argument appears.
func TestEveryCodeRenders(t *testing.T) {
	codes := ErrorCodes()
	if len(codes) != 227 {
		t.Fatalf("got %d codes, the reference has 227", len(codes))
	}
	for _, code := range codes {
		plain := Err(code)
		if plain.ErrCode != code || plain.Code != code.HTTPCode() || plain.Description != code.Template() {
			t.Errorf("%d: %+v", code, plain)
		}
		parameters := code.Parameters()
		args := make([]any, len(parameters))
		for i := range parameters {
			args[i] = fmt.Sprintf("<arg%d>", i)
		}
		filled := Err(code, args...)
		for i, name := range parameters {
			if strings.Contains(filled.Description, "{"+name+"}") {
				t.Errorf("%d: placeholder {%s} left in %q", code, name, filled.Description)
			}
			if !strings.Contains(filled.Description, fmt.Sprintf("<arg%d>", i)) {
				t.Errorf("%d: argument %d missing from %q", code, i, filled.Description)
			}
		}
	}
}

// TestErrorRendering pins exact descriptions, JSON and Error() text of errors the
// server returns most, including templated ones.
func TestErrorRendering(t *testing.T) {
	cases := []struct {
		err        *Error
		json, text string
	}{
		{NewStreamNotFoundError(), `{"code":404,"err_code":10059,"description":"stream not found"}`, "stream not found (10059)"},
		{NewStreamNameExistError(), `{"code":400,"err_code":10058,"description":"stream name already in use with a different configuration"}`,
			"stream name already in use with a different configuration (10058)"},
		{NewConsumerNotFoundError(), `{"code":404,"err_code":10014,"description":"consumer not found"}`, "consumer not found (10014)"},
		{NewInvalidJSONError(errors.New("unexpected end of JSON input")),
			`{"code":400,"err_code":10025,"description":"invalid JSON: unexpected end of JSON input"}`,
			"invalid JSON: unexpected end of JSON input (10025)"},
		{NewStreamExternalDelPrefixOverlapsError("dp", "foo"),
			`{"code":400,"err_code":10022,"description":"stream external delivery prefix dp overlaps with stream subject foo"}`,
			"stream external delivery prefix dp overlaps with stream subject foo (10022)"},
		{NewConsumerMaxPendingAckExcessError(500),
			`{"code":400,"err_code":10121,"description":"consumer max ack pending exceeds system limit of 500"}`,
			"consumer max ack pending exceeds system limit of 500 (10121)"},
		{NewNotEnabledForAccountError(), `{"code":503,"err_code":10039,"description":"JetStream not enabled for account"}`,
			"JetStream not enabled for account (10039)"},
		{NewStreamInvalidConfigError(nil), `{"code":500,"err_code":10052,"description":"\u003cnil\u003e"}`, "<nil> (10052)"},
	}
	for _, c := range cases {
		data, err := json.Marshal(c.err)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != c.json {
			t.Errorf("json: got %s, want %s", data, c.json)
		}
		if c.err.Error() != c.text {
			t.Errorf("text: got %q, want %q", c.err.Error(), c.text)
		}
	}
}

// TestErrorHelpers proves errors.Is matches by err_code, IsError and Unless pick API
// errors out of wrapped chains, and an unknown code is visible rather than silent.
func TestErrorHelpers(t *testing.T) {
	wrapped := fmt.Errorf("lookup: %w", NewStreamNotFoundError())
	if !errors.Is(wrapped, NewStreamNotFoundError()) || errors.Is(wrapped, NewConsumerNotFoundError()) {
		t.Fatal("errors.Is by err_code")
	}
	if !IsError(wrapped, ErrCodeConsumerNotFound, ErrCodeStreamNotFound) || IsError(errors.New("x"), ErrCodeStreamNotFound) {
		t.Fatal("IsError")
	}
	if Unless(wrapped, NewBadRequestError()).ErrCode != ErrCodeStreamNotFound {
		t.Fatal("Unless keeps the API error")
	}
	if Unless(errors.New("disk"), NewBadRequestError()).ErrCode != ErrCodeBadRequest {
		t.Fatal("Unless falls back")
	}
	unknown := Err(9)
	if unknown.Code != 500 || !strings.Contains(unknown.Description, "unknown error code 9") || ErrorCode(9).Known() {
		t.Fatalf("unknown code: %+v", unknown)
	}
	if ErrCodeStreamNotFound.Name() != "StreamNotFound" {
		t.Fatal(ErrCodeStreamNotFound.Name())
	}
}
