package main

import (
	"strings"
	"testing"
)

// TestUsageErrors checks that cobra's own command-line errors exit with
// status 2 and name the problem, and that a command that groups others
// shows its help when called alone.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string // in the error, or in stdout when code is 0
	}{
		{[]string{"classify", "--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"bogus"}, 2, `unknown command "bogus" for "sshwhy"`},
		{[]string{"clasify"}, 2, "did you mean classify?"},
		{[]string{"rules", "lst"}, 2, `unknown command "lst" for "sshwhy rules" (did you mean list or test?)`},
		{[]string{"version", "x"}, 2, `unknown command "x" for "sshwhy version"`},
		{[]string{"search", "--limit", "x"}, 2, `invalid argument "x" for "--limit"`},
		{[]string{"rules", "test"}, 2, "accepts 1 arg(s), received 0"},
		{[]string{}, 0, "Exit status"},
		{[]string{"rules"}, 0, "sshwhy rules [command]"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, _, err := runCmd(t, "", tt.args...)
			code := 0
			if err != nil {
				code = exitCode(err)
			}
			if code != tt.code {
				t.Fatalf("exit status %d (%v), want %d", code, err, tt.code)
			}
			got := out
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want it to contain %q", got, tt.want)
			}
		})
	}
}
