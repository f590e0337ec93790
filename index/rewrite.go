package index

import (
	"math"
	"net"
	"strconv"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// numberFields hold number keys (timekey.go); timeFields hold time keys.
var (
	numberFields = map[string]bool{FieldSrcPort: true, FieldPID: true, FieldDuration: true, FieldFailures: true}
	timeFields   = map[string]bool{FieldStart: true, FieldEnd: true}
)

// rewrite adapts a parsed query-string query to how sshwhy indexes
// numbers, times and addresses, so `duration_s:>60`, `pid:4242`,
// `end:>="2026-11-23T10:00:00Z"` and `ip:203.0.113.7` mean what they say.
// It rewrites q in place where it can and returns the query to use.
func rewrite(q query.Query) (query.Query, error) {
	switch q := q.(type) {
	case *query.BooleanQuery:
		for _, p := range []*query.Query{&q.Must, &q.Should, &q.MustNot, &q.Filter} {
			if *p == nil {
				continue
			}
			r, err := rewrite(*p)
			if err != nil {
				return nil, err
			}
			*p = r
		}
		return q, nil
	case *query.ConjunctionQuery:
		for i, c := range q.Conjuncts {
			r, err := rewrite(c)
			if err != nil {
				return nil, err
			}
			q.Conjuncts[i] = r
		}
		return q, nil
	case *query.DisjunctionQuery:
		for i, c := range q.Disjuncts {
			r, err := rewrite(c)
			if err != nil {
				return nil, err
			}
			q.Disjuncts[i] = r
		}
		return q, nil
	case *query.MatchQuery:
		return rewriteValue(q, q.FieldVal, q.Match)
	case *query.MatchPhraseQuery:
		return rewriteValue(q, q.FieldVal, q.MatchPhrase)
	case *query.NumericRangeQuery:
		switch {
		case numberFields[q.FieldVal]:
			return numberRange(q.FieldVal, q.Min, q.Max, q.InclusiveMin, q.InclusiveMax), nil
		case timeFields[q.FieldVal]:
			return nil, badQuery("%s is a time: compare it with a quoted RFC 3339 time, e.g. %s:>=\"2026-11-23T10:00:00Z\"", q.FieldVal, q.FieldVal)
		}
		return q, nil
	case *query.DateRangeQuery:
		if !timeFields[q.FieldVal] {
			return nil, badQuery("%s is not a time field (times: %s, %s)", fieldName(q.FieldVal), FieldStart, FieldEnd)
		}
		lo, hi := q.Start.Time, q.End.Time
		if !lo.IsZero() && q.InclusiveStart != nil && !*q.InclusiveStart {
			lo = lo.Add(time.Nanosecond)
		}
		if !hi.IsZero() && (q.InclusiveEnd == nil || !*q.InclusiveEnd) {
			hi = hi.Add(-time.Nanosecond)
		}
		if q.FieldVal == FieldEnd {
			return &endRange{since: lo, until: hi}, nil
		}
		var min, max string
		if !lo.IsZero() {
			min = timeKey(lo)
		}
		if !hi.IsZero() {
			max = timeKey(hi.Add(time.Nanosecond))
		}
		return termRange(q.FieldVal, min, max), nil
	}
	return q, nil
}

func fieldName(f string) string {
	if f == "" {
		return "the default field (" + FieldLines + ")"
	}
	return f
}

// rewriteValue handles field:value on the specially indexed fields.
func rewriteValue(q query.Query, field, v string) (query.Query, error) {
	switch {
	case numberFields[field]:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, badQuery("%s takes a number, not %q", field, v)
		}
		n := math.Round(f)
		if n != f && field != FieldDuration {
			return bleve.NewMatchNoneQuery(), nil
		}
		if n < 0 || n > maxNum {
			return bleve.NewMatchNoneQuery(), nil
		}
		t := bleve.NewTermQuery(numKey(int64(n)))
		t.SetField(field)
		return t, nil
	case timeFields[field]:
		return nil, badQuery("%s is a time: use --since/--until or a range like %s:>=\"2026-11-23T10:00:00Z\"", field, field)
	case field == FieldIP:
		if _, _, err := net.ParseCIDR(v); err != nil && net.ParseIP(v) == nil {
			return nil, badQuery("ip takes an address or CIDR prefix, not %q", v)
		}
		r := bleve.NewIPRangeQuery(v)
		r.SetField(FieldIP)
		return r, nil
	}
	return q, nil
}

// numberRange is a range over number keys; bounds are rounded inward to
// whole numbers (the keys are integers; durations are whole seconds).
func numberRange(field string, min, max *float64, minIncl, maxIncl *bool) query.Query {
	lo, hi := int64(0), int64(maxNum)
	if min != nil {
		m := *min
		if minIncl != nil && *minIncl {
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
		if maxIncl != nil && *maxIncl {
			m = math.Floor(m)
		} else {
			m = math.Ceil(m) - 1
		}
		hi = clampNum(m)
		if m < 0 {
			return bleve.NewMatchNoneQuery()
		}
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
