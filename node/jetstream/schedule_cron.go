package jetstream

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// errSchedulePattern: a Nats-Schedule value that is not @at, @every, a predefined
// name or a six-field cron expression.
var errSchedulePattern = errors.New("invalid schedule pattern")

// cronSearchYearsMax bounds the search for a cron expression's next time, so an
// expression that never matches (February 30th) ends.
const cronSearchYearsMax = 5

// cronPredefined are the reference's named schedules.
var cronPredefined = map[string]string{
	"@yearly":   "0 0 0 1 1 *",
	"@annually": "0 0 0 1 1 *",
	"@monthly":  "0 0 0 1 * *",
	"@weekly":   "0 0 0 * * 0",
	"@daily":    "0 0 0 * * *",
	"@midnight": "0 0 0 * * *",
	"@hourly":   "0 0 * * * *",
}

// cronSchedule is a parsed six-field cron expression: second, minute, hour, day of
// month, month, day of week; each field is the set of values that match.
type cronSchedule struct {
	seconds, minutes, hours, days, months, weekdays [64]bool
	// anyDay and anyWeekday record "*" in those fields, for the usual rule that a
	// restricted day of month or day of week matches when either does.
	anyDay, anyWeekday bool
}

// parseCron parses a six-field cron expression or a predefined name.
func parseCron(expression string) (*cronSchedule, error) {
	if named, ok := cronPredefined[expression]; ok {
		expression = named
	}
	fields := strings.Fields(expression)
	if len(fields) != 6 {
		return nil, errSchedulePattern
	}
	schedule := &cronSchedule{anyDay: fields[3] == "*" || fields[3] == "?", anyWeekday: fields[5] == "*" || fields[5] == "?"}
	ranges := []struct {
		set      *[64]bool
		low, top int
	}{
		{&schedule.seconds, 0, 59}, {&schedule.minutes, 0, 59}, {&schedule.hours, 0, 23},
		{&schedule.days, 1, 31}, {&schedule.months, 1, 12}, {&schedule.weekdays, 0, 7},
	}
	for i, field := range fields {
		if err := parseCronField(field, ranges[i].set, ranges[i].low, ranges[i].top); err != nil {
			return nil, err
		}
	}
	if schedule.weekdays[7] {
		schedule.weekdays[0] = true
	}
	return schedule, nil
}

// parseCronField reads one comma-separated field of "*", "?", "n", "a-b", with an
// optional "/step".
func parseCronField(field string, set *[64]bool, low, top int) error {
	for _, part := range strings.Split(field, ",") {
		rangePart, stepPart, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepPart)
			if err != nil || n <= 0 {
				return errSchedulePattern
			}
			step = n
		}
		first, last := low, top
		switch {
		case rangePart == "*" || rangePart == "?":
		case strings.Contains(rangePart, "-"):
			a, b, _ := strings.Cut(rangePart, "-")
			x, errA := strconv.Atoi(a)
			y, errB := strconv.Atoi(b)
			if errA != nil || errB != nil {
				return errSchedulePattern
			}
			first, last = x, y
		default:
			n, err := strconv.Atoi(rangePart)
			if err != nil {
				return errSchedulePattern
			}
			first = n
			if !hasStep {
				last = n
			}
		}
		if first < low || last > top || first > last {
			return errSchedulePattern
		}
		for v := first; v <= last; v += step {
			set[v] = true
		}
	}
	return nil
}

// dayMatches applies the day-of-month and day-of-week fields.
func (c *cronSchedule) dayMatches(t time.Time) bool {
	day, weekday := c.days[t.Day()], c.weekdays[int(t.Weekday())]
	switch {
	case c.anyDay && c.anyWeekday:
		return true
	case c.anyDay:
		return weekday
	case c.anyWeekday:
		return day
	default:
		return day || weekday
	}
}

// next returns the first time after after that matches, in after's location, or
// false when none does within cronSearchYearsMax.
func (c *cronSchedule) next(after time.Time) (time.Time, bool) {
	t := after.Truncate(time.Second).Add(time.Second)
	limit := t.AddDate(cronSearchYearsMax, 0, 0)
	location := t.Location()
	for t.Before(limit) {
		switch {
		case !c.months[int(t.Month())]:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, location)
		case !c.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, location)
		case !c.hours[t.Hour()]:
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, location)
		case !c.minutes[t.Minute()]:
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute()+1, 0, 0, location)
		case !c.seconds[t.Second()]:
			t = t.Add(time.Second)
		default:
			return t, true
		}
	}
	return time.Time{}, false
}
