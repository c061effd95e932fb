package check

import (
	"fmt"
	"io"
	"time"

	"github.com/anishathalye/porcupine"
)

// linearizabilityTimeoutDefault bounds porcupine's search when the caller gives no
// timeout. The problem is NP-hard; a search that runs out is reported as a failure
// rather than a pass, so a too-short bound fails loudly instead of hiding a bug.
const linearizabilityTimeoutDefault = 30 * time.Second

// LinearizabilityOptions tunes CheckLinearizable.
type LinearizabilityOptions struct {
	// Timeout bounds the search in wall time; zero means 30 s. Porcupine's Unknown
	// (the search ran out) counts as a failure. It is the only wall-clock dependence:
	// a verdict of Ok or Illegal does not depend on it.
	Timeout time.Duration
	// Visualization, when set, receives porcupine's HTML visualization of a history
	// that is not proven linearizable.
	Visualization io.Writer
}

// LinearizabilityResult is the verdict on one history.
type LinearizabilityResult struct {
	// Verdict is porcupine's: Ok, Illegal, or Unknown when the search ran out.
	Verdict porcupine.CheckResult
	// Operations counts the operations checked; Pending those that never returned.
	Operations int
	Pending    int
	// Visualized reports that the HTML visualization was written.
	Visualized bool
}

// OK reports whether the history was proven linearizable. Unknown is not OK.
func (r LinearizabilityResult) OK() bool { return r.Verdict == porcupine.Ok }

// String describes the result in one line.
func (r LinearizabilityResult) String() string {
	switch r.Verdict {
	case porcupine.Ok:
		return fmt.Sprintf("linearizable (%d operations, %d without a return)", r.Operations, r.Pending)
	case porcupine.Unknown:
		return fmt.Sprintf("linearizability unknown: the search timed out (%d operations, %d without a return); counted as a failure", r.Operations, r.Pending)
	default:
		return fmt.Sprintf("NOT linearizable (%d operations, %d without a return)", r.Operations, r.Pending)
	}
}

// CheckLinearizable checks a history against a model. On any verdict but Ok it writes
// the visualization to options.Visualization when set; the error reports only a failed
// write of the visualization.
func CheckLinearizable(model porcupine.Model, operations []porcupine.Operation, options LinearizabilityOptions) (LinearizabilityResult, error) {
	timeout := options.Timeout
	if timeout <= 0 {
		timeout = linearizabilityTimeoutDefault
	}
	result := LinearizabilityResult{Operations: len(operations)}
	for _, operation := range operations {
		if operation.Return == Infinity {
			result.Pending++
		}
	}
	verdict, info := porcupine.CheckOperationsVerbose(model, operations, timeout)
	result.Verdict = verdict
	if verdict == porcupine.Ok || options.Visualization == nil {
		return result, nil
	}
	if err := porcupine.Visualize(model, info, options.Visualization); err != nil {
		return result, fmt.Errorf("check: writing the linearizability visualization: %w", err)
	}
	result.Visualized = true
	return result, nil
}
