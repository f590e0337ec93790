package ingest

import (
	"strconv"
	"strings"
	"time"
)

// entry holds the fields of one journal record that a Line needs, whichever
// way the record arrived (sdjournal, journalctl -o export, journalctl -o json).
type entry struct {
	usec      int64 // __REALTIME_TIMESTAMP in µs since the epoch; -1 when absent
	cursor    string
	host      string // _HOSTNAME
	ident     string // SYSLOG_IDENTIFIER
	comm      string // _COMM, used when SYSLOG_IDENTIFIER is absent
	pid       string // _PID
	syslogPID string // SYSLOG_PID, used when _PID is absent
	message   string
	truncated bool
}

// reset clears e for the next record.
func (e *entry) reset() { *e = entry{usec: -1} }

// set stores a field if it is one the entry keeps (see wanted).
func (e *entry) set(key string, value string) {
	switch key {
	case "__REALTIME_TIMESTAMP":
		if n, err := strconv.ParseInt(value, 10, 64); err == nil && n >= 0 {
			e.usec = n
		}
	case "__CURSOR":
		e.cursor = value
	case "_HOSTNAME":
		e.host = value
	case "SYSLOG_IDENTIFIER":
		e.ident = value
	case "_COMM":
		e.comm = value
	case "_PID":
		e.pid = value
	case "SYSLOG_PID":
		e.syslogPID = value
	case "MESSAGE":
		e.message = value
	}
}

// wanted reports whether set keeps the field key.
func wanted(key string) bool {
	switch key {
	case "__REALTIME_TIMESTAMP", "__CURSOR", "_HOSTNAME", "SYSLOG_IDENTIFIER",
		"_COMM", "_PID", "SYSLOG_PID", "MESSAGE":
		return true
	}
	return false
}

// line renders e as a Line whose Raw reads like a syslog line,
// "2006-01-02T15:04:05.000000+01:00 HOST PROG[PID]: MESSAGE", so that evidence
// stays readable. Host, Program and Message are substrings of Raw. Parts
// the record lacks are left out of Raw. A message longer than max bytes is
// cut and the Line marked Truncated.
func (e *entry) line(f Format, loc *time.Location, max int) Line {
	l := Line{Format: f, Cursor: e.cursor, Prec: -1, Truncated: e.truncated}
	msg := e.message
	if max > 0 && len(msg) > max {
		msg, l.Truncated = msg[:max], true
	}
	prog := e.ident
	if prog == "" {
		prog = e.comm
	}
	pid, ok := parsePID(e.pid)
	if !ok {
		pid, _ = parsePID(e.syslogPID)
	}

	var b strings.Builder
	b.Grow(len(e.host) + len(prog) + len(msg) + 48)
	if e.usec >= 0 {
		l.Time = time.UnixMicro(e.usec).In(loc)
		l.Prec = 6
		b.WriteString(l.Time.Format("2006-01-02T15:04:05.000000Z07:00"))
	}
	var hostAt, progAt, msgAt int
	if e.host != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		hostAt = b.Len()
		b.WriteString(e.host)
	}
	if prog != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		progAt = b.Len()
		b.WriteString(prog)
		if pid > 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(pid))
			b.WriteByte(']')
		}
		b.WriteByte(':')
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	msgAt = b.Len()
	b.WriteString(msg)

	l.Raw = b.String()
	l.Host = l.Raw[hostAt : hostAt+len(e.host)]
	l.Program = l.Raw[progAt : progAt+len(prog)]
	l.PID = pid
	l.Message = l.Raw[msgAt:]
	return l
}

// parsePID parses a process id: 1 to 10 decimal digits, at most MaxInt32.
func parsePID(s string) (int, bool) {
	if len(s) == 0 || len(s) > 10 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > 1<<31-1 {
		return 0, false
	}
	return n, true
}

// DefaultMaxLine is the default limit on the length of a line (or journal
// MESSAGE); longer ones are cut and marked Truncated.
const DefaultMaxLine = 64 << 10
