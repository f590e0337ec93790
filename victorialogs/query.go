package victorialogs

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/sshwhy/sshwhy/index"
)

// The LogsQL that Store sends. Every query starts with the stream filter
// that selects sshwhy's rows (the engine may hold other logs), then the
// filters of the index.Query, each translated to the filter with the same
// meaning as in the local index:
//
//	Since/Until          _time:[SINCE, UNTIL] (nanoseconds, UTC; the event's end)
//	Causes, Users, ...   cause:in("a", "b")   exact, case-sensitive
//	IPs                  ip:ipv6_range("LO", "HI") OR ...   IPv4 as ::ffff:a.b.c.d, as bleve does
//	Text                 the query-string tree: keyword fields exact, numbers with
//	                     the index's rounding, ip:, end: ranges; free text is refused
//
// and then the pipes that deduplicate by event id (see Store).
const streamFilter = `{app="sshwhy"}`

// numberFields are the query-string fields indexed as whole numbers;
// keywordFields those matched exactly. Row field names are the same,
// except auth_method (a JSON array in auth_methods).
var (
	numberFields  = map[string]bool{index.FieldSrcPort: true, index.FieldPID: true, index.FieldDuration: true, index.FieldFailures: true}
	keywordFields = map[string]bool{
		index.FieldCause: true, index.FieldUser: true, index.FieldSrcIP: true, index.FieldHost: true,
		index.FieldProgram: true, index.FieldPhase: true, index.FieldConfidence: true, index.FieldRule: true,
		index.FieldSource: true, index.FieldHour: true,
	}
)

// maxNum is the index's largest number key (index/timekey.go).
const maxNum = 9999999999

// unsupported is the error for a part of a query-string query that has no
// exact LogsQL translation.
func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s has no exact translation to LogsQL for --remote; write that part as LogsQL with --logsql", index.ErrBadQuery, fmt.Sprintf(format, args...))
}

// quote is a LogsQL double-quoted string: Go syntax, which LogsQL decodes
// as Go does, so every byte comes back as it was.
func quote(s string) string { return strconv.Quote(s) }

// Filter translates q into a LogsQL filter (without the stream filter
// and pipes). Errors wrap index.ErrBadQuery.
func Filter(q index.Query) (string, error) {
	if err := q.Validate(); err != nil {
		return "", err
	}
	var and []string
	switch {
	case !q.Since.IsZero() && !q.Until.IsZero():
		and = append(and, "_time:["+ts(q.Since)+", "+ts(q.Until)+"]")
	case !q.Since.IsZero():
		and = append(and, "_time:>="+ts(q.Since))
	case !q.Until.IsZero():
		and = append(and, "_time:<="+ts(q.Until))
	}
	none := false
	in := func(field string, vals []string) {
		var vs []string
		for _, v := range vals {
			// The index stores no empty values: "" matches nothing.
			if v != "" {
				vs = append(vs, quote(v))
			}
		}
		if len(vs) == 0 {
			none = true
			return
		}
		and = append(and, field+":in("+strings.Join(vs, ", ")+")")
	}
	if len(q.Causes) > 0 {
		cs := make([]string, len(q.Causes))
		for i, c := range q.Causes {
			cs[i] = string(c)
		}
		in("cause", cs)
	}
	if len(q.IPs) > 0 {
		var or []string
		for _, s := range q.IPs {
			f, err := ipFilter(strings.TrimSpace(s))
			if err != nil {
				return "", err
			}
			or = append(or, f)
		}
		and = append(and, group(or, " OR "))
	}
	if len(q.Users) > 0 {
		in("user", q.Users)
	}
	if len(q.Hosts) > 0 {
		in("host", q.Hosts)
	}
	if len(q.Phases) > 0 {
		in("phase", q.Phases)
	}
	if t := strings.TrimSpace(q.Text); t != "" {
		parsed, err := bleve.NewQueryStringQuery(t).Parse()
		if err != nil {
			return "", fmt.Errorf("%w: query %q: %v", index.ErrBadQuery, t, err)
		}
		f, n, err := translate(parsed)
		if err != nil {
			return "", err
		}
		if n {
			none = true
		} else if f != "" {
			and = append(and, f)
		}
	}
	if none {
		return matchNone, nil
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

func group(parts []string, op string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, op) + ")"
}

// ipFilter matches the addresses in s (an address or a CIDR prefix) as
// bleve's IP field does: in the 16-byte space, an IPv4 network being the
// IPv4-mapped one. The ip field of a row holds net.ParseIP's form of the
// source, and VictoriaLogs' ipv6_range compares IPv4 values mapped too.
func ipFilter(s string) (string, error) {
	var lo, hi net.IP
	if _, n, err := net.ParseCIDR(s); err == nil {
		ones, bits := n.Mask.Size()
		ip := n.IP.To16()
		if bits == 32 {
			ones += 96
		}
		mask := net.CIDRMask(ones, 128)
		lo, hi = make(net.IP, 16), make(net.IP, 16)
		for i := range lo {
			lo[i] = ip[i] & mask[i]
			hi[i] = lo[i] | ^mask[i]
		}
	} else if ip := net.ParseIP(s); ip != nil {
		lo, hi = ip.To16(), ip.To16()
	} else {
		return "", fmt.Errorf("%w: %q is neither an IP address nor a CIDR prefix", index.ErrBadQuery, s)
	}
	a, _ := netip.AddrFromSlice(lo)
	b, _ := netip.AddrFromSlice(hi)
	return fieldIP + ":ipv6_range(" + quote(a.String()) + ", " + quote(b.String()) + ")", nil
}

// translate turns a parsed query-string query into LogsQL. none reports
// a query that matches nothing, which bleve's query-string mode drops
// from conjunctions and disjunctions.
func translate(q query.Query) (f string, none bool, err error) {
	switch q := q.(type) {
	case *query.BooleanQuery:
		if q.Filter != nil {
			return "", false, unsupported("a filter clause")
		}
		part := func(p query.Query) (string, bool, error) {
			if p == nil {
				return "", false, nil
			}
			f, none, err := translate(p)
			return f, f != "" && !none, err
		}
		must, hasMust, err := part(q.Must)
		if err != nil {
			return "", false, err
		}
		should, hasShould, err := part(q.Should)
		if err != nil {
			return "", false, err
		}
		not, hasNot, err := part(q.MustNot)
		if err != nil {
			return "", false, err
		}
		// As bleve's BooleanSearcher: must drives and should only scores;
		// without must, should drives; with neither, everything but
		// must-not.
		var out []string
		switch {
		case hasMust:
			out = append(out, must)
		case hasShould:
			out = append(out, should)
		case hasNot:
			out = append(out, "*")
		default:
			return "", true, nil
		}
		if hasNot {
			out = append(out, "NOT "+not)
		}
		return group(out, " AND "), false, nil
	case *query.ConjunctionQuery:
		return combine(q.Conjuncts, " AND ")
	case *query.DisjunctionQuery:
		if q.Min > 1 {
			return "", false, unsupported("a minimum of %v alternatives", q.Min)
		}
		return combine(q.Disjuncts, " OR ")
	case *query.MatchQuery:
		if q.Fuzziness != 0 {
			return "", false, unsupported("fuzzy matching (~)")
		}
		return value(q.FieldVal, q.Match)
	case *query.MatchPhraseQuery:
		if q.Fuzziness != 0 {
			return "", false, unsupported("fuzzy matching (~)")
		}
		return value(q.FieldVal, q.MatchPhrase)
	case *query.NumericRangeQuery:
		if !numberFields[q.FieldVal] {
			return "", false, unsupported("a number range on %s", fieldName(q.FieldVal))
		}
		return numberRange(q.FieldVal, q.Min, q.Max, q.InclusiveMin, q.InclusiveMax)
	case *query.DateRangeQuery:
		if q.FieldVal != index.FieldEnd {
			return "", false, unsupported("a time range on %s (only end)", fieldName(q.FieldVal))
		}
		lo, hi := q.Start.Time, q.End.Time
		if !lo.IsZero() && q.InclusiveStart != nil && !*q.InclusiveStart {
			lo = lo.Add(time.Nanosecond)
		}
		if !hi.IsZero() && (q.InclusiveEnd == nil || !*q.InclusiveEnd) {
			hi = hi.Add(-time.Nanosecond)
		}
		switch {
		case !lo.IsZero() && !hi.IsZero():
			if hi.Before(lo) {
				return "", true, nil
			}
			return "_time:[" + ts(lo) + ", " + ts(hi) + "]", false, nil
		case !lo.IsZero():
			return "_time:>=" + ts(lo), false, nil
		case !hi.IsZero():
			return "_time:<=" + ts(hi), false, nil
		}
		return "*", false, nil
	case *query.MatchAllQuery:
		return "*", false, nil
	case *query.MatchNoneQuery:
		return "", true, nil
	case *query.WildcardQuery:
		return "", false, unsupported("a wildcard (%s)", q.Wildcard)
	case *query.RegexpQuery:
		return "", false, unsupported("a regular expression (/%s/)", q.Regexp)
	case *query.FuzzyQuery:
		return "", false, unsupported("fuzzy matching (~)")
	}
	return "", false, unsupported("a %T", q)
}

// combine joins the translations of qs with op, leaving out those that
// match nothing (bleve's query-string mode); none when all do.
func combine(qs []query.Query, op string) (string, bool, error) {
	var parts []string
	for _, c := range qs {
		f, none, err := translate(c)
		if err != nil {
			return "", false, err
		}
		if !none {
			parts = append(parts, f)
		}
	}
	if len(parts) == 0 {
		return "", true, nil
	}
	return group(parts, op), false, nil
}

func fieldName(f string) string {
	if f == "" {
		return "free text"
	}
	return f
}

// value translates field:value.
func value(field, v string) (string, bool, error) {
	switch {
	case field == "" || field == index.FieldLines || field == index.FieldDetail:
		return "", false, unsupported("free text (%s)", quote(v))
	case keywordFields[field]:
		if v == "" {
			return "", true, nil
		}
		return field + ":=" + quote(v), false, nil
	case field == index.FieldAuthMethod:
		if v == "" {
			return "", true, nil
		}
		return "auth_methods:json_array_contains_any(" + quote(v) + ")", false, nil
	case field == index.FieldIP:
		f, err := ipFilter(v)
		return f, false, err
	case numberFields[field]:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "", false, fmt.Errorf("%w: %s takes a number, not %q", index.ErrBadQuery, field, v)
		}
		n := math.Round(f)
		if n != f && field != index.FieldDuration || n < 0 || n > maxNum {
			return "", true, nil
		}
		return keyRange(field, int64(n), int64(n)), false, nil
	}
	return "", false, unsupported("the field %q", field)
}

// numberRange is the index's range over whole-number keys: bounds rounded
// inward (index/rewrite.go numberRange).
func numberRange(field string, min, max *float64, minIncl, maxIncl *bool) (string, bool, error) {
	lo, hi := int64(0), int64(maxNum)
	if min != nil {
		m := *min
		if minIncl != nil && *minIncl {
			m = math.Ceil(m)
		} else {
			m = math.Floor(m) + 1
		}
		if m > maxNum {
			return "", true, nil
		}
		lo = clamp(m)
	}
	if max != nil {
		m := *max
		if maxIncl != nil && *maxIncl {
			m = math.Floor(m)
		} else {
			m = math.Ceil(m) - 1
		}
		if m < 0 {
			return "", true, nil
		}
		hi = clamp(m)
	}
	if lo > hi {
		return "", true, nil
	}
	return keyRange(field, lo, hi), false, nil
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

// keyRange matches the events whose key of field is in [lo, hi]. Keys
// are the values clamped to [0, maxNum]; a duration's key is its rounded
// value (half away from zero), so key n holds [n-0.5, n+0.5).
func keyRange(field string, lo, hi int64) string {
	var parts []string
	if field == index.FieldDuration {
		if lo > 0 {
			parts = append(parts, field+":>="+strconv.FormatFloat(float64(lo)-0.5, 'f', -1, 64))
		}
		if hi < maxNum {
			parts = append(parts, field+":<"+strconv.FormatFloat(float64(hi)+0.5, 'f', -1, 64))
		}
		if len(parts) == 0 {
			return field + ":*"
		}
		return group(parts, " AND ")
	}
	// Whole numbers, stored only when not zero for pid and src_port.
	if lo == hi {
		return field + ":=" + strconv.FormatInt(lo, 10)
	}
	return field + ":range[" + strconv.FormatInt(lo, 10) + ", " + strconv.FormatInt(hi, 10) + "]"
}
