package index

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/search/query"
	vregexp "github.com/blevesearch/vellum/regexp"

	"github.com/sshwhy/sshwhy/cause"
)

// How each field is indexed decides what its values mean in a query.
type fieldKind int8

const (
	kindKeyword fieldKind = iota // the whole value, exact
	kindHour                     // a keyword that is an hour key and compares as one
	kindNumber                   // number key (timekey.go)
	kindTime                     // time key
	kindIP                       // IP field: addresses and prefixes
	kindText                     // analysed words
)

// Fields are the fields a query text can name, in the order the help
// text lists them. The caller must not modify it.
var Fields = []string{
	FieldCause, FieldUser, FieldSrcIP, FieldIP, FieldRemote, FieldHost, FieldProgram, FieldPhase,
	FieldConfidence, FieldRule, FieldSource, FieldAuthMethod,
	FieldSrcPort, FieldPID, FieldDuration, FieldFailures,
	FieldStart, FieldEnd, FieldHour, FieldLines, FieldDetail,
}

var fieldKinds = map[string]fieldKind{
	FieldCause: kindKeyword, FieldUser: kindKeyword, FieldSrcIP: kindKeyword, FieldRemote: kindKeyword,
	FieldHost: kindKeyword, FieldProgram: kindKeyword, FieldPhase: kindKeyword, FieldConfidence: kindKeyword,
	FieldRule: kindKeyword, FieldSource: kindKeyword, FieldAuthMethod: kindKeyword,
	FieldHour:    kindHour,
	FieldSrcPort: kindNumber, FieldPID: kindNumber, FieldDuration: kindNumber, FieldFailures: kindNumber,
	FieldStart: kindTime, FieldEnd: kindTime,
	FieldIP:    kindIP,
	FieldLines: kindText, FieldDetail: kindText,
}

// textAnalyzer is the analyzer of the text fields (newMapping's
// evidenceAnalyzer): query words are split and lower-cased like the
// indexed ones.
var textAnalyzer = &analysis.DefaultAnalyzer{
	Tokenizer:    evidenceTokenizer{},
	TokenFilters: []analysis.TokenFilter{lowercase.NewLowerCaseFilter()},
}

// words are the indexed words of s in a text field.
func words(s string) []string {
	toks := textAnalyzer.Analyze([]byte(s))
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = string(t.Term)
	}
	return out
}

// textQuery is the query of a parsed text.
func textQuery(cs []Clause) (query.Query, error) {
	var b boolQuery
	for i := range cs {
		q, err := cs[i].query()
		if err != nil {
			return nil, err
		}
		switch cs[i].Occur {
		case Must:
			b.must = append(b.must, q)
		case MustNot:
			b.mustNot = append(b.mustNot, q)
		default:
			b.should = append(b.should, q)
		}
	}
	if len(b.must) == 0 && len(b.mustNot) == 0 && len(b.should) == 1 {
		return b.should[0], nil
	}
	return &b, nil
}

// query translates one clause, checking that it means something.
func (c *Clause) query() (query.Query, error) {
	kind, ok := fieldKinds[c.Field]
	if !ok {
		return nil, badQuery("%q: unknown field %q (fields: %s)", c.String(), c.Field, strings.Join(Fields, ", "))
	}
	if c.Op == OpValue && c.Value == "" {
		return nil, badQuery("%q: empty value (-%s:* finds events without %s)", c.String(), c.Field, c.Field)
	}
	if c.Op == OpRange && c.Min == "" && c.Max == "" {
		return nil, badQuery("%q: a range needs a bound", c.String())
	}
	if c.Op == OpFuzzy && (c.Fuzziness < 1 || c.Fuzziness > 2) {
		return nil, badQuery("%q: fuzziness is 1 or 2 edits, not %d", c.String(), c.Fuzziness)
	}
	switch kind {
	case kindKeyword, kindHour:
		return c.keyword(kind)
	case kindNumber:
		return c.number()
	case kindTime:
		return c.time()
	case kindIP:
		if c.Op != OpValue {
			return nil, badQuery("%q: ip takes an address or a CIDR prefix, like ip:203.0.113.0/24 or ip:2001:db8::/32", c.String())
		}
		q, err := ipQuery(c.Value)
		if err != nil {
			return nil, badQuery("%q: ip takes an address or a CIDR prefix: %v", c.String(), err)
		}
		return q, nil
	}
	return c.words()
}

func (c *Clause) keyword(kind fieldKind) (query.Query, error) {
	switch c.Op {
	case OpValue:
		if err := c.checkValue(kind); err != nil {
			return nil, err
		}
		if c.Field == FieldSrcIP {
			return anyTerm(FieldSrcIP, srcIPTerms(c.Value)), nil
		}
		return term(c.Field, c.Value), nil
	case OpWildcard:
		return regexpQuery(c.Field, WildcardRegexp(c.Value)), nil
	case OpRegexp:
		return c.regexpQuery(c.Value)
	case OpFuzzy:
		if kind == kindHour {
			break
		}
		q := bleve.NewFuzzyQuery(c.Value)
		q.SetFuzziness(c.Fuzziness)
		q.SetField(c.Field)
		return q, nil
	case OpRange:
		if kind != kindHour {
			return nil, badQuery("%q: ranges compare numbers, times and hours; %s is a name (a wildcard like %s:a* or a regexp may do)", c.String(), c.Field, c.Field)
		}
		for _, b := range []string{c.Min, c.Max} {
			if b != "" && !isHourKey(b) {
				return nil, badQuery("%q: hour compares UTC hours written like 2026-11-23T10, not %q", c.String(), b)
			}
		}
		q := bleve.NewTermRangeInclusiveQuery(c.Min, c.Max, &c.MinIncl, &c.MaxIncl)
		q.SetField(FieldHour)
		return q, nil
	}
	return nil, badQuery("%q: %s takes an hour like 2026-11-23T10, a wildcard or a range", c.String(), c.Field)
}

// checkValue refuses values a keyword field never has.
func (c *Clause) checkValue(kind fieldKind) error {
	v := c.Value
	switch {
	case kind == kindHour && !isHourKey(v):
		return badQuery("%q: hour is a UTC hour written like 2026-11-23T10 (or hour:2026-11-23T*), not %q", c.String(), v)
	case c.Field == FieldCause && !cause.Cause(v).Valid():
		return badQuery("%q: unknown cause %q (causes: %s)", c.String(), v, cause.List())
	case c.Field == FieldPhase && !cause.Phase(v).Valid():
		return badQuery("%q: unknown phase %q (phases: %s, %s)", c.String(), v, cause.Preauth, cause.Postauth)
	case c.Field == FieldConfidence && !cause.Confidence(v).Valid():
		return badQuery("%q: unknown confidence %q (confidences: %s, %s)", c.String(), v, cause.Certain, cause.Inferred)
	}
	return nil
}

func isHourKey(s string) bool {
	t, err := time.Parse(hourLayout, s)
	return err == nil && t.Format(hourLayout) == s
}

func (c *Clause) number() (query.Query, error) {
	parse := func(s string) (float64, error) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, badQuery("%q: %s takes a number, not %q", c.String(), c.Field, s)
		}
		return f, nil
	}
	switch c.Op {
	case OpValue:
		f, err := parse(c.Value)
		if err != nil {
			return nil, err
		}
		if f != math.Trunc(f) {
			what := "a whole number"
			if c.Field == FieldDuration {
				what = "whole seconds (the duration rounded); use a range for fractions, like duration_s:>=1.5"
			}
			return nil, badQuery("%q: %s compares %s, not %q", c.String(), c.Field, what, c.Value)
		}
		if f < 0 || f > maxNum {
			return bleve.NewMatchNoneQuery(), nil
		}
		return term(c.Field, numKey(int64(f))), nil
	case OpRange:
		var min, max *float64
		for _, b := range []struct {
			s string
			p **float64
		}{{c.Min, &min}, {c.Max, &max}} {
			if b.s != "" {
				f, err := parse(b.s)
				if err != nil {
					return nil, err
				}
				*b.p = &f
			}
		}
		return numberRange(c.Field, min, max, c.MinIncl, c.MaxIncl), nil
	}
	return nil, badQuery("%q: %s takes a number or a range like %s:>=10", c.String(), c.Field, c.Field)
}

// numberRange is a range over number keys; bounds are rounded inward to
// whole numbers (the keys are whole numbers).
func numberRange(field string, min, max *float64, minIncl, maxIncl bool) query.Query {
	lo, hi := int64(0), int64(maxNum)
	if min != nil {
		m := *min
		if minIncl {
			m = math.Ceil(m)
		} else {
			m = math.Floor(m) + 1
		}
		if m > maxNum {
			return bleve.NewMatchNoneQuery()
		}
		lo = clampNum(m)
	}
	if max != nil {
		m := *max
		if maxIncl {
			m = math.Floor(m)
		} else {
			m = math.Ceil(m) - 1
		}
		if m < 0 {
			return bleve.NewMatchNoneQuery()
		}
		hi = clampNum(m)
	}
	if lo > hi {
		return bleve.NewMatchNoneQuery()
	}
	yes := true
	q := bleve.NewTermRangeInclusiveQuery(numKey(lo), numKey(hi), &yes, &yes)
	q.SetField(field)
	return q
}

func clampNum(f float64) int64 {
	switch {
	case math.IsNaN(f) || f < 0:
		return 0
	case f > maxNum:
		return maxNum
	}
	return int64(f)
}

// timeSpan is the interval a time value stands for: an instant, or a
// whole UTC day for a date.
func timeSpan(s string) (lo, hi time.Time, ok bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, t, true
	}
	if t, err := time.Parse(dayLayout, s); err == nil {
		return t, t.AddDate(0, 0, 1).Add(-time.Nanosecond), true
	}
	return lo, hi, false
}

func (c *Clause) time() (query.Query, error) {
	span := func(s string) (lo, hi time.Time, err error) {
		lo, hi, ok := timeSpan(s)
		if !ok {
			err = badQuery("%q: %s takes an RFC 3339 time (2026-11-23T10:00:00Z) or a UTC date (2026-11-23), not %q", c.String(), c.Field, s)
		}
		return lo, hi, err
	}
	var since, until time.Time // zero: open
	switch c.Op {
	case OpValue:
		lo, hi, err := span(c.Value)
		if err != nil {
			return nil, err
		}
		since, until = lo, hi
	case OpRange:
		if c.Min != "" {
			lo, hi, err := span(c.Min)
			if err != nil {
				return nil, err
			}
			since = lo
			if !c.MinIncl {
				since = hi.Add(time.Nanosecond)
			}
		}
		if c.Max != "" {
			lo, hi, err := span(c.Max)
			if err != nil {
				return nil, err
			}
			until = hi
			if !c.MaxIncl {
				until = lo.Add(-time.Nanosecond)
			}
		}
	default:
		return nil, badQuery("%q: %s takes a time or a range, like %s:>=2026-11-23T10:00:00Z", c.String(), c.Field, c.Field)
	}
	if (c.Op == OpValue || c.Max != "") && !until.After(time.Time{}) {
		return bleve.NewMatchNoneQuery(), nil // no event is that old (and a zero until would be open)
	}
	return timeQuery(c.Field, since, until), nil
}

// timeQuery selects the events whose field (start or end) is in [since,
// until]; a zero bound is open.
func timeQuery(field string, since, until time.Time) query.Query {
	if !since.IsZero() && since.Year() > 9999 || !since.IsZero() && !until.IsZero() && until.Before(since) {
		return bleve.NewMatchNoneQuery()
	}
	if !since.IsZero() && since.Year() < 1 {
		since = time.Time{}
	}
	if !until.IsZero() && until.Year() > 9999 {
		until = time.Time{}
	}
	if field == FieldEnd {
		return &endRange{since: since, until: until}
	}
	var min, max string
	if !since.IsZero() {
		min = timeKey(since)
	}
	if !until.IsZero() {
		if next := until.Add(time.Nanosecond); canStoreTime(next) {
			max = timeKey(next)
		}
	}
	if min == "" && max == "" {
		return regexpQuery(field, ".*") // every event that has the field
	}
	return termRange(field, min, max)
}

func (c *Clause) words() (query.Query, error) {
	switch c.Op {
	case OpValue, OpFuzzy:
		ws := words(c.Value)
		switch {
		case len(ws) == 0:
			return nil, badQuery("%q: %q has no letters or digits to search for", c.String(), c.Value)
		case c.Op == OpFuzzy && len(ws) > 1:
			return nil, badQuery("%q: ~ (fuzzy) takes one word", c.String())
		case c.Op == OpFuzzy:
			q := bleve.NewFuzzyQuery(ws[0])
			q.SetFuzziness(c.Fuzziness)
			q.SetField(c.Field)
			return q, nil
		case len(ws) == 1:
			return term(c.Field, ws[0]), nil
		}
		return bleve.NewPhraseQuery(ws, c.Field), nil
	case OpWildcard:
		return regexpQuery(c.Field, WildcardRegexp(strings.ToLower(c.Value))), nil
	case OpRegexp:
		return c.regexpQuery(c.Value)
	}
	return nil, badQuery("%q: %s is text: ranges compare numbers, times and hours", c.String(), c.Field)
}

func (c *Clause) regexpQuery(re string) (query.Query, error) {
	if _, err := vregexp.New(re); err != nil {
		return nil, badQuery("%q: bad regexp: %v", c.String(), err)
	}
	return regexpQuery(c.Field, re), nil
}

func regexpQuery(field, re string) query.Query {
	q := bleve.NewRegexpQuery(re)
	q.SetField(field)
	return q
}

// WildcardRegexp turns a wildcard pattern of the query text (* any run,
// ? one character, \ escapes) into the Go regexp that the index matches
// whole values against; other stores (victorialogs) use it to mean the
// same.
func WildcardRegexp(p string) string {
	var b strings.Builder
	b.WriteString("(?s)")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\' && i+1 < len(p):
			i++
			b.WriteString(regexpQuote(p[i : i+1]))
		case c == '*':
			b.WriteString(".*")
		case c == '?':
			b.WriteString(".")
		default:
			b.WriteString(regexpQuote(p[i : i+1]))
		}
	}
	return b.String()
}

// regexpQuote escapes one byte of a pattern (a byte of a multi-byte
// character is written as is: it is never a metacharacter).
func regexpQuote(s string) string {
	if strings.ContainsAny(s, `\.+*?()|[]{}^$`) {
		return `\` + s
	}
	return s
}

func term(field, v string) query.Query {
	t := bleve.NewTermQuery(v)
	t.SetField(field)
	return t
}

func anyTerm(field string, vals []string) query.Query {
	qs := make([]query.Query, len(vals))
	for i, v := range vals {
		qs[i] = term(field, v)
	}
	return or(qs)
}

func or(qs []query.Query) query.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return &boolQuery{should: qs}
}

// srcIPTerms are the src_ip values that mean the address v: the address
// itself and, for IPv4, its IPv4-mapped form (which older sshwhy stored
// as logged). A value that is not an address stands for itself.
func srcIPTerms(v string) []string {
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		return []string{v}
	}
	a = a.Unmap()
	if a.Is4() {
		return []string{a.String(), "::ffff:" + a.String()}
	}
	return []string{a.String()}
}

// NormalizeIP is the form of a source address that counts and lists use:
// an IPv4-mapped IPv6 address as IPv4, IPv6 in its canonical form. A
// value that is not an address is returned as it is.
func NormalizeIP(v string) string {
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		return v
	}
	return a.Unmap().String()
}

// mapped is the IPv6 prefix of IPv4-mapped addresses, under which the IP
// field holds every IPv4 address.
var mapped = netip.MustParsePrefix("::ffff:0.0.0.0/96")

// ipQuery selects the events whose source address is s or lies in the
// prefix s. An IPv4-mapped address or prefix is the IPv4 one; an IPv6
// prefix never matches an IPv4 address (although the IP field stores IPv4
// in IPv4-mapped form, inside ::/0).
func ipQuery(s string) (query.Query, error) {
	s = strings.TrimSpace(s)
	var p netip.Prefix
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return nil, fmt.Errorf("%q has a zone; source addresses have none", s)
		}
		a = a.Unmap()
		p = netip.PrefixFrom(a, a.BitLen())
	} else if p, err = netip.ParsePrefix(s); err != nil {
		return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", s)
	}
	p = p.Masked()
	if p.Addr().Is4In6() && p.Bits() >= mapped.Bits() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-mapped.Bits())
	}
	q := ipRange(p)
	if p.Addr().Is6() && p.Bits() <= mapped.Bits() && p.Contains(mapped.Addr()) {
		q = &boolQuery{must: []query.Query{q}, mustNot: []query.Query{ipRange(mapped)}}
	}
	return &cidrQuery{prefix: p, Query: q}, nil
}

// cidrQuery is ipQuery's answer: Query searches the IP field, and
// contains decides the same for one event from its src_ip doc value. A
// range of addresses costs a term lookup per address present in every
// segment of the shard (a /24 on the live shard of an hour at 1,000
// events a second, 32 segments: 24 ms a search); boolQuery checks it per
// event instead when the rest of a conjunction selects few events
// (checkCheaper).
type cidrQuery struct {
	query.Query
	prefix netip.Prefix // masked; IPv4 unmapped
}

// contains reports whether a (an event's address, as srcAddr reads it)
// lies in the prefix; an IPv6 prefix never holds an IPv4 address.
func (q *cidrQuery) contains(a netip.Addr) bool {
	return a.Is4() == q.prefix.Addr().Is4() && q.prefix.Contains(a)
}

// srcAddr reads the src_ip value v as the IP field indexes it (net.ParseIP:
// IPv4 and IPv4-mapped alike), IPv4 unmapped; false when the event has
// no IP field.
func srcAddr(v []byte) (netip.Addr, bool) {
	ip := net.ParseIP(string(v))
	if ip == nil {
		return netip.Addr{}, false
	}
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap(), true
}

// termRange is the first and the last term of the prefix in the IP field
// (16 bytes, IPv4 as IPv4-mapped).
func (q *cidrQuery) termRange() (lo, hi []byte) {
	first := q.prefix.Addr()
	b := first.AsSlice()
	for bit := q.prefix.Bits(); bit < len(b)*8; bit++ {
		b[bit/8] |= 0x80 >> (bit % 8)
	}
	last, _ := netip.AddrFromSlice(b)
	a, z := first.As16(), last.As16()
	return a[:], z[:]
}

// cidrs returns the prefixes of a query that is one cidrQuery or an
// alternative of them (Query.IPs), and false for any other query.
func cidrs(q query.Query) ([]*cidrQuery, bool) {
	switch q := q.(type) {
	case *cidrQuery:
		return []*cidrQuery{q}, true
	case *boolQuery:
		if len(q.must) > 0 || len(q.mustNot) > 0 || len(q.should) == 0 {
			return nil, false
		}
		var all []*cidrQuery
		for _, sub := range q.should {
			c, ok := sub.(*cidrQuery)
			if !ok {
				return nil, false
			}
			all = append(all, c)
		}
		return all, true
	}
	return nil, false
}

func ipRange(p netip.Prefix) query.Query {
	r := bleve.NewIPRangeQuery(p.String())
	r.SetField(FieldIP)
	return r
}
