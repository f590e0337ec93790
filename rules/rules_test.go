package rules

import "testing"

// Every example in the embedded rules must be matched by its own rule:
// the rule files document themselves and this keeps them honest.
func TestEmbeddedExamples(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range s.Rules {
		for _, ex := range r.Examples {
			var m Match
			prog := r.Programs[0]
			if !s.Match(prog, ex, &m) {
				t.Errorf("%s: example %q matches no rule", r.ID, ex)
				continue
			}
			if m.Rule != r {
				t.Errorf("%s: example %q is matched by %s first", r.ID, ex, m.Rule.ID)
			}
			n++
		}
	}
	if n < 100 {
		t.Errorf("only %d examples checked", n)
	}
}
