package victorialogs

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/sshwhy/sshwhy/index"
)

// The LogsQL that Store sends. Every query starts with the stream filter
// that selects sshwhy's rows (the engine may hold other logs), then the
// filters of the index.Query, each translated to the filter with the same
// meaning as in the local index (index.Query and index.ParseText define
// it; the query text is read by index.ParseText itself, so both stores
// parse it alike):
//
//	Since/Until, end:     _time:[SINCE, UNTIL]   nanoseconds, UTC (the event's end)
//	Causes, Users, ...    cause:in("a", "b")     exact, case-sensitive
//	IPs, ip:              ip:ipv6_range("LO", "HI") OR ...   IPv4 as ::ffff:a.b.c.d, as
//	                      the index does; an IPv6 prefix leaves the IPv4 range out
//	keyword:value         user:="root"           src_ip: also the IPv4-mapped form
//	wildcard, regexp, ~N  user:~"^(?:RE)$"       the whole value, Go's regexp syntax
//	                      (~N spelled out as the values within N edits)
//	numbers               pid:range[LO, HI]      whole numbers, bounds rounded inward;
//	                      duration_s compares duration_key (the rounded seconds)
//	start:, hour:         start_utc:string_range(...), _time ranges
//	+ - and alternatives  AND, AND NOT, OR
//
// Free text (lines, detail: the index's own tokenizer and lower-casing)
// has no exact LogsQL translation and is refused with a pointer to
// --logsql; so are patterns over auth_method (a JSON array in the row).
// What the index refuses is refused with the index's own error: Filter
// validates with it first.
const streamFilter = `{app="sshwhy"}`

// numberFields are the query text's number fields and the row fields that
// hold their keys.
var numberFields = map[string]string{
	index.FieldSrcPort: index.FieldSrcPort, index.FieldPID: index.FieldPID,
	index.FieldFailures: index.FieldFailures, index.FieldDuration: fieldDurationKey,
}

// maxNum is the index's largest number key (index/timekey.go): larger
// values are stored as it.
const maxNum = 9999999999

// unsupported is the error for a valid query part that has no exact
// LogsQL translation.
func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s has no exact translation to LogsQL for --remote; write that part as LogsQL with --logsql", index.ErrBadQuery, fmt.Sprintf(format, args...))
}

// quote is a LogsQL double-quoted string: Go syntax, which LogsQL decodes
// as Go does, so every byte comes back as it was.
func quote(s string) string { return strconv.Quote(s) }

// Filter translates q into a LogsQL filter (without the stream filter
// and pipes). Errors wrap index.ErrBadQuery; those about a malformed q
// are the index's own.
func Filter(q index.Query) (string, error) {
	if err := q.Validate(); err != nil {
		return "", err
	}
	var and []string
	if f := timeFilter(q.Since, q.Until); f != "*" {
		and = append(and, f)
	}
	in := func(field string, vals []string) {
		var vs []string
		for _, v := range vals {
			if v != "" { // the index stores no empty values: "" matches nothing
				vs = append(vs, quote(v))
			}
		}
		if len(vs) == 0 {
			and = append(and, matchNone)
			return
		}
		and = append(and, field+":in("+strings.Join(vs, ", ")+")")
	}
	if len(q.Causes) > 0 {
		cs := make([]string, len(q.Causes))
		for i, c := range q.Causes {
			cs[i] = string(c)
		}
		in(index.FieldCause, cs)
	}
	if len(q.IPs) > 0 {
		var or []string
		for _, s := range q.IPs {
			f, err := ipFilter(s)
			if err != nil {
				return "", err
			}
			or = append(or, f)
		}
		and = append(and, group(or, " OR "))
	}
	if len(q.Users) > 0 {
		in(index.FieldUser, q.Users)
	}
	if len(q.Hosts) > 0 {
		in(index.FieldHost, q.Hosts)
	}
	if len(q.Phases) > 0 {
		in(index.FieldPhase, q.Phases)
	}
	if strings.TrimSpace(q.Text) != "" {
		cs, err := index.ParseText(q.Text)
		if err != nil {
			return "", err
		}
		f, err := textFilter(cs)
		if err != nil {
			return "", err
		}
		and = append(and, f)
	}
	for _, f := range and {
		if f == matchNone {
			return matchNone, nil
		}
	}
	if len(and) == 0 {
		return "*", nil
	}
	return strings.Join(and, " AND "), nil
}

// matchNone matches no sshwhy row: every row has an id.
const matchNone = `id:=""`

// ts is a time for a _time filter. All nine digits: VictoriaLogs reads a
// time given to the second as the whole second (<=10:00:00Z includes
// 10:00:00.5).
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// The times VictoriaLogs can hold (int64 nanoseconds): no row lies
// outside, and a _time bound outside is misread.
var (
	minTime = time.Unix(0, math.MinInt64).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

// timeFilter matches the rows whose _time (the event's end) is in [since,
// until]; zero bounds are open.
func timeFilter(since, until time.Time) string {
	if !since.IsZero() && since.After(maxTime) || !until.IsZero() && until.Before(minTime) ||
		!since.IsZero() && !until.IsZero() && until.Before(since) {
		return matchNone
	}
	if since.Before(minTime) {
		since = time.Time{}
	}
	if until.After(maxTime) {
		until = time.Time{}
	}
	switch {
	case !since.IsZero() && !until.IsZero():
		return "_time:[" + ts(since) + ", " + ts(until) + "]"
	case !since.IsZero():
		return "_time:>=" + ts(since)
	case !until.IsZero():
		return "_time:<=" + ts(until)
	}
	return "*"
}

func group(parts []string, op string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, op) + ")"
}

// mapped is the IPv6 prefix of IPv4-mapped addresses.
var mapped = netip.MustParsePrefix("::ffff:0.0.0.0/96")

// ipFilter matches the addresses in s (an address or a CIDR prefix) as
// the index does (index.Query.IPs): in the 16-byte space, an IPv4 network
// being the IPv4-mapped one, an IPv6 network never holding an IPv4
// address. VictoriaLogs' ipv6_range compares IPv4 values mapped.
func ipFilter(s string) (string, error) {
	s = strings.TrimSpace(s)
	var p netip.Prefix
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return "", fmt.Errorf("%w: %q has a zone; source addresses have none", index.ErrBadQuery, s)
		}
		a = a.Unmap()
		p = netip.PrefixFrom(a, a.BitLen())
	} else if p, err = netip.ParsePrefix(s); err != nil {
		return "", fmt.Errorf("%w: %q is neither an IP address nor a CIDR prefix", index.ErrBadQuery, s)
	}
	p = p.Masked()
	if p.Addr().Is4In6() && p.Bits() >= mapped.Bits() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-mapped.Bits())
	}
	lo, hi := prefixRange(p)
	if p.Addr().Is6() && p.Bits() <= mapped.Bits() && p.Contains(mapped.Addr()) {
		// The range less the IPv4 addresses: what lies on either side.
		mlo, mhi := prefixRange(mapped)
		var parts []string
		if lo.Less(mlo) {
			parts = append(parts, ipRange(lo, mlo.Prev()))
		}
		if mhi.Less(hi) {
			parts = append(parts, ipRange(mhi.Next(), hi))
		}
		return group(parts, " OR "), nil
	}
	return ipRange(lo, hi), nil
}

// prefixRange is the first and last address of p, in 16 bytes.
func prefixRange(p netip.Prefix) (lo, hi netip.Addr) {
	b := p.Addr().As16()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	l, h := b, b
	for i := range 16 {
		var mask byte
		switch n := bits - 8*i; {
		case n >= 8:
			mask = 0xff
		case n > 0:
			mask = 0xff << (8 - n)
		}
		l[i] &= mask
		h[i] = l[i] | ^mask
	}
	return netip.AddrFrom16(l), netip.AddrFrom16(h)
}

func ipRange(lo, hi netip.Addr) string {
	return fieldIP + ":ipv6_range(" + quote(lo.String()) + ", " + quote(hi.String()) + ")"
}

// textFilter translates the clauses of a query text: the required ones
// ANDed, at least one of the alternatives, none of the excluded ones.
func textFilter(cs []index.Clause) (string, error) {
	var must, should, not []string
	for _, c := range cs {
		f, err := clauseFilter(c)
		if err != nil {
			return "", err
		}
		switch c.Occur {
		case index.Must:
			must = append(must, f)
		case index.MustNot:
			not = append(not, f)
		default:
			should = append(should, f)
		}
	}
	out := must
	if len(should) > 0 {
		out = append(out, group(should, " OR "))
	}
	if len(not) > 0 {
		if len(out) == 0 {
			out = append(out, "*")
		}
		out = append(out, "NOT "+group(not, " OR "))
	}
	return group(out, " AND "), nil
}

// clauseFilter translates one clause (already validated by the index).
// The result is one filter or parenthesised.
func clauseFilter(c index.Clause) (string, error) {
	switch c.Field {
	case index.FieldLines, index.FieldDetail:
		what := "free text"
		if c.Field == index.FieldDetail {
			what = "text in detail"
		}
		return "", unsupported("%s (%s)", what, c)
	case index.FieldIP:
		return ipFilter(c.Value)
	case index.FieldEnd:
		since, until, none := clause(c).timeBounds()
		if none {
			return matchNone, nil
		}
		return timeFilter(since, until), nil
	case index.FieldStart:
		return startFilter(c)
	case index.FieldHour:
		if c.Op == index.OpRange {
			return hourRange(c)
		}
	}
	if _, ok := numberFields[c.Field]; ok {
		return numberFilter(c)
	}
	return keywordFilter(c)
}

// keywordFilter translates a clause on a keyword field.
func keywordFilter(c index.Clause) (string, error) {
	field := c.Field
	if field == index.FieldAuthMethod {
		if c.Op != index.OpValue {
			return "", unsupported("a pattern over auth_method (%s)", c)
		}
		return "auth_methods:json_array_contains_any(" + quote(c.Value) + ")", nil
	}
	var re string
	switch c.Op {
	case index.OpValue:
		if field == index.FieldSrcIP {
			return srcIPFilter(c.Value), nil
		}
		return field + ":=" + quote(c.Value), nil
	case index.OpWildcard:
		re = index.WildcardRegexp(c.Value)
	case index.OpRegexp:
		re = c.Value
	case index.OpFuzzy:
		re = fuzzyRegexp(c.Value, c.Fuzziness)
		if len(re) > maxRegexp {
			return "", unsupported("fuzzy matching of a value this long (%s)", c)
		}
	default:
		return "", unsupported("%s", c) // the index refuses the rest
	}
	return regexpFilter(field, re)
}

// maxRegexp bounds the regexps sent (a fuzzy value spelled out grows with
// the cube of its length for ~2).
const maxRegexp = 64 << 10

// regexpFilter matches the rows whose field, as a whole, matches re (the
// index's regexp semantics: a term matches or not as a whole). A field a
// row lacks reads as "" in LogsQL but matches nothing in the index, so a
// regexp that matches "" also requires the field.
func regexpFilter(field, re string) (string, error) {
	s, err := engineRegexp(re)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", index.ErrBadQuery, re, err)
	}
	f := field + ":~" + quote("^(?:"+s+")$")
	if regexp.MustCompile("^(?:" + s + ")$").MatchString("") {
		f = "(" + field + ":* AND " + f + ")"
	}
	return f, nil
}

// engineRegexp rewrites re (Go syntax, as the index reads it) so that
// VictoriaLogs gives it Go's meaning: its optimiser takes "." for any
// character, newline included, so "." (not newline) is spelled as the
// class it stands for.
func engineRegexp(re string) (string, error) {
	r, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return "", err
	}
	var walk func(r *syntax.Regexp)
	walk = func(r *syntax.Regexp) {
		if r.Op == syntax.OpAnyCharNotNL {
			r.Op, r.Rune = syntax.OpCharClass, []rune{0, '\n' - 1, '\n' + 1, unicode.MaxRune}
		}
		for _, s := range r.Sub {
			walk(s)
		}
	}
	walk(r)
	return r.String(), nil
}

// fuzzyRegexp matches the values within k edits of w, as the index's
// fuzzy queries count them (its Levenshtein automaton): edits are
// characters inserted, deleted or replaced, or two adjacent ones swapped
// (a swapped pair is not edited again).
func fuzzyRegexp(w string, k int) string {
	rs := []rune(w)
	lit := func(r []rune) string { return regexp.QuoteMeta(string(r)) }
	var at func(i, k int) string // the rest of w from i, within k edits
	at = func(i, k int) string {
		switch {
		case k == 0:
			return lit(rs[i:])
		case i == len(rs):
			return ".{0," + strconv.Itoa(k) + "}"
		}
		alts := []string{
			lit(rs[i:i+1]) + at(i+1, k), // kept
			".?" + at(i+1, k-1),         // replaced or deleted
			"." + at(i, k-1),            // a character inserted before it
		}
		if i+1 < len(rs) {
			alts = append(alts, lit([]rune{rs[i+1], rs[i]})+at(i+2, k-1)) // swapped
		}
		return "(?:" + strings.Join(alts, "|") + ")"
	}
	return "(?s)" + at(0, k)
}

// srcIPFilter matches src_ip:ADDRESS as the index does: the address in
// its canonical form and, for IPv4, its IPv4-mapped form too; a value
// that is no address stands for itself.
func srcIPFilter(v string) string {
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		return index.FieldSrcIP + ":=" + quote(v)
	}
	a = a.Unmap()
	if a.Is4() {
		return index.FieldSrcIP + ":in(" + quote(a.String()) + ", " + quote("::ffff:"+a.String()) + ")"
	}
	return index.FieldSrcIP + ":=" + quote(a.String())
}

// timeSpan is the interval a time value of the query text stands for: an
// instant, or a whole UTC day for a date (index.ParseText).
func timeSpan(s string) (lo, hi time.Time, ok bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, t, true
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, t.AddDate(0, 0, 1).Add(-time.Nanosecond), true
	}
	return lo, hi, false
}

// timeBounds are the bounds of a clause on start or end, inclusive, zero
// for open ones; none when it matches nothing.
func (c clause) timeBounds() (since, until time.Time, none bool) {
	switch c.Op {
	case index.OpValue:
		since, until, _ = timeSpan(c.Value)
	case index.OpRange:
		if c.Min != "" {
			lo, hi, _ := timeSpan(c.Min)
			since = lo
			if !c.MinIncl {
				since = hi.Add(time.Nanosecond)
			}
		}
		if c.Max != "" {
			lo, hi, _ := timeSpan(c.Max)
			until = hi
			if !c.MaxIncl {
				until = lo.Add(-time.Nanosecond)
			}
		}
	}
	if (c.Op == index.OpValue || c.Max != "") && !until.After(time.Time{}) {
		return since, until, true // no event is that old
	}
	if !since.IsZero() && since.Year() > 9999 || !since.IsZero() && !until.IsZero() && until.Before(since) {
		return since, until, true
	}
	if !since.IsZero() && since.Year() < 1 {
		since = time.Time{}
	}
	if !until.IsZero() && until.Year() > 9999 {
		until = time.Time{}
	}
	return since, until, false
}

// clause adds methods to index.Clause.
type clause index.Clause

func (c clause) String() string { return index.Clause(c).String() }

// startFilter matches the rows whose start_utc (the start as a key that
// sorts as the time) is within the clause's bounds.
func startFilter(ic index.Clause) (string, error) {
	since, until, none := clause(ic).timeBounds()
	if none {
		return matchNone, nil
	}
	lo, hi := "0", "~" // below and above every key
	if !since.IsZero() {
		lo = timeKey(since)
	}
	if !until.IsZero() {
		if next := until.Add(time.Nanosecond); next.Year() <= 9999 {
			hi = timeKey(next)
		}
	}
	return fieldStart + ":string_range(" + quote(lo) + ", " + quote(hi) + ")", nil
}

// hourRange translates a range over hour keys into the _time range of
// the hours it takes in (hour is the UTC hour of _time).
func hourRange(c index.Clause) (string, error) {
	var since, until time.Time
	if c.Min != "" {
		t, err := time.Parse(hourLayout, c.Min)
		if err != nil {
			return "", unsupported("%s", c)
		}
		since = t
		if !c.MinIncl {
			since = t.Add(time.Hour)
		}
	}
	if c.Max != "" {
		t, err := time.Parse(hourLayout, c.Max)
		if err != nil {
			return "", unsupported("%s", c)
		}
		until = t.Add(-time.Nanosecond)
		if c.MaxIncl {
			until = t.Add(time.Hour - time.Nanosecond)
		}
	}
	return timeFilter(since, until), nil
}

// numberFilter translates a clause on a number field, as the index
// compares its whole-number keys: an equality takes a whole number, a
// range's bounds are rounded inward.
func numberFilter(c index.Clause) (string, error) {
	field := numberFields[c.Field]
	parse := func(s string) float64 {
		f, _ := strconv.ParseFloat(s, 64) // the index checked it
		return f
	}
	switch c.Op {
	case index.OpValue:
		f := parse(c.Value)
		if f < 0 || f > maxNum {
			return matchNone, nil
		}
		return keyRange(field, int64(f), int64(f)), nil
	case index.OpRange:
		lo, hi := int64(0), int64(maxNum)
		if c.Min != "" {
			m := parse(c.Min)
			if c.MinIncl {
				m = math.Ceil(m)
			} else {
				m = math.Floor(m) + 1
			}
			if m > maxNum {
				return matchNone, nil
			}
			lo = clamp(m)
		}
		if c.Max != "" {
			m := parse(c.Max)
			if c.MaxIncl {
				m = math.Floor(m)
			} else {
				m = math.Ceil(m) - 1
			}
			if m < 0 {
				return matchNone, nil
			}
			hi = clamp(m)
		}
		if lo > hi {
			return matchNone, nil
		}
		return keyRange(field, lo, hi), nil
	}
	return "", unsupported("%s", c) // the index refuses the rest
}

func clamp(f float64) int64 {
	switch {
	case math.IsNaN(f) || f < 0:
		return 0
	case f > maxNum:
		return maxNum
	}
	return int64(f)
}

// keyRange matches the rows whose key of field is in [lo, hi]. A value
// above maxNum has the key maxNum in the index; the rows hold the value.
func keyRange(field string, lo, hi int64) string {
	switch {
	case lo == 0 && hi == maxNum:
		return field + ":*"
	case hi == maxNum:
		return field + ":>=" + strconv.FormatInt(lo, 10)
	case lo == hi:
		return field + ":=" + strconv.FormatInt(lo, 10)
	}
	return field + ":range[" + strconv.FormatInt(lo, 10) + ", " + strconv.FormatInt(hi, 10) + "]"
}
