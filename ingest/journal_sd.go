//go:build cgo

package ingest

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/coreos/go-systemd/v22/sdjournal"
)

// JournalSupported tells whether this build reads the journal: true when
// built with cgo (sdjournal loads libsystemd at run time).
const JournalSupported = true

// pollWait bounds one sd_journal_wait so that Close is noticed promptly.
const pollWait = 250 * time.Millisecond

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
	if opt.Dir != "" {
		if fi, err := os.Stat(opt.Dir); err != nil {
			return nil, fmt.Errorf("ingest: journal directory: %w", err)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("ingest: journal directory %s: not a directory", opt.Dir)
		}
	}
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
