package check

import (
	"fmt"
	"slices"

	"github.com/anishathalye/porcupine"
)

// KVOperation is what a key-value operation does.
type KVOperation int

const (
	// KVGet returns the key's value and whether it exists.
	KVGet KVOperation = iota
	// KVPut sets the key's value.
	KVPut
	// KVAppend appends Value to the key's value (creating it).
	KVAppend
	// KVDelete removes the key.
	KVDelete
	// KVCompareAndSwap sets the value to Value if the key exists with value Expected.
	KVCompareAndSwap
)

// KVInput is the input of a key-value operation.
type KVInput struct {
	Operation KVOperation
	Key       string
	Value     string
	Expected  string
}

// KVOutput is the output of a completed key-value operation. An operation that never
// returned has a nil output instead.
type KVOutput struct {
	// Value and Found are what KVGet returned.
	Value string
	Found bool
	// OK reports whether KVCompareAndSwap swapped.
	OK bool
}

// kvState is the state of one key: keys are independent, so the model is partitioned
// by key and each partition's state is a single value.
type kvState struct {
	Value  string
	Exists bool
}

// KVModel is a map from string keys to string values, all keys initially absent,
// partitioned by key. Inputs are KVInput, outputs KVOutput, or nil for an operation
// whose outcome is unknown: it may take effect at any point after its call, or never.
func KVModel() porcupine.Model {
	return porcupine.Model{
		Partition: PartitionByKey,
		Init:      func() any { return kvState{} },
		Step: func(state, input, output any) (bool, any) {
			in, ok := input.(KVInput)
			if !ok {
				// An input of another type is a recording bug: it fits no state.
				return false, state
			}
			return kvStep(state.(kvState), in, output)
		},
		DescribeOperation: describeKVOperation,
		DescribeState: func(state any) string {
			s := state.(kvState)
			if !s.Exists {
				return "absent"
			}
			return fmt.Sprintf("%q", s.Value)
		},
	}
}

// PartitionByKey splits a KV history into one history per key, in key order, each in
// its original order.
func PartitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	for _, operation := range history {
		// An input of another type lands in the "" partition, where the model
		// rejects it.
		input, _ := operation.Input.(KVInput)
		key := input.Key
		byKey[key] = append(byKey[key], operation)
	}
	keys := make([]string, 0, len(byKey))
	for key := range byKey {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	partitions := make([][]porcupine.Operation, 0, len(keys))
	for _, key := range keys {
		partitions = append(partitions, byKey[key])
	}
	return partitions
}

func kvStep(state kvState, input KVInput, output any) (bool, any) {
	result, known := output.(KVOutput)
	switch input.Operation {
	case KVGet:
		return !known || (result.Found == state.Exists && (!state.Exists || result.Value == state.Value)), state
	case KVPut:
		return true, kvState{Value: input.Value, Exists: true}
	case KVAppend:
		return true, kvState{Value: state.Value + input.Value, Exists: true}
	case KVDelete:
		return true, kvState{}
	case KVCompareAndSwap:
		swaps := state.Exists && state.Value == input.Expected
		if known && result.OK != swaps {
			return false, state
		}
		if swaps {
			return true, kvState{Value: input.Value, Exists: true}
		}
		return true, state
	}
	return false, state
}

func describeKVOperation(input, output any) string {
	in, ok := input.(KVInput)
	if !ok {
		return fmt.Sprintf("bad input %v -> %v", input, output)
	}
	result, known := output.(KVOutput)
	switch in.Operation {
	case KVGet:
		switch {
		case !known:
			return fmt.Sprintf("get(%q) -> ?", in.Key)
		case !result.Found:
			return fmt.Sprintf("get(%q) -> absent", in.Key)
		}
		return fmt.Sprintf("get(%q) -> %q", in.Key, result.Value)
	case KVPut:
		return fmt.Sprintf("put(%q, %q)%s", in.Key, in.Value, unknownSuffix(known))
	case KVAppend:
		return fmt.Sprintf("append(%q, %q)%s", in.Key, in.Value, unknownSuffix(known))
	case KVDelete:
		return fmt.Sprintf("delete(%q)%s", in.Key, unknownSuffix(known))
	default:
		if !known {
			return fmt.Sprintf("cas(%q, %q, %q) -> ?", in.Key, in.Expected, in.Value)
		}
		return fmt.Sprintf("cas(%q, %q, %q) -> %v", in.Key, in.Expected, in.Value, result.OK)
	}
}
