package jetstream

import (
	"testing"
	"time"
)

// TestCronNext proves the next times of six-field expressions and named schedules,
// including the day-of-month or day-of-week rule and an impossible date.
func TestCronNext(t *testing.T) {
	base := time.Date(2026, 11, 27, 9, 15, 42, 0, time.UTC)
	cases := []struct {
		expression string
		want       time.Time
		found      bool
	}{
		{"0 30 * * * *", time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC), true},
		{"*/10 * * * * *", time.Date(2026, 11, 27, 9, 15, 50, 0, time.UTC), true},
		{"@hourly", time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), true},
		{"@daily", time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), true},
		{"0 0 12 * * 1", time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), true},
		{"0 0 0 1 1 *", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"0 0 0 30 2 *", time.Time{}, false},
	}
	for _, c := range cases {
		schedule, err := parseCron(c.expression)
		if err != nil {
			t.Fatalf("%q: %v", c.expression, err)
		}
		got, found := schedule.next(base)
		if found != c.found || !got.Equal(c.want) {
			t.Errorf("%q: next = %v, %v; want %v", c.expression, got, found, c.want)
		}
	}
	for _, bad := range []string{"", "* * * * *", "61 * * * * *", "a b c d e f", "*/0 * * * * *", "5-1 * * * * *"} {
		if _, err := parseCron(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
