package ingest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/sdjournal"
)

// DefaultIdentifiers are the SYSLOG_IDENTIFIER values OpenJournal reads when
// JournalOptions.Identifiers is nil: the OpenSSH server and its helpers.
var DefaultIdentifiers = []string{"sshd", "sshd-session", "sshd-auth"}

// ErrNoJournal is returned (wrapped) by OpenJournal when there are no
// journal files it can read.
var ErrNoJournal = errors.New("no readable journal files")

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

// pollWait bounds one sd_journal_wait so that Close is noticed promptly.
const pollWait = 250 * time.Millisecond

// OpenJournal opens the systemd journal for reading sshd entries.
//
// It fails with an error wrapping ErrNoJournal when no journal file can be
// read (journald not running or not persistent, an empty Dir, or missing
// permission: reading the system journal needs root or membership in the
// systemd-journal or adm group), and with a clear error when Dir does not
// exist, the cursor is malformed or libsystemd cannot be loaded.
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
	if opt.Dir != "" {
		if fi, err := os.Stat(opt.Dir); err != nil {
			return nil, fmt.Errorf("ingest: journal directory: %w", err)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("ingest: journal directory %s: not a directory", opt.Dir)
		}
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

// run owns the sd-journal handle, on one OS thread, from open to close.
func (j *Journal) run(opened chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(j.exit)
	sd, err := j.open()
	opened <- err
	if err != nil {
		return
	}
	defer sd.Close()
	err = j.read(sd)
	close(j.lines)
	j.errc <- err
}

// open opens the journal and seeks to where reading starts.
func (j *Journal) open() (*sdjournal.Journal, error) {
	opt := j.opt
	where := "the local journal (/var/log/journal, /run/log/journal)"
	var sd *sdjournal.Journal
	var err error
	if opt.Dir != "" {
		where = "journal directory " + opt.Dir
		sd, err = sdjournal.NewJournalFromDir(opt.Dir)
	} else {
		sd, err = sdjournal.NewJournal()
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: opening %s: %w", where, err)
	}
	fail := func(err error) (*sdjournal.Journal, error) {
		sd.Close()
		return nil, err
	}
	if n, err := sd.GetUsage(); err != nil || n == 0 {
		return fail(fmt.Errorf("ingest: %s: %w (is systemd-journald running with journal files there, and may this user read them?)", where, ErrNoJournal))
	}
	for _, id := range opt.Identifiers {
		if err := sd.AddMatch("SYSLOG_IDENTIFIER=" + id); err != nil {
			return fail(fmt.Errorf("ingest: journal match SYSLOG_IDENTIFIER=%q: %w", id, err))
		}
	}
	if len(opt.Units) > 0 && len(opt.Identifiers) > 0 {
		if err := sd.AddDisjunction(); err != nil {
			return fail(fmt.Errorf("ingest: journal match: %w", err))
		}
	}
	for _, u := range opt.Units {
		if err := sd.AddMatch("_SYSTEMD_UNIT=" + u); err != nil {
			return fail(fmt.Errorf("ingest: journal match _SYSTEMD_UNIT=%q: %w", u, err))
		}
	}
	// Ask for one byte more than we keep so that over-long messages are seen.
	if err := sd.SetDataThreshold(uint64(opt.MaxLine + len("MESSAGE=") + 1)); err != nil {
		return fail(fmt.Errorf("ingest: %s: %w", where, err))
	}
	switch {
	case opt.Cursor != "":
		if err := sd.SeekCursor(opt.Cursor); err != nil {
			return fail(fmt.Errorf("ingest: %s: bad cursor: %w", where, err))
		}
	case opt.AtEnd:
		if err := sd.SeekTail(); err != nil {
			return fail(fmt.Errorf("ingest: %s: %w", where, err))
		}
		// SeekTail places before the last entry's successor: step back
		// onto the last entry so that Next returns only newer ones.
		if _, err := sd.Previous(); err != nil {
			return fail(fmt.Errorf("ingest: %s: %w", where, err))
		}
	default:
		if err := sd.SeekHead(); err != nil {
			return fail(fmt.Errorf("ingest: %s: %w", where, err))
		}
	}
	return sd, nil
}

// read sends the entries in batches until the end (or, with Follow,
// until Close).
func (j *Journal) read(sd *sdjournal.Journal) error {
	skip := j.opt.Cursor // the entry we resume after
	var e entry
	batch := make([]Line, 0, 256)
	send := func() bool {
		if len(batch) == 0 {
			return true
		}
		select {
		case j.lines <- batch:
			batch = make([]Line, 0, 256)
			return true
		case <-j.done:
			return false
		}
	}
	for {
		n, err := sd.Next()
		if err != nil {
			send()
			return fmt.Errorf("ingest: journal: %w", err)
		}
		if n > 0 {
			if skip != "" {
				c := skip
				skip = ""
				if sd.TestCursor(c) == nil {
					continue
				}
				j.opt.Warn("journal: the entry of the saved cursor is no longer in the journal (rotated or vacuumed away): resuming at the nearest entry after it; entries in between may be lost")
			}
			l, err := entryLine(sd, &e, j.opt)
			if err != nil {
				send()
				return err
			}
			batch = append(batch, l)
			if len(batch) == cap(batch) && !send() {
				return nil
			}
			continue
		}
		if skip != "" && j.opt.Cursor != "" {
			j.opt.Warn("journal: the entry of the saved cursor is no longer in the journal and nothing follows it yet")
		}
		skip = "" // nothing after the cursor yet
		if !send() {
			return nil
		}
		if !j.opt.Follow {
			return nil
		}
		select {
		case <-j.done:
			return nil
		default:
		}
		sd.Wait(pollWait)
	}
}

// entryLine builds the Line of the current entry.
func entryLine(sd *sdjournal.Journal, e *entry, opt JournalOptions) (Line, error) {
	e.reset()
	usec, err := sd.GetRealtimeUsec()
	if err != nil {
		return Line{}, fmt.Errorf("ingest: journal: %w", err)
	}
	e.usec = int64(usec)
	if e.cursor, err = sd.GetCursor(); err != nil {
		return Line{}, fmt.Errorf("ingest: journal: %w", err)
	}
	for _, k := range [...]string{"MESSAGE", "_HOSTNAME", "SYSLOG_IDENTIFIER", "_PID"} {
		if v, err := sd.GetDataValue(k); err == nil {
			e.set(k, v)
		}
	}
	if e.ident == "" {
		e.comm, _ = sd.GetDataValue("_COMM")
	}
	if e.pid == "" {
		e.syslogPID, _ = sd.GetDataValue("SYSLOG_PID")
	}
	l := e.line(FormatJournal, opt.Loc, opt.MaxLine)
	l.Source = "journal"
	return l, nil
}

// Next returns the next entry. See OpenJournal.
func (j *Journal) Next() (Line, error) {
	for len(j.batch) == 0 {
		if j.err != nil {
			return Line{}, j.err
		}
		select {
		case b, ok := <-j.lines:
			if !ok {
				j.err = io.EOF
				if err := <-j.errc; err != nil {
					j.err = io.EOF
					return Line{}, err
				}
				continue
			}
			j.batch = b
		case <-j.done:
			return Line{}, io.EOF
		}
	}
	l := j.batch[0]
	j.batch = j.batch[1:]
	return l, nil
}

// Close ends a pending Follow wait and frees the journal. It is safe to
// call more than once and concurrently with Next.
func (j *Journal) Close() error {
	j.once.Do(func() { close(j.done) })
	<-j.exit
	return nil
}
