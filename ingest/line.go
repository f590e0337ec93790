// Package ingest turns log input (files, rotated .gz archives, stdin,
// journald) into Lines: one log record each, with its header parsed.
//
// The flow of the whole program is
//
//	ingest.Line → rules.Match (observation) → classify.Machine → classify.Event → sinks
//
// and this package is the first step. It knows nothing about sshd messages:
// it only finds the timestamp, host, program and pid of a record.
//
// Entry points, all yielding Lines through the Reader interface:
//
//   - Parser.Parse splits one text line (BSD syslog, RFC 3339, RFC 5424).
//   - Open reads a file, a .gz/.bz2 archive or stdin ("-"), holding text
//     lines or a saved `journalctl -o export`/`-o json` stream.
//   - SortRotated orders rotated generations oldest first; Siblings
//     finds them; Identify and Continues recognise a file across rotation.
//   - Follow tails a live log file across rotation, with resumable offsets.
//   - OpenJournal reads sshd entries from systemd-journald's files.
package ingest

import "time"

// Format names the header format a line was parsed with.
type Format uint8

// The formats a Parser recognises.
const (
	FormatUnknown Format = iota // no header found; Message holds the whole line
	FormatBSD                   // "Jan  2 15:04:05 host prog[pid]: msg" (RFC 3164, no year)
	FormatRFC3339               // "2006-01-02T15:04:05.000000+01:00 host prog[pid]: msg" (rsyslog RSYSLOG_FileFormat, journalctl -o short-iso)
	FormatRFC5424               // "<PRI>1 TS host app procid msgid SD msg"
	FormatJSON                  // journalctl -o json
	FormatExport                // journalctl -o export
	FormatJournal               // read from journald through sdjournal
	FormatBare                  // "host prog[pid]: msg" without timestamp (Time zero)
)

var formatNames = [...]string{"unknown", "bsd", "rfc3339", "rfc5424", "json", "export", "journal", "bare"}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "invalid"
}

// Line is one log record.
//
// Raw is the record exactly as read (for journal records, a syslog-style
// rendering "TIMESTAMP HOST PROG[PID]: MESSAGE" of the entry, so evidence
// stays readable). Host, Program and Message are substrings of Raw where the
// format allows it, so a Line costs one allocation.
type Line struct {
	Raw     string
	Time    time.Time // zero when the record has no timestamp
	Prec    int8      // digits of fractional seconds the source gave (0 for BSD syslog); -1 when Time is zero
	Host    string    // "" when the format carries none
	Program string    // e.g. "sshd", "sshd-session", "ssh"; "" when no header was found
	PID     int       // 0 when absent
	Message string    // the text after "prog[pid]: " (for a repeat line, the repeated message)
	// Repeat is N for rsyslog's "message repeated N times: [ msg]": the
	// line stands for N more copies of Message (Raw keeps the line as
	// written). It is 0 for an ordinary line.
	Repeat int
	Format Format
	Source string // file path, "-" for stdin, "journal"
	// Offset, File and Cursor locate the record for checkpoints: for files
	// the byte offset just after the line and the identity of the file it
	// was read from (nil for stdin), for journald the cursor.
	Offset int64
	File   *FileID
	Cursor string
	// Truncated is set when the line was longer than the reader's limit and
	// was cut; the rest of the line was discarded (and counted).
	Truncated bool
}

// Reader yields Lines one at a time. Next reads the next one into l (all
// of l is overwritten) and returns io.EOF at the end of input. Filling the
// caller's Line rather than returning one spares a copy of it per line.
type Reader interface {
	Next(l *Line) error
}
