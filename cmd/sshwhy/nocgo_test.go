//go:build !cgo

package main

import (
	"errors"
	"testing"

	"github.com/sshwhy/sshwhy/ingest"
)

// TestJournalNotBuiltIn checks what a build without cgo says when asked for
// the journal: an error naming the missing support, exit status 1.
func TestJournalNotBuiltIn(t *testing.T) {
	for _, args := range [][]string{{"classify", "--journal"}, {"classify", "--journal-dir", t.TempDir()}, {"index", "--data", t.TempDir(), "--journal"}} {
		_, _, err := runCmd(t, "", args...)
		if !errors.Is(err, ingest.ErrJournalUnsupported) || exitCode(err) != 1 {
			t.Errorf("%v: %v (exit %d), want ErrJournalUnsupported, exit 1", args, err, exitCode(err))
		}
	}
}
