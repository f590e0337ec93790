package index

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/sshwhy/sshwhy/classify"
)

// ReaderOptions tune a Reader; zero values take the defaults.
type ReaderOptions struct {
	// OpenTimeout bounds the wait for a shard a writer holds; default 1s.
	OpenTimeout time.Duration
}

// Reader searches a data directory. It opens shards read-only, lazily:
// only those a query's time range needs, and keeps them open until Close.
// A Reader is safe for concurrent use. One from OpenReader sees the shards
// present when it was opened; one from Writer.Reader searches through the
// writer's store and sees the shards it creates.
type Reader struct {
	st    *store
	owner bool // Close closes the store (OpenReader); a Writer's Reader leaves it to the Writer
}

// OpenReader opens the data directory dir for searching. It fails with an
// error wrapping ErrNoIndex when there is none, and with a clear error for a
// directory that is not sshwhy's.
func OpenReader(dir string, opt ReaderOptions) (*Reader, error) {
	if opt.OpenTimeout <= 0 {
		opt.OpenTimeout = time.Second
	}
	if err := checkDir(dir, false); err != nil {
		return nil, err
	}
	st, err := newStore(dir, false, nil, opt.OpenTimeout)
	if err != nil {
		return nil, err
	}
	return &Reader{st: st, owner: true}, nil
}

// Shards lists the day shards the reader knows, oldest first.
func (r *Reader) Shards() []Shard { return r.st.list() }

// Close closes the shards the reader opened, once the searches running in
// them are done. The Reader of a Writer is closed by the Writer.
func (r *Reader) Close() error {
	if !r.owner {
		return nil
	}
	return r.st.close()
}

// indexes returns the bleve indexes of handles.
func indexes(hs []*handle) []bleve.Index {
	out := make([]bleve.Index, len(hs))
	for i, h := range hs {
		out[i] = h.idx
	}
	return out
}

// Sort keys accepted by SearchOptions.Sort (prefix "-" for descending).
var SortKeys = []string{FieldEnd, FieldDuration, FieldFailures, FieldCause, FieldUser, FieldSrcIP, FieldHost}

// SearchOptions shape the result list.
type SearchOptions struct {
	// Limit is the most events to return; 0 returns all of them.
	Limit int
	// Sort is a key from SortKeys, "-" first for descending, or "" for
	// the default: the newest Limit events, returned oldest first (like
	// tail). Ties are broken by end time, then by id, so order is stable.
	Sort string
}

// Result is the outcome of Search.
type Result struct {
	Total  uint64 // events matching, whatever the limit
	Shards int    // day shards searched (0 for a store without them)
}

// Search finds the events matching q and calls fn for each, in the order
// opt asks for. fn's error stops the search and is returned. It
// implements Searcher.
//
// With a limit, two orders avoid sorting every match. By end (the
// default, the newest first): the shards hold disjoint days, so the
// shards are searched one by one in that order until the limit is
// reached, and the rest only counted for Result.Total. By duration: the
// stored duration counts of whole days tell the shortest duration the
// longest Limit sessions can have (or the longest the shortest can), and
// the search is narrowed to those.
func (r *Reader) Search(ctx context.Context, q Query, opt SearchOptions, fn func(*classify.Event) error) (Result, error) {
	bq, err := q.bleveQuery()
	if err != nil {
		return Result{}, err
	}
	order, reverse, err := sortOrder(opt.Sort, opt.Limit)
	if err != nil {
		return Result{}, err
	}
	s := &searchRun{ctx: ctx, r: r, q: q, bq: bq, order: order, limit: opt.Limit}
	if reverse {
		s.emit = func(e *classify.Event) error { s.buf = append(s.buf, e); return nil }
	} else {
		s.emit = fn
	}
	switch key := strings.TrimPrefix(order[0], "-"); {
	case !fastSearch || opt.Limit <= 0:
		err = s.all()
	case key == FieldEnd:
		err = s.byDay()
	case key == FieldDuration:
		err = s.byDuration()
	default:
		err = s.all()
	}
	if err != nil {
		return s.res, err
	}
	for i := len(s.buf) - 1; i >= 0; i-- {
		if err := fn(s.buf[i]); err != nil {
			return s.res, err
		}
	}
	return s.res, nil
}

// fastSearch enables Search's shortcuts; tests turn it off to compare.
var fastSearch = true

// searchRun is one Search.
type searchRun struct {
	ctx   context.Context
	r     *Reader
	q     Query
	bq    query.Query
	order []string
	limit int
	emit  func(*classify.Event) error
	buf   []*classify.Event
	res   Result
}

// all searches every shard at once.
func (s *searchRun) all() error {
	total, shards, _, err := s.pages(s.q.Since, s.q.Until, s.bq, s.limit)
	s.res.Total, s.res.Shards = total, shards
	return err
}

// pages searches the shards of [since, until] for the first limit (0:
// all) events matching bq in s.order, a page at a time, and emits them.
// The shards are held for a page's search only, not while emit runs:
// emit may be slow (a client reading the results), and the writer may be
// waiting for one of them.
func (s *searchRun) pages(since, until time.Time, bq query.Query, limit int) (total uint64, shards, found int, err error) {
	const page = 1000
	remaining := limit
	var after []string
	for {
		size := page
		if limit > 0 && remaining < size {
			size = remaining
		}
		req := bleve.NewSearchRequestOptions(bq, size, 0, false)
		req.Fields = []string{fieldEvent}
		req.SortBy(s.order)
		req.Score = bleve.ScoreNone
		if after != nil {
			req.SetSearchAfter(after)
		}
		hs, err := s.r.st.acquireRead(since, until)
		if err != nil || len(hs) == 0 {
			return total, shards, found, err
		}
		sr, err := bleve.NewIndexAlias(indexes(hs)...).SearchInContext(s.ctx, req)
		s.r.st.release(hs...)
		if err != nil {
			return total, shards, found, searchError(err)
		}
		if after == nil {
			total, shards = sr.Total, len(hs)
		}
		for _, hit := range sr.Hits {
			e, err := hitEvent(hit)
			if err != nil {
				return total, shards, found, err
			}
			if err := s.emit(e); err != nil {
				return total, shards, found, err
			}
		}
		found += len(sr.Hits)
		remaining -= len(sr.Hits)
		if len(sr.Hits) < size || (limit > 0 && remaining <= 0) {
			return total, shards, found, nil
		}
		after = sr.Hits[len(sr.Hits)-1].Sort
	}
}

// byDay searches the days in end order, newest first for "-end", until
// the limit is reached; the other days are only counted.
func (s *searchRun) byDay() error {
	var days []time.Time
	for _, sh := range s.r.st.list() {
		if (s.q.Since.IsZero() || sh.Day.Add(24*time.Hour).After(s.q.Since)) && (s.q.Until.IsZero() || !sh.Day.After(s.q.Until)) {
			days = append(days, sh.Day)
		}
	}
	if strings.HasPrefix(s.order[0], "-") {
		slices.Reverse(days)
	}
	remaining := s.limit
	for i, day := range days {
		if remaining <= 0 {
			n, err := s.r.matches(s.ctx, s.q, s.bq, days[i:])
			s.res.Total += n
			s.res.Shards += len(days) - i
			return err
		}
		since, until := day, day.Add(24*time.Hour-time.Nanosecond)
		if !s.q.Since.IsZero() && s.q.Since.After(since) {
			since = s.q.Since
		}
		if !s.q.Until.IsZero() && s.q.Until.Before(until) {
			until = s.q.Until
		}
		total, shards, found, err := s.pages(since, until, s.bq, remaining)
		s.res.Total += total
		s.res.Shards += shards
		if err != nil {
			return err
		}
		remaining -= found
	}
	return nil
}

// matches counts the events matching q (bleve query bq) in the shards of
// days (consecutive), from what the shards know without a search where
// they can.
func (r *Reader) matches(ctx context.Context, q Query, bq query.Query, days []time.Time) (uint64, error) {
	lo, hi := days[0], days[len(days)-1]
	if hi.Before(lo) {
		lo, hi = hi, lo
	}
	since, until := lo, hi.Add(24*time.Hour-time.Nanosecond)
	if !q.Since.IsZero() && q.Since.After(since) {
		since = q.Since
	}
	if !q.Until.IsZero() && q.Until.Before(until) {
		until = q.Until
	}
	hs, err := r.st.acquireRead(since, until)
	if err != nil {
		return 0, err
	}
	defer r.st.release(hs...)
	var c Counts
	var rest []bleve.Index
	sel, selectable := q.selection()
	for _, h := range hs {
		if !selectable || !fastCounts {
			rest = append(rest, h.idx)
		} else if _, ok := shardCount(h, q.Since, q.Until, FieldCause, sel, &c); !ok {
			rest = append(rest, h.idx)
		}
	}
	if len(rest) > 0 {
		req := bleve.NewSearchRequestOptions(bq, 0, 0, false)
		req.Score = bleve.ScoreNone
		sr, err := bleve.NewIndexAlias(rest...).SearchInContext(ctx, req)
		if err != nil {
			return 0, searchError(err)
		}
		c.Total += sr.Total
	}
	return c.Total, nil
}

// byDuration narrows a search by duration with a limit to the durations
// the first limit events can have, when every day's stored counts give
// the durations of what q selects; else it searches everything.
func (s *searchRun) byDuration() error {
	sel, ok := s.q.selection()
	if !ok || !fastCounts {
		return s.all()
	}
	hs, err := s.r.st.acquireRead(s.q.Since, s.q.Until)
	if err != nil {
		return err
	}
	var c Counts
	var lists [][]Bucket
	for _, h := range hs {
		ls, ok := shardCount(h, s.q.Since, s.q.Until, FieldDuration, sel, &c)
		if !ok {
			s.r.st.release(hs...)
			return s.all()
		}
		lists = append(lists, ls...)
	}
	s.r.st.release(hs...)
	durs, ok := mergeNumbers(lists)
	if !ok || c.Missing > 0 || len(durs) == 0 {
		return s.all()
	}
	desc := strings.HasPrefix(s.order[0], "-")
	// bound: the duration of the limit-th event in the order.
	seen, bound := 0, int64(-1)
	for i := range durs {
		b := durs[i]
		if desc {
			b = durs[len(durs)-1-i]
		}
		if seen += b.Count; seen >= s.limit {
			bound, _ = strconv.ParseInt(b.Value, 10, 64)
			break
		}
	}
	bq := s.bq
	switch {
	case bound < 0 || bound >= maxNum: // fewer events than the limit: all of them
	case desc:
		bq = &boolQuery{must: []query.Query{bq, termRange(FieldDuration, numKey(bound), "")}}
	default:
		bq = &boolQuery{must: []query.Query{bq, termRange(FieldDuration, "", numKey(bound+1))}}
	}
	_, shards, _, err := s.pages(s.q.Since, s.q.Until, bq, s.limit)
	s.res.Total, s.res.Shards = c.Total, shards
	return err
}

// sortOrder translates a sort key into bleve's sort order; reverse tells
// that the hits must be returned in the opposite order (the default). The
// end key is unique (it ends with the document id), so sorting by it, or
// by another key and then by it, is a total order: pages never overlap.
func sortOrder(key string, limit int) (order []string, reverse bool, err error) {
	if key == "" {
		if limit > 0 {
			return []string{"-" + FieldEnd}, true, nil
		}
		key = FieldEnd
	}
	field := strings.TrimPrefix(key, "-")
	ok := false
	for _, k := range SortKeys {
		ok = ok || k == field
	}
	if !ok {
		return nil, false, badQuery("cannot sort by %q (keys: %s, with - for descending)", key, strings.Join(SortKeys, ", "))
	}
	order = []string{key}
	if field != FieldEnd {
		if strings.HasPrefix(key, "-") {
			order = append(order, "-"+FieldEnd)
		} else {
			order = append(order, FieldEnd)
		}
	}
	return order, false, nil
}

func hitEvent(hit *search.DocumentMatch) (*classify.Event, error) {
	s, ok := hit.Fields[fieldEvent].(string)
	if !ok {
		return nil, fmt.Errorf("index: document %s has no stored event (written by another program?)", hit.ID)
	}
	e, err := decodeEvent([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("index: document %s: stored event is damaged: %v", hit.ID, err)
	}
	return e, nil
}

// searchError marks bleve's complaints about the query as ErrBadQuery.
func searchError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := err.Error()
	for _, s := range []string{"parse", "syntax", "invalid", "unknown field", "TooManyClauses"} {
		if strings.Contains(msg, s) {
			return fmt.Errorf("%w: %v", ErrBadQuery, err)
		}
	}
	return err
}

// DocCount is the number of events in the shards covering [since, until]
// (zero bounds are open).
func (r *Reader) DocCount(since, until time.Time) (uint64, error) {
	hs, err := r.st.acquireRead(since, until)
	if err != nil {
		return 0, err
	}
	defer r.st.release(hs...)
	n := uint64(0)
	for _, h := range hs {
		k, err := h.idx.DocCount()
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

// Dir is the data directory.
func (r *Reader) Dir() string { return r.st.dir }
