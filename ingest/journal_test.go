//go:build cgo

package ingest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenJournalErrors checks that OpenJournal fails clearly when there is
// no journal to read. Reading real journal files is covered by
// journal_integration_test.go.
func TestOpenJournalErrors(t *testing.T) {
	empty := t.TempDir()
	bogus := t.TempDir()
	if err := os.WriteFile(filepath.Join(bogus, "system.journal"), []byte("not a journal file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(bogus, "system.journal")
	missing := filepath.Join(empty, "nope")

	tests := []struct {
		name string
		dir  string
		is   error  // errors.Is target
		want string // substring of the message
	}{
		{"missing dir", missing, fs.ErrNotExist, missing},
		{"not a dir", file, nil, "not a directory"},
		{"empty dir", empty, ErrNoJournal, empty},
		{"bogus file", bogus, ErrNoJournal, bogus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := OpenJournal(JournalOptions{Dir: tt.dir})
			if err == nil {
				j.Close()
				t.Fatal("OpenJournal succeeded, want an error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %q", err, tt.want)
			}
		})
	}
}
