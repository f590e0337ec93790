package index

import (
	"strconv"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
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
//	end     2026-11-23T14:05:09.123456789Z   (sort key; exact boundaries)
//	minute  2026-11-23T14:05
//	hour    2026-11-23T14                     (also the counts per hour)
//
// Query.Since/Until and query-string ranges on these fields are rewritten
// into term ranges over the levels (timeRange, rewrite).
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
// zero is open) as a disjunction of at most five term ranges: exact keys
// for the partial minutes at either end, minute keys for the partial
// hours, hour keys for everything between.
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
				return termRange(FieldEnd, timeKey(lo), timeKey(hi))
			}
			parts = append(parts, termRange(FieldEnd, timeKey(lo), timeKey(next)))
			lo = next
		}
	}
	if !openHi {
		if m := hi.Truncate(time.Minute); !m.Equal(hi) {
			if !openLo && !m.After(lo) {
				return or(append(parts, termRange(FieldEnd, timeKey(lo), timeKey(hi))))
			}
			parts = append(parts, termRange(FieldEnd, timeKey(m), timeKey(hi)))
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
