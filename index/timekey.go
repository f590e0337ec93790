package index

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	bindex "github.com/blevesearch/bleve_index_api"
)

// Times and numbers are indexed as fixed-width keywords, not as bleve
// datetime/numeric fields. bleve indexes a number as 16 prefix-coded terms
// (precision step 4), which made each such field cost about 30 µs of CPU
// per event — more than everything else in a document together. A
// fixed-width string sorts like the value it encodes, so one term per
// value gives exact term-range queries and sorting (doc values), and for
// the end time two coarser levels (minute, hour) keep range queries over
// long spans down to a few dozen terms:
//
//	end     2026-11-23T14:05:09.123456789Z/ID (sort key, unique; exact boundaries)
//	minute  2026-11-23T14:05
//	hour    2026-11-23T14                     (also the counts per hour)
//
// Query.Since/Until and ranges in the query text on these fields become
// term ranges over the levels (timeRange, Clause.query).
const (
	fieldMinute = "minute"
	timeLayout  = "2006-01-02T15:04:05.000000000Z"
	minLayout   = "2006-01-02T15:04"
	hourLayout  = "2006-01-02T15"
	numWidth    = 10
	maxNum      = 9999999999
)

func timeKey(t time.Time) string   { return t.UTC().Format(timeLayout) }
func minuteKey(t time.Time) string { return t.UTC().Format(minLayout) }
func hourKey(t time.Time) string   { return t.UTC().Format(hourLayout) }

// canStoreTime reports whether t's keys are fixed width (years 1–9999).
func canStoreTime(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1 && y <= 9999
}

// numKey is n zero-padded to numWidth digits, clamped to [0, maxNum].
func numKey(n int64) string {
	if n < 0 {
		n = 0
	}
	if n > maxNum {
		n = maxNum
	}
	var b [numWidth]byte
	s := strconv.AppendInt(b[:0], n, 10)
	out := make([]byte, numWidth)
	for i := range out {
		out[i] = '0'
	}
	copy(out[numWidth-len(s):], s)
	return string(out)
}

// termRange is a TermRangeQuery [min, max) on field; "" is open.
func termRange(field, min, max string) query.Query {
	yes, no := true, false
	q := bleve.NewTermRangeInclusiveQuery(min, max, &yes, &no)
	q.SetField(field)
	return q
}

// timeRange selects events whose end is in [since, until] (inclusive;
// zero is open) as a disjunction of at most five parts: the events of
// the partial minutes at either end (minuteWithin), minute keys for the
// partial hours, hour keys for everything between.
func timeRange(since, until time.Time) query.Query {
	var parts []query.Query
	lo, hi := since, until
	openLo, openHi := lo.IsZero(), hi.IsZero()
	if !openHi {
		hi = hi.Add(time.Nanosecond) // half-open [lo, hi)
	}
	// lo side: exact keys up to the next minute, then minutes up to the next hour.
	if !openLo {
		if m := lo.Truncate(time.Minute); !m.Equal(lo) {
			next := m.Add(time.Minute)
			if !openHi && !next.Before(hi) {
				return &minuteWithin{minute: m, lo: lo, hi: hi}
			}
			parts = append(parts, &minuteWithin{minute: m, lo: lo, hi: next})
			lo = next
		}
	}
	if !openHi {
		if m := hi.Truncate(time.Minute); !m.Equal(hi) {
			if !openLo && !m.After(lo) {
				return or(append(parts, &minuteWithin{minute: m, lo: lo, hi: hi}))
			}
			parts = append(parts, &minuteWithin{minute: m, lo: m, hi: hi})
			hi = m
		}
	}
	// Now lo and hi are minute-aligned (or open).
	if !openLo {
		if h := lo.Truncate(time.Hour); !h.Equal(lo) {
			next := h.Add(time.Hour)
			if !openHi && !next.Before(hi) {
				if lo.Before(hi) {
					parts = append(parts, termRange(fieldMinute, minuteKey(lo), minuteKey(hi)))
				}
				return or(parts)
			}
			parts = append(parts, termRange(fieldMinute, minuteKey(lo), minuteKey(next)))
			lo = next
		}
	}
	if !openHi {
		if h := hi.Truncate(time.Hour); !h.Equal(hi) {
			if !openLo && !h.After(lo) {
				if lo.Before(hi) {
					parts = append(parts, termRange(fieldMinute, minuteKey(lo), minuteKey(hi)))
				}
				return or(parts)
			}
			parts = append(parts, termRange(fieldMinute, minuteKey(h), minuteKey(hi)))
			hi = h
		}
	}
	// Whole hours remain.
	switch {
	case openLo && openHi:
		return bleve.NewMatchAllQuery()
	case openLo:
		parts = append(parts, termRange(FieldHour, "", hourKey(hi)))
	case openHi:
		parts = append(parts, termRange(FieldHour, hourKey(lo), ""))
	case lo.Before(hi):
		parts = append(parts, termRange(FieldHour, hourKey(lo), hourKey(hi)))
	}
	if len(parts) == 0 {
		return bleve.NewMatchNoneQuery()
	}
	return or(parts)
}

// minuteWithin selects the events of one minute whose end is in [lo, hi)
// (both within that minute): the minute's key, each of its events
// checked against its exact end key (a doc value). A term range over the
// exact keys would cost one term lookup per event of the range in every
// segment of the shard: on a live shard taking 1,000 events a second,
// with a dozen segments, about 0.5 s for a search from mid-minute.
type minuteWithin struct {
	minute, lo, hi time.Time
}

// Searcher implements query.Query.
func (q *minuteWithin) Searcher(ctx context.Context, i bindex.IndexReader, m mapping.IndexMapping, opt search.SearcherOptions) (search.Searcher, error) {
	s, err := searcher.NewTermSearcher(ctx, i, minuteKey(q.minute), fieldMinute, 1, opt)
	if err != nil {
		return nil, err
	}
	dvr, err := i.DocValueReader([]string{FieldEnd})
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	f := &filtered{}
	lo, hi := timeKey(q.lo), timeKey(q.hi)
	var in bool
	visit := func(_ string, v []byte) {
		// v is "timeKey/ID": after lo's key whenever its time is lo's
		// or later, before hi's key only when its time is earlier.
		in = string(v) >= lo && string(v) < hi
	}
	f.FilteringSearcher = searcher.NewFilteringSearcher(ctx, s, func(_ *search.SearchContext, d *search.DocumentMatch) bool {
		if f.err != nil {
			return false
		}
		in = false
		if err := dvr.VisitDocValues(d.IndexInternalID, visit); err != nil {
			f.err = err
			return false
		}
		return in
	})
	return f, nil
}

// filtered is a FilteringSearcher whose filter can fail: a document it
// could not check ends the search with the error rather than being left
// out silently.
type filtered struct {
	*searcher.FilteringSearcher
	err error
}

func (f *filtered) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	d, err := f.FilteringSearcher.Next(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return d, err
}

func (f *filtered) Advance(ctx *search.SearchContext, id bindex.IndexInternalID) (*search.DocumentMatch, error) {
	d, err := f.FilteringSearcher.Advance(ctx, id)
	if f.err != nil {
		return nil, f.err
	}
	return d, err
}

// endRange selects events whose end is in [since, until] (zero is open):
// timeRange's disjunction, built per shard, and nothing at all on a shard
// whose events all lie inside the range (every day of a multi-day search
// but the first and the last). The other clauses are ANDed with it.
type endRange struct {
	since, until time.Time
	and          []query.Query
}

// Searcher implements query.Query.
func (q *endRange) Searcher(ctx context.Context, i bindex.IndexReader, m mapping.IndexMapping, opt search.SearcherOptions) (search.Searcher, error) {
	first, last, ok, err := hourSpan(i)
	if err != nil {
		return nil, err
	}
	if !ok {
		return searcher.NewMatchNoneSearcher(i)
	}
	parts := q.and
	covered := (q.since.IsZero() || !first.Before(q.since)) && (q.until.IsZero() || !last.After(q.until.Add(time.Nanosecond)))
	if !covered {
		parts = append([]query.Query{timeRange(q.since, q.until)}, parts...)
	}
	switch len(parts) {
	case 0:
		return searcher.NewMatchAllSearcher(ctx, i, 1, opt)
	case 1:
		return parts[0].Searcher(ctx, i, m, opt)
	}
	return (&boolQuery{must: parts}).Searcher(ctx, i, m, opt)
}

// hourSpan is [start of the first hour, end of the last hour) of the
// events in the index i, from its hour keys.
func hourSpan(i bindex.IndexReader) (first, last time.Time, ok bool, err error) {
	d, err := i.FieldDict(FieldHour)
	if err != nil {
		return first, last, false, err
	}
	defer d.Close()
	var lo, hi string
	for {
		e, err := d.Next()
		if err != nil {
			return first, last, false, err
		}
		if e == nil {
			break
		}
		if lo == "" {
			lo = e.Term
		}
		hi = e.Term
	}
	if lo == "" {
		return first, last, false, nil
	}
	if first, err = time.Parse(hourLayout, lo); err != nil {
		return first, last, false, fmt.Errorf("hour key %q: %v", lo, err)
	}
	if last, err = time.Parse(hourLayout, hi); err != nil {
		return first, last, false, fmt.Errorf("hour key %q: %v", hi, err)
	}
	return first, last.Add(time.Hour), true, nil
}
