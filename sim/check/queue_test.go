package check

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// acked builds a publisher's publishes of values, all acked, completed in order.
func ackedRun(publisher int, values ...int64) []Publish {
	publishes := make([]Publish, len(values))
	for i, value := range values {
		publishes[i] = Publish{Value: value, Publisher: publisher, Sequence: i, Outcome: PublishAcked, Completed: value}
	}
	return publishes
}

func finalReads(values []int64, nodes ...string) []FinalRead {
	reads := make([]FinalRead, len(nodes))
	for i, node := range nodes {
		reads[i] = FinalRead{Node: node, Values: slices.Clone(values)}
	}
	return reads
}

func mustCheckQueue(t *testing.T, history QueueHistory, options QueueOptions) *QueueReport {
	t.Helper()
	report, err := CheckQueue(history, options)
	if err != nil {
		t.Fatal(err)
	}
	return report
}

// TestQueueValid proves that a clean history passes and says so.
func TestQueueValid(t *testing.T) {
	history := QueueHistory{
		Publishes:  append(ackedRun(0, 1, 2, 3), ackedRun(1, 10, 11)...),
		Reads:      []ConsumerRead{{Consumer: "c1", Node: "n1", Values: []int64{1, 10, 2}}, {Consumer: "c2", Node: "n2", Values: []int64{11, 3}}},
		FinalReads: finalReads([]int64{1, 10, 2, 11, 3}, "n1", "n2", "n3"),
	}
	report := mustCheckQueue(t, history, QueueOptions{DuplicatesFail: true})
	if !report.Valid() || !strings.HasPrefix(report.String(), "queue check: VALID") {
		t.Fatalf("a clean history failed:\n%s", report)
	}
	if report.Acked != 5 || report.Read != 5 {
		t.Fatalf("counts %+v", report)
	}
}

// TestQueueLostClassification proves that lost acked values are sorted into prefix,
// middle and postfix of the acked sequence, and fail the check.
func TestQueueLostClassification(t *testing.T) {
	publishes := ackedRun(0, 1, 2, 3, 4, 5, 6, 7)
	history := QueueHistory{Publishes: publishes, FinalReads: finalReads([]int64{3, 5, 6}, "n1")}
	report := mustCheckQueue(t, history, QueueOptions{})
	if !slices.Equal(report.LostPrefix, []int64{1, 2}) || !slices.Equal(report.LostMiddle, []int64{4}) || !slices.Equal(report.LostPostfix, []int64{7}) {
		t.Fatalf("prefix %v middle %v postfix %v", report.LostPrefix, report.LostMiddle, report.LostPostfix)
	}
	if report.Valid() || !strings.Contains(report.String(), "lost acked writes: 4 (prefix 2, middle 1, postfix 1)") {
		t.Fatalf("report:\n%s", report)
	}
	// With nothing read at all, everything is a lost prefix.
	report = mustCheckQueue(t, QueueHistory{Publishes: publishes}, QueueOptions{})
	if len(report.LostPrefix) != 7 || report.Lost() != 7 {
		t.Fatalf("prefix %v", report.LostPrefix)
	}
}

// TestQueueLostOrderFollowsCompletion proves that the acked sequence is ordered by
// completion time, not by input order.
func TestQueueLostOrderFollowsCompletion(t *testing.T) {
	publishes := []Publish{
		{Value: 1, Publisher: 0, Sequence: 0, Outcome: PublishAcked, Completed: 30},
		{Value: 2, Publisher: 1, Sequence: 0, Outcome: PublishAcked, Completed: 10},
		{Value: 3, Publisher: 2, Sequence: 0, Outcome: PublishAcked, Completed: 20},
	}
	report := mustCheckQueue(t, QueueHistory{Publishes: publishes, FinalReads: finalReads([]int64{3}, "n1")}, QueueOptions{})
	if !slices.Equal(report.LostPrefix, []int64{2}) || !slices.Equal(report.LostPostfix, []int64{1}) {
		t.Fatalf("prefix %v postfix %v", report.LostPrefix, report.LostPostfix)
	}
}

// TestQueueUnknownAndFailed proves that unknown outcomes may or may not be read, and
// that a definitely failed publish that shows up fails the check.
func TestQueueUnknownAndFailed(t *testing.T) {
	publishes := []Publish{
		{Value: 1, Publisher: 0, Sequence: 0, Outcome: PublishUnknown},
		{Value: 2, Publisher: 0, Sequence: 1, Outcome: PublishUnknown},
		{Value: 3, Publisher: 0, Sequence: 2, Outcome: PublishFailed},
	}
	report := mustCheckQueue(t, QueueHistory{Publishes: publishes, FinalReads: finalReads([]int64{2}, "n1")}, QueueOptions{})
	if !report.Valid() || report.Recovered != 1 {
		t.Fatalf("report:\n%s", report)
	}
	report = mustCheckQueue(t, QueueHistory{Publishes: publishes, FinalReads: finalReads([]int64{3}, "n1")}, QueueOptions{})
	if report.Valid() || !slices.Equal(report.FailedButRead, []int64{3}) {
		t.Fatalf("report:\n%s", report)
	}
}

// TestQueueUnexpected proves that a value no one attempted fails the check.
func TestQueueUnexpected(t *testing.T) {
	history := QueueHistory{Publishes: ackedRun(0, 1), Reads: []ConsumerRead{{Consumer: "c", Node: "n1", Values: []int64{1, 99}}}}
	report := mustCheckQueue(t, history, QueueOptions{})
	if report.Valid() || !slices.Equal(report.Unexpected, []int64{99}) || !strings.Contains(report.String(), "unexpected values") {
		t.Fatalf("report:\n%s", report)
	}
}

// TestQueueDuplicates proves that duplicates are reported either way and fail only
// when the flag says so.
func TestQueueDuplicates(t *testing.T) {
	history := QueueHistory{
		Publishes:  ackedRun(0, 1, 2),
		Reads:      []ConsumerRead{{Consumer: "a", Node: "n1", Values: []int64{1}}, {Consumer: "b", Node: "n1", Values: []int64{1, 2}}},
		FinalReads: []FinalRead{{Node: "n1", Values: []int64{1, 2, 2}}, {Node: "n2", Values: []int64{1, 2, 2}}},
	}
	report := mustCheckQueue(t, history, QueueOptions{})
	want := []Duplicate{{Value: 1, Count: 2, Where: "consumer reads"}, {Value: 2, Count: 2, Where: "final read of n1"}, {Value: 2, Count: 2, Where: "final read of n2"}}
	if !slices.Equal(report.Duplicates, want) {
		t.Fatalf("duplicates %+v", report.Duplicates)
	}
	if !report.Valid() {
		t.Fatalf("duplicates failed without the flag:\n%s", report)
	}
	report = mustCheckQueue(t, history, QueueOptions{DuplicatesFail: true})
	if report.Valid() || !strings.Contains(report.String(), "duplicates (failure): 3") {
		t.Fatalf("duplicates passed with the flag:\n%s", report)
	}
}

// TestQueueDivergence proves that nodes whose final reads differ are reported with the
// first differing index and the values each side lacks.
func TestQueueDivergence(t *testing.T) {
	history := QueueHistory{
		Publishes: ackedRun(0, 1, 2, 3, 4),
		FinalReads: []FinalRead{
			{Node: "n2", Values: []int64{1, 2, 4}},
			{Node: "n1", Values: []int64{1, 2, 3, 4}},
			{Node: "n3", Values: []int64{1, 2, 3, 4}},
		},
	}
	report := mustCheckQueue(t, history, QueueOptions{})
	if len(report.Divergences) != 1 {
		t.Fatalf("divergences %+v", report.Divergences)
	}
	divergence := report.Divergences[0]
	if divergence.Node != "n2" || divergence.Reference != "n1" || divergence.FirstDifference != 2 ||
		len(divergence.OnlyOnNode) != 0 || !slices.Equal(divergence.OnlyOnReference, []int64{3}) {
		t.Fatalf("divergence %+v", divergence)
	}
	if report.Valid() || report.Lost() != 0 {
		t.Fatalf("report:\n%s", report)
	}
	// The same values in another order also diverge.
	history.FinalReads[0].Values = []int64{1, 3, 2, 4}
	report = mustCheckQueue(t, history, QueueOptions{})
	if len(report.Divergences) != 1 || report.Divergences[0].FirstDifference != 1 {
		t.Fatalf("divergences %+v", report.Divergences)
	}
}

// TestQueueOrderViolation proves that an acked value read after a value its publisher
// attempted later is reported, in final reads and in consumer reads, and that an
// unacked earlier value may legitimately land later.
func TestQueueOrderViolation(t *testing.T) {
	history := QueueHistory{
		Publishes:  ackedRun(0, 1, 2, 3),
		Reads:      []ConsumerRead{{Consumer: "c", Node: "n1", Values: []int64{2, 1, 3}}},
		FinalReads: finalReads([]int64{1, 3, 2}, "n1"),
	}
	report := mustCheckQueue(t, history, QueueOptions{ConsumerOrder: true})
	want := []OrderViolation{
		{Publisher: 0, Where: "consumer c on n1", Earlier: 1, Later: 2},
		{Publisher: 0, Where: "final read of n1", Earlier: 2, Later: 3},
	}
	if !slices.Equal(report.OrderViolations, want) || report.Valid() {
		t.Fatalf("violations %+v\n%s", report.OrderViolations, report)
	}
	// A timed-out publish may be stored after its successor.
	history.Publishes[1].Outcome = PublishUnknown
	history.Reads = nil
	report = mustCheckQueue(t, history, QueueOptions{})
	if !report.Valid() {
		t.Fatalf("report:\n%s", report)
	}
	// A redelivered value says nothing about order.
	history.Publishes[1].Outcome = PublishAcked
	history.FinalReads = nil
	history.Reads = []ConsumerRead{{Consumer: "a", Node: "n1", Values: []int64{1}}, {Consumer: "b", Node: "n1", Values: []int64{2, 3, 1}}}
	report = mustCheckQueue(t, history, QueueOptions{ConsumerOrder: true})
	if len(report.OrderViolations) != 0 {
		t.Fatalf("violations %+v", report.OrderViolations)
	}
}

// TestQueueMalformed proves that malformed input is an error, not a verdict.
func TestQueueMalformed(t *testing.T) {
	for _, publishes := range [][]Publish{
		{{Value: 1, Outcome: PublishAcked}, {Value: 1, Sequence: 1, Outcome: PublishAcked}},
		{{Value: 1, Outcome: PublishAcked}, {Value: 2, Outcome: PublishAcked}},
		{{Value: 1}},
	} {
		if _, err := CheckQueue(QueueHistory{Publishes: publishes}, QueueOptions{}); err == nil {
			t.Errorf("no error for %+v", publishes)
		}
	}
}

// TestQueueGeneratedValidHistories proves that the checker accepts every history a
// correct queue can produce: publishers attempt values in order with acked, unknown
// and failed outcomes; the stream holds every acked value, some unknown ones and no
// failed one, each publisher's values in order (an unknown one may land later); every
// node reads the same stream; consumers get stream values in order, with
// redeliveries, and when every delivery is recorded their order is checked too.
func TestQueueGeneratedValidHistories(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		allRecorded := rapid.Bool().Draw(t, "allRecorded")
		history, redelivered := generateValidQueueHistory(t, allRecorded)
		report, err := CheckQueue(history, QueueOptions{ConsumerOrder: allRecorded})
		if err != nil {
			t.Fatal(err)
		}
		if !report.Valid() {
			t.Fatalf("a valid history failed:\n%s", report)
		}
		strict, _ := CheckQueue(history, QueueOptions{DuplicatesFail: true, ConsumerOrder: allRecorded})
		if strict.Valid() == redelivered {
			t.Fatalf("redelivered=%v but strict verdict valid=%v:\n%s", redelivered, strict.Valid(), strict)
		}
		// Erasing one acked value from every read must be caught as one lost write.
		var acked []int64
		for _, publish := range history.Publishes {
			if publish.Outcome == PublishAcked {
				acked = append(acked, publish.Value)
			}
		}
		if len(acked) == 0 {
			return
		}
		victim := rapid.SampledFrom(acked).Draw(t, "victim")
		erase := func(values []int64) []int64 {
			return slices.DeleteFunc(slices.Clone(values), func(value int64) bool { return value == victim })
		}
		for i := range history.Reads {
			history.Reads[i].Values = erase(history.Reads[i].Values)
		}
		for i := range history.FinalReads {
			history.FinalReads[i].Values = erase(history.FinalReads[i].Values)
		}
		damaged, _ := CheckQueue(history, QueueOptions{})
		if damaged.Valid() || damaged.Lost() != 1 {
			t.Fatalf("erasing %d was not caught as one lost write:\n%s", victim, damaged)
		}
	})
}

// generateValidQueueHistory draws a history; with allRecorded, every value reaches a
// recorded consumer before any redelivery of it.
func generateValidQueueHistory(t *rapid.T, allRecorded bool) (QueueHistory, bool) {
	var history QueueHistory
	publishers := rapid.IntRange(1, 4).Draw(t, "publishers")
	pending := make([][]Publish, publishers) // per publisher, the values bound for the stream
	var late []Publish                       // unknown values that land later than their successors
	var clock int64
	for publisher := 0; publisher < publishers; publisher++ {
		count := rapid.IntRange(0, 12).Draw(t, "count")
		for sequence := 0; sequence < count; sequence++ {
			clock += int64(rapid.IntRange(1, 5).Draw(t, "delay"))
			publish := Publish{
				Value: int64(publisher*1000 + sequence), Publisher: publisher, Sequence: sequence,
				Outcome:   rapid.SampledFrom([]PublishOutcome{PublishAcked, PublishAcked, PublishUnknown, PublishFailed}).Draw(t, "outcome"),
				Completed: clock,
			}
			history.Publishes = append(history.Publishes, publish)
			switch {
			case publish.Outcome == PublishAcked:
				pending[publisher] = append(pending[publisher], publish)
			case publish.Outcome == PublishUnknown && rapid.Bool().Draw(t, "stored"):
				if rapid.Bool().Draw(t, "late") {
					late = append(late, publish)
				} else {
					pending[publisher] = append(pending[publisher], publish)
				}
			}
		}
	}
	// Interleave the publishers' streams, dropping late values in at random points.
	var stream []int64
	for {
		var ready []int
		for publisher := range pending {
			if len(pending[publisher]) > 0 {
				ready = append(ready, publisher)
			}
		}
		// A late value was attempted after its publisher's earlier values were
		// acked, so it can land only once they are in the stream.
		eligible := -1
		for i, publish := range late {
			queue := pending[publish.Publisher]
			if len(queue) == 0 || queue[0].Sequence > publish.Sequence {
				eligible = i
				break
			}
		}
		if len(ready) == 0 && len(late) == 0 {
			break
		}
		if eligible >= 0 && (len(ready) == 0 || rapid.IntRange(0, 3).Draw(t, "lateNow") == 0) {
			stream = append(stream, late[eligible].Value)
			late = slices.Delete(late, eligible, eligible+1)
			continue
		}
		publisher := rapid.SampledFrom(ready).Draw(t, "next")
		stream = append(stream, pending[publisher][0].Value)
		pending[publisher] = pending[publisher][1:]
	}
	nodes := rapid.IntRange(0, 3).Draw(t, "nodes")
	for node := 0; node < nodes; node++ {
		history.FinalReads = append(history.FinalReads, FinalRead{Node: fmt.Sprintf("n%d", node), Values: slices.Clone(stream)})
	}
	consumers := rapid.IntRange(1, 3).Draw(t, "consumers")
	reads := make([]ConsumerRead, consumers)
	for consumer := range reads {
		reads[consumer] = ConsumerRead{Consumer: fmt.Sprintf("c%d", consumer), Node: fmt.Sprintf("n%d", consumer%max(nodes, 1))}
	}
	redelivered := false
	for i, value := range stream {
		// Without final reads, consumers must receive everything.
		if nodes > 0 && !allRecorded && rapid.IntRange(0, 4).Draw(t, "skip") == 0 {
			continue
		}
		consumer := rapid.IntRange(0, consumers-1).Draw(t, "consumer")
		reads[consumer].Values = append(reads[consumer].Values, value)
		if i > 0 && rapid.IntRange(0, 5).Draw(t, "redeliver") == 0 {
			again := stream[rapid.IntRange(0, i).Draw(t, "again")]
			other := rapid.IntRange(0, consumers-1).Draw(t, "to")
			reads[other].Values = append(reads[other].Values, again)
			redelivered = true
		}
	}
	// A redelivery of a value the consumers never otherwise got is a single delivery.
	counts := map[int64]int{}
	for _, read := range reads {
		for _, value := range read.Values {
			counts[value]++
		}
	}
	redelivered = false
	for _, count := range counts {
		if count > 1 {
			redelivered = true
		}
	}
	history.Reads = reads
	return history, redelivered
}
