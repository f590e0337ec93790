package index

import (
	"context"
	"errors"
	"fmt"
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
