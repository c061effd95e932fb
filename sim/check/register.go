package check

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// RegisterOperation is what a register operation does.
type RegisterOperation int

const (
	// RegisterRead returns the value.
	RegisterRead RegisterOperation = iota
	// RegisterWrite sets the value.
	RegisterWrite
	// RegisterCompareAndSwap sets the value to Value if it equals Expected.
	RegisterCompareAndSwap
)

// RegisterInput is the input of a register operation.
type RegisterInput struct {
	Operation RegisterOperation
	// Value is written by RegisterWrite and RegisterCompareAndSwap.
	Value string
	// Expected is what RegisterCompareAndSwap compares with.
	Expected string
}

// RegisterOutput is the output of a completed register operation. An operation that
// never returned has a nil output instead.
type RegisterOutput struct {
	// Value is what RegisterRead returned.
	Value string
	// OK reports whether RegisterCompareAndSwap swapped.
	OK bool
}

// RegisterModel is a single register holding a string, initially InitialValue. Inputs
// are RegisterInput, outputs RegisterOutput, or nil for an operation whose outcome is
// unknown: that operation may take effect (a write, or a compare-and-swap whose
// expectation holds) at any point after its call, or never.
func RegisterModel(initialValue string) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return initialValue },
		Step: func(state, input, output any) (bool, any) {
			in, ok := input.(RegisterInput)
			if !ok {
				// An input of another type is a recording bug: it fits no state.
				return false, state
			}
			return registerStep(state.(string), in, output)
		},
		DescribeOperation: describeRegisterOperation,
		DescribeState:     func(state any) string { return fmt.Sprintf("%q", state) },
	}
}

func registerStep(state string, input RegisterInput, output any) (bool, any) {
	result, known := output.(RegisterOutput)
	switch input.Operation {
	case RegisterRead:
		return !known || result.Value == state, state
	case RegisterWrite:
		return true, input.Value
	case RegisterCompareAndSwap:
		swaps := state == input.Expected
		if known && result.OK != swaps {
			return false, state
		}
		if swaps {
			return true, input.Value
		}
		return true, state
	}
	return false, state
}

func describeRegisterOperation(input, output any) string {
	in, ok := input.(RegisterInput)
	if !ok {
		return fmt.Sprintf("bad input %v -> %v", input, output)
	}
	result, known := output.(RegisterOutput)
	switch in.Operation {
	case RegisterRead:
		if !known {
			return "read() -> ?"
		}
		return fmt.Sprintf("read() -> %q", result.Value)
	case RegisterWrite:
		return fmt.Sprintf("write(%q)%s", in.Value, unknownSuffix(known))
	default:
		if !known {
			return fmt.Sprintf("cas(%q, %q) -> ?", in.Expected, in.Value)
		}
		return fmt.Sprintf("cas(%q, %q) -> %v", in.Expected, in.Value, result.OK)
	}
}

func unknownSuffix(known bool) string {
	if known {
		return ""
	}
	return " -> ?"
}
