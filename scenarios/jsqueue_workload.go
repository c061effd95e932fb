package scenarios

import (
	"fmt"
	"strings"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/sim"
	"github.com/natsim/natsim/sim/check"
	"github.com/natsim/natsim/sim/simfs"
)

// jsqueueWorkload owns the bookkeeping that survives crashes: the publish history, what
// the consumers received, and the final read.
type jsqueueWorkload struct {
	world    *sim.World
	options  jsqueueOptions
	timeouts jsqueueTimeouts
	server   *sim.Process

	publishers []*jsqueuePublisher
	consumers  []*jsqueueConsumer
	reader     *jsqueueReader

	publishInterval time.Duration
	ackWait         time.Duration
	// skipAckPercent is the share of deliveries a consumer leaves unacknowledged (so
	// that the server redelivers them after ackWait); nakPercent those it refuses.
	skipAckPercent int
	nakPercent     int
	fetchBatch     int

	// faults draws the scenario's own crashes and pauses, on top of the nemesis's.
	faults *sim.Stream

	// publishes are the completed attempts (outcome known or given up on).
	publishes []check.Publish
	// log is the porcupine history of the stream: appends (publishes) and the final
	// read's gets.
	log check.History
	// logAppends maps a value to its append operation in log, for the unknown
	// outcomes the check drops when no read saw them.
	logAppends map[int64]check.OperationID
	// delivered counts each value's deliveries to consumers.
	delivered map[int64]int
	// refusals counts the publishes the server refused, by error, for reports.
	refusals map[string]int
	// refusedWith is the error each refused value got.
	refusedWith map[int64]string

	// diskErrorsAtBoot is diskErrors when the server's incarnation booted.
	diskErrorsAtBoot int64
	// operatorRestarts counts the liveness phase's restarts of a server whose store
	// failed since it booted.
	operatorRestarts int
	// startFailures counts the server's failed starts; lastStartFailure is the last
	// one's error.
	startFailures    int
	lastStartFailure error

	liveness       bool
	stopPublishing bool
	// serverCrashes and serverPowerLosses count the scenario's own crashes.
	serverCrashes, serverPowerLosses int
}

func newJSQueueWorkload(w *sim.World, o jsqueueOptions) *jsqueueWorkload {
	qw := &jsqueueWorkload{
		world:           w,
		options:         o,
		timeouts:        newJSQueueTimeouts(w),
		publishInterval: time.Duration(w.Knob("jsqueue/publish-interval-ns", int64(10*time.Millisecond), int64(40*time.Millisecond))),
		ackWait:         time.Duration(w.Knob("jsqueue/ack-wait-ns", int64(500*time.Millisecond), int64(2*time.Second))),
		skipAckPercent:  int(w.Knob("jsqueue/skip-ack-percent", 0, 10)),
		nakPercent:      int(w.Knob("jsqueue/nak-percent", 0, 5)),
		fetchBatch:      int(w.Knob("jsqueue/fetch-batch", 1, 16)),
		logAppends:      map[int64]check.OperationID{},
		delivered:       map[int64]int{},
		refusals:        map[string]int{},
		refusedWith:     map[int64]string{},
	}
	config := jsqueueConfig(o)
	qw.server = w.Spawn("server", sim.ProcessOptions{Faulty: true}, func(e env.Env) any {
		qw.diskErrorsAtBoot = qw.diskErrors()
		return startJSQueueServer(w, e, config, qw.serverExited)
	})
	// The server's disk is the only copy of the stream: the atlas may give it only the
	// faults a correct disk has (torn writes, fsync errors, ENOSPC), never corruption.
	w.AddDiskGroup(qw.server)
	clientsFaulty := w.Knob("jsqueue/clients-faulty", 0, 1) == 1
	publisherCount := int(w.Knob("jsqueue/publishers", 2, 4))
	for i := 1; i <= publisherCount; i++ {
		p := &jsqueuePublisher{workload: qw, id: i, name: "publisher" + itoa(i)}
		qw.publishers = append(qw.publishers, p)
		p.process = w.Spawn(p.name, sim.ProcessOptions{Faulty: clientsFaulty}, func(e env.Env) any {
			p.boot(e)
			return p
		})
	}
	consumerCount := int(w.Knob("jsqueue/consumers", 1, 3))
	for i := 1; i <= consumerCount; i++ {
		c := &jsqueueConsumer{workload: qw, name: "consumer" + itoa(i)}
		qw.consumers = append(qw.consumers, c)
		c.process = w.Spawn(c.name, sim.ProcessOptions{Faulty: clientsFaulty}, func(e env.Env) any {
			c.boot(e)
			return c
		})
	}
	qw.reader = &jsqueueReader{workload: qw}
	qw.reader.process = w.Spawn("reader", sim.ProcessOptions{}, func(e env.Env) any {
		qw.reader.boot(e)
		return qw.reader
	})
	qw.faults = w.Rand("jsqueue/faults")
	w.At(qw.crashGap(), "jsqueue crash", qw.crashServer)
	w.At(qw.pauseGap(), "jsqueue pause", qw.pauseClient)
	return qw
}

// serverExited restarts a server that failed to start, a little later, as a
// supervisor would; the restart is scheduled from outside the failed boot.
func (qw *jsqueueWorkload) serverExited(err error) {
	qw.startFailures++
	qw.lastStartFailure = err
	w := qw.world
	w.At(0, "jsqueue server exited", func() {
		if qw.server.Instance() != nil || !qw.server.Up() {
			return
		}
		w.Crash(qw.server, false)
		w.At(100*time.Millisecond, "jsqueue supervisor restart", func() { w.Restart(qw.server) })
	})
}

// crashGap draws the time to the scenario's next server crash.
func (qw *jsqueueWorkload) crashGap() time.Duration {
	return time.Duration(qw.faults.Between(int64(700*time.Millisecond), int64(2500*time.Millisecond)))
}

// crashServer kills the server or cuts its power, whatever faults the swarm drew, and
// restarts it a little later: every run recovers the stream from disk several times,
// often with its unsynced bytes gone.
func (qw *jsqueueWorkload) crashServer() {
	if qw.liveness {
		return
	}
	w := qw.world
	if qw.server.Up() {
		powerLoss := qw.options.powerLossAlways || qw.faults.Chance(0.5)
		qw.serverCrashes++
		if powerLoss {
			qw.serverPowerLosses++
		}
		w.Crash(qw.server, powerLoss)
		w.At(time.Duration(qw.faults.Between(int64(10*time.Millisecond), int64(800*time.Millisecond))), "jsqueue restart", func() {
			if !qw.liveness {
				w.Restart(qw.server)
			}
		})
	}
	w.At(qw.crashGap(), "jsqueue crash", qw.crashServer)
}

// pauseGap draws the time to the scenario's next client pause.
func (qw *jsqueueWorkload) pauseGap() time.Duration {
	return time.Duration(qw.faults.Between(int64(300*time.Millisecond), int64(1500*time.Millisecond)))
}

// pauseClient freezes a random publisher or consumer for a while: its publishes time
// out, its deliveries wait past their ack wait and are redelivered to others.
func (qw *jsqueueWorkload) pauseClient() {
	if qw.liveness {
		return
	}
	w := qw.world
	count := len(qw.publishers) + len(qw.consumers)
	i := qw.faults.Intn(count)
	var p *sim.Process
	if i < len(qw.publishers) {
		p = qw.publishers[i].process
	} else {
		p = qw.consumers[i-len(qw.publishers)].process
	}
	if p.Up() && !p.Paused() {
		w.Pause(p)
		w.At(time.Duration(qw.faults.Between(int64(100*time.Millisecond), int64(1500*time.Millisecond))), "jsqueue resume", func() {
			w.Resume(p)
		})
	}
	w.At(qw.pauseGap(), "jsqueue pause", qw.pauseClient)
}

// StartLiveness starts counting progress; every fault is undone by now. A server
// whose disk failed an fsync or ran out of space since it booted is restarted, as an
// operator would: its file store refuses every write after such an error until it is
// reopened ("reopen to recover"), and nothing in the server reopens it.
func (qw *jsqueueWorkload) StartLiveness() {
	qw.liveness = true
	if qw.server.Up() && qw.diskErrors() > qw.diskErrorsAtBoot {
		qw.operatorRestarts++
		qw.world.Crash(qw.server, false)
		qw.world.Restart(qw.server)
	}
}

// diskErrors counts the fsync errors and ENOSPC the server's disk has returned.
func (qw *jsqueueWorkload) diskErrors() int64 {
	if qw.server == nil {
		return 0
	}
	d, ok := qw.server.Disk().(*simfs.Disk)
	if !ok {
		return 0
	}
	c := d.Counters()
	return c.SyncErrors + c.NoSpaceErrors
}

// Converged: every publisher got acks after the faults ended, then publishing stopped
// and every publish in flight settled, the reader read the whole stream, and the
// consumers have delivered every value the stream holds at least once.
func (qw *jsqueueWorkload) Converged() bool {
	return qw.waitingFor() == ""
}

// waitingFor says what the liveness phase still waits for ("" when nothing).
func (qw *jsqueueWorkload) waitingFor() string {
	if !qw.stopPublishing {
		for _, p := range qw.publishers {
			if p.livenessAcks < jsqueueLivenessAcks {
				return fmt.Sprintf("%s to get acks (%d so far)", p.name, p.livenessAcks)
			}
		}
		qw.stopPublishing = true
	}
	for _, p := range qw.publishers {
		if p.inFlight != nil {
			return p.name + " to settle its last publish"
		}
	}
	r := qw.reader
	if !r.started {
		r.start()
	}
	if !r.done {
		return "the final read"
	}
	if len(r.corrupt) > 0 {
		// The durable consumer stops at a message the store reports damaged and
		// never delivers past it (a known server limitation, reported), so delivery
		// of every value is not asked of a stream with a hole.
		return ""
	}
	for _, value := range r.values {
		if qw.delivered[value] == 0 {
			return fmt.Sprintf("a consumer to receive value %d", value)
		}
	}
	return ""
}

// Check runs the queue checker and the log model over what the run recorded.
func (qw *jsqueueWorkload) Check() error {
	history := qw.queueHistory()
	report, err := check.CheckQueue(history, check.QueueOptions{})
	if err != nil {
		return jsqueueErrorf("malformed history: %v", err)
	}
	if !report.Valid() {
		description := describeQueueReport(report)
		for _, value := range firstValues(report.FailedButRead) {
			description += fmt.Sprintf("; %d was refused with %q", value, qw.refusedWith[value])
		}
		return jsqueueErrorf("%s", description)
	}
	for _, duplicate := range report.Duplicates {
		if strings.HasPrefix(duplicate.Where, "final read") {
			return jsqueueErrorf("value %d is stored %d times in the stream, though it was published once", duplicate.Value, duplicate.Count)
		}
	}
	if report.Acked == 0 {
		return jsqueueErrorf("no publish was acknowledged: the run checked nothing")
	}
	if len(qw.reader.corrupt) > 0 {
		// A damaged message is a hole the append-log model has no word for: the
		// reads around it would contradict the sequences, so the model is skipped.
		// What the hole held was not acknowledged, or CheckQueue reported it lost.
		return nil
	}
	if err := qw.checkLog(); err != nil {
		return err
	}
	return nil
}

// queueHistory assembles the checker's input: every attempt, every consumer's
// deliveries, and the final read.
func (qw *jsqueueWorkload) queueHistory() check.QueueHistory {
	history := check.QueueHistory{Publishes: qw.publishes}
	for _, c := range qw.consumers {
		history.Reads = append(history.Reads, check.ConsumerRead{Consumer: c.name, Node: "server", Values: c.values})
	}
	history.FinalReads = []check.FinalRead{{Node: "server", Values: qw.reader.values}}
	return history
}

// checkLog checks the appends' PubAck sequences and the final read against an append
// log with porcupine. An append whose outcome is unknown and that no read saw is left
// out: the final read covers the whole stream, so it either never happened or happened
// after every read. One whose value the final read found at sequence s is given s as
// its output: nothing ever removes a message from the stream, so where it is now is
// what it was assigned. Left open, such appends could go anywhere until the reads at
// the very end, and the search explodes; pinned, porcupine still checks that their
// place agrees with every acknowledged sequence and with real-time order.
func (qw *jsqueueWorkload) checkLog() error {
	readAt := map[int64]uint64{}
	for sequence, value := range qw.reader.results {
		readAt[value] = sequence
	}
	dropped := map[check.OperationID]bool{}
	pinned := map[check.OperationID]uint64{}
	for _, publish := range qw.publishes {
		if publish.Outcome == check.PublishAcked {
			continue
		}
		operation := qw.logAppends[publish.Value]
		if sequence, read := readAt[publish.Value]; read {
			pinned[operation] = sequence
		} else {
			dropped[operation] = true
		}
	}
	all := qw.log.Operations()
	operations := all[:0]
	for i, operation := range all {
		id := check.OperationID(i)
		if dropped[id] {
			continue
		}
		if sequence, ok := pinned[id]; ok {
			operation.Output = check.LogOutput{Sequence: sequence}
		}
		operations = append(operations, operation)
	}
	var visualization strings.Builder
	result, err := check.CheckLinearizable(check.LogModel(), operations, check.LinearizabilityOptions{Timeout: 20 * time.Second, Visualization: &visualization})
	if err != nil {
		return jsqueueErrorf("%v", err)
	}
	if !result.OK() {
		if result.Visualized {
			qw.world.AddArtifact(fmt.Sprintf("jsqueue-seed-%d-log.html", qw.world.Seed()), []byte(visualization.String()))
		}
		return jsqueueErrorf("the stream as an append log: %s", result)
	}
	return nil
}

// describeQueueReport says what CheckQueue found, with a few values of each kind.
func describeQueueReport(r *check.QueueReport) string {
	var parts []string
	add := func(label string, values []int64) {
		if len(values) > 0 {
			parts = append(parts, fmt.Sprintf("%d %s %v", len(values), label, firstValues(values)))
		}
	}
	add("acked values lost (prefix)", r.LostPrefix)
	add("acked values lost (middle)", r.LostMiddle)
	add("acked values lost (postfix)", r.LostPostfix)
	add("values read though their publish failed", r.FailedButRead)
	add("unexpected values read", r.Unexpected)
	for i, v := range r.OrderViolations {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("... %d order violations in all", len(r.OrderViolations)))
			break
		}
		parts = append(parts, fmt.Sprintf("publisher %d's acked value %d comes after its later value %d in the %s", v.Publisher, v.Earlier, v.Later, v.Where))
	}
	for _, d := range r.Divergences {
		parts = append(parts, fmt.Sprintf("%s diverges from %s at %d", d.Node, d.Reference, d.FirstDifference))
	}
	return fmt.Sprintf("%s (attempted %d: acked %d, unknown %d, failed %d; read %d)",
		strings.Join(parts, "; "), r.Attempted, r.Acked, r.Unknown, r.Failed, r.Read)
}

// firstValues returns at most eight values, for messages.
func firstValues(values []int64) []int64 { return values[:min(len(values), 8)] }
