package jetstream

import (
	"testing"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/proto/jsapi"
)

// TestAPIFiltersCoverEveryOperationButDirectGet proves the account's API
// subscriptions (apiFilters) take the subject of every API operation except the two
// direct get forms, which must reach only the streams that serve them: a new
// operation with a new first token would otherwise go unanswered.
func TestAPIFiltersCoverEveryOperationButDirectGet(t *testing.T) {
	args := jsapi.Args{Stream: "S", Consumer: "C", Account: "A", Filter: "f.x"}
	operations := 0
	for op := jsapi.OpAccountInfo; op.Subject(args) != ""; op++ {
		operations++
		subj := op.Subject(args)
		covered := false
		for _, filter := range apiFilters {
			if subject.MatchesFilter(subj, jsapi.APIPrefix+"."+filter) {
				covered = true
			}
		}
		direct := op == jsapi.OpDirectGet || op == jsapi.OpDirectGetLastBySubject
		if covered == direct {
			t.Errorf("%s (%s): covered by the API subscriptions = %v", op, subj, covered)
		}
		if parsed, _, ok := jsapi.ParseSubject(subj); !ok || parsed != op {
			t.Errorf("%s: %s parses as %v %v", op, subj, parsed, ok)
		}
	}
	if operations < 30 {
		t.Fatalf("only %d operations enumerated", operations)
	}
}
