package check

import (
	"math"

	"github.com/anishathalye/porcupine"
)

// Infinity is the return time of an operation that never returned: it timed out, or
// its client crashed. Porcupine may then place the operation anywhere after its call,
// including after every other operation, which is how "it may or may not have
// happened" is expressed.
const Infinity int64 = math.MaxInt64

// OperationID names an operation recorded by History.Invoke.
type OperationID int

// History records operations as clients invoke and complete them, for porcupine.
// Times are the simulator's virtual time (any monotonic int64 will do). The zero value
// is ready to use. History is not safe for concurrent use; the simulator is single
// threaded.
type History struct {
	operations []porcupine.Operation
	returned   []bool
}

// Invoke records that client called input at time call, and returns the id to complete
// it with. Client ids are small non-negative integers (porcupine's visualization draws
// one line per client).
func (h *History) Invoke(client int, input any, call int64) OperationID {
	h.operations = append(h.operations, porcupine.Operation{ClientId: client, Input: input, Call: call, Return: Infinity})
	h.returned = append(h.returned, false)
	return OperationID(len(h.operations) - 1)
}

// Return records that the operation completed at time at with output. An operation
// never returned keeps Return = Infinity and a nil output, which the models read as
// "unknown outcome". Returning an unknown or already returned id does nothing.
func (h *History) Return(id OperationID, output any, at int64) {
	if int(id) < 0 || int(id) >= len(h.operations) || h.returned[id] {
		return
	}
	h.operations[id].Output = output
	h.operations[id].Return = at
	h.returned[id] = true
}

// Len returns the number of operations recorded.
func (h *History) Len() int { return len(h.operations) }

// Operations returns a copy of the history for CheckLinearizable.
func (h *History) Operations() []porcupine.Operation {
	return append([]porcupine.Operation(nil), h.operations...)
}
