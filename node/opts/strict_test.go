package opts

import "testing"

// TestJetStreamStrictDefault checks that the JetStream API is strict unless the file
// turns it off, as the reference's jetstream { strict } defaults to true.
func TestJetStreamStrictDefault(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"jetstream {}", true},
		{"jetstream { strict: true }", true},
		{"jetstream { strict: false }", false},
		{"port: 4222", true},
	}
	for _, test := range tests {
		o := mustProcess(t, test.text)
		o.SetDefaults()
		if o.JetStreamStrict != test.want {
			t.Errorf("%q: JetStreamStrict = %v, want %v", test.text, o.JetStreamStrict, test.want)
		}
	}
}
