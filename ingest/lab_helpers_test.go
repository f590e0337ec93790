package ingest_test

import (
	"testing"

	"github.com/sshwhy/sshwhy/internal/lab"
)

// Helpers of the lab tests (integration_test.go, and journal_integration_test.go
// in builds with cgo).

// mustLog writes messages to the lab's syslog socket as tag (authpriv.info)
// and returns the writer's pid.
func mustLog(t *testing.T, tag string, messages ...string) int {
	t.Helper()
	pid, err := lab.Log(tag, "authpriv.info", messages...)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
