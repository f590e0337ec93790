package index

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Query text: the part of a Query in bleve's query-string syntax
// (https://blevesearch.com/docs/Query-String-Query/), read by ParseText
// into Clauses. sshwhy reads the syntax itself rather than through bleve's
// parser, which cannot take an IPv6 address without backslashes, parses
// dates with its own layouts, and builds boolean queries that drop a
// clause matching nothing (so the rest of the query widened; see
// boolQuery). The grammar is bleve's, with three differences, each
// turning what bleve rejects or misreads into an error or what the user
// meant:
//
//   - A value after "field:" runs to the next space, colons included:
//     src_ip:2001:db8::1, end:>=2026-11-23T10:00:00Z.
//   - Quoted and unquoted values mean the same on every field:
//     user:"john smith", cause:"probe", pid:"4242".
//   - What would silently mean something else is an error: AND, OR, NOT,
//     && and || (bleve searches them as words), parentheses (bleve has no
//     grouping), ! for not, boosts (^N: sshwhy does not rank), unsigned
//     terms next to +terms (they would only rank), unknown fields and
//     unknown causes, phases or confidences.

// Occur is how a clause takes part in the query.
type Occur int8

// The occurrences, written as a sign before the clause.
const (
	Should  Occur = iota // no sign: an alternative; at least one must match
	Must                 // +: must match
	MustNot              // -: must not match
)

// Op is what a clause's value is.
type Op int8

// The operations.
const (
	OpValue    Op = iota // a value, quoted or not: the field equals it (text: contains the words in order)
	OpWildcard           // an unquoted value with * (any run) or ? (one character); \ escapes
	OpRegexp             // /regexp/: matches the whole value (text: one word)
	OpFuzzy              // value~N: within N (1 or 2) edits of the value
	OpRange              // field:>N, >=N, <N, <=N: numbers, times and hours compare
)

// Clause is one term of a query text.
type Clause struct {
	Occur Occur
	Field string // one of Fields; FieldLines for a bare term
	Op    Op
	// Value is the value with the query syntax's escapes undone; for
	// OpWildcard the pattern, in which \ still escapes * ? and \.
	Value     string
	Fuzziness int // OpFuzzy: 1 or 2
	// OpRange: the bounds, "" for an open one, and whether each is
	// included. The syntax writes one bound per clause.
	Min, Max         string
	MinIncl, MaxIncl bool

	text string // the clause as written, for error messages
}

// String is the clause as written (or, for a Clause built in code, a
// description of it).
func (c Clause) String() string {
	if c.text != "" {
		return c.text
	}
	return fmt.Sprintf("%s:%q", c.Field, c.Value)
}

// ParseText reads a query text. The syntax:
//
//	word             the evidence lines contain the word (letters, digits,
//	                 '_' and non-ASCII bytes, joined by . : -), case-insensitive;
//	                 a value that holds several words needs them in this order on one line
//	"a phrase"       the words in this order on one evidence line
//	field:value      the field equals the value; quoting changes nothing
//	field:"a value"  (a value with a space, or with characters that would
//	                 otherwise be syntax: * ? ~ ^ ( ) or a leading / < >)
//	field:a*b?       wildcard: * any run, ? one character (escape with \)
//	field:/regexp/   the regexp matches the whole value (Go syntax, no anchors)
//	field:value~1    within 1 (or ~2: 2) edits of the value
//	field:>N  >=N  <N  <=N   a range, for numbers, times and hours
//	+clause          must match
//	-clause          must not match
//
// Clauses without a sign are alternatives: at least one of them must
// match. A text with +clauses takes no unsigned ones (sshwhy does not
// rank results, so they would change nothing): sign them. -clauses
// exclude from whatever the rest selects (everything, when there is
// nothing else).
//
// Fields and their values (see Fields):
//
//   - Keyword fields (cause, user, src_ip, remote, host, program, phase,
//     confidence, rule, source, auth_method) equal the value exactly,
//     case-sensitive. cause, phase and confidence take only their known
//     values. src_ip:ADDRESS also finds that address logged in IPv4-mapped
//     form (::ffff:a.b.c.d).
//   - ip takes an address or a CIDR prefix (IPv4 or IPv6; an IPv6 prefix
//     never matches an IPv4 address, an IPv4 one matches its IPv4-mapped
//     form too).
//   - Numbers (src_port, pid, duration_s, auth_failures) compare as whole
//     numbers: duration_s is the duration rounded to the nearest second
//     (as the table shows it); an equality takes a whole number, a range
//     bound any number.
//   - Times (start, end) take RFC 3339 (2026-11-23T10:00:00Z, fractions
//     kept) or a UTC date (2026-11-23, which stands for the whole day:
//     end:2026-11-23 is that day, end:>2026-11-23 after it). end is the
//     time an event ended (its start when it has none).
//   - hour is the UTC hour of end, as 2026-11-23T10.
//   - Text fields (lines: the evidence lines' messages; detail) contain
//     the words, case-insensitive; a wildcard, regexp or fuzzy value
//     matches one lower-cased word.
//
// A field the event lacks (no user, no port) matches nothing; -user:*
// finds events without a user. Errors wrap ErrBadQuery and name the
// clause.
func ParseText(s string) ([]Clause, error) {
	p := textParser{s: s}
	var out []Clause
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			break
		}
		c, err := p.clause()
		if err != nil {
			return nil, err
		}
		if _, err := c.query(); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, checkOccurs(out)
}

// checkOccurs refuses unsigned clauses next to required ones.
func checkOccurs(cs []Clause) error {
	must := -1
	for i, c := range cs {
		if c.Occur == Must {
			must = i
			break
		}
	}
	if must < 0 {
		return nil
	}
	for _, c := range cs {
		if c.Occur == Should {
			return badQuery("%q has no sign, but %q is required (+): an unsigned term next to +terms would change nothing, as sshwhy does not rank results; write +%s to require it or -%s to exclude it",
				c.String(), cs[must].String(), c.String(), c.String())
		}
	}
	return nil
}

// reservedChars are the characters a backslash escapes (bleve's list);
// before any other character a backslash is kept.
const reservedChars = "+-=&|><!(){}[]^\"~*?:\\/ "

type textParser struct {
	s string
	i int
}

func (p *textParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *textParser) atEnd() bool { return p.i >= len(p.s) || p.atSpace() }

func (p *textParser) atSpace() bool {
	if p.i >= len(p.s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.i:])
	return unicode.IsSpace(r)
}

func (p *textParser) skipSpace() {
	for p.atSpace() {
		_, n := utf8.DecodeRuneInString(p.s[p.i:])
		p.i += n
	}
}

// rest is the query from position i, shortened, for error messages.
func (p *textParser) rest(i int) string {
	r := p.s[i:]
	if len(r) > 40 {
		r = r[:40] + "…"
	}
	return r
}

// word is an unquoted run of the query.
type word struct {
	text    string // escapes undone
	pattern string // text with * ? \ that were escaped (or a backslash kept) escaped again
	wild    bool   // an unescaped * or ?
	paren   bool   // an unescaped ( or )
	bang    bool   // starts with an unescaped !
	escaped bool   // some character was escaped
}

// word reads an unquoted run: up to a space, ^ or ~, and, with
// stopAtColon, a colon (all unescaped).
func (p *textParser) word(stopAtColon bool) (word, error) {
	var w word
	var text, pat strings.Builder
	start := p.i
	for p.i < len(p.s) && !p.atSpace() {
		c := p.s[p.i]
		if c == '^' || c == '~' || stopAtColon && c == ':' {
			break
		}
		if c == '\\' {
			if p.i+1 >= len(p.s) {
				return w, badQuery("%q ends in a lone backslash", p.rest(start))
			}
			r, n := utf8.DecodeRuneInString(p.s[p.i+1:])
			lit := p.s[p.i+1 : p.i+1+n]
			if r >= utf8.RuneSelf || !strings.ContainsRune(reservedChars, r) {
				lit = `\` + lit // bleve keeps the backslash before other characters
			}
			w.escaped = true
			text.WriteString(lit)
			for _, l := range lit {
				if l == '*' || l == '?' || l == '\\' {
					pat.WriteByte('\\')
				}
				pat.WriteRune(l)
			}
			p.i += 1 + n
			continue
		}
		switch c {
		case '*', '?':
			w.wild = true
		case '(', ')':
			w.paren = true
		case '!':
			if p.i == start {
				w.bang = true
			}
		}
		_, n := utf8.DecodeRuneInString(p.s[p.i:])
		text.WriteString(p.s[p.i : p.i+n])
		pat.WriteString(p.s[p.i : p.i+n])
		p.i += n
	}
	w.text, w.pattern = text.String(), pat.String()
	return w, nil
}

// phrase reads a quoted value; p.i is at the opening quote.
func (p *textParser) phrase() (string, error) {
	start := p.i
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c == '\\' && p.i+1 < len(p.s):
			r, n := utf8.DecodeRuneInString(p.s[p.i+1:])
			if r >= utf8.RuneSelf || !strings.ContainsRune(reservedChars, r) {
				b.WriteByte('\\')
			}
			b.WriteString(p.s[p.i+1 : p.i+1+n])
			p.i += 1 + n
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", badQuery("%q: unterminated quote", p.rest(start))
}

// regexp reads /regexp/; p.i is at the opening slash. \/ is a slash; other
// escapes are the regexp's.
func (p *textParser) regexp() (string, error) {
	start := p.i
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '/':
			p.i++
			return b.String(), nil
		case c == '\\' && p.i+1 < len(p.s) && p.s[p.i+1] == '/':
			b.WriteByte('/')
			p.i += 2
		case c == '\\' && p.i+1 < len(p.s):
			b.WriteString(p.s[p.i : p.i+2])
			p.i += 2
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", badQuery("%q: the regexp has no closing /", p.rest(start))
}

// clause reads one clause; p.i is at its first character.
func (p *textParser) clause() (Clause, error) {
	start := p.i
	c := Clause{Field: FieldLines}
	if s := p.peek(); s == '+' || s == '-' {
		c.Occur = Must
		if s == '-' {
			c.Occur = MustNot
		}
		p.i++
		if p.atEnd() {
			return c, badQuery("a lone %c: write %cterm, without a space (or quote it to search for it: \"%c\")", s, s, s)
		}
		if n := p.peek(); n == '+' || n == '-' {
			return c, badQuery("%q: one sign per term", p.rest(start))
		}
	}
	var err error
	quoted := false
	switch p.peek() {
	case '"':
		quoted = true
		c.Value, err = p.phrase()
	case '/':
		c.Op = OpRegexp
		c.Value, err = p.regexp()
	default:
		var w word
		if w, err = p.word(true); err != nil {
			return c, err
		}
		if p.peek() == ':' {
			if err := checkField(w, p.rest(start)); err != nil {
				return c, err
			}
			c.Field = w.text
			p.i++
			quoted = p.peek() == '"'
			err = p.value(&c, start)
			break
		}
		err = bareWord(&c, w, p.rest(start))
	}
	if err != nil {
		return c, err
	}
	if err := p.suffix(&c, start, quoted); err != nil {
		return c, err
	}
	if !p.atEnd() {
		return c, badQuery("%q: unexpected %q after %q (quote a value that holds it)", p.rest(start), p.rest(p.i), p.s[start:p.i])
	}
	c.text = p.s[start:p.i]
	return c, nil
}

func checkField(w word, at string) error {
	if _, ok := fieldKinds[w.text]; ok && !w.escaped {
		return nil
	}
	return badQuery("%q: unknown field %q (fields: %s; to search for text with a colon, quote it: \"%s\")",
		at, w.text, strings.Join(Fields, ", "), strings.ReplaceAll(at, `"`, `\"`))
}

// value reads what follows "field:".
func (p *textParser) value(c *Clause, start int) error {
	if p.atEnd() {
		return badQuery("%q: %s: needs a value (-%s:* finds events without one)", p.rest(start), c.Field, c.Field)
	}
	var err error
	switch p.peek() {
	case '"':
		c.Value, err = p.phrase()
		return err
	case '/':
		c.Op = OpRegexp
		c.Value, err = p.regexp()
		return err
	case '>', '<':
		c.Op = OpRange
		less := p.peek() == '<'
		p.i++
		incl := p.peek() == '='
		if incl {
			p.i++
		}
		var bound string
		switch {
		case p.atEnd():
			return badQuery("%q: the range needs a bound", p.rest(start))
		case p.peek() == '"':
			if bound, err = p.phrase(); err != nil {
				return err
			}
		default:
			w, err := p.word(false)
			if err != nil {
				return err
			}
			bound = w.text
		}
		if less {
			c.Max, c.MaxIncl = bound, incl
		} else {
			c.Min, c.MinIncl = bound, incl
		}
		return nil
	}
	w, err := p.word(false)
	if err != nil {
		return err
	}
	switch {
	case w.paren:
		return badQuery("%q: parentheses do not group terms in this syntax; escape them (\\( \\)) or quote the value", p.rest(start))
	case w.wild:
		c.Op, c.Value = OpWildcard, w.pattern
	default:
		c.Value = w.text
	}
	return nil
}

// operatorWords would be searched as words by bleve; nobody means that.
var operatorWords = map[string]bool{"AND": true, "OR": true, "NOT": true, "&&": true, "||": true}

func bareWord(c *Clause, w word, at string) error {
	switch {
	case operatorWords[w.text] && !w.escaped:
		return badQuery("%s is not an operator in this syntax: write +term for a term that must match, -term for one that must not; terms without a sign are alternatives (quote it to search for the word: \"%s\")", w.text, w.text)
	case w.bang:
		return badQuery("%q: ! is not an operator in this syntax: write -term to exclude a term (or quote it to search for it)", at)
	case w.paren:
		return badQuery("%q: parentheses do not group terms in this syntax; write +term and -term, or quote the text to search for it", at)
	case w.wild:
		c.Op, c.Value = OpWildcard, w.pattern
	default:
		c.Value = w.text
	}
	return nil
}

// suffix reads ~N (fuzzy) or refuses ^N (boost).
func (p *textParser) suffix(c *Clause, start int, quoted bool) error {
	switch p.peek() {
	case '^':
		return badQuery("%q: a boost (^) only changes ranking, and sshwhy does not rank results: drop it, or escape it (\\^) to search for it", p.rest(start))
	case '~':
		if c.Op != OpValue || quoted {
			return badQuery("%q: ~ (fuzzy) follows an unquoted word, like user:alice~1", p.rest(start))
		}
		p.i++
		w, err := p.word(false)
		if err != nil {
			return err
		}
		n := 1
		if w.text != "" {
			if n, err = strconv.Atoi(w.text); err != nil || n < 0 || n > 2 {
				return badQuery("%q: fuzziness is 0, 1 or 2 edits, not %q", p.rest(start), w.text)
			}
		}
		if n > 0 {
			c.Op, c.Fuzziness = OpFuzzy, n
		}
	}
	return nil
}
