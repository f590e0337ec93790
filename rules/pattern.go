package rules

import (
	"fmt"
	"strings"
)

// A pattern is a message template such as
//
//	Failed {method} for invalid user {user} from {ip} port {port} ssh2{_}
//
// compiled into literal text and typed fields. Matching is anchored at both
// ends. Fields of a narrow class (an address, a number, a word) take the
// longest run of their characters and never give any back. Free-text fields
// (user, text, ...) are greedy: they try the last place where the rest of the
// template matches first. Because sshd writes the attacker-chosen parts (user
// names, banners) before fixed text such as "from IP port N ssh2", a greedy
// field anchors the trusted fields to the end of the line: a user name like
// "x from 6.6.6.6 port 22" stays inside the user field.
//
// The compound field {remote} reads sshd's peer identifier (packet.c
// sshpkt_fmt_connection_id): "[authenticating |invalid ]user NAME IP port N"
// or "IP port N". It is parsed from its end, for the same reason.
type pattern struct {
	src    string
	prefix string    // literal text before the first field
	suffix string    // literal text after the last field: a quick test before matching
	parts  []segment // each field with the literal that follows it
}

type segment struct {
	field   fieldID
	class   class
	literal string // text that must follow the field ("" at the end of the template)
	key     int    // index in literal of the byte lastIndex looks for first (a rare one)
}

// class is what characters a field may hold.
type class uint8

const (
	classText   class = iota // anything, possibly empty; greedy
	classAddr                // an address or host name: no space, comma, bracket
	classNum                 // decimal digits
	classWord                // no space
	classPhrase              // letters, dashes and spaces (e.g. "no matching MAC found")
	classRemote              // sshd's remote_id, parsed into user/ip/port
)

// fieldID names a captured value. The set is fixed so that a match needs
// no map and no allocation.
type fieldID uint8

const (
	fieldNone   fieldID = iota // "_": matched and ignored
	fieldUser                  // user name (attacker-chosen)
	fieldIP                    // peer address
	fieldPort                  // peer port
	fieldMethod                // authentication method
	fieldPID                   // a pid named in the text (listener lines, "User child is on pid")
	fieldCode                  // SSH disconnect reason code
	fieldText                  // free text (disconnect message, banner, reason)
	fieldKind                  // a short server-written phrase (negotiation kind)
	fieldOffer                 // the peer's algorithm offer
	fieldLocal                 // local address
	fieldLPort                 // local port
	fieldNum                   // any other number (signal, counter)
	fieldRemote                // remote_id: sets user, ip, port and the preamble
	numFields
)

var fieldNames = map[string]struct {
	id    fieldID
	class class
}{
	"_":      {fieldNone, classText},
	"user":   {fieldUser, classText},
	"ip":     {fieldIP, classAddr},
	"host":   {fieldIP, classAddr},
	"port":   {fieldPort, classNum},
	"method": {fieldMethod, classWord},
	"pid":    {fieldPID, classNum},
	"code":   {fieldCode, classNum},
	"text":   {fieldText, classText},
	"kind":   {fieldKind, classPhrase},
	"offer":  {fieldOffer, classText},
	"local":  {fieldLocal, classAddr},
	"lport":  {fieldLPort, classNum},
	"num":    {fieldNum, classNum},
	"word":   {fieldNone, classWord},
	"remote": {fieldRemote, classRemote},
}

// Fields holds what a pattern captured. Strings are substrings of the
// matched message; numbers are -1 when absent.
type Fields struct {
	User     string
	HasUser  bool
	IP       string
	Port     int
	Method   string
	PID      int
	Code     int
	Text     string
	Kind     string
	Offer    string
	Local    string
	LPort    int
	Num      int
	Preamble string // from {remote}: "", "user", "authenticating user" or "invalid user"
}

func (f *Fields) reset() {
	// Zeroed, then set: a composite literal is built in a temporary and
	// copied.
	*f = Fields{}
	f.Port, f.PID, f.Code, f.LPort, f.Num = -1, -1, -1, -1, -1
}

func compilePattern(src string) (*pattern, error) {
	p := &pattern{src: src}
	rest := src
	i := strings.IndexByte(rest, '{')
	if i < 0 {
		p.prefix = rest
		if strings.ContainsAny(p.prefix, "}") {
			return nil, fmt.Errorf("unbalanced '}' in %q", src)
		}
		return p, nil
	}
	p.prefix = rest[:i]
	rest = rest[i:]
	for rest != "" {
		// rest starts with '{'
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return nil, fmt.Errorf("unclosed '{' in %q", src)
		}
		name := rest[1:end]
		spec, ok := fieldNames[name]
		if !ok {
			return nil, fmt.Errorf("unknown field {%s} in %q", name, src)
		}
		rest = rest[end+1:]
		next := strings.IndexByte(rest, '{')
		lit := rest
		if next >= 0 {
			lit = rest[:next]
			rest = rest[next:]
		} else {
			rest = ""
		}
		if next == 0 && (spec.class == classText || spec.class == classRemote) {
			return nil, fmt.Errorf("free-text field {%s} must be followed by text in %q", name, src)
		}
		if strings.ContainsAny(lit, "}") {
			return nil, fmt.Errorf("unbalanced '}' in %q", src)
		}
		p.parts = append(p.parts, segment{field: spec.id, class: spec.class, literal: lit, key: keyByte(lit)})
	}
	p.suffix = p.parts[len(p.parts)-1].literal
	return p, nil
}

func inClass(c class, b byte) bool { return classTable[c][b] }

// numClasses is the number of classes.
const numClasses = classRemote + 1

// classTable[c][b] is true when b is in class c (one load per byte of a
// field, the inner loop of matching).
var classTable = func() (t [numClasses][256]bool) {
	for i := range 256 {
		b := byte(i)
		t[classText][i], t[classRemote][i] = true, true
		t[classAddr][i] = b > ' ' && b != ',' && b != '[' && b != ']' && b != '\'' && b != '"' && b < 0x7f
		t[classNum][i] = b >= '0' && b <= '9'
		t[classWord][i] = b > ' ' && b < 0x7f
		t[classPhrase][i] = b == ' ' || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '-'
	}
	return t
}()

// match reports whether msg matches the whole pattern, filling f.
func (p *pattern) match(msg string, f *Fields) bool {
	if !strings.HasPrefix(msg, p.prefix) || p.suffix != "" && !strings.HasSuffix(msg, p.suffix) {
		return false
	}
	f.reset()
	return p.matchFrom(msg, len(p.prefix), 0, f)
}

func (p *pattern) matchFrom(msg string, pos, k int, f *Fields) bool {
	if k == len(p.parts) {
		return pos == len(msg)
	}
	seg := &p.parts[k]
	last := k == len(p.parts)-1
	switch seg.class {
	case classText, classRemote:
		if seg.literal == "" { // the field runs to the end
			if !last {
				return false // compile forbids adjacent fields
			}
			return p.set(seg, msg[pos:], f)
		}
		// Greedy: try the last occurrence of the following literal first.
		hi := len(msg)
		for {
			j := seg.lastIndex(msg[pos:hi])
			if j < 0 {
				return false
			}
			at := pos + j
			if p.set(seg, msg[pos:at], f) && p.matchFrom(msg, at+len(seg.literal), k+1, f) {
				return true
			}
			if at == pos {
				return false
			}
			hi = at + len(seg.literal) - 1
		}
	default:
		// The longest run of the class first; shorter runs only when the
		// following text could start inside the run (e.g. "{ip}:" with IPv6).
		end, in := pos, &classTable[seg.class]
		for end < len(msg) && in[msg[end]] {
			end++
		}
		for ; end > pos; end-- {
			if strings.HasPrefix(msg[end:], seg.literal) && p.set(seg, msg[pos:end], f) &&
				p.matchFrom(msg, end+len(seg.literal), k+1, f) {
				return true
			}
			if seg.literal == "" || !inClass(seg.class, seg.literal[0]) {
				return false
			}
		}
		return false
	}
}

// keyByte picks the byte of lit that lastIndex looks for: the first that
// is not a space or punctuation (those are common in messages), else 0.
func keyByte(lit string) int {
	for i := 0; i < len(lit); i++ {
		if c := lit[i]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return i
		}
	}
	return 0
}

// lastIndex is strings.LastIndex(s, seg.literal): a backward scan for the
// literal's key byte, then a comparison (literals are short, and sshd's
// trusted text after a free-text field is near the end of the line).
func (seg *segment) lastIndex(s string) int {
	lit, k := seg.literal, seg.key
	n := len(lit)
	if n == 0 {
		return len(s)
	}
	c := lit[k]
	for i := len(s) - n; i >= 0; i-- {
		if s[i+k] == c && s[i:i+n] == lit {
			return i
		}
	}
	return -1
}

func (p *pattern) set(seg *segment, v string, f *Fields) bool {
	switch seg.field {
	case fieldNone:
	case fieldUser:
		f.User, f.HasUser = v, true
	case fieldIP:
		f.IP = v
	case fieldPort:
		return setNum(&f.Port, v, 65535)
	case fieldMethod:
		f.Method = v
	case fieldPID:
		return setNum(&f.PID, v, 1<<31-1)
	case fieldCode:
		return setNum(&f.Code, v, 1<<31-1)
	case fieldText:
		f.Text = v
	case fieldKind:
		f.Kind = v
	case fieldOffer:
		f.Offer = v
	case fieldLocal:
		f.Local = v
	case fieldLPort:
		return setNum(&f.LPort, v, 65535)
	case fieldNum:
		return setNum(&f.Num, v, 1<<40)
	case fieldRemote:
		return parseRemote(v, f)
	}
	return true
}

// setNum sets *dst to the number v, which strconv.Atoi reads (an optional
// sign, then decimal digits) and which is within 0..max. It is Atoi by
// hand: one runs for every number of every matched line.
func setNum(dst *int, v string, max int) bool {
	if len(v) == 0 || len(v) > 13 {
		return false
	}
	neg, i := false, 0
	if v[0] == '+' || v[0] == '-' {
		neg, i = v[0] == '-', 1
		if len(v) == 1 {
			return false
		}
	}
	n := 0
	for ; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0') // 13 digits do not overflow
	}
	if neg {
		n = -n
	}
	if n < 0 || n > max {
		return false
	}
	*dst = n
	return true
}

// parseRemote reads "[PREAMBLE NAME ]IP port N" from its end.
func parseRemote(v string, f *Fields) bool {
	i := strings.LastIndex(v, " port ")
	if i <= 0 || !setNum(&f.Port, v[i+len(" port "):], 65535) {
		return false
	}
	head := v[:i]
	sp := strings.LastIndexByte(head, ' ')
	ip := head[sp+1:]
	if ip == "" {
		return false
	}
	for j := 0; j < len(ip); j++ {
		if !inClass(classAddr, ip[j]) {
			return false
		}
	}
	f.IP = ip
	if sp < 0 {
		return true
	}
	pre := head[:sp+1] // "user NAME " etc.
	for _, p := range [...]string{"authenticating user ", "invalid user ", "user "} {
		if strings.HasPrefix(pre, p) && len(pre) > len(p) {
			f.Preamble = p[:len(p)-1]
			f.User, f.HasUser = pre[len(p):len(pre)-1], true
			return true
		}
	}
	return false
}
