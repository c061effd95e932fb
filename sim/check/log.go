package check

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

// LogOperation is what an append-log operation does.
type LogOperation int

const (
	// LogAppend appends Value and returns the sequence number it got (1-based, like a
	// JetStream stream sequence).
	LogAppend LogOperation = iota
	// LogRead returns the entry at Sequence, or reports it absent.
	LogRead
	// LogLast returns the last sequence number (0 for an empty log).
	LogLast
)

// LogInput is the input of an append-log operation.
type LogInput struct {
	Operation LogOperation
	Value     string
	Sequence  uint64
}

// LogOutput is the output of a completed append-log operation. An operation that never
// returned has a nil output instead.
type LogOutput struct {
	// Sequence is what LogAppend was assigned, or what LogLast returned.
	Sequence uint64
	// Value and Found are what LogRead returned.
	Value string
	Found bool
}

// logState is an immutable log: Step returns a new one and never changes its input,
// as porcupine requires.
type logState struct {
	entries []string
}

// LogModel is an append-only log, such as a JetStream stream without limits, where
// each append is assigned the next sequence number. Inputs are LogInput, outputs
// LogOutput, or nil for an operation whose outcome is unknown. The whole log is one
// partition: sequence numbers tie every append to every other.
func LogModel() porcupine.Model {
	return porcupine.Model{
		Init: func() any { return logState{} },
		Step: func(state, input, output any) (bool, any) {
			in, ok := input.(LogInput)
			if !ok {
				return false, state
			}
			return logStep(state.(logState), in, output)
		},
		Equal: func(a, b any) bool { return slices.Equal(a.(logState).entries, b.(logState).entries) },
		Hash: func(state any) uint64 {
			hash := fnv.New64a()
			for _, entry := range state.(logState).entries {
				hash.Write([]byte(entry))
				hash.Write([]byte{0})
			}
			return hash.Sum64()
		},
		DescribeOperation: describeLogOperation,
		DescribeState: func(state any) string {
			return "[" + strings.Join(state.(logState).entries, " ") + "]"
		},
	}
}

func logStep(state logState, input LogInput, output any) (bool, any) {
	result, known := output.(LogOutput)
	length := uint64(len(state.entries))
	switch input.Operation {
	case LogAppend:
		if known && result.Sequence != length+1 {
			return false, state
		}
		entries := make([]string, length+1)
		copy(entries, state.entries)
		entries[length] = input.Value
		return true, logState{entries: entries}
	case LogRead:
		if !known {
			return true, state
		}
		if input.Sequence == 0 || input.Sequence > length {
			return !result.Found, state
		}
		return result.Found && result.Value == state.entries[input.Sequence-1], state
	case LogLast:
		return !known || result.Sequence == length, state
	}
	return false, state
}

func describeLogOperation(input, output any) string {
	in, ok := input.(LogInput)
	if !ok {
		return fmt.Sprintf("bad input %v -> %v", input, output)
	}
	result, known := output.(LogOutput)
	switch {
	case in.Operation == LogAppend && known:
		return fmt.Sprintf("append(%q) -> %d", in.Value, result.Sequence)
	case in.Operation == LogAppend:
		return fmt.Sprintf("append(%q) -> ?", in.Value)
	case in.Operation == LogRead && !known:
		return fmt.Sprintf("read(%d) -> ?", in.Sequence)
	case in.Operation == LogRead && !result.Found:
		return fmt.Sprintf("read(%d) -> absent", in.Sequence)
	case in.Operation == LogRead:
		return fmt.Sprintf("read(%d) -> %q", in.Sequence, result.Value)
	case known:
		return fmt.Sprintf("last() -> %d", result.Sequence)
	}
	return "last() -> ?"
}
