package classify

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// timeLayouts[p] formats a timestamp with p fractional-second digits, so
// events keep the precision of their source (RFC 3339).
var timeLayouts = [...]string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05.0Z07:00",
	"2006-01-02T15:04:05.00Z07:00",
	"2006-01-02T15:04:05.000Z07:00",
	"2006-01-02T15:04:05.0000Z07:00",
	"2006-01-02T15:04:05.00000Z07:00",
	"2006-01-02T15:04:05.000000Z07:00",
	"2006-01-02T15:04:05.0000000Z07:00",
	"2006-01-02T15:04:05.00000000Z07:00",
	"2006-01-02T15:04:05.000000000Z07:00",
}

// AppendTime appends t in RFC 3339 with prec fractional digits. It writes
// the same bytes as t.AppendFormat with the matching layout, in a third of
// the time (it runs twice per event).
func AppendTime(dst []byte, t time.Time, prec int8) []byte {
	if prec < 0 {
		prec = 0
	}
	if int(prec) >= len(timeLayouts) {
		prec = int8(len(timeLayouts) - 1)
	}
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, timeLayouts[prec])
	}
	hour, minute, sec := t.Clock()
	dst = appendDigits(dst, year, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, minute, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, sec, 2)
	if prec > 0 {
		dst = appendFraction(dst, t, prec)
	}
	_, off := t.Zone()
	if off == 0 {
		return append(dst, 'Z')
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	if off%60 != 0 {
		return t.AppendFormat(dst[:len(dst)-len("2006-01-02T15:04:05")-fracLen(prec)], timeLayouts[prec])
	}
	dst = append(dst, sign)
	dst = appendDigits(dst, off/3600, 2)
	dst = append(dst, ':')
	return appendDigits(dst, off/60%60, 2)
}

// appendFraction appends ".ddd", t's fraction of a second in prec digits
// (at most 9).
func appendFraction(dst []byte, t time.Time, prec int8) []byte {
	prec = min(prec, 9)
	dst = append(dst, '.')
	ns := t.Nanosecond()
	for i := 9; i > int(prec); i-- {
		ns /= 10
	}
	return appendDigits(dst, ns, int(prec))
}

func fracLen(prec int8) int {
	if prec == 0 {
		return 0
	}
	return int(prec) + 1
}

// appendDigits appends n as exactly width decimal digits (n >= 0).
func appendDigits(dst []byte, n, width int) []byte {
	var buf [10]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return append(dst, buf[:width]...)
}

// AppendJSON appends ev as one JSON object (no newline). It is the hot
// path of `sshwhy classify --format json`, hence written by hand; the
// result decodes with encoding/json into an equal Event (see the tests).
// Invalid UTF-8 in attacker-written text is replaced by U+FFFD, as
// encoding/json does, so every output line is valid JSON.
func AppendJSON(b []byte, ev *Event) []byte {
	var e Encoder
	return e.AppendJSON(b, ev)
}

// An Encoder appends events as AppendJSON does, remembering the text of
// the last two minutes it wrote: an event's start and end, and the next
// event's, mostly fall in the same minute or the one before, and within
// one (in one zone at one UTC offset) only the seconds' digits change.
// The zero Encoder is ready to use; it is not safe for concurrent use.
type Encoder struct {
	minutes [2]minuteText
	recent  int // the index in minutes of the one used last
}

// minuteText is the text of one minute in one zone at one UTC offset.
type minuteText struct {
	loc   *time.Location
	min   int64 // Unix time of the minute (seconds / 60)
	off   int   // UTC offset, in seconds
	plain bool  // text is "2006-01-02T15:04:05" and a zone: its seconds can be rewritten
	n     int   // the length of the text in buf; 0 for none yet
	buf   [40]byte
}

// dateTime is the length of text without its zone: "2006-01-02T15:04:05".
const dateTime = len("2006-01-02T15:04:05")

// appendSeconds appends d as strconv.AppendFloat(b, d, 'f', -1, 64) does;
// a whole number (every duration of second-precision syslog) as an
// integer, which is the same text in a quarter of the time.
func appendSeconds(b []byte, d float64) []byte {
	if d >= -1<<53 && d <= 1<<53 && d == float64(int64(d)) && (d != 0 || !math.Signbit(d)) {
		return strconv.AppendInt(b, int64(d), 10)
	}
	return strconv.AppendFloat(b, d, 'f', -1, 64)
}

// appendTime appends t as a JSON string (null when zero), as the
// package's appendTime does.
func (e *Encoder) appendTime(b []byte, t time.Time, prec int8) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	sec, loc := t.Unix(), t.Location()
	min, s := sec/60, sec%60
	if s < 0 {
		min, s = min-1, s+60
	}
	off := 0
	if loc != time.UTC {
		_, off = t.Zone()
	}
	mt := &e.minutes[e.recent]
	if mt.min != min || mt.loc != loc || mt.off != off || mt.n == 0 {
		e.recent ^= 1
		mt = &e.minutes[e.recent]
		if mt.min != min || mt.loc != loc || mt.off != off || mt.n == 0 {
			text := AppendTime(mt.buf[:0], t.Truncate(time.Second), 0)
			mt.min, mt.loc, mt.off, mt.n = min, loc, off, len(text)
			// Years beyond 0-9999 and offsets of seconds have another shape
			// (and a text longer than buf would not be in it).
			mt.plain = off%60 == 0 && len(text) > dateTime && len(text) <= len(mt.buf) &&
				text[4] == '-' && text[10] == 'T' &&
				(text[dateTime] == 'Z' || text[dateTime] == '+' || text[dateTime] == '-')
		}
	}
	if !mt.plain {
		b = append(b, '"')
		b = AppendTime(b, t, prec)
		return append(b, '"')
	}
	text := mt.buf[:mt.n]
	text[dateTime-2], text[dateTime-1] = byte('0'+s/10), byte('0'+s%10)
	b = append(b, '"')
	if prec <= 0 {
		b = append(b, text...)
	} else {
		b = append(b, text[:dateTime]...)
		b = appendFraction(b, t, prec)
		b = append(b, text[dateTime:]...)
	}
	return append(b, '"')
}

// AppendJSON appends ev as AppendJSON does.
func (e *Encoder) AppendJSON(b []byte, ev *Event) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, ev.ID)
	if !ev.Start.IsZero() {
		b = append(b, `,"start":`...)
		b = e.appendTime(b, ev.Start, ev.Prec)
	}
	b = append(b, `,"end":`...)
	b = e.appendTime(b, ev.End, ev.Prec)
	if ev.StartUnknown {
		b = append(b, `,"start_unknown":true`...)
	}
	if ev.Open {
		b = append(b, `,"open":true`...)
	}
	if ev.Host != "" {
		b = append(b, `,"host":`...)
		b = appendString(b, ev.Host)
	}
	if ev.Program != "" {
		b = append(b, `,"program":`...)
		b = appendString(b, ev.Program)
	}
	if ev.PID != 0 {
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, int64(ev.PID), 10)
	}
	if ev.SrcIP != "" {
		b = append(b, `,"src_ip":`...)
		b = appendString(b, ev.SrcIP)
	}
	if ev.SrcPort != 0 {
		b = append(b, `,"src_port":`...)
		b = strconv.AppendInt(b, int64(ev.SrcPort), 10)
	}
	if ev.Remote != "" {
		b = append(b, `,"remote":`...)
		b = appendString(b, ev.Remote)
	}
	if ev.User != "" {
		b = append(b, `,"user":`...)
		b = appendString(b, ev.User)
	}
	if ev.Cause != "" {
		b = append(b, `,"cause":`...)
		b = appendString(b, string(ev.Cause))
	}
	if ev.Confidence != "" {
		b = append(b, `,"confidence":`...)
		b = appendString(b, string(ev.Confidence))
	}
	b = append(b, `,"phase":`...)
	b = appendString(b, string(ev.Phase))
	if ev.Detail != "" {
		b = append(b, `,"detail":`...)
		b = appendString(b, ev.Detail)
	}
	if ev.Rule != "" {
		b = append(b, `,"rule":`...)
		b = appendString(b, ev.Rule)
	}
	b = append(b, `,"auth_failures":`...)
	b = strconv.AppendInt(b, int64(ev.AuthFailures), 10)
	if len(ev.AuthMethods) > 0 {
		b = append(b, `,"auth_methods":[`...)
		for i, s := range ev.AuthMethods {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		b = append(b, ']')
	}
	if !ev.StartUnknown {
		b = append(b, `,"duration_s":`...)
		b = appendSeconds(b, ev.DurationS)
	}
	b = append(b, `,"lines":[`...)
	for i, s := range ev.Lines {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	b = append(b, ']')
	if ev.LinesDropped != 0 {
		b = append(b, `,"lines_dropped":`...)
		b = strconv.AppendInt(b, int64(ev.LinesDropped), 10)
	}
	if ev.Source != "" {
		b = append(b, `,"source":`...)
		b = appendString(b, ev.Source)
	}
	return append(b, '}')
}

// MarshalJSON implements json.Marshaler with AppendJSON.
func (ev *Event) MarshalJSON() ([]byte, error) { return AppendJSON(nil, ev), nil }

// UnmarshalJSON reads what AppendJSON writes, keeping the timestamps'
// precision.
func (ev *Event) UnmarshalJSON(data []byte) error {
	type plain Event
	var aux struct {
		*plain
		Start json.RawMessage `json:"start"`
		End   json.RawMessage `json:"end"`
	}
	aux.plain = (*plain)(ev)
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	var err error
	if ev.Start, ev.Prec, err = parseTime(aux.Start); err != nil {
		return err
	}
	var endPrec int8
	ev.End, endPrec, err = parseTime(aux.End)
	if ev.Start.IsZero() {
		ev.Prec = endPrec
	}
	return err
}

func parseTime(raw json.RawMessage) (time.Time, int8, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, -1, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, 0, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, 0, err
	}
	prec := int8(0)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		for j := i + 1; j < len(s) && s[j] >= '0' && s[j] <= '9'; j++ {
			prec++
		}
	}
	return t, prec, nil
}

func appendTime(b []byte, t time.Time, prec int8) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = AppendTime(b, t, prec)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// load8 is the 8 bytes of s at i as a little-endian word.
func load8(s string, i int) uint64 {
	s = s[i : i+8] // one bounds check; the compiler merges the loads into one
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// notPlain8 is zero when all 8 bytes of w are plainJSON: none is below
// 0x20, '"', '\\' or 0x80 and above. With bytes of 0x80 and above (their
// high bits are in the result) out of the way, each test (the classic "has
// a zero byte" trick) sets the high bit of the lowest matching byte, so no
// match is missed; a borrow may also flag a later byte that does not
// match, which only sends the word through the byte-by-byte loop.
func notPlain8(w uint64) uint64 { return notPlain8Bits(w) & 0x8080808080808080 }

// notPlain8Bits is notPlain8 before its mask of each byte's high bit,
// so that two words share one mask: a byte's high bit is set when it is
// 0x80 or above (w); when it is below 0x20 or '"' (0x22), which xor with
// 0x02 makes the bytes below 0x21 (they borrow in x - 0x21...); or when it
// is '\\' (zero after xor, (y - 1) &^ y).
func notPlain8Bits(w uint64) uint64 {
	const ones = 0x0101010101010101
	x, y := w^(0x02*ones), w^('\\'*ones)
	return w | (x - 0x21*ones) | (y-ones)&^y
}

// plainJSON[c] is true for the bytes a JSON string holds as they are.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainPrefixGo is the length of s's longest prefix of plainJSON bytes.
// Evidence lines are mostly plain ASCII: it skips 8 such bytes at a time
// (about a tenth of classify's time went to this loop). plainPrefix is
// this function, or on amd64 the same answer 16 bytes at a time in SSE2
// for strings of 16 bytes or more (plain_amd64.s).
func plainPrefixGo(s string) int {
	i := 0
	for i+16 <= len(s) && (notPlain8Bits(load8(s, i))|notPlain8Bits(load8(s, i+8)))&0x8080808080808080 == 0 {
		i += 16
	}
	for i+8 <= len(s) && notPlain8(load8(s, i)) == 0 {
		i += 8
	}
	// Fewer than 8 bytes left, all before them plain: the last 8 bytes
	// (overlapping) answer for them at once.
	if i+8 > len(s) && len(s) >= 8 && notPlain8(load8(s, len(s)-8)) == 0 {
		return len(s)
	}
	for i < len(s) && plainJSON[s[i]] {
		i++
	}
	return i
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	n := plainPrefix(s)
	b = append(b, '"')
	b = append(b, s[:n]...)
	if n == len(s) {
		return append(b, '"')
	}
	return appendEscaped(b, s, n)
}

// appendEscaped appends the rest of s from i, which is not plainJSON, and
// the closing quote.
func appendEscaped(b []byte, s string, i int) []byte {
	start := i
	for i < len(s) {
		if k := plainPrefix(s[i:]); k > 0 {
			i += k
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
