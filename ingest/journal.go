package ingest

import (
	"errors"
	"io"
	"sync"
	"time"
)

// DefaultIdentifiers are the SYSLOG_IDENTIFIER values OpenJournal reads when
// JournalOptions.Identifiers is nil: the OpenSSH server and its helpers.
var DefaultIdentifiers = []string{"sshd", "sshd-session", "sshd-auth"}

// ErrNoJournal is returned (wrapped) by OpenJournal when there are no
// journal files it can read.
var ErrNoJournal = errors.New("no readable journal files")

// ErrJournalUnsupported is returned (wrapped) by OpenJournal in a build
// without cgo (CGO_ENABLED=0), which has no libsystemd binding: see
// JournalSupported. journalctl's export and JSON streams are read as files
// in every build (`journalctl -u ssh -o export | sshwhy classify -`).
var ErrJournalUnsupported = errors.New("journald support is not built in (this sshwhy was built without cgo; build it with CGO_ENABLED=1 and libsystemd-dev installed)")

// JournalOptions configures OpenJournal. The zero value reads the sshd
// entries of the local journal from the oldest one and stops at the end.
type JournalOptions struct {
	// Identifiers selects entries by SYSLOG_IDENTIFIER (any of them).
	// Nil means DefaultIdentifiers; an empty non-nil slice reads all entries.
	Identifiers []string
	// Dir, when set, reads the journal files in this directory (and its
	// machine-id subdirectories), e.g. /var/log/journal of another machine,
	// instead of the local system journal.
	Dir string
	// Cursor, when set, resumes after the entry with this cursor (as found in
	// Line.Cursor). Otherwise reading starts at the oldest entry.
	Cursor string
	// Follow makes Next wait for new entries at the end of the journal
	// instead of returning io.EOF. Close interrupts the wait.
	Follow bool
	// Loc is the time zone of Line.Time and of the timestamp in Line.Raw.
	// Nil means time.Local.
	Loc *time.Location
	// MaxLine caps the length of a MESSAGE; longer ones are cut and the Line
	// marked Truncated. Zero means DefaultMaxLine.
	MaxLine int
	// Units selects entries of these systemd units too (_SYSTEMD_UNIT, any
	// of them). Nil with nil Identifiers means Units.
	Units []string
	// AtEnd, without Cursor, starts after the newest entry (an agent's
	// first start) instead of at the oldest.
	AtEnd bool
	// Warn, when set, is told when the cursor's entry is gone.
	Warn func(msg string)
}

// Units are the systemd units whose entries OpenJournal also reads when
// JournalOptions.Identifiers is nil: Debian's ssh.service and the sshd.service
// of other distributions.
var Units = []string{"ssh.service", "sshd.service"}

// Journal reads sshd entries from systemd-journald's files through
// libsystemd (sd-journal). It is a Reader; Lines have Format FormatJournal,
// Source "journal" and Cursor set.
//
// An sd-journal handle must only be used by the thread that opened it, so
// every libsystemd call is made by one goroutine locked to its OS thread;
// Next receives what it reads. Waiting for new entries is a loop of short
// sd_journal_wait calls on that thread, so Close is noticed within
// pollWait.
type Journal struct {
	opt   JournalOptions
	lines chan []Line // batches from the reading goroutine
	errc  chan error  // its last word: an error, or nil at the end
	done  chan struct{}
	once  sync.Once
	exit  chan struct{} // closed when the reading goroutine has closed the handle
	batch []Line
	err   error // sticky: returned after the lines before it
}

// OpenJournal opens the systemd journal for reading sshd entries.
//
// It fails with an error wrapping ErrNoJournal when no journal file can be
// read (journald not running or not persistent, an empty Dir, or missing
// permission: reading the system journal needs root or membership in the
// systemd-journal or adm group), and with a clear error when Dir does not
// exist, the cursor is malformed or libsystemd cannot be loaded. A build
// without cgo fails with an error wrapping ErrJournalUnsupported.
//
// Next returns entries oldest first. With Follow it blocks at the end until
// new entries arrive or Close is called (then it returns io.EOF); without
// Follow it returns io.EOF at the end. Close must be called to free the
// journal; it is safe to call Close from another goroutine while Next waits.
//
// A cursor whose entry is no longer in the journal (rotated or vacuumed
// away) resumes at the nearest entry after it, as sd-journal does; Warn is
// told, because entries may have been lost in between.
func OpenJournal(opt JournalOptions) (*Journal, error) {
	if opt.Identifiers == nil {
		opt.Identifiers = DefaultIdentifiers
		if opt.Units == nil {
			opt.Units = Units
		}
	}
	if opt.Loc == nil {
		opt.Loc = time.Local
	}
	if opt.MaxLine <= 0 {
		opt.MaxLine = DefaultMaxLine
	}
	if opt.Warn == nil {
		opt.Warn = func(string) {}
	}
	j := &Journal{opt: opt, lines: make(chan []Line, 4), errc: make(chan error, 1),
		done: make(chan struct{}), exit: make(chan struct{})}
	opened := make(chan error, 1)
	go j.run(opened)
	if err := <-opened; err != nil {
		<-j.exit
		return nil, err
	}
	return j, nil
}

// Next reads the next entry into l. See OpenJournal.
func (j *Journal) Next(l *Line) error {
	for len(j.batch) == 0 {
		if j.err != nil {
			*l = Line{}
			return j.err
		}
		select {
		case b, ok := <-j.lines:
			if !ok {
				j.err = io.EOF
				if err := <-j.errc; err != nil {
					j.err = io.EOF
					*l = Line{}
					return err
				}
				continue
			}
			j.batch = b
		case <-j.done:
			*l = Line{}
			return io.EOF
		}
	}
	*l = j.batch[0]
	j.batch = j.batch[1:]
	return nil
}

// Close ends a pending Follow wait and frees the journal. It is safe to
// call more than once and concurrently with Next.
func (j *Journal) Close() error {
	j.once.Do(func() { close(j.done) })
	<-j.exit
	return nil
}
