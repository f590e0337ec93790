package index

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
)

// TestSearchEqualsFilter is the property that search answers exactly what
// the query says: for random events and random queries (every field type;
// values quoted and not; ranges inclusive, exclusive and empty; wildcards,
// regexps, fuzzy terms, phrases; +, - and unsigned clauses; the Query
// fields and --since/--until), the index's answer equals a brute-force
// filter over the same events. The queries are built as predicates here,
// independently of the parser, and rendered into query-string syntax.
//
// Its shards have few segments, so address ranges are searched, never
// checked per event (checkCheaper); TestSearchEqualsFilterChecked runs
// other seeds with checks.
func TestSearchEqualsFilter(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 4, 5, 6} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			searchEqualsFilter(t, seed)
		})
	}
}

// TestSearchEqualsFilterChecked is TestSearchEqualsFilter with address
// ranges ANDed with other parts checked per event: as checkCheaper
// decides on any shard (seeds 7, 8), and always (9, 10). It is not
// parallel: it sets the package's thresholds while no other test runs.
func TestSearchEqualsFilterChecked(t *testing.T) {
	defer func(s, n uint64) { checkSegments, checksPerLookup = s, n }(checkSegments, checksPerLookup)
	checkSegments = 1
	for _, seed := range []int64{7, 8, 9, 10} {
		checksPerLookup = 25
		if seed >= 9 {
			checksPerLookup = 1 << 32
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) { searchEqualsFilter(t, seed) })
	}
}

func searchEqualsFilter(t *testing.T, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	evs := propEvents(rng, 160)
	dir := filepath.Join(t.TempDir(), "data")
	// Odd seeds leave bleve's segments, even ones compact (and
	// store counts): both layouts answer.
	writeEvents(t, dir, evs, WriterOptions{NoCompact: seed%2 == 1, BatchSize: 50})
	r := openReader(t, dir)
	g := &queryGen{rng: rng, evs: evs}
	for n := 0; n < 200; n++ {
		q, match := g.query()
		var want []string
		for _, e := range evs {
			if match(e) {
				want = append(want, e.ID)
			}
		}
		got, err := ids(t, r, q, SearchOptions{})
		if err != nil {
			t.Fatalf("query %s: %v", describe(q), err)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("query %s\nindex:  %d events %v\nfilter: %d events %v\nonly index: %v\nonly filter: %v",
				describe(q), len(got), got, len(want), want, minus(got, want), minus(want, got))
		}
		if n%5 == 0 {
			checkCount(t, r, q, evs, match)
		}
	}
}

// checkCount compares Count by every key, in order and with a limit,
// with the filter.
func checkCount(t *testing.T, r *Reader, q Query, evs []*classify.Event, match func(*classify.Event) bool) {
	t.Helper()
	for _, by := range CountKeys {
		counts := map[string]int{}
		total, missing := 0, 0
		for _, e := range evs {
			if !match(e) {
				continue
			}
			total++
			var v string
			switch by {
			case FieldCause:
				v = string(e.Cause)
			case FieldSrcIP:
				v = e.SrcIP
				if a, err := netip.ParseAddr(v); err == nil {
					v = a.Unmap().String()
				}
			case FieldUser:
				v = e.User
			case FieldHost:
				v = e.Host
			case FieldHour:
				v = eventTime(e).UTC().Format("2006-01-02T15")
			case FieldDuration:
				v = strconv.FormatInt(int64(math.Round(e.DurationS)), 10)
			}
			if v == "" {
				missing++
				continue
			}
			counts[v]++
		}
		var want []Bucket
		for v, n := range counts {
			want = append(want, Bucket{Value: v, Count: n})
		}
		slices.SortFunc(want, func(a, b Bucket) int {
			switch by {
			case FieldHour:
				return strings.Compare(a.Value, b.Value)
			case FieldDuration:
				x, _ := strconv.Atoi(a.Value)
				y, _ := strconv.Atoi(b.Value)
				return x - y
			}
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Value, b.Value)
		})
		limits := []int{0}
		if by == FieldSrcIP || by == FieldDuration { // one of each order
			limits = append(limits, 2)
		}
		for _, limit := range limits {
			c, err := r.Count(context.Background(), q, by, limit)
			if err != nil {
				t.Fatalf("count %s by %s: %v", describe(q), by, err)
			}
			w, other := want, 0
			if limit > 0 && len(w) > limit {
				for _, b := range w[limit:] {
					other += b.Count
				}
				w = w[:limit]
			}
			if int(c.Total) != total || c.Missing != missing || c.Other != other || fmt.Sprint(c.Buckets) != fmt.Sprint(w) {
				t.Fatalf("count %s by %s, limit %d: index total %d missing %d other %d %v, filter total %d missing %d other %d %v",
					describe(q), by, limit, c.Total, c.Missing, c.Other, c.Buckets, total, missing, other, w)
			}
		}
	}
}

func describe(q Query) string {
	var parts []string
	if !q.Since.IsZero() {
		parts = append(parts, "since="+q.Since.Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		parts = append(parts, "until="+q.Until.Format(time.RFC3339Nano))
	}
	for name, v := range map[string]interface{}{"causes": q.Causes, "ips": q.IPs, "users": q.Users, "hosts": q.Hosts, "phases": q.Phases} {
		if s := fmt.Sprint(v); s != "[]" {
			parts = append(parts, name+"="+fmt.Sprintf("%q", v))
		}
	}
	slices.Sort(parts)
	return fmt.Sprintf("%s text=%q", strings.Join(parts, " "), q.Text)
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// Vocabularies. Values contain what the syntax must cope with: spaces,
// quotes, backslashes, wildcard characters, colons, non-ASCII, case.
var (
	propHosts   = []string{"vm", "web1", "Web1", "db-2", "bastion"}
	propUsers   = []string{"root", "alice", "Alice", "john smith", `o"brien`, "x:y", "user*star", `back\slash`, "ünï", "a+b", "(paren)", "AND"}
	propIPs     = []string{"203.0.113.7", "203.0.113.200", "::ffff:198.51.100.4", "198.51.100.4", "2001:db8::5", "2001:db8:1::77", "192.0.2.10"}
	propRemotes = []string{"gateway.example.com", "UNKNOWN"}
	propRules   = []string{"auth-fail", "client-alive-timeout", "probe-banner"}
	propSources = []string{"/var/log/auth.log", "auth.log.1"}
	propMethods = []string{"password", "publickey", "keyboard-interactive"}
	propDetails = []string{"kex", "MAC error", "no matching host key type"}
	propDurs    = []float64{0, 0.2, 0.5, 1.49, 1.5, 2.5, 59.9, 60, 3599.5, 3600, 3600.4, 7200, 86400.7}
	propMsgs    = []string{
		"Failed password for root from 203.0.113.7 port 40097 ssh2",
		"Connection closed by authenticating user root 203.0.113.7 port 40097 [preauth]",
		"Received disconnect from 192.0.2.10 port 40102:11: disconnected by user",
		"Timeout, client not responding from user alice 2001:db8::5 port 40099",
		"Unable to negotiate with 198.51.100.9 port 40100: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]",
		"Disconnected from user bob 192.0.2.10 port 40102",
		"kex_exchange_identification: Connection closed by remote host",
		"Accepted publickey for alice from 2001:db8::5 port 40099 ssh2: ED25519 SHA256:abc",
	}
	propBase = time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
)

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.Intn(len(xs))] }

// propEvents are n random events over three UTC days.
func propEvents(rng *rand.Rand, n int) []*classify.Event {
	var out []*classify.Event
	for i := 0; i < n; i++ {
		var end time.Time
		switch rng.Intn(6) {
		case 0: // on a boundary: midnight, an hour, a minute
			end = propBase.Add(time.Duration(rng.Intn(3)) * 24 * time.Hour).Add(time.Duration(rng.Intn(24)) * time.Hour).Add(time.Duration(rng.Intn(2)) * time.Minute)
		case 1: // in the minute of an earlier event (a range may start and end inside it)
			if len(out) > 0 {
				end = eventTime(pick(rng, out)).Truncate(time.Minute).Add(time.Duration(rng.Int63n(int64(time.Minute))))
				break
			}
			fallthrough
		default:
			end = propBase.Add(time.Duration(rng.Int63n(int64(72 * time.Hour))))
		}
		e := &classify.Event{
			ID: fmt.Sprintf("e%03d", i), End: end,
			Host: pick(rng, propHosts), Program: pick(rng, []string{"sshd", "sshd-session"}),
			Cause:      pick(rng, cause.All()),
			Confidence: pick(rng, cause.Confidences), Phase: pick(rng, cause.Phases),
			AuthFailures: rng.Intn(7), Source: pick(rng, propSources), Prec: 9,
		}
		e.DurationS = pick(rng, propDurs)
		if rng.Intn(4) == 0 {
			e.DurationS = math.Round(rng.Float64()*1e7) / 1e3
		}
		if rng.Intn(8) > 0 {
			e.Start = e.End.Add(-time.Duration(e.DurationS * float64(time.Second)))
		}
		if rng.Intn(12) == 0 { // still open: no end, placed by its start
			e.Start, e.End = e.End, time.Time{}
		}
		if rng.Intn(5) > 0 {
			e.User = pick(rng, propUsers)
		}
		switch rng.Intn(8) {
		case 0:
			e.Remote = pick(rng, propRemotes)
		case 1:
		default:
			e.SrcIP = pick(rng, propIPs)
		}
		if rng.Intn(5) > 0 {
			e.SrcPort = []int{22, 40097, 65535}[rng.Intn(3)]
			if rng.Intn(2) == 0 {
				e.SrcPort = 1024 + rng.Intn(64000)
			}
		}
		if rng.Intn(6) > 0 {
			e.PID = 100 + rng.Intn(100000)
		}
		if rng.Intn(3) > 0 {
			e.Rule = pick(rng, propRules)
		}
		if rng.Intn(3) == 0 {
			e.Detail = pick(rng, propDetails)
		}
		for _, m := range propMethods {
			if rng.Intn(3) == 0 {
				e.AuthMethods = append(e.AuthMethods, m)
			}
		}
		for k := rng.Intn(3); k >= 0; k-- {
			e.Lines = append(e.Lines, fmt.Sprintf("%s %s sshd[%d]: %s", eventTime(e).Format(time.RFC3339Nano), e.Host, e.PID, pick(rng, propMsgs)))
		}
		out = append(out, e)
	}
	return out
}

// propWords are the words of a message as the evidence analyzer is
// specified: runs of letters, digits, '_' and non-ASCII bytes, joined by
// single or repeated . : -, lower-cased.
var propWordRE = regexp.MustCompile(`[A-Za-z0-9_\x80-\xff]+(?:[.:-]+[A-Za-z0-9_\x80-\xff]+)*`)

func propWords(s string) []string {
	ws := propWordRE.FindAllString(s, -1)
	for i := range ws {
		ws[i] = strings.ToLower(ws[i])
	}
	return ws
}

// messages are the messages of e's lines (after the syslog header).
func messages(e *classify.Event) []string {
	var out []string
	for _, l := range e.Lines {
		out = append(out, l[strings.Index(l, "]: ")+3:])
	}
	return out
}

type queryGen struct {
	rng *rand.Rand
	evs []*classify.Event
}

type pred = func(*classify.Event) bool

// query is a random Query and the predicate it stands for.
func (g *queryGen) query() (Query, pred) {
	var q Query
	preds := []pred{}
	rng := g.rng
	// Query fields, each now and then.
	if rng.Intn(4) == 0 {
		since, until := g.timeBound(), g.timeBound()
		if rng.Intn(3) == 0 {
			since = time.Time{}
		} else if rng.Intn(3) == 0 {
			until = time.Time{}
		}
		if !since.IsZero() && !until.IsZero() && until.Before(since) {
			since, until = until, since
		}
		q.Since, q.Until = since, until
		preds = append(preds, func(e *classify.Event) bool {
			t := eventTime(e)
			return (since.IsZero() || !t.Before(since)) && (until.IsZero() || !t.After(until))
		})
	}
	if rng.Intn(6) == 0 {
		q.Causes = []cause.Cause{pick(rng, cause.All()), pick(rng, cause.All())}
		cs := q.Causes
		preds = append(preds, func(e *classify.Event) bool { return slices.Contains(cs, e.Cause) })
	}
	if rng.Intn(6) == 0 {
		v, m := g.ipValue()
		q.IPs = []string{v}
		preds = append(preds, m)
	}
	if rng.Intn(8) == 0 {
		q.Users = []string{pick(rng, propUsers)}
		u := q.Users[0]
		preds = append(preds, func(e *classify.Event) bool { return e.User == u })
	}
	if rng.Intn(8) == 0 {
		q.Hosts = []string{pick(rng, propHosts), pick(rng, propHosts)}
		hs := q.Hosts
		preds = append(preds, func(e *classify.Event) bool { return slices.Contains(hs, e.Host) })
	}
	if rng.Intn(8) == 0 {
		q.Phases = []string{string(pick(rng, cause.Phases))}
		p := cause.Phase(q.Phases[0])
		preds = append(preds, func(e *classify.Event) bool { return e.Phase == p })
	}
	// The text: all alternatives, all required, or only exclusions, each
	// with or without exclusions.
	var texts []string
	var must, should, not []pred
	mode := rng.Intn(4)
	n := 1 + rng.Intn(3)
	if mode == 3 {
		n = 0
	}
	for i := 0; i < n; i++ {
		s, m := g.clause()
		if mode == 0 {
			texts = append(texts, s)
			should = append(should, m)
		} else {
			texts = append(texts, "+"+s)
			must = append(must, m)
		}
	}
	if mode == 3 || rng.Intn(3) == 0 {
		for i := 1 + rng.Intn(2); i > 0; i-- {
			s, m := g.clause()
			texts = append(texts, "-"+s)
			not = append(not, m)
		}
	}
	if rng.Intn(5) == 0 {
		texts = nil
		must, should, not = nil, nil, nil
	}
	rng.Shuffle(len(texts), func(i, j int) { texts[i], texts[j] = texts[j], texts[i] })
	sep := []string{" ", "  ", "\t"}
	for i, s := range texts {
		if i > 0 {
			q.Text += pick(rng, sep)
		}
		q.Text += s
	}
	return q, func(e *classify.Event) bool {
		for _, p := range preds {
			if !p(e) {
				return false
			}
		}
		for _, p := range must {
			if !p(e) {
				return false
			}
		}
		for _, p := range not {
			if p(e) {
				return false
			}
		}
		if len(should) == 0 {
			return true
		}
		for _, p := range should {
			if p(e) {
				return true
			}
		}
		return false
	}
}

// timeBound is a time near the events: one of their ends exactly, a
// nanosecond off, a boundary, or far outside.
func (g *queryGen) timeBound() time.Time {
	e := pick(g.rng, g.evs)
	switch g.rng.Intn(6) {
	case 0:
		return eventTime(e).Add(time.Nanosecond)
	case 1:
		return eventTime(e).Add(-time.Nanosecond)
	case 2:
		return propBase.Add(time.Duration(g.rng.Intn(80)) * time.Hour)
	case 3:
		return pick(g.rng, []time.Time{propBase.AddDate(-5, 0, 0), propBase.AddDate(5, 0, 0)})
	case 4: // elsewhere in an event's minute
		return eventTime(e).Truncate(time.Minute).Add(time.Duration(g.rng.Int63n(int64(time.Minute))))
	}
	return eventTime(e)
}

// clause is a random clause without sign and its predicate.
func (g *queryGen) clause() (string, pred) {
	switch g.rng.Intn(12) {
	case 0, 1:
		return g.keywordClause()
	case 2, 3:
		return g.numberClause()
	case 4:
		return g.timeClause()
	case 5:
		return g.hourClause()
	case 6:
		v, m := g.ipValue()
		return "ip:" + g.render(v), m
	case 7:
		v := g.srcIPValue()
		want := propNormIP(v)
		return "src_ip:" + g.render(v), func(e *classify.Event) bool { return e.SrcIP != "" && propNormIP(e.SrcIP) == want }
	}
	return g.textClause()
}

// render writes v as a value: quoted, or unquoted with the syntax's
// characters escaped (colons only sometimes: a value may hold them).
func (g *queryGen) render(v string) string {
	if g.rng.Intn(2) == 0 {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	}
	var b strings.Builder
	for i, r := range v {
		if strings.ContainsRune(reservedChars, r) && !(r == ':' && i > 0 && g.rng.Intn(2) == 0) || r == '-' && i == 0 {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

var propKeywords = []string{FieldUser, FieldHost, FieldRemote, FieldCause, FieldPhase, FieldConfidence, FieldRule, FieldSource, FieldProgram, FieldAuthMethod}

func keywordValues(e *classify.Event, field string) []string {
	one := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	switch field {
	case FieldUser:
		return one(e.User)
	case FieldHost:
		return one(e.Host)
	case FieldRemote:
		return one(e.Remote)
	case FieldCause:
		return one(string(e.Cause))
	case FieldPhase:
		return one(string(e.Phase))
	case FieldConfidence:
		return one(string(e.Confidence))
	case FieldRule:
		return one(e.Rule)
	case FieldSource:
		return one(e.Source)
	case FieldProgram:
		return one(e.Program)
	case FieldAuthMethod:
		return e.AuthMethods
	}
	panic(field)
}

func anyValue(vals []string, f func(string) bool) bool {
	for _, v := range vals {
		if f(v) {
			return true
		}
	}
	return false
}

func (g *queryGen) keywordClause() (string, pred) {
	rng := g.rng
	field := pick(rng, propKeywords)
	var pool []string
	for _, e := range g.evs {
		pool = append(pool, keywordValues(e, field)...)
	}
	v := pick(rng, pool)
	enumerated := field == FieldCause || field == FieldPhase || field == FieldConfidence
	switch k := rng.Intn(10); {
	case k == 0 && !enumerated: // a value nobody has
		v += "zz"
	case k == 1: // prefix wildcard
		rs := []rune(v)
		prefix := string(rs[:rng.Intn(len(rs))])
		return field + ":" + escapeWild(prefix) + "*", func(e *classify.Event) bool {
			return anyValue(keywordValues(e, field), func(s string) bool { return strings.HasPrefix(s, prefix) })
		}
	case k == 2: // one character as ?
		rs := []rune(v)
		at := rng.Intn(len(rs))
		pat := escapeWild(string(rs[:at])) + "?" + escapeWild(string(rs[at+1:]))
		return field + ":" + pat, func(e *classify.Event) bool {
			return anyValue(keywordValues(e, field), func(s string) bool {
				o := []rune(s)
				return len(o) == len(rs) && string(o[:at]) == string(rs[:at]) && string(o[at+1:]) == string(rs[at+1:])
			})
		}
	case k == 3: // a regexp
		re := pick(rng, []string{"[a-z]+", "r..t", ".*e.*", "[A-Z].*", "[a-z]+-[0-9]"})
		m := regexp.MustCompile("^(?:" + re + ")$")
		return field + ":/" + re + "/", func(e *classify.Event) bool { return anyValue(keywordValues(e, field), m.MatchString) }
	case k == 4 && !enumerated && isPlainWord(v): // fuzzy
		n := 1 + rng.Intn(2)
		q := mutate(rng, v)
		return fmt.Sprintf("%s:%s~%d", field, q, n), func(e *classify.Event) bool {
			return anyValue(keywordValues(e, field), func(s string) bool { return levenshtein(q, s) <= n })
		}
	case k == 5:
		return field + ":*", func(e *classify.Event) bool { return len(keywordValues(e, field)) > 0 }
	}
	return field + ":" + g.render(v), func(e *classify.Event) bool { return slices.Contains(keywordValues(e, field), v) }
}

func escapeWild(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(reservedChars, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isPlainWord(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// mutate changes one letter of s (or keeps it).
func mutate(rng *rand.Rand, s string) string {
	b := []byte(s)
	if rng.Intn(3) > 0 {
		b[rng.Intn(len(b))] = 'a' + byte(rng.Intn(26))
	}
	return string(b)
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// numberValue is e's value of a number field as the index compares it,
// and whether e has one.
func numberValue(e *classify.Event, field string) (float64, bool) {
	switch field {
	case FieldSrcPort:
		return float64(e.SrcPort), e.SrcPort != 0
	case FieldPID:
		return float64(e.PID), e.PID != 0
	case FieldDuration:
		return math.Max(0, math.Round(e.DurationS)), true
	case FieldFailures:
		return float64(e.AuthFailures), true
	}
	panic(field)
}

var rangeOps = []string{">", ">=", "<", "<="}

func compare(op string, v, bound float64) bool {
	switch op {
	case ">":
		return v > bound
	case ">=":
		return v >= bound
	case "<":
		return v < bound
	}
	return v <= bound
}

func (g *queryGen) numberClause() (string, pred) {
	rng := g.rng
	field := pick(rng, []string{FieldSrcPort, FieldPID, FieldDuration, FieldFailures})
	v, _ := numberValue(pick(rng, g.evs), field)
	if rng.Intn(3) == 0 {
		v = pick(rng, []float64{0, 1, 70000, 1e11, -5, 3600})
	}
	if rng.Intn(3) == 0 { // equality
		s := strconv.FormatFloat(v, 'f', -1, 64)
		return field + ":" + g.quoteMaybe(s), func(e *classify.Event) bool {
			x, ok := numberValue(e, field)
			return ok && x == v
		}
	}
	bound := v + pick(rng, []float64{0, 0, 0.5, -0.5, 1, -1})
	op := pick(rng, rangeOps)
	return field + ":" + op + g.quoteMaybe(strconv.FormatFloat(bound, 'f', -1, 64)), func(e *classify.Event) bool {
		x, ok := numberValue(e, field)
		return ok && compare(op, x, bound)
	}
}

func (g *queryGen) quoteMaybe(s string) string {
	if g.rng.Intn(2) == 0 {
		return `"` + s + `"`
	}
	return s
}

func (g *queryGen) timeClause() (string, pred) {
	rng := g.rng
	field := pick(rng, []string{FieldStart, FieldEnd})
	value := func(e *classify.Event) (time.Time, bool) {
		if field == FieldStart {
			return e.Start, !e.Start.IsZero()
		}
		return eventTime(e), true
	}
	t := g.timeBound()
	s := t.Format(time.RFC3339Nano)
	lo, hi := t, t
	if rng.Intn(4) == 0 { // a date: the whole UTC day
		s = t.UTC().Format(dayLayout)
		lo = dayOf(t)
		hi = lo.AddDate(0, 0, 1).Add(-time.Nanosecond)
	}
	if rng.Intn(4) == 0 {
		return field + ":" + g.quoteMaybe(s), func(e *classify.Event) bool {
			v, ok := value(e)
			return ok && !v.Before(lo) && !v.After(hi)
		}
	}
	op := pick(rng, rangeOps)
	return field + ":" + op + g.quoteMaybe(s), func(e *classify.Event) bool {
		v, ok := value(e)
		if !ok {
			return false
		}
		switch op {
		case ">":
			return v.After(hi)
		case ">=":
			return !v.Before(lo)
		case "<":
			return v.Before(lo)
		}
		return !v.After(hi)
	}
}

func (g *queryGen) hourClause() (string, pred) {
	rng := g.rng
	h := hourKey(g.timeBound())
	key := func(e *classify.Event) string { return hourKey(eventTime(e)) }
	switch rng.Intn(3) {
	case 0:
		return "hour:" + g.quoteMaybe(h), func(e *classify.Event) bool { return key(e) == h }
	case 1:
		day := h[:len("2006-01-02")]
		return "hour:" + day + "T*", func(e *classify.Event) bool { return strings.HasPrefix(key(e), day+"T") }
	}
	op := pick(rng, rangeOps)
	return "hour:" + op + g.quoteMaybe(h), func(e *classify.Event) bool {
		c := strings.Compare(key(e), h)
		return compare(op, float64(c), 0)
	}
}

// eventAddr is e's source address as a search sees it.
func eventAddr(e *classify.Event) (netip.Addr, bool) {
	a, err := netip.ParseAddr(e.SrcIP)
	if err != nil || a.Zone() != "" {
		return a, false
	}
	return a.Unmap(), true
}

func propNormIP(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	return s
}

func (g *queryGen) srcIPValue() string {
	v := pick(g.rng, propIPs)
	switch g.rng.Intn(4) {
	case 0:
		if a := netip.MustParseAddr(v).Unmap(); a.Is4() {
			return "::ffff:" + a.String() // the mapped form finds the plain one
		}
	case 1:
		return strings.ToUpper(v) // IPv6 is case-insensitive
	case 2:
		return pick(g.rng, propRemotes) // not an address
	}
	return v
}

// ipValue is a random address or prefix for ip: / Query.IPs and its predicate.
func (g *queryGen) ipValue() (string, pred) {
	v := pick(g.rng, append([]string{"203.0.113.0/24", "203.0.113.128/25", "0.0.0.0/0", "::/0", "2001:db8::/32",
		"2001:db8:1::/48", "::ffff:203.0.113.0/120", "198.51.100.4/32", "::ffff:0:0/96", "::/1"}, propIPs...))
	var p netip.Prefix
	if a, err := netip.ParseAddr(v); err == nil {
		a = a.Unmap()
		p = netip.PrefixFrom(a, a.BitLen())
	} else {
		p = netip.MustParsePrefix(v).Masked()
		if p.Addr().Is4In6() && p.Bits() >= 96 { // a mapped prefix is the IPv4 one
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
	}
	return v, func(e *classify.Event) bool {
		a, ok := eventAddr(e)
		return ok && a.Is4() == p.Addr().Is4() && p.Contains(a)
	}
}

func (g *queryGen) textClause() (string, pred) {
	rng := g.rng
	field, prefix := FieldLines, ""
	texts := messages
	if rng.Intn(4) == 0 {
		field, prefix = FieldDetail, "detail:"
		texts = func(e *classify.Event) []string {
			if e.Detail == "" {
				return nil
			}
			return []string{e.Detail}
		}
	} else if rng.Intn(3) == 0 {
		prefix = "lines:"
	}
	source := propMsgs
	if field == FieldDetail {
		source = propDetails
	}
	ws := propWords(pick(rng, source))
	anyWord := func(e *classify.Event, f func(string) bool) bool {
		for _, t := range texts(e) {
			if anyValue(propWords(t), f) {
				return true
			}
		}
		return false
	}
	caseChange := func(s string) string {
		if u := strings.ToUpper(s); rng.Intn(3) == 0 && !operatorWords[u] {
			return u
		}
		return s
	}
	switch rng.Intn(6) {
	case 0, 1: // a run of words, as a phrase (or one word, unquoted)
		at := rng.Intn(len(ws))
		n := 1 + rng.Intn(3)
		if at+n > len(ws) {
			n = len(ws) - at
		}
		run := ws[at : at+n]
		if rng.Intn(6) == 0 {
			run = []string{"zzz"}
		}
		s := `"` + caseChange(strings.Join(run, " ")) + `"`
		if len(run) == 1 && rng.Intn(2) == 0 {
			s = escapeWild(caseChange(run[0]))
		}
		return prefix + s, func(e *classify.Event) bool {
			for _, t := range texts(e) {
				w := propWords(t)
				for i := 0; i+len(run) <= len(w); i++ {
					if slices.Equal(w[i:i+len(run)], run) {
						return true
					}
				}
			}
			return false
		}
	case 2: // prefix wildcard
		w := pick(rng, ws)
		p := w[:1+rng.Intn(len(w))]
		return prefix + escapeWild(caseChange(p)) + "*", func(e *classify.Event) bool {
			return anyWord(e, func(s string) bool { return strings.HasPrefix(s, p) })
		}
	case 3: // regexp on one word
		re := pick(rng, []string{"pre.*", "[0-9]+", "ssh[0-9]", "diffie-.*", "con.*d"})
		m := regexp.MustCompile("^(?:" + re + ")$")
		return prefix + "/" + re + "/", func(e *classify.Event) bool { return anyWord(e, m.MatchString) }
	case 4: // fuzzy
		w := pick(rng, ws)
		if !isPlainWord(w) {
			w = "closed"
		}
		q := mutate(rng, w)
		n := 1 + rng.Intn(2)
		return fmt.Sprintf("%s%s~%d", prefix, q, n), func(e *classify.Event) bool {
			return anyWord(e, func(s string) bool { return levenshtein(q, s) <= n })
		}
	}
	// A word of the message, as written in it (with its punctuation).
	w := pick(rng, ws)
	return prefix + escapeWild(caseChange(w)), func(e *classify.Event) bool {
		return anyWord(e, func(s string) bool { return s == w })
	}
}
