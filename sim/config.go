package sim

import (
	"fmt"
	"strings"
	"time"
)

// LatencyKind names a latency distribution.
type LatencyKind uint8

// The latency distributions a run may draw.
const (
	// LatencyUniform: every delivery takes Min..Max.
	LatencyUniform LatencyKind = iota
	// LatencyLongTail: mostly Min..Max, but a TailProbability share takes Max..TailMax.
	LatencyLongTail
)

// LatencyModel is the network's one-way delay distribution for a run.
type LatencyModel struct {
	Kind            LatencyKind
	Min, Max        time.Duration
	TailProbability float64
	TailMax         time.Duration
}

func (m LatencyModel) draw(s *Stream) int64 {
	if m.Kind == LatencyLongTail && s.Chance(m.TailProbability) {
		return s.Between(int64(m.Max), int64(m.TailMax))
	}
	return s.Between(int64(m.Min), int64(m.Max))
}

func (m LatencyModel) String() string {
	if m.Kind == LatencyLongTail {
		return fmt.Sprintf("long-tail %v..%v (%.0f%% up to %v)", m.Min, m.Max, m.TailProbability*100, m.TailMax)
	}
	return fmt.Sprintf("uniform %v..%v", m.Min, m.Max)
}

// FaultKind names one kind of fault the nemesis injects.
type FaultKind uint8

// The faults of the nemesis. Each run enables a random subset (swarm testing) with
// random weights.
const (
	FaultCrash FaultKind = iota
	FaultPause
	FaultPartitionSymmetric
	FaultPartitionAsymmetric
	FaultIsolateOne
	FaultMajorityMinority
	FaultSwizzleClog
	FaultClogLink
	FaultResetConnection
	faultKinds
)

var faultNames = [faultKinds]string{
	FaultCrash:               "crash",
	FaultPause:               "pause",
	FaultPartitionSymmetric:  "partition",
	FaultPartitionAsymmetric: "partition-one-way",
	FaultIsolateOne:          "isolate-one",
	FaultMajorityMinority:    "majority-minority",
	FaultSwizzleClog:         "swizzle-clog",
	FaultClogLink:            "clog-link",
	FaultResetConnection:     "reset-connection",
}

// String returns the fault's name.
func (k FaultKind) String() string {
	if k < faultKinds {
		return faultNames[k]
	}
	return "unknown"
}

// Config is everything a run draws from its seed before it starts: the swarm
// configuration. Scenarios may adjust it (Scenario.Configure) before the world is
// built.
type Config struct {
	Seed uint64
	// Servers is how many faulty processes the scenario spawns.
	Servers int

	Latency               LatencyModel
	ChunkSplitProbability float64 // a flush is split into pieces
	// LossProbability is the chance a piece is lost once and retransmitted: it then
	// arrives LossDelayMax later at most (streams never lose bytes, they stall).
	LossProbability   float64
	LossDelayMax      time.Duration
	RetransmitTimeout time.Duration
	DialTimeout       time.Duration
	// WindowBytes bounds the bytes a connection has in flight (sent, not yet read by
	// the peer); the rest waits in the sender's queue and counts in Conn.Pending. Zero
	// means 1 MiB.
	WindowBytes int

	ClockOffsetMax time.Duration
	ClockDriftMax  float64 // a fraction: 0.01 lets clocks run 1% fast or slow

	// FaultMeanInterval is the mean time between two faults of the nemesis; 0 turns
	// the nemesis off.
	FaultMeanInterval time.Duration
	// FaultWeights says how often each kind is chosen; 0 disables a kind.
	FaultWeights         [faultKinds]float64
	PowerLossProbability float64
	DownMax              time.Duration // how long a crashed process stays down
	PauseMax             time.Duration
	PartitionMax         time.Duration
	ClogMax              time.Duration

	// DiskFaults lets the disk atlas turn corrupting faults on for a minority of each
	// disk group's disks (see World.AddDiskGroup), legal ones (torn writes, fsync
	// errors, ENOSPC) on every disk.
	DiskFaults bool
	// DiskSafetyOnly lifts the atlas's minority limit: any disk may be faulty. Data may
	// then be lost, but the scenario must never lie about it.
	DiskSafetyOnly bool
	// DiskFaultIntensity scales how often an enabled disk misbehaves, 0..1.
	DiskFaultIntensity float64

	// Safety is how long faults are injected; LivenessBound is how long the scenario
	// then has, with faults off, to converge.
	Safety        time.Duration
	LivenessBound time.Duration
	// EventsMax bounds the run; running out is a violation.
	EventsMax uint64
}

// DrawConfig draws a run's configuration from its seed with servers in [serversMin,
// serversMax]. It uses only the "config" stream.
func DrawConfig(seed uint64, serversMin, serversMax int) Config {
	s := NewStream(seed, "config")
	c := Config{Seed: seed}
	if serversMax < serversMin {
		serversMax = serversMin
	}
	c.Servers = int(s.Between(int64(serversMin), int64(serversMax)))

	c.Latency.Min = time.Duration(s.Between(int64(50*time.Microsecond), int64(time.Millisecond)))
	c.Latency.Max = c.Latency.Min + time.Duration(s.Between(0, int64(20*time.Millisecond)))
	if s.Chance(0.5) {
		c.Latency.Kind = LatencyLongTail
		c.Latency.TailProbability = 0.001 + s.Float64()*0.05
		c.Latency.TailMax = c.Latency.Max + time.Duration(s.Between(int64(10*time.Millisecond), int64(500*time.Millisecond)))
	}
	c.ChunkSplitProbability = s.Float64() * 0.5
	c.RetransmitTimeout = time.Duration(s.Between(int64(time.Second), int64(8*time.Second)))
	c.DialTimeout = time.Duration(s.Between(int64(500*time.Millisecond), int64(3*time.Second)))

	if s.Chance(0.7) {
		c.ClockOffsetMax = time.Duration(s.Between(0, int64(10*time.Second)))
		c.ClockDriftMax = s.Float64() * 0.02
	}

	c.FaultMeanInterval = time.Duration(s.Between(int64(100*time.Millisecond), int64(2*time.Second)))
	enabled := 0
	for k := range c.FaultWeights {
		if s.Chance(0.6) {
			c.FaultWeights[k] = 0.1 + s.Float64()
			enabled++
		}
	}
	if enabled == 0 {
		c.FaultWeights[s.Intn(int(faultKinds))] = 1
	}
	c.PowerLossProbability = s.Float64()
	c.DownMax = time.Duration(s.Between(int64(10*time.Millisecond), int64(5*time.Second)))
	c.PauseMax = time.Duration(s.Between(int64(10*time.Millisecond), int64(3*time.Second)))
	c.PartitionMax = time.Duration(s.Between(int64(100*time.Millisecond), int64(5*time.Second)))
	c.ClogMax = time.Duration(s.Between(int64(10*time.Millisecond), int64(2*time.Second)))

	c.DiskFaults = s.Chance(0.5)
	c.DiskFaultIntensity = s.Float64()

	// Draws added later go last, so that older fields keep their values per seed.
	if s.Chance(0.5) {
		c.LossProbability = s.Float64() * 0.05
		c.LossDelayMax = time.Duration(s.Between(int64(10*time.Millisecond), int64(time.Second)))
	}

	c.WindowBytes = int(s.Between(16<<10, 4<<20))

	c.Safety = 20 * time.Second
	c.LivenessBound = 30 * time.Second
	c.EventsMax = 20_000_000
	return c
}

// String lists the configuration on one line per group, for -v.
func (c Config) String() string {
	var faults []string
	for k, weight := range c.FaultWeights {
		if weight > 0 {
			faults = append(faults, fmt.Sprintf("%s=%.2f", FaultKind(k), weight))
		}
	}
	return fmt.Sprintf("seed=%d servers=%d latency=%v split=%.2f loss=%.3f (delay<=%v) rto=%v dial-timeout=%v window=%d\n"+
		"clock offset<=%v drift<=%.4f\n"+
		"faults every ~%v: %s; power-loss=%.2f down<=%v pause<=%v partition<=%v clog<=%v\n"+
		"disk faults=%v safety-only=%v intensity=%.2f safety=%v liveness-bound=%v",
		c.Seed, c.Servers, c.Latency, c.ChunkSplitProbability, c.LossProbability, c.LossDelayMax, c.RetransmitTimeout, c.DialTimeout, c.WindowBytes,
		c.ClockOffsetMax, c.ClockDriftMax,
		c.FaultMeanInterval, strings.Join(faults, " "), c.PowerLossProbability, c.DownMax, c.PauseMax, c.PartitionMax, c.ClogMax,
		c.DiskFaults, c.DiskSafetyOnly, c.DiskFaultIntensity, c.Safety, c.LivenessBound)
}
