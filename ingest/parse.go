package ingest

import "time"

// Parser finds the header of a text log line. It recognises, per line:
//
//	Jan  2 15:04:05 host prog[pid]: msg                  BSD syslog (RFC 3164), optional <PRI>
//	2006-01-02T15:04:05.123456+01:00 host prog[pid]: msg  rsyslog file format, journalctl -o short-iso[-precise]
//	<PRI>1 TS host app procid msgid [SD] msg              RFC 5424
//	host prog[pid]: msg                                   no timestamp (FormatBare)
//
// "prog: msg" (no pid) is accepted after a timestamp; "sshd(pam_unix)[pid]:"
// yields program "sshd". rsyslog's "message repeated N times: [ msg]" is
// unwrapped (Line.Repeat). Also understood: BSD lines without host, FreeBSD
// syslogd -v "<auth.info>" before the host, the Solaris "[ID 800047
// auth.info]" message prefix, and macOS's space for the T in timestamps.
// A line matching none of these gets FormatUnknown and its whole text as
// Message.
//
// The zero Parser is ready to use. A Parser is not safe for concurrent use.
type Parser struct {
	// Ref anchors BSD timestamps, which carry no year: a timestamp gets the
	// latest year that puts it no more than one day after Ref. Use the
	// file's modification time, or the current time for a stream. Zero means
	// the time of the first Parse.
	Ref time.Time
	// Loc is the time zone of BSD timestamps. Nil means time.Local.
	Loc *time.Location

	// limYear and limKey are Ref+24h in Loc: its year and bsdKey.
	limYear int
	limKey  int64
	ready   bool

	// minKey/minTime cache the start of the minute last seen in a BSD
	// timestamp, since time.Date dominates the cost of a line otherwise.
	minKey  int64
	minTime time.Time
	// stamp is the text of the last BSD timestamp parsed ("Jan  5
	// 00:00:01") and stampTime its time: a busy log repeats a second's
	// stamp on many lines, and the same text always gives the same time.
	stamp     string
	stampTime time.Time

	// zoneOff/zone cache the last UTC offset seen in an RFC 3339 timestamp.
	zoneOff int
	zone    *time.Location
}

// Limits on header fields; longer tokens mean the line has no header.
const (
	maxHost = 255
	maxProg = 128
)

// Parse splits raw into its header fields. Host, Program and Message are
// substrings of raw. Parse never fails: a line without a header is returned
// with FormatUnknown.
func (p *Parser) Parse(raw string) Line {
	var l Line
	p.parse(&l, raw)
	return l
}

// parse is Parse into l, all of which it overwrites.
func (p *Parser) parse(l *Line, raw string) {
	// Zeroed, then set: a composite literal went through a temporary,
	// and its copy stalled on the stores just made (35 ns a parse, now 30).
	*l = Line{}
	l.Raw, l.Message, l.Prec = raw, raw, -1
	i := 0
	if len(raw) > 0 && raw[0] == '<' {
		if i = priEnd(raw); i == 0 {
			return
		}
	}
	var ok bool
	switch {
	case i > 0 && len(raw) > i+1 && raw[i] == '1' && raw[i+1] == ' ':
		ok = p.rfc5424(l, i+2)
	case len(raw) >= i+15 && month(raw[i:]) > 0:
		ok = p.bsd(l, i)
	case len(raw) >= i+20 && raw[i+4] == '-' && isDigit(raw[i]):
		ok = p.rfc3339(l, i)
	case i == 0:
		ok = bare(l)
	}
	if !ok {
		*l = Line{Raw: raw, Message: raw, Prec: -1}
		return
	}
	if l.Program != "" && len(l.Message) > len(repeatPrefix) && l.Message[0] == 'm' {
		repeated(l)
	}
}

const repeatPrefix = "message repeated "

// repeated unwraps rsyslog's repeated-message reduction (on by default in
// older Debian and Ubuntu rsyslog.conf): "message repeated N times: [ msg]"
// stands for N more copies of msg. Message becomes msg and Repeat N; a
// line that does not have exactly that shape (a cut one, for example) is
// left alone.
func repeated(l *Line) {
	s := l.Message
	if s[:len(repeatPrefix)] != repeatPrefix || s[len(s)-1] != ']' {
		return
	}
	i := len(repeatPrefix)
	n := 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		if n = n*10 + int(s[i]-'0'); n > 1<<30 {
			return
		}
	}
	const mid = " times: [ "
	if n == 0 || len(s) < i+len(mid)+1 || s[i:i+len(mid)] != mid {
		return
	}
	l.Message, l.Repeat = s[i+len(mid):len(s)-1], n
}

// priEnd returns the index after a "<PRI>" prefix of 1 to 3 digits, or 0.
func priEnd(s string) int {
	for j := 1; j < len(s) && j <= 4; j++ {
		if s[j] == '>' {
			if j == 1 {
				return 0
			}
			return j + 1
		}
		if !isDigit(s[j]) {
			return 0
		}
	}
	return 0
}

// bsd parses "Mmm dd HH:MM:SS " at i and the rest of the header.
func (p *Parser) bsd(l *Line, i int) bool {
	s := l.Raw
	if n := len(p.stamp); n > 0 && len(s) >= i+n && s[i:i+n] == p.stamp {
		return p.bsdHeader(l, i+n, p.stampTime)
	}
	mon := month(s[i:])
	j := i + 3
	if s[j] != ' ' {
		return false
	}
	j++
	var day int
	switch {
	case s[j] == ' ' && isDigit(s[j+1]): // "Jan  2"
		day, j = int(s[j+1]-'0'), j+2
	case isDigit(s[j]) && isDigit(s[j+1]): // "Jan 02"
		day, j = int(s[j]-'0')*10+int(s[j+1]-'0'), j+2
	case isDigit(s[j]) && s[j+1] == ' ': // "Jan 2"
		day, j = int(s[j]-'0'), j+1
	default:
		return false
	}
	if len(s) < j+9 || s[j] != ' ' {
		return false
	}
	h, m, sec, ok := clock(s[j+1:])
	if !ok || day < 1 || day > daysIn(mon, 2000) { // 2000: allow Feb 29
		return false
	}
	j += 9
	t := p.bsdTime(mon, day, h, m, sec)
	p.stamp, p.stampTime = s[i:j], t
	return p.bsdHeader(l, j, t)
}

// bsdHeader parses the rest of a BSD header after its timestamp, which
// ends at j and reads t.
func (p *Parser) bsdHeader(l *Line, j int, t time.Time) bool {
	s := l.Raw
	if j < len(s) && s[j] != ' ' {
		return false
	}
	l.Time = t
	l.Prec = 0
	l.Format = FormatBSD
	hostTag(l, skipPriority(s, j+1))
	return true
}

// skipPriority skips the "<facility.level> " or "<4.6> " token that FreeBSD
// syslogd -v/-vv writes before the host name.
func skipPriority(s string, i int) int {
	if i >= len(s) || s[i] != '<' {
		return i
	}
	for j := i + 1; j < len(s) && j-i < 24; j++ {
		c := s[j]
		if c == '>' && j+1 < len(s) && s[j+1] == ' ' {
			return j + 2
		}
		if !('a' <= c && c <= 'z' || isDigit(c) || c == '.') {
			break
		}
	}
	return i
}

// clock parses "HH:MM:SS".
func clock(s string) (h, m, sec int, ok bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return
	}
	h, ok1 := num2(s[0:])
	m, ok2 := num2(s[3:])
	sec, ok3 := num2(s[6:])
	return h, m, sec, ok1 && ok2 && ok3 && h < 24 && m < 60 && sec < 60
}

// bsdKey packs a wall-clock date without year so that keys order like dates.
func bsdKey(mon, day, h, m, s int) int64 {
	return int64((((mon*32+day)*24+h)*60+m)*60 + s)
}

// bsdTime resolves a BSD timestamp to a time, choosing its year from Ref.
func (p *Parser) bsdTime(mon, day, h, m, s int) time.Time {
	if !p.ready {
		if p.Loc == nil {
			p.Loc = time.Local
		}
		if p.Ref.IsZero() {
			p.Ref = time.Now()
		}
		lim := p.Ref.Add(24 * time.Hour).In(p.Loc)
		p.limYear = lim.Year()
		p.limKey = bsdKey(int(lim.Month()), lim.Day(), lim.Hour(), lim.Minute(), lim.Second())
		p.ready = true
	}
	year := p.limYear
	if bsdKey(mon, day, h, m, s) > p.limKey {
		year--
	}
	for mon == 2 && day == 29 && daysIn(2, year) == 28 {
		year-- // Feb 29 only exists in leap years
	}
	key := int64(year)<<32 | bsdKey(mon, day, h, m, 0)
	if key != p.minKey || p.minTime.IsZero() {
		p.minKey = key
		p.minTime = time.Date(year, time.Month(mon), day, h, m, 0, 0, p.Loc)
	}
	return p.minTime.Add(time.Duration(s) * time.Second)
}

// rfc3339 parses an RFC 3339 timestamp at i and the rest of the header.
func (p *Parser) rfc3339(l *Line, i int) bool {
	t, prec, j, ok := p.timestamp(l.Raw, i)
	if !ok || j < len(l.Raw) && l.Raw[j] != ' ' {
		return false
	}
	l.Time, l.Prec, l.Format = t, int8(prec), FormatRFC3339
	hostTag(l, j+1)
	return true
}

// timestamp parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM|±HHMM)" at i (also
// with a space for the T, as macOS `log show --style syslog` writes) and
// returns the index after it. Years before 1900 are taken for garbage (and
// would collide with the zero Time).
func (p *Parser) timestamp(s string, i int) (t time.Time, prec, end int, ok bool) {
	s = s[i:]
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' && s[10] != ' ' {
		return
	}
	y1, ok1 := num2(s)
	y2, ok2 := num2(s[2:])
	mon, ok3 := num2(s[5:])
	day, ok4 := num2(s[8:])
	h, m, sec, ok5 := clock(s[11:])
	year := y1*100 + y2
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || year < 1900 || mon < 1 || mon > 12 || day < 1 || day > daysIn(mon, year) {
		return
	}
	j := 19
	nsec := 0
	if s[j] == '.' {
		j++
		for ; j < len(s) && isDigit(s[j]); j++ {
			if prec++; prec > 9 {
				return
			}
			nsec = nsec*10 + int(s[j]-'0')
		}
		if prec == 0 {
			return
		}
		for k := prec; k < 9; k++ {
			nsec *= 10
		}
	}
	if j >= len(s) {
		return
	}
	off := 0
	switch s[j] {
	case 'Z':
		j++
	case '+', '-':
		oh, okh := num2(s[j+1:])
		if !okh {
			return
		}
		k := j + 3
		if k < len(s) && s[k] == ':' {
			k++
		}
		om, okm := num2(s[k:])
		if !okm || oh > 23 || om > 59 {
			return
		}
		off = (oh*60 + om) * 60
		if s[j] == '-' {
			off = -off
		}
		j = k + 2
	default:
		return
	}
	unix := daysFromCivil(year, mon, day)*86400 + int64(h*3600+m*60+sec-off)
	return time.Unix(unix, int64(nsec)).In(p.zoneAt(off)), prec, i + j, true
}

// zoneAt returns a fixed zone for an offset in seconds east of UTC.
func (p *Parser) zoneAt(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	if p.zone == nil || p.zoneOff != off {
		p.zone, p.zoneOff = time.FixedZone("", off), off
	}
	return p.zone
}

// rfc5424 parses "TS HOST APP PROCID MSGID SD [MSG]" at i (after "<PRI>1 ").
func (p *Parser) rfc5424(l *Line, i int) bool {
	s := l.Raw
	ts, i, ok := token(s, i)
	if !ok {
		return false
	}
	if ts != "-" {
		t, prec, end, ok := p.timestamp(s, i-len(ts)-1)
		if !ok || end != i-1 {
			return false
		}
		l.Time, l.Prec = t, int8(prec)
	}
	host, i, ok := token(s, i)
	if !ok {
		return false
	}
	app, i, ok := token(s, i)
	if !ok {
		return false
	}
	procid, i, ok := token(s, i)
	if !ok {
		return false
	}
	if _, i, ok = token(s, i); !ok { // MSGID
		return false
	}
	if i = structuredData(s, i); i < 0 {
		return false
	}
	if i < len(s) {
		if s[i] != ' ' {
			return false
		}
		i++
		if len(s) >= i+3 && s[i:i+3] == "\xef\xbb\xbf" {
			i += 3
		}
	}
	if host != "-" {
		l.Host = host
	}
	if app != "-" {
		for k := 0; k < len(app); k++ {
			if app[k] == '(' || app[k] == '[' {
				app = app[:k]
				break
			}
		}
		l.Program = app
	}
	l.PID, _ = parsePID(procid)
	l.Message = s[i:]
	l.Format = FormatRFC5424
	return true
}

// token returns the non-empty printable token at i and the index after the
// space that ends it. The last RFC 5424 header field (SD) is not read by it.
func token(s string, i int) (string, int, bool) {
	for j := i; j < len(s); j++ {
		c := s[j]
		if c == ' ' {
			return s[i:j], j + 1, j > i
		}
		if c < ' ' || c > '~' {
			return "", 0, false
		}
	}
	return "", 0, false
}

// structuredData skips RFC 5424 STRUCTURED-DATA ("-" or "[id k="v"]...")
// at i and returns the index after it, or -1.
func structuredData(s string, i int) int {
	if i < len(s) && s[i] == '-' {
		return i + 1
	}
	if i >= len(s) || s[i] != '[' {
		return -1
	}
	for i < len(s) && s[i] == '[' {
		i++
		quoted := false
		for {
			if i >= len(s) {
				return -1
			}
			c := s[i]
			i++
			if quoted && c == '\\' {
				i++
			} else if c == '"' {
				quoted = !quoted
			} else if c == ']' && !quoted {
				break
			}
		}
	}
	return i
}

// hostTag parses "host prog[pid]: msg" at i into l, skipping spaces before
// host. Without a valid tag it keeps what it can: "prog[pid]: msg" (no
// host), or "host msg", or just the message.
func hostTag(l *Line, i int) {
	s := l.Raw
	i = min(i, len(s))
	for i < len(s) && s[i] == ' ' {
		i++
	}
	l.Message = s[i:]
	j := i
	for end := min(len(s), i+maxHost); j < end && hostByte[s[j]]; {
		j++
	}
	if j == i || j == len(s) || s[j] != ' ' {
		tag(l, i)
		return
	}
	// A host name does not end in ':', a tag does.
	if s[j-1] == ':' && tag(l, i) {
		return
	}
	l.Host = s[i:j]
	if !tag(l, j+1) {
		l.Message = s[j+1:]
	}
}

// bare parses a line without timestamp, "[host ]prog[pid]: msg". The pid is
// required, so that ordinary text is not taken for a header.
func bare(l *Line) bool {
	hostTag(l, 0)
	if l.PID == 0 {
		return false
	}
	l.Format = FormatBare
	return true
}

// tag parses "prog[pid]: msg", "prog: msg" or "prog(x)[pid]: msg" at i and
// sets Program, PID and Message. It leaves l alone and returns false when
// there is no tag at i.
// hostByte and progByte are the bytes of a host name and of a program
// name in a header (one load a byte, the inner loops of parsing).
var hostByte, progByte = func() (h, p [256]bool) {
	for c := range 256 {
		h[c] = c > ' ' && c != 0x7f
		p[c] = c > ' ' && c < 0x7f && c != '[' && c != ':' && c != '('
	}
	return h, p
}()

func tag(l *Line, i int) bool {
	s := l.Raw
	j := i
	for end := min(len(s), i+maxProg); j < end && progByte[s[j]]; {
		j++
	}
	if j == i && j < len(s) && s[j] == '(' { // "(systemd)[pid]:", systemd --user's PAM lines
		k := j + 1
		for k < len(s) && s[k] != ')' && s[k] > ' ' && s[k] < 0x7f && k-j < maxProg {
			k++
		}
		if k >= len(s) || s[k] != ')' || k == j+1 {
			return false
		}
		j = k + 1
		if j >= len(s) || (s[j] != '[' && s[j] != ':') {
			return false
		}
	} else if j == i || j >= len(s) {
		return false
	}
	prog := s[i:j]
	if s[j] == '(' { // "sshd(pam_unix)"
		k := j + 1
		for k < len(s) && s[k] != ')' && s[k] > ' ' && s[k] < 0x7f && k-j < maxProg {
			k++
		}
		if k >= len(s) || s[k] != ')' {
			return false
		}
		j = k + 1
	}
	pid := 0
	if j < len(s) && s[j] == '[' {
		k := j + 1
		for k < len(s) && isDigit(s[k]) && k-j <= 10 {
			k++
		}
		if k >= len(s) || s[k] != ']' {
			return false
		}
		var ok bool
		if pid, ok = parsePID(s[j+1 : k]); !ok {
			return false
		}
		j = k + 1
	}
	if j >= len(s) || s[j] != ':' {
		return false
	}
	j++
	if j < len(s) && s[j] == ' ' {
		j++
	}
	l.Program, l.PID, l.Message = prog, pid, s[j+solarisID(s[j:]):]
	return true
}

// solarisID returns the length of the "[ID 800047 auth.info] " prefix that
// Solaris and illumos syslog put before the message, or 0.
func solarisID(s string) int {
	if len(s) < 8 || s[:4] != "[ID " || !isDigit(s[4]) {
		return 0
	}
	for j := 5; j < len(s) && j < 48; j++ {
		if s[j] == ']' {
			if j+1 < len(s) && s[j+1] == ' ' {
				return j + 2
			}
			return 0
		}
	}
	return 0
}

// month returns 1..12 for a month abbreviation at the start of s, else 0.
func month(s string) int {
	if len(s) < 3 {
		return 0
	}
	switch uint32(s[0])<<16 | uint32(s[1])<<8 | uint32(s[2]) {
	case 'J'<<16 | 'a'<<8 | 'n':
		return 1
	case 'F'<<16 | 'e'<<8 | 'b':
		return 2
	case 'M'<<16 | 'a'<<8 | 'r':
		return 3
	case 'A'<<16 | 'p'<<8 | 'r':
		return 4
	case 'M'<<16 | 'a'<<8 | 'y':
		return 5
	case 'J'<<16 | 'u'<<8 | 'n':
		return 6
	case 'J'<<16 | 'u'<<8 | 'l':
		return 7
	case 'A'<<16 | 'u'<<8 | 'g':
		return 8
	case 'S'<<16 | 'e'<<8 | 'p':
		return 9
	case 'O'<<16 | 'c'<<8 | 't':
		return 10
	case 'N'<<16 | 'o'<<8 | 'v':
		return 11
	case 'D'<<16 | 'e'<<8 | 'c':
		return 12
	}
	return 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// num2 parses two decimal digits at the start of s.
func num2(s string) (int, bool) {
	if len(s) < 2 || !isDigit(s[0]) || !isDigit(s[1]) {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// daysIn returns the number of days in month mon of year.
func daysIn(mon, year int) int {
	switch mon {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to the given
// proleptic Gregorian date, for years from 1 on (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
