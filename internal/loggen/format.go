package loggen

import (
	"bufio"
	"strconv"
	"time"
	"unicode/utf8"
)

// lineWriter renders lines as rsyslog writes them to /var/log/auth.log.
type lineWriter struct {
	w      *bufio.Writer
	format Format
	hosts  []string
	sec    int64  // second of the cached stamp
	stamp  []byte // "Jan  5 00:00:00" or "2026-01-05T00:00:00"
	buf    []byte
	err    error

	// reduce collapses a run of identical lines (host, program, pid and
	// message) as rsyslog's $RepeatedMsgReduction does: the first as
	// written, the rest as one "message repeated N times: [ msg]" with the
	// time of the last.
	reduce  bool
	last    line // the last line written, when reduce is set
	repeats int  // lines like last held back
	held    line // the latest of them
	written int  // lines written
}

func newLineWriter(w *bufio.Writer, f Format, hosts []string) *lineWriter {
	return &lineWriter{w: w, format: f, hosts: hosts, sec: -1 << 62, buf: make([]byte, 0, 512)}
}

func (lw *lineWriter) write(l *line) {
	if !lw.reduce {
		lw.emit(l)
		return
	}
	if lw.written > 0 && l.host == lw.last.host && l.prog == lw.last.prog && l.pid == lw.last.pid && l.msg == lw.last.msg {
		lw.repeats++
		lw.held = *l
		return
	}
	lw.flushRepeats()
	lw.emit(l)
	lw.last = *l
}

// flushRepeats writes the "message repeated" line of the lines held back.
func (lw *lineWriter) flushRepeats() {
	if lw.repeats == 0 {
		return
	}
	r := lw.held
	r.msg = "message repeated " + strconv.Itoa(lw.repeats) + " times: [ " + r.msg + "]"
	lw.repeats = 0
	lw.emit(&r)
}

func (lw *lineWriter) emit(l *line) {
	lw.written++
	sec := l.t / second
	if sec != lw.sec {
		lw.sec = sec
		lw.stamp = appendStamp(lw.stamp[:0], lw.format, time.Unix(sec, 0).UTC())
	}
	b := append(lw.buf[:0], lw.stamp...)
	if lw.format == RFC3339 {
		b = append(b, '.')
		b = appendPadded(b, int(l.t%second), 6)
		b = append(b, "+00:00"...)
	}
	b = append(b, ' ')
	b = append(b, lw.hosts[l.host]...)
	b = append(b, ' ')
	b = append(b, progNames[l.prog]...)
	if l.pid > 0 {
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(l.pid), 10)
		b = append(b, ']')
	}
	b = append(b, ':', ' ')
	b = append(b, l.msg...)
	b = append(b, '\n')
	lw.buf = b
	if _, err := lw.w.Write(b); err != nil && lw.err == nil {
		lw.err = err
	}
}

var monthNames = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// appendStamp appends the whole-second part of a timestamp.
func appendStamp(b []byte, f Format, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if f == BSD {
		b = append(b, monthNames[mo-1]...)
		b = append(b, ' ')
		if d < 10 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(d), 10)
	} else {
		b = appendPadded(b, y, 4)
		b = append(b, '-')
		b = appendPadded(b, int(mo), 2)
		b = append(b, '-')
		b = appendPadded(b, d, 2)
	}
	if f == BSD {
		b = append(b, ' ')
	} else {
		b = append(b, 'T')
	}
	b = appendPadded(b, h, 2)
	b = append(b, ':')
	b = appendPadded(b, mi, 2)
	b = append(b, ':')
	b = appendPadded(b, s, 2)
	return b
}

// appendPadded appends v in decimal with at least width digits.
func appendPadded(b []byte, v, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v >= 10 || width > 1 {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	i--
	tmp[i] = byte('0' + v)
	return append(b, tmp[i:]...)
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
