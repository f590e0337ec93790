package ingest

import (
	"errors"
	"fmt"
	"io"
	"os"
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
}

// Journal reads sshd entries from systemd-journald's files through
// libsystemd (sd-journal). It is a Reader; Lines have Format FormatJournal,
// Source "journal" and Cursor set.
type Journal struct {
	opt  JournalOptions
	done chan struct{} // closed by Close to end a Follow wait
	once sync.Once

	mu   sync.Mutex // guards sd and skip; held during Next
	sd   *sdjournal.Journal
	skip string // cursor of the entry to skip once (resume after it)
	e    entry
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
func OpenJournal(opt JournalOptions) (*Journal, error) {
	if opt.Identifiers == nil {
		opt.Identifiers = DefaultIdentifiers
	}
	if opt.Loc == nil {
		opt.Loc = time.Local
	}
	if opt.MaxLine <= 0 {
		opt.MaxLine = DefaultMaxLine
	}
	where := "the local journal (/var/log/journal, /run/log/journal)"
	var sd *sdjournal.Journal
	var err error
	if opt.Dir != "" {
		where = "journal directory " + opt.Dir
		if fi, serr := os.Stat(opt.Dir); serr != nil {
			return nil, fmt.Errorf("ingest: journal directory: %w", serr)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("ingest: journal directory %s: not a directory", opt.Dir)
		}
		sd, err = sdjournal.NewJournalFromDir(opt.Dir)
	} else {
		sd, err = sdjournal.NewJournal()
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: opening %s: %w", where, err)
	}
	fail := func(err error) (*Journal, error) {
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
	// Ask for one byte more than we keep so that over-long messages are seen.
	if err := sd.SetDataThreshold(uint64(opt.MaxLine + len("MESSAGE=") + 1)); err != nil {
		return fail(fmt.Errorf("ingest: %s: %w", where, err))
	}
	j := &Journal{opt: opt, sd: sd, done: make(chan struct{})}
	if opt.Cursor != "" {
		if err := sd.SeekCursor(opt.Cursor); err != nil {
			return fail(fmt.Errorf("ingest: %s: bad cursor: %w", where, err))
		}
		j.skip = opt.Cursor
	} else if err := sd.SeekHead(); err != nil {
		return fail(fmt.Errorf("ingest: %s: %w", where, err))
	}
	return j, nil
}

// Next returns the next entry. See OpenJournal.
func (j *Journal) Next() (Line, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for {
		if j.sd == nil {
			return Line{}, io.EOF
		}
		n, err := j.sd.Next()
		if err != nil {
			return Line{}, fmt.Errorf("ingest: journal: %w", err)
		}
		if n > 0 {
			if c := j.skip; c != "" {
				j.skip = ""
				if j.sd.TestCursor(c) == nil {
					continue // the entry we resume after
				}
			}
			return j.line()
		}
		j.skip = "" // the cursor's entry is gone and nothing follows it yet
		if !j.opt.Follow {
			return Line{}, io.EOF
		}
		select {
		case <-j.done:
			return Line{}, io.EOF
		default:
		}
		j.sd.Wait(pollWait)
	}
}

// line builds the Line of the current entry.
func (j *Journal) line() (Line, error) {
	e := &j.e
	e.reset()
	usec, err := j.sd.GetRealtimeUsec()
	if err != nil {
		return Line{}, fmt.Errorf("ingest: journal: %w", err)
	}
	e.usec = int64(usec)
	if e.cursor, err = j.sd.GetCursor(); err != nil {
		return Line{}, fmt.Errorf("ingest: journal: %w", err)
	}
	for _, k := range [...]string{"MESSAGE", "_HOSTNAME", "SYSLOG_IDENTIFIER", "_PID"} {
		if v, err := j.sd.GetDataValue(k); err == nil {
			e.set(k, v)
		}
	}
	if e.ident == "" {
		e.comm, _ = j.sd.GetDataValue("_COMM")
	}
	if e.pid == "" {
		e.syslogPID, _ = j.sd.GetDataValue("SYSLOG_PID")
	}
	l := e.line(FormatJournal, j.opt.Loc, j.opt.MaxLine)
	l.Source = "journal"
	return l, nil
}

// Close ends a pending Follow wait and frees the journal. It is safe to
// call more than once and concurrently with Next.
func (j *Journal) Close() error {
	j.once.Do(func() { close(j.done) })
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.sd == nil {
		return nil
	}
	err := j.sd.Close()
	j.sd = nil
	return err
}
