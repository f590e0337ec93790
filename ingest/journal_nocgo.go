//go:build !cgo

package ingest

import "fmt"

// JournalSupported tells whether this build reads the journal: false
// without cgo, where OpenJournal fails with ErrJournalUnsupported.
const JournalSupported = false

// run reports that this build cannot read the journal.
func (j *Journal) run(opened chan<- error) {
	defer close(j.exit)
	opened <- fmt.Errorf("ingest: %w", ErrJournalUnsupported)
}
