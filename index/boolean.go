package index

import (
	"context"
	"slices"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	bindex "github.com/blevesearch/bleve_index_api"
)

// boolQuery matches the documents that match every must query, at least
// one should query (when there are any) and no mustNot query.
//
// It replaces bleve's BooleanQuery, which treats a part whose searcher
// matches nothing (a MatchNoneSearcher: a term range without terms in the
// shard, a match on words the analyzer drops) as absent: "+A +B" with no
// A in a shard became "B", and "A -B" became "everything but B"; in
// query-string mode its conjunctions and disjunctions skip such parts
// too. Every query sshwhy builds combines through boolQuery, so a clause
// that matches nothing makes the conjunction empty, the alternative
// absent and the exclusion void, as logic says.
type boolQuery struct {
	must, should, mustNot []query.Query
}

// Searcher implements query.Query.
func (q *boolQuery) Searcher(ctx context.Context, i bindex.IndexReader, m mapping.IndexMapping, opt search.SearcherOptions) (search.Searcher, error) {
	var opened []search.Searcher
	closeAll := func() {
		for _, s := range opened {
			_ = s.Close()
		}
	}
	// build returns the searcher of sub, or nil when it matches nothing.
	build := func(sub query.Query) (search.Searcher, error) {
		s, err := sub.Searcher(ctx, i, m, opt)
		if err != nil {
			return nil, err
		}
		if _, none := s.(*searcher.MatchNoneSearcher); none {
			_ = s.Close()
			return nil, nil
		}
		opened = append(opened, s)
		return s, nil
	}
	none := func() (search.Searcher, error) {
		closeAll()
		return searcher.NewMatchNoneSearcher(i)
	}
	var must, should, not []search.Searcher
	// required adds the searchers of subs to must; false when one of
	// them matches nothing.
	required := func(subs []query.Query) (bool, error) {
		for _, sub := range subs {
			s, err := build(sub)
			if err != nil || s == nil {
				return false, err
			}
			must = append(must, s)
		}
		return true, nil
	}
	// Address ranges ANDed with other parts wait until those are built:
	// when they select few events, each of those is checked instead.
	var first, later []query.Query
	var ranges [][]*cidrQuery // later's prefixes
	for _, sub := range q.must {
		if cs, ok := cidrs(sub); ok && len(q.must) > 1 {
			later, ranges = append(later, sub), append(ranges, cs)
		} else {
			first = append(first, sub)
		}
	}
	ok, err := required(first)
	check := false
	if err == nil && ok && len(later) > 0 && len(must) > 0 {
		check, err = checkCheaper(i, fewest(must), ranges)
	}
	if err == nil && ok && !check {
		ok, err = required(later)
		ranges = nil
	}
	if err != nil {
		closeAll()
		return nil, err
	}
	if !ok {
		return none()
	}
	for _, sub := range q.should {
		s, err := build(sub)
		if err != nil {
			closeAll()
			return nil, err
		}
		if s != nil {
			should = append(should, s)
		}
	}
	if len(q.should) > 0 && len(should) == 0 {
		return none()
	}
	for _, sub := range q.mustNot {
		s, err := build(sub)
		if err != nil {
			closeAll()
			return nil, err
		}
		if s != nil {
			not = append(not, s)
		}
	}
	result, err := q.combine(ctx, i, opt, must, should, not)
	if err != nil {
		closeAll()
		return nil, err
	}
	if len(ranges) > 0 {
		return checkSrcIP(ctx, i, result, ranges)
	}
	return result, nil
}

// checkCheaper reports whether checking the n events the other parts of
// a conjunction select (their searchers' count: an upper bound) costs
// less than searching the address ranges: a check reads one doc value
// (about 0.2 µs); a range's searcher looks up each address of the range
// present in the shard in each of its segments (about 5 µs each),
// whatever the rest selects. On an agent taking 1,000 connections a
// second, searches of a /24 over the last seconds spent a quarter of its
// CPU in those lookups 9 minutes in (profile), more as today's shard grew
// segments. The addresses present are counted from the shard's
// dictionary, only as far as the check is worth.
func checkCheaper(i bindex.IndexReader, n uint64, groups [][]*cidrQuery) (bool, error) {
	if checksPerLookup == 0 {
		return false, nil
	}
	segments := uint64(1)
	if s, ok := i.(*scorch.IndexSnapshot); ok {
		segments = max(1, uint64(len(s.Segments())))
	}
	if segments < checkSegments {
		return false, nil
	}
	// Checking n events costs as much as searching this many addresses.
	worth := n / (checksPerLookup * segments)
	var addrs uint64
	for _, g := range groups {
		for _, c := range g {
			lo, hi := c.termRange()
			d, err := i.FieldDictRange(FieldIP, lo, hi)
			if err != nil {
				return false, err
			}
			for {
				e, err := d.Next()
				if err != nil || e == nil {
					_ = d.Close()
					if err != nil {
						return false, err
					}
					break
				}
				if addrs++; addrs > worth {
					return true, d.Close()
				}
			}
		}
	}
	return false, nil
}

// checkSegments is the fewest segments a shard must have for checking to
// be considered: on compacted days (one segment each) searching a range
// beat checking whenever it was measured (BenchmarkSearchCauseIPWeek: p50
// 4.4 ms searched, 6.7-9.5 ms with the model at any checksPerLookup up
// to 1,000, counting the addresses included; docs/benchmarks-agent.md).
// On today's live shard (32 segments after an hour at 1,000 events a
// second) checking won: BenchmarkSearchRecentRange p50 4.2 ms against
// 23.6 ms searched.
var checkSegments uint64 = 4 // a variable for the tests

// checksPerLookup is what one term lookup in one segment costs in doc
// value checks; 0 (the tests) never checks.
var checksPerLookup uint64 = 25

// fewest is the smallest of the searchers' counts.
func fewest(ss []search.Searcher) uint64 {
	n := ss[0].Count()
	for _, s := range ss[1:] {
		n = min(n, s.Count())
	}
	return n
}

// checkSrcIP keeps the events of s whose src_ip lies in one of each
// group's prefixes.
func checkSrcIP(ctx context.Context, i bindex.IndexReader, s search.Searcher, groups [][]*cidrQuery) (search.Searcher, error) {
	dvr, err := i.DocValueReader([]string{FieldSrcIP})
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	f := &filtered{}
	var ip []byte
	visit := func(_ string, v []byte) { ip = append(ip[:0], v...) }
	f.FilteringSearcher = searcher.NewFilteringSearcher(ctx, s, func(_ *search.SearchContext, d *search.DocumentMatch) bool {
		if f.err != nil {
			return false
		}
		ip = ip[:0]
		if err := dvr.VisitDocValues(d.IndexInternalID, visit); err != nil {
			f.err = err
			return false
		}
		a, ok := srcAddr(ip)
		if !ok {
			return false
		}
		for _, g := range groups {
			if !slices.ContainsFunc(g, func(c *cidrQuery) bool { return c.contains(a) }) {
				return false
			}
		}
		return true
	})
	return f, nil
}

// combine joins the searchers of the parts (none of them empty).
func (q *boolQuery) combine(ctx context.Context, i bindex.IndexReader, opt search.SearcherOptions, must, should, not []search.Searcher) (search.Searcher, error) {
	either := func(ss []search.Searcher) (search.Searcher, error) {
		if len(ss) == 1 {
			return ss[0], nil
		}
		return searcher.NewDisjunctionSearcher(ctx, i, ss, 1, opt)
	}
	if len(should) > 0 {
		s, err := either(should)
		if err != nil {
			return nil, err
		}
		must = append(must, s)
	}
	var base search.Searcher
	var err error
	switch len(must) {
	case 0:
		base, err = searcher.NewMatchAllSearcher(ctx, i, 1, opt)
	case 1:
		base = must[0]
	default:
		base, err = searcher.NewConjunctionSearcher(ctx, i, must, opt)
	}
	if err != nil || len(not) == 0 {
		return base, err
	}
	excl, err := either(not)
	if err != nil {
		if len(must) == 0 {
			_ = base.Close() // the match-all made here
		}
		return nil, err
	}
	return searcher.NewBooleanSearcher(ctx, i, base, nil, excl, opt)
}
