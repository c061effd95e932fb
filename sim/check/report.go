package check

import (
	"fmt"
	"strings"
)

// reportValuesMax bounds how many values one line of a report lists; the counts are
// always complete.
const reportValuesMax = 20

// String renders the report for people: a verdict line, the counts, then one section
// per anomaly.
func (r *QueueReport) String() string {
	var b strings.Builder
	verdict := "VALID"
	if !r.Valid() {
		verdict = "INVALID"
	}
	fmt.Fprintf(&b, "queue check: %s\n", verdict)
	fmt.Fprintf(&b, "  attempted %d (acked %d, unknown %d, failed %d); %d distinct values read; %d unknown-outcome values recovered\n",
		r.Attempted, r.Acked, r.Unknown, r.Failed, r.Read, r.Recovered)
	if r.Lost() > 0 {
		fmt.Fprintf(&b, "  lost acked writes: %d (prefix %d, middle %d, postfix %d)\n",
			r.Lost(), len(r.LostPrefix), len(r.LostMiddle), len(r.LostPostfix))
		writeValues(&b, "prefix", r.LostPrefix)
		writeValues(&b, "middle", r.LostMiddle)
		writeValues(&b, "postfix", r.LostPostfix)
	}
	if len(r.Unexpected) > 0 {
		fmt.Fprintf(&b, "  unexpected values (read, never attempted): %d\n", len(r.Unexpected))
		writeValues(&b, "values", r.Unexpected)
	}
	if len(r.FailedButRead) > 0 {
		fmt.Fprintf(&b, "  read although their publish failed: %d\n", len(r.FailedButRead))
		writeValues(&b, "values", r.FailedButRead)
	}
	if len(r.Duplicates) > 0 {
		kind := "reported, allowed"
		if r.DuplicatesFail {
			kind = "failure"
		}
		fmt.Fprintf(&b, "  duplicates (%s): %d\n", kind, len(r.Duplicates))
		for i, duplicate := range r.Duplicates {
			if i == reportValuesMax {
				fmt.Fprintf(&b, "    ... %d more\n", len(r.Duplicates)-i)
				break
			}
			fmt.Fprintf(&b, "    %d seen %d times in %s\n", duplicate.Value, duplicate.Count, duplicate.Where)
		}
	}
	if len(r.Divergences) > 0 {
		fmt.Fprintf(&b, "  divergent final reads: %d\n", len(r.Divergences))
		for _, divergence := range r.Divergences {
			fmt.Fprintf(&b, "    %s (%d values) differs from %s (%d values) from index %d\n",
				divergence.Node, divergence.NodeLength, divergence.Reference, divergence.ReferenceLength, divergence.FirstDifference)
			writeValues(&b, "only on "+divergence.Node, divergence.OnlyOnNode)
			writeValues(&b, "only on "+divergence.Reference, divergence.OnlyOnReference)
		}
	}
	if len(r.OrderViolations) > 0 {
		fmt.Fprintf(&b, "  per-publisher order violations: %d\n", len(r.OrderViolations))
		for i, violation := range r.OrderViolations {
			if i == reportValuesMax {
				fmt.Fprintf(&b, "    ... %d more\n", len(r.OrderViolations)-i)
				break
			}
			fmt.Fprintf(&b, "    publisher %d: %d (acked first) read after %d in %s\n",
				violation.Publisher, violation.Earlier, violation.Later, violation.Where)
		}
	}
	return b.String()
}

func writeValues(b *strings.Builder, label string, values []int64) {
	if len(values) == 0 {
		return
	}
	fmt.Fprintf(b, "    %s:", label)
	for i, value := range values {
		if i == reportValuesMax {
			fmt.Fprintf(b, " ... %d more", len(values)-i)
			break
		}
		fmt.Fprintf(b, " %d", value)
	}
	b.WriteString("\n")
}
