package jetstream

import "testing"

// TestTransformSubject proves the destination forms a stream transform accepts map
// the matched tokens, and subjects outside the source are refused.
func TestTransformSubject(t *testing.T) {
	cases := []struct {
		source, destination, subject, want string
		fails                              bool
	}{
		{">", "", "a.b", "a.b", false},
		{">", "copy.>", "a.b", "copy.a.b", false},
		{"orders.*.*", "o.{{wildcard(2)}}.{{wildcard(1)}}", "orders.eu.42", "o.42.eu", false},
		{"orders.*.*", "o.$2.$1", "orders.eu.42", "o.42.eu", false},
		{"orders.*", "o.*", "orders.eu", "o.eu", false},
		{"orders.*", "o.*", "other.eu", "", true},
		{"orders.*", "o.{{wildcard(3)}}", "orders.eu", "", true},
		{"a.>", "b.>", "a", "", true},
	}
	for _, c := range cases {
		got, err := transformSubject(c.source, c.destination, c.subject)
		if (err != nil) != c.fails || got != c.want {
			t.Errorf("transformSubject(%q, %q, %q) = %q, %v", c.source, c.destination, c.subject, got, err)
		}
	}
}

// TestParseMessageTTL proves the Nats-TTL forms: never, Go durations, whole seconds,
// and the one-second minimum.
func TestParseMessageTTL(t *testing.T) {
	cases := []struct {
		value string
		want  int64
		fails bool
	}{
		{"never", -1, false},
		{"5s", 5e9, false},
		{"2", 2e9, false},
		{"500ms", 0, true},
		{"0", 0, true},
		{"soon", 0, true},
	}
	for _, c := range cases {
		got, err := parseMessageTTL(c.value)
		if (err != nil) != c.fails || got != c.want {
			t.Errorf("parseMessageTTL(%q) = %d, %v", c.value, got, err)
		}
	}
}
