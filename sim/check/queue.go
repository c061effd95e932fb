package check

import (
	"cmp"
	"fmt"
	"slices"
)

// PublishOutcome is what the publisher learned about one publish.
type PublishOutcome int

const (
	// PublishAcked: the server acknowledged the publish; it must never be lost.
	PublishAcked PublishOutcome = iota + 1
	// PublishUnknown: the publish timed out or its connection broke; it may or may not
	// have been stored.
	PublishUnknown
	// PublishFailed: the server definitely refused the publish (an error reply); it
	// must never be read. Record a timeout as PublishUnknown, never as PublishFailed.
	PublishFailed
)

// Publish is one attempted publish of a unique value.
type Publish struct {
	Value int64
	// Publisher identifies the publishing process; Sequence is its order among that
	// publisher's attempts. A publisher attempts its publishes one at a time.
	Publisher int
	Sequence  int
	Outcome   PublishOutcome
	// Completed is when the publisher learned the outcome (virtual time); it orders
	// the acked sequence for classifying lost writes. Ties keep input order.
	Completed int64
}

// ConsumerRead is what one consumer received on one node, in delivery order,
// redeliveries included.
type ConsumerRead struct {
	Consumer string
	Node     string
	Values   []int64
}

// FinalRead is a full read of the stream from one node after the run healed, in
// stream order.
type FinalRead struct {
	Node   string
	Values []int64
}

// QueueHistory is the input of CheckQueue.
type QueueHistory struct {
	Publishes  []Publish
	Reads      []ConsumerRead
	FinalReads []FinalRead
}

// QueueOptions tunes CheckQueue.
type QueueOptions struct {
	// DuplicatesFail makes duplicates a failure. Without it they are reported only:
	// at-least-once delivery redelivers unacknowledged messages by design.
	DuplicatesFail bool
	// ConsumerOrder also checks per-publisher order in consumer reads, on the values
	// delivered exactly once. Use it only when every delivery is recorded: a delivery
	// to a consumer that died before recording it makes the redelivery look like an
	// out-of-order first delivery. Final reads, the stream itself, are always checked.
	ConsumerOrder bool
}

// Duplicate is a value seen more than once in one place.
type Duplicate struct {
	Value int64
	Count int
	// Where is "consumer reads" (delivered more than once, over all consumers) or
	// "final read of NODE" (stored more than once).
	Where string
}

// Divergence is a node whose final read differs from the reference node's (the first
// node in name order).
type Divergence struct {
	Node, Reference string
	// FirstDifference is the first index at which the two reads differ.
	FirstDifference int
	NodeLength      int
	ReferenceLength int
	// OnlyOnNode and OnlyOnReference are the values one read has and the other lacks.
	OnlyOnNode      []int64
	OnlyOnReference []int64
}

// OrderViolation is an acked value that a read delivers after a value its publisher
// attempted later, although the publisher waited for the ack before going on.
type OrderViolation struct {
	Publisher int
	Where     string
	// Earlier was acked before Later was attempted, yet Later came first.
	Earlier, Later int64
}

// QueueReport is the verdict of CheckQueue. Valid reports whether it passes.
type QueueReport struct {
	Attempted, Acked, Unknown, Failed int
	// Read counts the distinct values read anywhere (consumer or final reads).
	Read int
	// LostPrefix, LostMiddle and LostPostfix are acked values never read, by where
	// they sit in the acked sequence: before the first acked value read, between read
	// ones, or after the last one read. If no acked value was read at all, every lost
	// value is in LostPrefix.
	LostPrefix, LostMiddle, LostPostfix []int64
	// Recovered counts values with an unknown outcome that were read (informational).
	Recovered int
	// FailedButRead are values whose publish definitely failed, yet were read.
	FailedButRead []int64
	// Unexpected are values read that no one ever attempted to publish.
	Unexpected      []int64
	Duplicates      []Duplicate
	Divergences     []Divergence
	OrderViolations []OrderViolation
	// DuplicatesFail is the option the report was made with.
	DuplicatesFail bool
}

// Lost returns the number of lost acked values.
func (r *QueueReport) Lost() int { return len(r.LostPrefix) + len(r.LostMiddle) + len(r.LostPostfix) }

// Valid reports whether the history passes: nothing acked is lost, nothing unexpected
// or refused is read, nodes agree, order holds, and duplicates only when allowed.
func (r *QueueReport) Valid() bool {
	return r.Lost() == 0 && len(r.FailedButRead) == 0 && len(r.Unexpected) == 0 &&
		len(r.Divergences) == 0 && len(r.OrderViolations) == 0 &&
		(!r.DuplicatesFail || len(r.Duplicates) == 0)
}

// CheckQueue checks a queue workload's history. The error reports malformed input: a
// value attempted twice, a publisher's sequence number reused, an unknown outcome.
func CheckQueue(history QueueHistory, options QueueOptions) (*QueueReport, error) {
	report := &QueueReport{Attempted: len(history.Publishes), DuplicatesFail: options.DuplicatesFail}
	attempts, err := queueIndexPublishes(history.Publishes, report)
	if err != nil {
		return nil, err
	}
	read := queueReadValues(history)
	report.Read = len(read)
	queueClassifyLost(history.Publishes, read, report)
	for _, value := range sortedValues(read) {
		publish, attempted := attempts[value]
		switch {
		case !attempted:
			report.Unexpected = append(report.Unexpected, value)
		case publish.Outcome == PublishFailed:
			report.FailedButRead = append(report.FailedButRead, value)
		case publish.Outcome == PublishUnknown:
			report.Recovered++
		}
	}
	report.Duplicates = queueDuplicates(history)
	report.Divergences = queueDivergences(history.FinalReads)
	report.OrderViolations = queueOrderViolations(history, options.ConsumerOrder)
	return report, nil
}

func queueIndexPublishes(publishes []Publish, report *QueueReport) (map[int64]Publish, error) {
	attempts := make(map[int64]Publish, len(publishes))
	type publisherSequence struct{ publisher, sequence int }
	sequences := map[publisherSequence]bool{}
	for _, publish := range publishes {
		if _, seen := attempts[publish.Value]; seen {
			return nil, fmt.Errorf("check: value %d attempted twice; queue values must be unique", publish.Value)
		}
		key := publisherSequence{publish.Publisher, publish.Sequence}
		if sequences[key] {
			return nil, fmt.Errorf("check: publisher %d used sequence %d twice", publish.Publisher, publish.Sequence)
		}
		sequences[key] = true
		attempts[publish.Value] = publish
		switch publish.Outcome {
		case PublishAcked:
			report.Acked++
		case PublishUnknown:
			report.Unknown++
		case PublishFailed:
			report.Failed++
		default:
			return nil, fmt.Errorf("check: value %d has no outcome (%d)", publish.Value, publish.Outcome)
		}
	}
	return attempts, nil
}

// queueReadValues returns every value read anywhere.
func queueReadValues(history QueueHistory) map[int64]bool {
	read := map[int64]bool{}
	for _, consumerRead := range history.Reads {
		for _, value := range consumerRead.Values {
			read[value] = true
		}
	}
	for _, finalRead := range history.FinalReads {
		for _, value := range finalRead.Values {
			read[value] = true
		}
	}
	return read
}

func sortedValues(set map[int64]bool) []int64 {
	values := make([]int64, 0, len(set))
	for value := range set {
		values = append(values, value)
	}
	slices.Sort(values)
	return values
}

// queueClassifyLost finds the acked values never read and sorts them into prefix,
// middle and postfix of the acked sequence: a lost prefix hints at a wiped or
// truncated-from-the-front stream, a postfix at lost unsynced tails, a middle at holes.
func queueClassifyLost(publishes []Publish, read map[int64]bool, report *QueueReport) {
	var acked []Publish
	for _, publish := range publishes {
		if publish.Outcome == PublishAcked {
			acked = append(acked, publish)
		}
	}
	slices.SortStableFunc(acked, func(a, b Publish) int { return cmp.Compare(a.Completed, b.Completed) })
	first, last := -1, -1
	for i, publish := range acked {
		if read[publish.Value] {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	for i, publish := range acked {
		switch {
		case read[publish.Value]:
		case first < 0 || i < first:
			report.LostPrefix = append(report.LostPrefix, publish.Value)
		case i > last:
			report.LostPostfix = append(report.LostPostfix, publish.Value)
		default:
			report.LostMiddle = append(report.LostMiddle, publish.Value)
		}
	}
}

// queueDuplicates finds values delivered more than once over all consumer reads, and
// values stored more than once in a node's final read.
func queueDuplicates(history QueueHistory) []Duplicate {
	var duplicates []Duplicate
	delivered := map[int64]int{}
	for _, consumerRead := range history.Reads {
		for _, value := range consumerRead.Values {
			delivered[value]++
		}
	}
	duplicates = appendDuplicates(duplicates, delivered, "consumer reads")
	for _, finalRead := range sortedFinalReads(history.FinalReads) {
		stored := map[int64]int{}
		for _, value := range finalRead.Values {
			stored[value]++
		}
		duplicates = appendDuplicates(duplicates, stored, "final read of "+finalRead.Node)
	}
	return duplicates
}

func appendDuplicates(duplicates []Duplicate, counts map[int64]int, where string) []Duplicate {
	values := make([]int64, 0, len(counts))
	for value, count := range counts {
		if count > 1 {
			values = append(values, value)
		}
	}
	slices.Sort(values)
	for _, value := range values {
		duplicates = append(duplicates, Duplicate{Value: value, Count: counts[value], Where: where})
	}
	return duplicates
}

func sortedFinalReads(finalReads []FinalRead) []FinalRead {
	sorted := slices.Clone(finalReads)
	slices.SortStableFunc(sorted, func(a, b FinalRead) int { return cmp.Compare(a.Node, b.Node) })
	return sorted
}

// queueDivergences compares every node's final read with the first node's.
func queueDivergences(finalReads []FinalRead) []Divergence {
	sorted := sortedFinalReads(finalReads)
	if len(sorted) < 2 {
		return nil
	}
	reference := sorted[0]
	var divergences []Divergence
	for _, node := range sorted[1:] {
		if slices.Equal(node.Values, reference.Values) {
			continue
		}
		first := 0
		for first < len(node.Values) && first < len(reference.Values) && node.Values[first] == reference.Values[first] {
			first++
		}
		divergences = append(divergences, Divergence{
			Node: node.Node, Reference: reference.Node, FirstDifference: first,
			NodeLength: len(node.Values), ReferenceLength: len(reference.Values),
			OnlyOnNode:      valuesMissingFrom(node.Values, reference.Values),
			OnlyOnReference: valuesMissingFrom(reference.Values, node.Values),
		})
	}
	return divergences
}

// valuesMissingFrom returns the distinct values of from that other lacks, sorted.
func valuesMissingFrom(from, other []int64) []int64 {
	present := map[int64]bool{}
	for _, value := range other {
		present[value] = true
	}
	missing := map[int64]bool{}
	for _, value := range from {
		if !present[value] {
			missing[value] = true
		}
	}
	return sortedValues(missing)
}

// queueOrderViolations checks, in every read, that each acked value comes before every
// value its publisher attempted later. Final reads are the stream itself and must keep
// that order strictly; consumer reads, when asked, are checked on the values delivered
// once.
func queueOrderViolations(history QueueHistory, consumerOrder bool) []OrderViolation {
	byPublisher := map[int][]Publish{}
	for _, publish := range history.Publishes {
		byPublisher[publish.Publisher] = append(byPublisher[publish.Publisher], publish)
	}
	publishers := make([]int, 0, len(byPublisher))
	for publisher, publishes := range byPublisher {
		publishers = append(publishers, publisher)
		slices.SortFunc(publishes, func(a, b Publish) int { return cmp.Compare(a.Sequence, b.Sequence) })
	}
	slices.Sort(publishers)
	// A value delivered more than once over all consumers may have been redelivered
	// to one consumer after its first delivery to another went unacknowledged, so its
	// place in a consumer's read says nothing about order.
	delivered := map[int64]int{}
	for _, consumerRead := range history.Reads {
		for _, value := range consumerRead.Values {
			delivered[value]++
		}
	}
	var violations []OrderViolation
	check := func(where string, values []int64, skipRedelivered bool) {
		position := map[int64]int{}
		for i, value := range values {
			if skipRedelivered && delivered[value] > 1 {
				continue
			}
			if _, seen := position[value]; !seen {
				position[value] = i
			}
		}
		for _, publisher := range publishers {
			violations = appendOrderViolations(violations, publisher, where, byPublisher[publisher], position)
		}
	}
	for _, consumerRead := range history.Reads {
		if !consumerOrder {
			break
		}
		check(fmt.Sprintf("consumer %s on %s", consumerRead.Consumer, consumerRead.Node), consumerRead.Values, true)
	}
	for _, finalRead := range sortedFinalReads(history.FinalReads) {
		check("final read of "+finalRead.Node, finalRead.Values, false)
	}
	return violations
}

// appendOrderViolations walks one publisher's attempts from the last to the first,
// keeping the later attempt read earliest; an acked attempt read after it is out of
// order. One violation is reported per acked value.
func appendOrderViolations(violations []OrderViolation, publisher int, where string, publishes []Publish, position map[int64]int) []OrderViolation {
	earliestLater, earliestLaterValue := -1, int64(0)
	for i := len(publishes) - 1; i >= 0; i-- {
		publish := publishes[i]
		at, present := position[publish.Value]
		if !present {
			continue
		}
		if publish.Outcome == PublishAcked && earliestLater >= 0 && at > earliestLater {
			violations = append(violations, OrderViolation{Publisher: publisher, Where: where, Earlier: publish.Value, Later: earliestLaterValue})
		}
		if earliestLater < 0 || at < earliestLater {
			earliestLater, earliestLaterValue = at, publish.Value
		}
	}
	return violations
}
