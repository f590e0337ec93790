package index

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"

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
func (r *Reader) Search(ctx context.Context, q Query, opt SearchOptions, fn func(*classify.Event) error) (Result, error) {
	bq, err := q.bleveQuery()
	if err != nil {
		return Result{}, err
	}
	order, reverse, err := sortOrder(opt.Sort, opt.Limit)
	if err != nil {
		return Result{}, err
	}
	var res Result
	const page = 1000
	remaining := opt.Limit
	var after []string
	var buf []*classify.Event
	for {
		size := page
		if opt.Limit > 0 && remaining < size {
			size = remaining
		}
		req := bleve.NewSearchRequestOptions(bq, size, 0, false)
		req.Fields = []string{fieldEvent}
		req.SortBy(order)
		req.Score = bleve.ScoreNone
		if after != nil {
			req.SetSearchAfter(after)
		}
		// The shards are held for the search only, not while fn runs:
		// fn may be slow (a client reading the results), and the writer
		// may be waiting for one of them.
		hs, err := r.st.acquireRead(q.Since, q.Until)
		if err != nil || len(hs) == 0 {
			return res, err
		}
		sr, err := bleve.NewIndexAlias(indexes(hs)...).SearchInContext(ctx, req)
		r.st.release(hs...)
		if err != nil {
			return res, searchError(err)
		}
		if after == nil {
			res.Total, res.Shards = sr.Total, len(hs)
		}
		for _, hit := range sr.Hits {
			e, err := hitEvent(hit)
			if err != nil {
				return res, err
			}
			if reverse {
				buf = append(buf, e)
			} else if err := fn(e); err != nil {
				return res, err
			}
		}
		remaining -= len(sr.Hits)
		if len(sr.Hits) < size || (opt.Limit > 0 && remaining <= 0) {
			break
		}
		after = sr.Hits[len(sr.Hits)-1].Sort
	}
	for i := len(buf) - 1; i >= 0; i-- {
		if err := fn(buf[i]); err != nil {
			return res, err
		}
	}
	return res, nil
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

// CountKeys are the values CountBy accepts.
var CountKeys = []string{FieldCause, FieldSrcIP, FieldUser, FieldHost, FieldHour}

// Bucket is one value of a count and how many events have it.
type Bucket struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Counts is the outcome of Count.
type Counts struct {
	Total   uint64   // events matching
	Missing int      // matching events without the field (e.g. no user)
	Buckets []Bucket // by count, largest first; for "hour", by hour
	Other   int      // events in buckets beyond the limit
	Shards  int      // day shards searched (0 for a store without them)
}

// Count counts the events matching q by the values of the field by, one of
// CountKeys. limit caps the buckets returned (0: all); counts are exact.
// It implements Searcher.
func (r *Reader) Count(ctx context.Context, q Query, by string, limit int) (Counts, error) {
	ok := false
	for _, k := range CountKeys {
		ok = ok || k == by
	}
	if !ok {
		return Counts{}, badQuery("cannot count by %q (keys: %s)", by, strings.Join(CountKeys, ", "))
	}
	bq, err := q.bleveQuery()
	if err != nil {
		return Counts{}, err
	}
	hs, err := r.st.acquireRead(q.Since, q.Until)
	if err != nil || len(hs) == 0 {
		return Counts{}, err
	}
	defer r.st.release(hs...)
	idxs := indexes(hs)
	c := Counts{Shards: len(hs)}
	var parts [][]Bucket // the counts of each shard or group of shards
	// A query that only bounds the time counts the shards it wholly
	// covers without a pass over their events (see shardCount). The other
	// shards are searched.
	search := idxs
	if fastCounts && q.onlyTime() {
		search = nil
		for _, idx := range idxs {
			if b, ok := shardCount(idx, q.Since, q.Until, by, &c); ok {
				parts = append(parts, b)
			} else {
				search = append(search, idx)
			}
		}
	}
	if len(search) > 0 {
		req := bleve.NewSearchRequestOptions(bq, 0, 0, false)
		req.Score = bleve.ScoreNone
		// Every term from every shard: with a smaller size each shard would
		// cut its own tail and the merged counts would be approximate.
		req.AddFacet(by, bleve.NewFacetRequest(by, math.MaxInt32))
		sr, err := bleve.NewIndexAlias(search...).SearchInContext(ctx, req)
		if err != nil {
			return Counts{}, searchError(err)
		}
		c.Total += sr.Total
		if f := sr.Facets[by]; f != nil {
			c.Missing += f.Missing
			if f.Terms != nil {
				terms := f.Terms.Terms()
				b := make([]Bucket, len(terms))
				for i, t := range terms {
					b[i] = Bucket{Value: t.Term, Count: t.Count}
				}
				parts = append(parts, b)
			}
		}
	}
	merge := len(parts) > 1
	if by == FieldSrcIP {
		merge = unmapBuckets(parts) || merge
	}
	c.Buckets = mergeBuckets(parts, merge, bucketOrder(by))
	if limit > 0 && len(c.Buckets) > limit {
		for _, b := range c.Buckets[limit:] {
			c.Other += b.Count
		}
		c.Buckets = c.Buckets[:limit]
	}
	return c, nil
}

// bucketOrder is the order of Counts.Buckets: by hour for hour, else by
// count, largest first. Values are unique, so both are total orders.
func bucketOrder(by string) func(a, b Bucket) int {
	if by == FieldHour {
		return func(a, b Bucket) int { return strings.Compare(a.Value, b.Value) }
	}
	return func(a, b Bucket) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return strings.Compare(a.Value, b.Value)
	}
}

// unmapBuckets rewrites IPv4-mapped addresses (::ffff:a.b.c.d, which
// older sshwhy stored as logged) in the src_ip buckets of parts as IPv4,
// so that a count agrees with --ip and the ips format; it reports whether
// it changed any (then a part may hold a value twice).
func unmapBuckets(parts [][]Bucket) bool {
	changed := false
	for _, p := range parts {
		for i := range p {
			if v := p[i].Value; len(v) > 7 && strings.EqualFold(v[:7], "::ffff:") {
				if n := NormalizeIP(v); n != v {
					p[i].Value = n
					changed = true
				}
			}
		}
	}
	return changed
}

// mergeBuckets adds up the counts of parts and sorts them by order.
// Without merge, there is one part with unique values and it is used as it
// is (stored counts are kept in count order).
func mergeBuckets(parts [][]Bucket, merge bool, order func(a, b Bucket) int) []Bucket {
	var out []Bucket
	switch {
	case len(parts) == 0:
		return nil
	case !merge:
		out = parts[0]
	default:
		n := 0
		for _, p := range parts {
			n += len(p)
		}
		counts := make(map[string]int, n)
		for _, p := range parts {
			for _, b := range p {
				counts[b.Value] += b.Count
			}
		}
		out = make([]Bucket, 0, len(counts))
		for v, n := range counts {
			out = append(out, Bucket{Value: v, Count: n})
		}
	}
	if len(out) == 0 {
		return nil
	}
	if !slices.IsSortedFunc(out, order) {
		slices.SortFunc(out, order)
	}
	return out
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
