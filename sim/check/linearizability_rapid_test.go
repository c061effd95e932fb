package check

import (
	"slices"
	"testing"

	"github.com/anishathalye/porcupine"
	"pgregory.net/rapid"
)

// generatedOperation is one operation of a generated history, with the instant it
// takes effect.
type generatedOperation struct {
	input         KVInput
	call, returns int64
	point         int64
	timedOut      bool
	happened      bool
}

// TestGeneratedKVHistoriesAreLinearizable proves that the KV model accepts every
// history a linearizable store can produce: each operation takes effect at one instant
// within its call and return; a timed-out operation took effect at some instant after
// its call, or never.
func TestGeneratedKVHistoriesAreLinearizable(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		count := rapid.IntRange(1, 25).Draw(t, "count")
		operations := make([]generatedOperation, count)
		for i := range operations {
			op := &operations[i]
			op.input = KVInput{
				Operation: rapid.SampledFrom([]KVOperation{KVGet, KVGet, KVPut, KVAppend, KVDelete, KVCompareAndSwap}).Draw(t, "operation"),
				Key:       rapid.SampledFrom([]string{"x", "y", "z"}).Draw(t, "key"),
				Value:     rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "value"),
				Expected:  rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "expected"),
			}
			op.call = int64(rapid.IntRange(0, 1000).Draw(t, "call"))
			op.returns = op.call + int64(rapid.IntRange(0, 100).Draw(t, "duration"))
			op.point = op.call + int64(rapid.IntRange(0, int(op.returns-op.call)).Draw(t, "point"))
			op.happened = true
			if rapid.IntRange(0, 9).Draw(t, "timeout") == 0 {
				op.timedOut = true
				op.happened = rapid.Bool().Draw(t, "happened")
				op.point = op.call + int64(rapid.IntRange(0, 2000).Draw(t, "late point"))
			}
		}
		order := make([]int, count)
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return int(operations[a].point - operations[b].point) })
		state := map[string]kvState{}
		outputs := make([]KVOutput, count)
		for _, i := range order {
			op := operations[i]
			if !op.happened {
				continue
			}
			current := state[op.input.Key]
			ok, next := kvStep(current, op.input, nil)
			if !ok {
				t.Fatalf("the model refused an unknown-outcome step")
			}
			state[op.input.Key] = next.(kvState)
			outputs[i] = KVOutput{Value: current.Value, Found: current.Exists,
				OK: op.input.Operation == KVCompareAndSwap && current.Exists && current.Value == op.input.Expected}
		}
		var history History
		for i, op := range operations {
			id := history.Invoke(i, op.input, op.call)
			if !op.timedOut {
				history.Return(id, outputs[i], op.returns)
			}
		}
		result, err := CheckLinearizable(KVModel(), history.Operations(), LinearizabilityOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if result.Verdict != porcupine.Ok {
			t.Fatalf("a linearizable history got %s", result)
		}
	})
}
