package jetstream

import (
	"sort"
	"strings"
	"time"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
)

// Message schedules (allow_msg_schedules): a message with a Nats-Schedule header is
// a schedule; when it comes due the stream stores a message on the schedule's target
// subject (its own payload, or the last message of Nats-Schedule-Source), with
// Nats-Scheduler and Nats-Schedule-Next headers. "@at" schedules fire once and are
// removed; "@every" and cron schedules repeat. The newest message on a schedule's
// subject is the schedule: a later message without the header ends it.

// schedulesMax bounds the schedules one stream keeps.
const schedulesMax = 1 << 16

// scheduleNextPurge is Nats-Schedule-Next on the message of a one-shot schedule.
const scheduleNextPurge = "purge"

// messageSchedule is one parsed schedule.
type messageSchedule struct {
	subject  string
	seq      uint64
	target   string
	source   string
	ttl      string
	rollup   bool
	at       bool
	every    time.Duration
	cron     *cronSchedule
	location *time.Location
	next     time.Time
	data     []byte
}

// parseSchedule reads a schedule message's headers, with the reference's errors.
func (s *Stream) parseScheduleLocked(subj string, hdr []byte, now time.Time) (*messageSchedule, *jsapi.Error) {
	pattern, ok := header.Get(hdr, jsapi.HeaderSchedule)
	if !ok {
		return nil, nil
	}
	config := &s.config
	if !config.AllowMsgSchedules {
		return nil, jsapi.NewMessageSchedulesDisabledError()
	}
	schedule := &messageSchedule{subject: subj, location: time.UTC}
	if zone, ok := header.Get(hdr, jsapi.HeaderScheduleTimeZone); ok && len(zone) > 0 {
		location, err := time.LoadLocation(string(zone))
		if err != nil {
			return nil, jsapi.NewMessageSchedulesTimeZoneInvalidError()
		}
		schedule.location = location
	}
	value := strings.TrimSpace(string(pattern))
	switch {
	case strings.HasPrefix(value, "@at "):
		at, err := time.Parse(time.RFC3339, strings.TrimSpace(value[len("@at "):]))
		if err != nil {
			return nil, jsapi.NewMessageSchedulesPatternInvalidError()
		}
		schedule.at, schedule.next = true, at
	case strings.HasPrefix(value, "@every "):
		every, err := time.ParseDuration(strings.TrimSpace(value[len("@every "):]))
		if err != nil || every < time.Second {
			return nil, jsapi.NewMessageSchedulesPatternInvalidError()
		}
		schedule.every, schedule.next = every, now.Add(every)
	default:
		cron, err := parseCron(value)
		if err != nil {
			return nil, jsapi.NewMessageSchedulesPatternInvalidError()
		}
		next, found := cron.next(now.In(schedule.location))
		if !found {
			return nil, jsapi.NewMessageSchedulesPatternInvalidError()
		}
		schedule.cron, schedule.next = cron, next
	}
	target, _ := header.Get(hdr, jsapi.HeaderScheduleTarget)
	schedule.target = string(target)
	if schedule.target == "" || !subject.IsValidLiteralSubject(schedule.target) || schedule.target == subj ||
		!listensOn(config.Subjects, schedule.target) {
		return nil, jsapi.NewMessageSchedulesTargetInvalidError()
	}
	if source, ok := header.Get(hdr, jsapi.HeaderScheduleSource); ok {
		schedule.source = string(source)
		if !subject.IsValidLiteralSubject(schedule.source) || schedule.source == subj || schedule.source == schedule.target {
			return nil, jsapi.NewMessageSchedulesSourceInvalidError()
		}
	}
	if ttl, ok := header.Get(hdr, jsapi.HeaderScheduleTTL); ok {
		if _, err := parseMessageTTL(string(ttl)); err != nil {
			return nil, jsapi.NewMessageSchedulesTTLInvalidError()
		}
		if !config.AllowMsgTTL {
			return nil, jsapi.NewMessageTTLDisabledError()
		}
		schedule.ttl = string(ttl)
	}
	if rollup, ok := header.Get(hdr, jsapi.HeaderScheduleRollup); ok {
		if string(rollup) != jsapi.RollupSubject {
			return nil, jsapi.NewMessageSchedulesRollupInvalidError()
		}
		schedule.rollup = true
	}
	return schedule, nil
}

// scheduleStoredLocked records the schedule a stored message starts or ends.
func (s *Stream) scheduleStoredLocked(subj string, seq uint64, schedule *messageSchedule, data []byte) {
	if !s.config.AllowMsgSchedules {
		return
	}
	if schedule == nil {
		delete(s.schedules, subj)
		return
	}
	if s.schedules == nil {
		s.schedules = make(map[string]*messageSchedule)
	}
	if _, exists := s.schedules[subj]; !exists && len(s.schedules) >= schedulesMax {
		return
	}
	schedule.seq = seq
	schedule.data = append([]byte(nil), data...)
	s.schedules[subj] = schedule
	s.armSchedulesLocked()
}

// armSchedulesLocked sets the timer for the earliest due schedule.
func (s *Stream) armSchedulesLocked() {
	if s.stopped || len(s.schedules) == 0 {
		return
	}
	var earliest time.Time
	for _, schedule := range s.schedules {
		if earliest.IsZero() || schedule.next.Before(earliest) {
			earliest = schedule.next
		}
	}
	if s.scheduleTimer != nil && !s.scheduleAt.IsZero() && !earliest.Before(s.scheduleAt) {
		return
	}
	if s.scheduleTimer != nil {
		s.scheduleTimer.Stop()
	}
	clock := s.manager.config.Env.Clock
	delay := max(earliest.Sub(clock.Now()), time.Millisecond)
	s.scheduleAt = earliest
	s.scheduleTimer = clock.AfterFunc(delay, s.fireSchedules)
}

// fireSchedules stores the messages of every due schedule.
func (s *Stream) fireSchedules() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.scheduleTimer, s.scheduleAt = nil, time.Time{}
	now := s.manager.config.Env.Clock.Now()
	subjects := make([]string, 0, len(s.schedules))
	for subj, schedule := range s.schedules {
		if !schedule.next.After(now) {
			subjects = append(subjects, subj)
		}
	}
	sort.Strings(subjects)
	for _, subj := range subjects {
		s.fireScheduleLocked(s.schedules[subj], now)
	}
	s.armSchedulesLocked()
	s.mu.Unlock()
	s.drain()
}

// fireScheduleLocked stores one due schedule's message and computes its next time.
func (s *Stream) fireScheduleLocked(schedule *messageSchedule, now time.Time) {
	if current, err := s.store.LoadMsg(schedule.seq, nil); err != nil || current.Subject != schedule.subject {
		delete(s.schedules, schedule.subject)
		return
	}
	next, more := s.nextFire(schedule, now)
	data, hdr := schedule.data, []byte(nil)
	if schedule.source != "" {
		message, err := s.store.LoadLastMsg(schedule.source, nil)
		if err != nil {
			s.reschedule(schedule, next, more)
			return
		}
		data, hdr = message.Msg, message.Hdr
	}
	if len(hdr) == 0 {
		hdr = header.Build(0, "")
	}
	nextValue := scheduleNextPurge
	if more {
		nextValue = next.UTC().Format(time.RFC3339)
	}
	fields := [][2]string{{jsapi.HeaderScheduler, schedule.subject}, {jsapi.HeaderScheduleNext, nextValue}}
	entry := publishEntry{subject: schedule.target, data: data, timestamp: now.UnixNano()}
	if schedule.ttl != "" {
		fields = append(fields, [2]string{jsapi.HeaderTTL, schedule.ttl})
		entry.ttl, _ = parseMessageTTL(schedule.ttl)
	}
	if schedule.rollup {
		fields = append(fields, [2]string{jsapi.HeaderRollup, jsapi.RollupSubject})
		entry.rollup = jsapi.RollupSubject
	}
	for _, field := range fields {
		if updated, err := header.Set(hdr, field[0], field[1]); err == nil {
			hdr = updated
		}
	}
	entry.header = hdr
	done := s.applyLocked(&entry)
	if done.failure != nil {
		s.manager.logger.Warnf("JetStream stream %s schedule %q: %s", s.describe(), schedule.subject, done.failure.Description)
	} else {
		s.waitDurableLocked(done)
	}
	if !more {
		_, _ = s.store.RemoveMsg(schedule.seq)
	}
	s.reschedule(schedule, next, more)
}

// nextFire is a schedule's time after now, or false for a one-shot schedule.
func (s *Stream) nextFire(schedule *messageSchedule, now time.Time) (time.Time, bool) {
	switch {
	case schedule.at:
		return time.Time{}, false
	case schedule.every > 0:
		next := schedule.next.Add(schedule.every)
		if !next.After(now) {
			next = now.Add(schedule.every)
		}
		return next, true
	default:
		return schedule.cron.next(now.In(schedule.location))
	}
}

func (s *Stream) reschedule(schedule *messageSchedule, next time.Time, more bool) {
	if !more {
		delete(s.schedules, schedule.subject)
		return
	}
	schedule.next = next
}

// recoverSchedulesLocked rebuilds the schedules from the last message of every
// subject at open.
func (s *Stream) recoverSchedulesLocked() {
	if !s.config.AllowMsgSchedules {
		return
	}
	sequences, err := s.store.MultiLastSeqs([]string{">"}, 0, schedulesMax)
	if err != nil {
		return
	}
	now := s.manager.config.Env.Clock.Now()
	for _, seq := range sequences {
		message, err := s.store.LoadMsg(seq, nil)
		if err != nil || len(message.Hdr) == 0 {
			continue
		}
		schedule, apiErr := s.parseScheduleLocked(message.Subject, message.Hdr, now)
		if schedule == nil || apiErr != nil {
			continue
		}
		s.scheduleStoredLocked(message.Subject, seq, schedule, message.Msg)
	}
}

// stopSchedulesLocked stops the schedule timer.
func (s *Stream) stopSchedulesLocked() {
	if s.scheduleTimer != nil {
		s.scheduleTimer.Stop()
		s.scheduleTimer = nil
	}
}
