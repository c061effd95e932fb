package check

import (
	"strings"
	"testing"
)

// decodeQueueHistory turns arbitrary bytes into a queue history: each 3-byte group
// either attempts a value (with publisher and outcome) or reads a value on a consumer
// or a node, so the fuzzer reaches every branch with small inputs.
func decodeQueueHistory(data []byte) QueueHistory {
	var history QueueHistory
	reads := map[byte]int{}
	finals := map[byte]int{}
	sequences := map[int]int{}
	for i := 0; i+2 < len(data); i += 3 {
		kind, a, b := data[i]%4, data[i+1], data[i+2]
		value := int64(b % 32)
		switch kind {
		case 0:
			publisher := int(a % 3)
			history.Publishes = append(history.Publishes, Publish{
				Value: value, Publisher: publisher, Sequence: sequences[publisher],
				Outcome: PublishOutcome(a/3%3 + 1), Completed: int64(i),
			})
			sequences[publisher]++
		case 1, 2:
			consumer := a % 3
			index, ok := reads[consumer]
			if !ok {
				index = len(history.Reads)
				reads[consumer] = index
				history.Reads = append(history.Reads, ConsumerRead{Consumer: string('a' + rune(consumer)), Node: "n"})
			}
			history.Reads[index].Values = append(history.Reads[index].Values, value)
		default:
			node := a % 3
			index, ok := finals[node]
			if !ok {
				index = len(history.FinalReads)
				finals[node] = index
				history.FinalReads = append(history.FinalReads, FinalRead{Node: string('x' + rune(node))})
			}
			history.FinalReads[index].Values = append(history.FinalReads[index].Values, value)
		}
	}
	return history
}

// FuzzCheckQueue proves that the queue checker never panics, that malformed input is
// an error rather than a verdict, and that the report's text agrees with Valid.
func FuzzCheckQueue(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 0, 2, 3, 0, 1, 3, 0, 2, 1, 0, 1})
	f.Add([]byte{0, 3, 1, 0, 6, 2, 3, 1, 2, 3, 2, 1, 1, 1, 5})
	f.Add([]byte{0, 0, 1, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		history := decodeQueueHistory(data)
		for _, options := range []QueueOptions{{}, {DuplicatesFail: true, ConsumerOrder: true}} {
			report, err := CheckQueue(history, options)
			if err != nil {
				continue
			}
			text := report.String()
			if report.Valid() != strings.HasPrefix(text, "queue check: VALID") {
				t.Fatalf("Valid()=%v but the report says:\n%s", report.Valid(), text)
			}
			if report.Lost() > report.Acked {
				t.Fatalf("lost %d of %d acked", report.Lost(), report.Acked)
			}
		}
	})
}
