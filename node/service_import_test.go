package node

import "testing"

// TestMostSpecificServiceImport proves that a publish matching several service imports
// goes through the most specific one (literal over wildcard, more literal tokens over
// fewer), whatever order the configuration lists them in: the KV-across-accounts setup
// of nats.go imports both "fromA.>" and "fromA.$KV.Map.>", and KV traffic must take the
// second.
func TestMostSpecificServiceImport(t *testing.T) {
	broad := &serviceImport{to: "fromA.>"}
	kv := &serviceImport{to: "fromA.$KV.Map.>"}
	star := &serviceImport{to: "fromA.*.Map.x"}
	exact := &serviceImport{to: "fromA.$KV.Map.x"}
	cases := []struct {
		imports   []*serviceImport
		published string
		want      *serviceImport
	}{
		{[]*serviceImport{broad, kv}, "fromA.$KV.Map.x", kv},
		{[]*serviceImport{kv, broad}, "fromA.$KV.Map.x", kv},
		{[]*serviceImport{broad, kv}, "fromA.other", broad},
		// Equally specific imports: the first configured wins.
		{[]*serviceImport{broad, kv, star}, "fromA.$KV.Map.x", kv},
		{[]*serviceImport{broad, star, kv}, "fromA.$KV.Map.x", star},
		{[]*serviceImport{star, exact, kv, broad}, "fromA.$KV.Map.x", exact},
		{[]*serviceImport{kv}, "fromB.x", nil},
	}
	for i, c := range cases {
		if got := mostSpecificServiceImport(c.imports, c.published); got != c.want {
			gotName, wantName := "<nil>", "<nil>"
			if got != nil {
				gotName = got.to
			}
			if c.want != nil {
				wantName = c.want.to
			}
			t.Errorf("case %d: %q went through %q, want %q", i, c.published, gotName, wantName)
		}
	}
}
