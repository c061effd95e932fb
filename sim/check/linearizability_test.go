package check

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

type timedOperation struct {
	client         int
	input          any
	output         any // nil: never returned
	call, returned int64
}

func record(operations []timedOperation) []porcupine.Operation {
	var h History
	for _, operation := range operations {
		id := h.Invoke(operation.client, operation.input, operation.call)
		if operation.output != nil {
			h.Return(id, operation.output, operation.returned)
		}
	}
	return h.Operations()
}

func read() RegisterInput              { return RegisterInput{Operation: RegisterRead} }
func write(value string) RegisterInput { return RegisterInput{Operation: RegisterWrite, Value: value} }
func got(value string) RegisterOutput  { return RegisterOutput{Value: value} }

// TestRegisterVerdicts proves the register model's verdicts on hand-made histories,
// including timed-out operations that may or may not have happened.
func TestRegisterVerdicts(t *testing.T) {
	cases := []struct {
		name       string
		operations []timedOperation
		want       porcupine.CheckResult
	}{
		{"sequential write then read", []timedOperation{
			{0, write("a"), RegisterOutput{}, 0, 10},
			{1, read(), got("a"), 20, 30},
		}, porcupine.Ok},
		{"stale read after a completed write", []timedOperation{
			{0, write("a"), RegisterOutput{}, 0, 10},
			{0, write("b"), RegisterOutput{}, 11, 15},
			{1, read(), got("a"), 20, 30},
		}, porcupine.Illegal},
		{"concurrent reads may see either value", []timedOperation{
			{0, write("a"), RegisterOutput{}, 0, 10},
			{1, write("b"), RegisterOutput{}, 5, 50},
			{2, read(), got("b"), 20, 30},
			{3, read(), got("b"), 31, 40},
		}, porcupine.Ok},
		{"reads flip back", []timedOperation{
			{0, write("a"), RegisterOutput{}, 0, 10},
			{1, write("b"), RegisterOutput{}, 5, 50},
			{2, read(), got("b"), 20, 30},
			{3, read(), got("a"), 31, 40},
		}, porcupine.Illegal},
		{"a timed-out write is seen later", []timedOperation{
			{0, write("a"), nil, 0, 0},
			{1, read(), got(""), 5, 6},
			{1, read(), got("a"), 100, 110},
		}, porcupine.Ok},
		{"a timed-out write is never seen", []timedOperation{
			{0, write("a"), nil, 0, 0},
			{1, read(), got(""), 100, 110},
		}, porcupine.Ok},
		{"a read of a value never written", []timedOperation{
			{0, write("a"), RegisterOutput{}, 0, 10},
			{1, read(), got("z"), 20, 30},
		}, porcupine.Illegal},
		{"compare-and-swap", []timedOperation{
			{0, write("a"), RegisterOutput{}, 0, 10},
			{1, RegisterInput{Operation: RegisterCompareAndSwap, Expected: "a", Value: "b"}, RegisterOutput{OK: true}, 20, 30},
			{2, RegisterInput{Operation: RegisterCompareAndSwap, Expected: "a", Value: "c"}, RegisterOutput{OK: false}, 40, 50},
			{0, read(), got("b"), 60, 70},
		}, porcupine.Ok},
		{"two compare-and-swaps both succeed", []timedOperation{
			{0, write("a"), RegisterOutput{}, 0, 10},
			{1, RegisterInput{Operation: RegisterCompareAndSwap, Expected: "a", Value: "b"}, RegisterOutput{OK: true}, 20, 30},
			{2, RegisterInput{Operation: RegisterCompareAndSwap, Expected: "a", Value: "c"}, RegisterOutput{OK: true}, 20, 30},
		}, porcupine.Illegal},
		{"a timed-out compare-and-swap took effect", []timedOperation{
			{1, RegisterInput{Operation: RegisterCompareAndSwap, Expected: "", Value: "b"}, nil, 0, 0},
			{0, read(), got("b"), 60, 70},
		}, porcupine.Ok},
	}
	for _, c := range cases {
		var visualization bytes.Buffer
		result, err := CheckLinearizable(RegisterModel(""), record(c.operations), LinearizabilityOptions{Visualization: &visualization})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if result.Verdict != c.want {
			t.Errorf("%s: verdict %s, want %s", c.name, result.Verdict, c.want)
		}
		if result.OK() != (c.want == porcupine.Ok) {
			t.Errorf("%s: OK() = %v", c.name, result.OK())
		}
		if wrote := visualization.Len() > 0; wrote != !result.OK() || wrote != result.Visualized {
			t.Errorf("%s: wrote %d bytes of visualization for verdict %s", c.name, visualization.Len(), result.Verdict)
		}
		if result.Verdict == porcupine.Illegal && !strings.Contains(visualization.String(), "<html") {
			t.Errorf("%s: the visualization is not HTML", c.name)
		}
	}
}

func kvPut(key, value string) KVInput    { return KVInput{Operation: KVPut, Key: key, Value: value} }
func kvAppend(key, value string) KVInput { return KVInput{Operation: KVAppend, Key: key, Value: value} }
func kvGet(key string) KVInput           { return KVInput{Operation: KVGet, Key: key} }

// TestKVVerdicts proves the KV model's verdicts, partitioned by key: an anomaly on one
// key fails the whole history, and keys do not constrain each other.
func TestKVVerdicts(t *testing.T) {
	cases := []struct {
		name       string
		operations []timedOperation
		want       porcupine.CheckResult
	}{
		{"independent keys", []timedOperation{
			{0, kvPut("x", "1"), KVOutput{}, 0, 10},
			{1, kvPut("y", "2"), KVOutput{}, 0, 10},
			{2, kvGet("x"), KVOutput{Value: "1", Found: true}, 20, 30},
			{2, kvGet("y"), KVOutput{Value: "2", Found: true}, 31, 40},
			{3, kvGet("z"), KVOutput{}, 31, 40},
		}, porcupine.Ok},
		{"appends in order", []timedOperation{
			{0, kvAppend("x", "a"), KVOutput{}, 0, 10},
			{1, kvAppend("x", "b"), KVOutput{}, 20, 30},
			{2, kvGet("x"), KVOutput{Value: "ab", Found: true}, 40, 50},
		}, porcupine.Ok},
		{"appends reordered", []timedOperation{
			{0, kvAppend("x", "a"), KVOutput{}, 0, 10},
			{1, kvAppend("x", "b"), KVOutput{}, 20, 30},
			{2, kvGet("x"), KVOutput{Value: "ba", Found: true}, 40, 50},
		}, porcupine.Illegal},
		{"a lost put on one key among healthy ones", []timedOperation{
			{0, kvPut("x", "1"), KVOutput{}, 0, 10},
			{1, kvPut("y", "2"), KVOutput{}, 0, 10},
			{2, kvGet("x"), KVOutput{Value: "1", Found: true}, 20, 30},
			{2, kvGet("y"), KVOutput{}, 31, 40},
		}, porcupine.Illegal},
		{"delete then get", []timedOperation{
			{0, kvPut("x", "1"), KVOutput{}, 0, 10},
			{0, KVInput{Operation: KVDelete, Key: "x"}, KVOutput{}, 11, 20},
			{1, kvGet("x"), KVOutput{}, 30, 40},
		}, porcupine.Ok},
		{"a timed-out put seen", []timedOperation{
			{0, kvPut("x", "1"), nil, 0, 0},
			{1, kvGet("x"), KVOutput{Value: "1", Found: true}, 30, 40},
		}, porcupine.Ok},
		{"compare-and-swap on an absent key", []timedOperation{
			{0, KVInput{Operation: KVCompareAndSwap, Key: "x", Expected: "", Value: "1"}, KVOutput{OK: true}, 0, 10},
		}, porcupine.Illegal},
	}
	for _, c := range cases {
		result, err := CheckLinearizable(KVModel(), record(c.operations), LinearizabilityOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if result.Verdict != c.want {
			t.Errorf("%s: verdict %s, want %s", c.name, result.Verdict, c.want)
		}
	}
}

// TestUnknownIsFailure proves that a search that runs out of time is not a pass, and
// still produces a visualization.
func TestUnknownIsFailure(t *testing.T) {
	var h History
	// Many overlapping writes and reads of distinct values make a search space far
	// too large for a nanosecond.
	for i := 0; i < 400; i++ {
		id := h.Invoke(i%40, write(string(rune('a'+i%26))), int64(i))
		h.Return(id, RegisterOutput{}, int64(i+1000))
		id = h.Invoke(i%40, read(), int64(i))
		h.Return(id, got(string(rune('a'+(i*7)%26))), int64(i+1000))
	}
	var visualization bytes.Buffer
	result, err := CheckLinearizable(RegisterModel(""), h.Operations(), LinearizabilityOptions{Timeout: time.Nanosecond, Visualization: &visualization})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("verdict %s", result.Verdict)
	if result.Verdict == porcupine.Ok || result.OK() {
		t.Fatalf("verdict %s counted as OK", result.Verdict)
	}
	if !strings.Contains(result.String(), "failure") && result.Verdict == porcupine.Unknown {
		t.Fatalf("the description hides the failure: %s", result)
	}
	if visualization.Len() == 0 {
		t.Fatal("no visualization for an unproven history")
	}
}

// TestHistoryPending proves that operations never returned are recorded with
// Return = Infinity and a nil output, and that a second Return is ignored.
func TestHistoryPending(t *testing.T) {
	var h History
	done := h.Invoke(0, write("a"), 1)
	pending := h.Invoke(1, write("b"), 2)
	h.Return(done, RegisterOutput{}, 3)
	h.Return(done, RegisterOutput{}, 99)
	h.Return(OperationID(7), RegisterOutput{}, 5)
	operations := h.Operations()
	if len(operations) != 2 || operations[0].Return != 3 || operations[1].Return != Infinity || operations[1].Output != nil {
		t.Fatalf("operations %+v", operations)
	}
	result, _ := CheckLinearizable(RegisterModel(""), operations, LinearizabilityOptions{})
	if result.Pending != 1 || result.Operations != 2 || !result.OK() {
		t.Fatalf("result %+v", result)
	}
	_ = pending
}

// TestWrongInputTypeFails proves that an operation recorded with the wrong input type
// makes the history fail instead of panicking.
func TestWrongInputTypeFails(t *testing.T) {
	for _, model := range []porcupine.Model{RegisterModel(""), KVModel()} {
		operations := record([]timedOperation{{0, "not an input", RegisterOutput{}, 0, 10}})
		result, err := CheckLinearizable(model, operations, LinearizabilityOptions{Visualization: &bytes.Buffer{}})
		if err != nil || result.OK() {
			t.Fatalf("result %v, err %v", result, err)
		}
	}
}

func logAppend(value string) LogInput { return LogInput{Operation: LogAppend, Value: value} }
func logRead(sequence uint64) LogInput {
	return LogInput{Operation: LogRead, Sequence: sequence}
}

// TestLogVerdicts proves the append-log model's verdicts: sequence numbers must be
// dense and in real-time order, reads must see what was appended there.
func TestLogVerdicts(t *testing.T) {
	cases := []struct {
		name       string
		operations []timedOperation
		want       porcupine.CheckResult
	}{
		{"appends and reads", []timedOperation{
			{0, logAppend("a"), LogOutput{Sequence: 1}, 0, 10},
			{1, logAppend("b"), LogOutput{Sequence: 2}, 20, 30},
			{2, logRead(2), LogOutput{Value: "b", Found: true}, 40, 50},
			{2, LogInput{Operation: LogLast}, LogOutput{Sequence: 2}, 60, 70},
			{2, logRead(3), LogOutput{}, 60, 70},
		}, porcupine.Ok},
		{"concurrent appends in either order", []timedOperation{
			{0, logAppend("a"), LogOutput{Sequence: 2}, 0, 10},
			{1, logAppend("b"), LogOutput{Sequence: 1}, 0, 10},
		}, porcupine.Ok},
		{"sequences against real time", []timedOperation{
			{0, logAppend("a"), LogOutput{Sequence: 2}, 0, 10},
			{1, logAppend("b"), LogOutput{Sequence: 1}, 20, 30},
		}, porcupine.Illegal},
		{"a gap: sequence 1 never assigned", []timedOperation{
			{0, logAppend("a"), LogOutput{Sequence: 2}, 0, 10},
		}, porcupine.Illegal},
		{"a timed-out append fills the gap", []timedOperation{
			{1, logAppend("x"), nil, 0, 0},
			{0, logAppend("a"), LogOutput{Sequence: 2}, 5, 10},
			{2, logRead(1), LogOutput{Value: "x", Found: true}, 20, 30},
		}, porcupine.Ok},
		{"a read of the wrong value", []timedOperation{
			{0, logAppend("a"), LogOutput{Sequence: 1}, 0, 10},
			{2, logRead(1), LogOutput{Value: "b", Found: true}, 20, 30},
		}, porcupine.Illegal},
		{"an acked append lost", []timedOperation{
			{0, logAppend("a"), LogOutput{Sequence: 1}, 0, 10},
			{2, logRead(1), LogOutput{}, 20, 30},
		}, porcupine.Illegal},
	}
	for _, c := range cases {
		result, err := CheckLinearizable(LogModel(), record(c.operations), LinearizabilityOptions{Visualization: &bytes.Buffer{}})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if result.Verdict != c.want {
			t.Errorf("%s: verdict %s, want %s", c.name, result.Verdict, c.want)
		}
	}
}
