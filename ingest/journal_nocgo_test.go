//go:build !cgo

package ingest

import (
	"errors"
	"strings"
	"testing"
)

// TestOpenJournalUnsupported checks that a build without cgo refuses every
// journal source with ErrJournalUnsupported, before looking at anything
// else, and that the message says what to do.
func TestOpenJournalUnsupported(t *testing.T) {
	if JournalSupported {
		t.Fatal("JournalSupported is true in a build without cgo")
	}
	for _, opt := range []JournalOptions{{}, {Dir: t.TempDir()}, {Dir: "/nonexistent"}, {Follow: true, AtEnd: true}} {
		j, err := OpenJournal(opt)
		if j != nil || !errors.Is(err, ErrJournalUnsupported) {
			t.Fatalf("OpenJournal(%+v) = %v, %v; want ErrJournalUnsupported", opt, j, err)
		}
		for _, want := range []string{"without cgo", "CGO_ENABLED=1", "libsystemd-dev"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	}
}
