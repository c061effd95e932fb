package jetstream

import (
	"encoding/json"
	"testing"

	"github.com/natsim/natsim/proto/jsapi"
)

// TestStrictDecoding checks jetstream { strict }: by default (strict) an API request
// with a field the reference does not know is refused with 10025; with strict off it
// is accepted and the field ignored, as the reference does.
func TestStrictDecoding(t *testing.T) {
	for _, lenient := range []bool{false, true} {
		w := newBatchWorld(t, t.TempDir())
		w.manager.config.Lenient = lenient
		answer := w.call("$JS.API.STREAM.CREATE.S", nil, `{"name":"S","subjects":["s"],"bogus_field":1}`)
		var response jsapi.Response
		if err := json.Unmarshal(answer.Data, &response); err != nil {
			t.Fatal(err)
		}
		switch {
		case !lenient && (response.Error == nil || response.Error.ErrCode != 10025):
			t.Errorf("strict: create with an unknown field answered %s, want 10025", answer.Data)
		case lenient && response.Error != nil:
			t.Errorf("lenient: create with an unknown field answered %s, want success", answer.Data)
		}
		w.manager.Stop()
	}
}
