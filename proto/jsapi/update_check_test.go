package jsapi

import (
	"testing"
	"time"
)

// TestStreamUpdateErrors proves each update restriction returns the reference's error.
func TestStreamUpdateErrors(t *testing.T) {
	base := StreamConfig{Name: "S", Subjects: []string{"s.>"}, DenyDelete: true, DenyPurge: true, AllowMsgTTL: true,
		AllowMsgSchedules: true, AllowRollup: false, Sealed: false}
	old, err := CheckStreamConfig(&base, StreamCheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plainConfig := StreamConfig{Name: "S", Subjects: []string{"s.>"}, DenyDelete: true, DenyPurge: true}
	plain, err := CheckStreamConfig(&plainConfig, StreamCheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sealed := old
	sealed.Sealed = true
	mirrorOld := StreamConfig{Name: "M", Mirror: &StreamSource{Name: "O"}, Storage: FileStorage, Replicas: 1}
	cases := []struct {
		name        string
		old         StreamConfig
		change      func(*StreamConfig)
		options     StreamUpdateOptions
		code        ErrorCode
		description string
	}{
		{"rename", old, func(c *StreamConfig) { c.Name = "T" }, StreamUpdateOptions{}, ErrCodeStreamInvalidConfig,
			"stream configuration name must match original"},
		{"replicas on one server", old, func(c *StreamConfig) { c.Replicas = 3 }, StreamUpdateOptions{SingleServer: true},
			ErrCodeStreamReplicasNotSupported, "replicas > 1 not supported in non-clustered mode"},
		{"storage", old, func(c *StreamConfig) { c.Storage = MemoryStorage }, StreamUpdateOptions{}, ErrCodeStreamInvalidConfig,
			"stream configuration update can not change storage type"},
		{"work queue", old, func(c *StreamConfig) { c.Retention = WorkQueuePolicy }, StreamUpdateOptions{}, ErrCodeStreamInvalidConfig,
			"stream configuration update can not change retention policy to/from workqueue"},
		{"unseal", sealed, func(c *StreamConfig) { c.Sealed = false }, StreamUpdateOptions{}, ErrCodeStreamInvalidConfig,
			"stream configuration update can not unseal a sealed stream"},
		{"deny delete", old, func(c *StreamConfig) { c.DenyDelete = false }, StreamUpdateOptions{}, ErrCodeStreamInvalidConfig,
			"stream configuration update can not cancel deny message deletes"},
		{"deny purge", plain, func(c *StreamConfig) { c.DenyPurge = false }, StreamUpdateOptions{}, ErrCodeStreamInvalidConfig,
			"stream configuration update can not cancel deny purge"},
		{"mirror", mirrorOld, func(c *StreamConfig) { c.Mirror = &StreamSource{Name: "P"} }, StreamUpdateOptions{},
			ErrCodeStreamMirrorNotUpdatable, "stream mirror configuration can not be updated"},
		{"ttl off", old, func(c *StreamConfig) { c.AllowMsgTTL = false }, StreamUpdateOptions{}, ErrCodeStreamInvalidConfig,
			"message TTL status can not be disabled"},
		{"counter", plain, func(c *StreamConfig) { c.AllowMsgCounter = true }, StreamUpdateOptions{},
			ErrCodeStreamInvalidConfig, "stream configuration update can not change message counter setting"},
		{"schedules off", old, func(c *StreamConfig) { c.AllowMsgSchedules = false }, StreamUpdateOptions{}, ErrCodeStreamInvalidConfig,
			"message schedules can not be disabled"},
		{"persist mode", old, func(c *StreamConfig) { c.PersistMode = AsyncPersistMode }, StreamUpdateOptions{},
			ErrCodeStreamInvalidConfig, "stream configuration update can not change persist mode"},
		{"invalid update", old, func(c *StreamConfig) { c.Subjects = []string{"a..b"} }, StreamUpdateOptions{},
			ErrCodeStreamInvalidConfig, "invalid subject"},
	}
	for _, c := range cases {
		update := c.old
		update.Subjects = append([]string(nil), c.old.Subjects...)
		c.change(&update)
		_, err := CheckStreamUpdate(&c.old, &update, c.options)
		if err == nil || err.ErrCode != c.code || err.Description != c.description {
			t.Errorf("%s: got %v, want %d %q", c.name, err, c.code, c.description)
		}
	}
	update := old
	update.Sealed, update.MaxAge, update.Description = true, time.Hour, "sealed now"
	updated, err := CheckStreamUpdate(&old, &update, StreamUpdateOptions{SingleServer: true})
	if err != nil || updated.MaxAge != 0 || updated.Discard != DiscardNew || !updated.DenyDelete || !updated.DenyPurge {
		t.Fatalf("sealing: %+v %v", updated, err)
	}
}

// TestConsumerUpdateErrors proves each consumer update restriction returns the
// reference's error.
func TestConsumerUpdateErrors(t *testing.T) {
	start := time.Unix(5, 0)
	old := ConsumerConfig{Durable: "D", AckPolicy: AckExplicit, AckWait: time.Second, MaxDeliver: -1, MaxWaiting: 512,
		DeliverPolicy: DeliverByStartTime, OptStartTime: &start}
	push := ConsumerConfig{Durable: "P", DeliverSubject: "d", MaxDeliver: -1}
	cases := []struct {
		name        string
		old         ConsumerConfig
		change      func(*ConsumerConfig)
		interest    bool
		code        ErrorCode
		description string
	}{
		{"deliver policy", old, func(c *ConsumerConfig) { c.DeliverPolicy = DeliverAll }, false, ErrCodeConsumerCreate, "deliver policy can not be updated"},
		{"storage", old, func(c *ConsumerConfig) { c.MemoryStorage = true }, false, ErrCodeConsumerCreate, "storage type can not be updated"},
		{"direct", old, func(c *ConsumerConfig) { c.Direct = true }, false, ErrCodeConsumerCreate, "direct can not be updated"},
		{"sourcing", old, func(c *ConsumerConfig) { c.Sourcing = true }, false, ErrCodeConsumerCreate, "sourcing can not be updated"},
		{"start seq", old, func(c *ConsumerConfig) { c.OptStartSeq = 4 }, false, ErrCodeConsumerCreate, "start sequence can not be updated"},
		{"start time", old, func(c *ConsumerConfig) { later := start.Add(time.Second); c.OptStartTime = &later }, false,
			ErrCodeConsumerCreate, "start time can not be updated"},
		{"start time removed", old, func(c *ConsumerConfig) { c.OptStartTime = nil }, false, ErrCodeConsumerCreate, "start time can not be updated"},
		{"ack policy", old, func(c *ConsumerConfig) { c.AckPolicy = AckAll }, false, ErrCodeConsumerCreate, "ack policy can not be updated"},
		{"replay", old, func(c *ConsumerConfig) { c.ReplayPolicy = ReplayOriginal }, false, ErrCodeConsumerCreate, "replay policy can not be updated"},
		{"heartbeat", push, func(c *ConsumerConfig) { c.Heartbeat = time.Second }, false, ErrCodeConsumerCreate, "heart beats can not be updated"},
		{"flow control", push, func(c *ConsumerConfig) { c.FlowControl = true }, false, ErrCodeConsumerCreate, "flow control can not be updated"},
		{"pull to push", old, func(c *ConsumerConfig) { c.DeliverSubject = "d" }, false, ErrCodeConsumerCreate,
			"can not update pull consumer to push based"},
		{"push to pull", push, func(c *ConsumerConfig) { c.DeliverSubject = "" }, false, ErrCodeConsumerCreate,
			"can not update push consumer to pull based"},
		{"deliver subject in use", push, func(c *ConsumerConfig) { c.DeliverSubject = "e" }, true, ErrCodeConsumerNameExist,
			"consumer name already in use"},
		{"max waiting", old, func(c *ConsumerConfig) { c.MaxWaiting = 10 }, false, ErrCodeConsumerCreate, "max waiting can not be updated"},
		{"backoff", old, func(c *ConsumerConfig) { c.MaxDeliver = 1; c.BackOff = []time.Duration{1, 2} }, false,
			ErrCodeConsumerMaxDeliverBackoff, "max deliver is required to be > length of backoff values"},
	}
	for _, c := range cases {
		update := c.old
		c.change(&update)
		err := CheckConsumerUpdate(&c.old, &update, func(string) bool { return c.interest })
		if err == nil || err.ErrCode != c.code || err.Description != c.description {
			t.Errorf("%s: got %v, want %d %q", c.name, err, c.code, c.description)
		}
	}
	update := old
	update.Description, update.MaxAckPending, update.AckWait = "now described", 10, time.Minute
	if err := CheckConsumerUpdate(&old, &update, nil); err != nil {
		t.Fatalf("allowed changes refused: %v", err)
	}
	moved := push
	moved.DeliverSubject = "e"
	if err := CheckConsumerUpdate(&push, &moved, func(string) bool { return false }); err != nil {
		t.Fatalf("deliver subject change without interest: %v", err)
	}
}

// TestWorkQueueConsumer proves the work queue rules and their errors.
func TestWorkQueueConsumer(t *testing.T) {
	queue := &StreamConfig{Name: "Q", Subjects: []string{"jobs.>"}, Retention: WorkQueuePolicy}
	explicit := func(filters ...string) *ConsumerConfig {
		return &ConsumerConfig{AckPolicy: AckExplicit, FilterSubjects: filters}
	}
	cases := []struct {
		name   string
		config *ConsumerConfig
		others []*ConsumerConfig
		code   ErrorCode
	}{
		{"ack none", &ConsumerConfig{AckPolicy: AckNone}, nil, ErrCodeConsumerWQRequiresExplicitAck},
		{"deliver new", &ConsumerConfig{AckPolicy: AckExplicit, DeliverPolicy: DeliverNew}, nil, ErrCodeConsumerWQConsumerNotDeliverAll},
		{"second unfiltered", explicit(), []*ConsumerConfig{explicit("jobs.a")}, ErrCodeConsumerWQMultipleUnfiltered},
		{"overlap", explicit("jobs.*"), []*ConsumerConfig{explicit("jobs.a")}, ErrCodeConsumerWQConsumerNotUnique},
		{"other unfiltered", explicit("jobs.b"), []*ConsumerConfig{explicit()}, ErrCodeConsumerWQConsumerNotUnique},
		{"disjoint", explicit("jobs.b"), []*ConsumerConfig{explicit("jobs.a")}, 0},
		{"first", explicit(), nil, 0},
		{"direct exempt", &ConsumerConfig{Direct: true}, nil, 0},
	}
	for _, c := range cases {
		err := CheckWorkQueueConsumer(queue, c.config, c.others)
		if (c.code == 0) != (err == nil) || (err != nil && err.ErrCode != c.code) {
			t.Errorf("%s: got %v, want %d", c.name, err, c.code)
		}
	}
	if CheckWorkQueueConsumer(&StreamConfig{Retention: LimitsPolicy}, &ConsumerConfig{}, nil) != nil {
		t.Error("limits stream")
	}
}
