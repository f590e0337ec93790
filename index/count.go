package index

import (
	"cmp"
	"context"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
)

// CountKeys are the values Count accepts.
var CountKeys = []string{FieldCause, FieldSrcIP, FieldUser, FieldHost, FieldHour, FieldDuration}

// Bucket is one value of a count and how many events have it.
type Bucket struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Counts is the outcome of Count.
type Counts struct {
	Total   uint64 // events matching
	Missing int    // matching events without the field (e.g. no user)
	// Buckets are by count, largest first, then by value; for hour by
	// hour, for duration_s by duration (whole seconds, written in decimal:
	// "0", "42"), shortest first.
	Buckets []Bucket
	Other   int // events in buckets beyond the limit
	Shards  int // day shards searched (0 for a store without them)
}

// Count counts the events matching q by the values of the field by, one of
// CountKeys. limit caps the buckets returned (0: all): the largest ones,
// or for hour and duration_s the first ones. Counts are exact. It
// implements Searcher.
//
// Each shard's counts come, sorted by value, from what the shard knows
// without a search when it can (shardCount, counts.go), else from a pass
// over the matching events' doc values; the shards are searched
// concurrently. The sorted lists are merged without a map, ordered by
// count with a counting sort, and a limit selects its buckets with a heap
// instead of sorting them all: a month of source addresses is 10⁶ values.
func (r *Reader) Count(ctx context.Context, q Query, by string, limit int) (Counts, error) {
	if !slices.Contains(CountKeys, by) {
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
	c := Counts{Shards: len(hs)}
	var lists [][]Bucket // sorted by value
	var rest []*handle
	sel, selectable := q.selection()
	for _, h := range hs {
		if fastCounts && selectable {
			if ls, ok := shardCount(h, q.Since, q.Until, by, sel, &c); ok {
				lists = append(lists, ls...)
				continue
			}
		}
		rest = append(rest, h)
	}
	if len(rest) > 0 {
		ls, total, missing, err := searchCounts(ctx, rest, bq, by)
		if err != nil {
			return Counts{}, err
		}
		lists = append(lists, ls...)
		c.Total += total
		c.Missing += missing
	}
	merged, numbers := []Bucket(nil), false
	if by == FieldDuration {
		merged, numbers = mergeNumbers(lists)
	}
	if !numbers {
		merged = mergeByValue(lists)
	}
	c.Buckets, c.Other = arrange(merged, by, limit, numbers)
	return c, nil
}

// searchCounts counts by field the events matching q in the shards hs, a
// few shards at a time: each shard's counts sorted by value.
func searchCounts(ctx context.Context, hs []*handle, q query.Query, field string) (lists [][]Bucket, total uint64, missing int, err error) {
	type result struct {
		list    []Bucket
		hits    uint64
		missing int
		err     error
	}
	res := make([]result, len(hs))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(len(hs), runtime.GOMAXPROCS(0)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r := &res[i]
				r.list, r.hits, r.missing, r.err = shardSearchCount(ctx, hs[i], q, field)
			}
		}()
	}
	for i := range hs {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, r := range res {
		if r.err != nil {
			return nil, 0, 0, searchError(r.err)
		}
		if len(r.list) > 0 {
			lists = append(lists, r.list)
		}
		total += r.hits
		missing += r.missing
	}
	return lists, total, missing, nil
}

// shardSearchCount counts by field the events of the shard h matching q,
// reading each match's doc value: what a bleve facet does, without
// sorting every value by count.
func shardSearchCount(ctx context.Context, h *handle, q query.Query, field string) (list []Bucket, hits uint64, missing int, err error) {
	ir, _, ok := snapshot(h.idx)
	if !ok {
		return nil, 0, 0, errClosed
	}
	defer ir.Close()
	s, err := q.Searcher(ctx, ir, h.idx.Mapping(), search.SearcherOptions{Score: "none"})
	if err != nil {
		return nil, 0, 0, err
	}
	defer s.Close()
	dvr, err := ir.DocValueReader([]string{field})
	if err != nil {
		return nil, 0, 0, err
	}
	sctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0)}
	counts := map[string]int{}
	found := false
	visit := func(_ string, term []byte) {
		counts[string(term)]++
		found = true
	}
	for {
		if hits%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, 0, err
			}
		}
		m, err := s.Next(sctx)
		if err != nil {
			return nil, 0, 0, err
		}
		if m == nil {
			break
		}
		hits++
		found = false
		if err := dvr.VisitDocValues(m.IndexInternalID, visit); err != nil {
			return nil, 0, 0, err
		}
		if !found {
			missing++
		}
		sctx.DocumentMatchPool.Put(m)
	}
	list = make([]Bucket, 0, len(counts))
	for v, n := range counts {
		list = append(list, Bucket{Value: v, Count: n})
	}
	slices.SortFunc(list, func(a, b Bucket) int { return strings.Compare(a.Value, b.Value) })
	return list, hits, missing, nil
}

// mergeByValue adds up lists sorted by value (each value once in each)
// into one sorted by value: a k-way merge through a tree of losers, one
// comparison per level for each bucket.
func mergeByValue(lists [][]Bucket) []Bucket {
	switch len(lists) {
	case 0:
		return nil
	case 1:
		return lists[0]
	}
	k, n := len(lists), 0
	for _, l := range lists {
		n += len(l)
	}
	// before reports that list a's first value comes before list b's; an
	// exhausted list comes last.
	before := func(a, b int) bool {
		if len(lists[a]) == 0 {
			return false
		}
		return len(lists[b]) == 0 || lists[a][0].Value < lists[b][0].Value
	}
	// The leaves of the tree are at k..2k-1 (list i at k+i), node m's
	// children at 2m and 2m+1; loser[m] is the list that lost at node m,
	// loser[0] the winner.
	loser := make([]int, k)
	win := make([]int, 2*k)
	for i := range lists {
		win[k+i] = i
	}
	for m := k - 1; m >= 1; m-- {
		a, b := win[2*m], win[2*m+1]
		if before(b, a) {
			a, b = b, a
		}
		win[m], loser[m] = a, b
	}
	loser[0] = win[1]
	out := make([]Bucket, 0, n) // at most; growing it costs more
	for {
		w := loser[0]
		if len(lists[w]) == 0 {
			return out
		}
		b := lists[w][0]
		if last := len(out) - 1; last >= 0 && out[last].Value == b.Value {
			out[last].Count += b.Count
		} else {
			out = append(out, b)
		}
		lists[w] = lists[w][1:]
		for m := (w + k) / 2; m >= 1; m /= 2 {
			if before(loser[m], w) {
				loser[m], w = w, loser[m]
			}
		}
		loser[0] = w
	}
}

// mergeNumbers adds up lists of number keys (timekey.go) into one sorted
// by number and written in decimal, as Count gives durations: an array of
// counts instead of comparisons, for a day of sessions has thousands of
// durations and a month's lists a million. ok is false for a value that
// is not a number key.
func mergeNumbers(lists [][]Bucket) (out []Bucket, ok bool) {
	const dense = 1 << 20 // seconds: 12 days
	var counts []int
	big := map[int64]int{}
	for _, l := range lists {
		for _, b := range l {
			if len(b.Value) != numWidth {
				return nil, false
			}
			n, err := strconv.ParseInt(b.Value, 10, 64)
			if err != nil || n < 0 {
				return nil, false
			}
			if n >= dense {
				big[n] += b.Count
				continue
			}
			if int(n) >= len(counts) {
				counts = append(counts, make([]int, int(n)+1-len(counts))...)
			}
			counts[n] += b.Count
		}
	}
	for v, c := range counts {
		if c > 0 {
			out = append(out, Bucket{Value: strconv.Itoa(v), Count: c})
		}
	}
	vs := make([]int64, 0, len(big))
	for v := range big {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	for _, v := range vs {
		out = append(out, Bucket{Value: strconv.FormatInt(v, 10), Count: big[v]})
	}
	return out, true
}

// arrange puts the buckets of field, sorted by value, in Counts' order
// and applies limit; other is what the buckets beyond it count. decimal
// tells that durations are written in decimal already (mergeNumbers).
func arrange(bs []Bucket, field string, limit int, decimal bool) (out []Bucket, other int) {
	if field == FieldSrcIP {
		bs = unmapBuckets(bs)
	}
	if len(bs) == 0 {
		return nil, 0
	}
	switch {
	case field == FieldHour || field == FieldDuration:
		if field == FieldDuration && !decimal {
			for i := range bs { // the lists are this count's own
				bs[i].Value = numValue(bs[i].Value)
			}
		}
		if limit > 0 && len(bs) > limit {
			for _, b := range bs[limit:] {
				other += b.Count
			}
			bs = bs[:limit]
		}
		return bs, other
	case limit > 0 && limit < len(bs):
		out = topCounts(bs, limit)
		for _, b := range bs {
			other += b.Count
		}
		for _, b := range out {
			other -= b.Count
		}
		return out, other
	}
	return byCount(bs), 0
}

// numValue writes a number key (timekey.go) in decimal.
func numValue(key string) string {
	if v := strings.TrimLeft(key, "0"); v != "" {
		return v
	}
	if key == "" {
		return key
	}
	return "0"
}

// byCount orders buckets sorted by value by count, largest first, the
// values of one count staying in order: a counting sort.
func byCount(bs []Bucket) []Bucket {
	top := 0
	for _, b := range bs {
		top = max(top, b.Count)
	}
	if top > 4*len(bs)+1024 {
		out := slices.Clone(bs)
		slices.SortStableFunc(out, func(a, b Bucket) int { return cmp.Compare(b.Count, a.Count) })
		return out
	}
	pos := make([]int, top+1)
	for _, b := range bs {
		pos[b.Count]++
	}
	at := 0
	for n := top; n >= 0; n-- {
		at, pos[n] = at+pos[n], at
	}
	out := make([]Bucket, len(bs))
	for _, b := range bs {
		out[pos[b.Count]] = b
		pos[b.Count]++
	}
	return out
}

// topCounts returns the k largest of buckets sorted by value, by count
// and then by value: a heap of the best k, whose root is the worst of
// them. A later bucket has a larger value, so it replaces the root only
// with a larger count.
func topCounts(bs []Bucket, k int) []Bucket {
	h := make([]Bucket, 0, k)
	worse := func(i, j int) bool { // h[i] ranks below h[j]
		return h[i].Count < h[j].Count || h[i].Count == h[j].Count && h[i].Value > h[j].Value
	}
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			if r := l + 1; r < len(h) && worse(r, l) {
				l = r
			}
			if !worse(l, i) {
				return
			}
			h[i], h[l] = h[l], h[i]
			i = l
		}
	}
	for _, b := range bs {
		switch {
		case len(h) < k:
			h = append(h, b)
			for i := len(h) - 1; i > 0; {
				p := (i - 1) / 2
				if !worse(i, p) {
					break
				}
				h[i], h[p] = h[p], h[i]
				i = p
			}
		case b.Count > h[0].Count:
			h[0] = b
			down(0)
		}
	}
	slices.SortFunc(h, func(a, b Bucket) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
	})
	for i := range h {
		h[i].Value = strings.Clone(h[i].Value) // not the whole list it lies in (decodeList)
	}
	return h
}

// unmapBuckets rewrites IPv4-mapped addresses (::ffff:a.b.c.d, which
// older sshwhy stored as logged) among the src_ip buckets bs, sorted by
// value, as IPv4, so that a count agrees with --ip and the ips format; the
// result is sorted by value again.
func unmapBuckets(bs []Bucket) []Bucket {
	mapped := false
	for _, b := range bs {
		if v := b.Value; len(v) > 7 && strings.EqualFold(v[:7], "::ffff:") && NormalizeIP(v) != v {
			mapped = true
			break
		}
	}
	if !mapped {
		return bs
	}
	sum := make(map[string]int, len(bs))
	for _, b := range bs {
		sum[NormalizeIP(b.Value)] += b.Count
	}
	out := make([]Bucket, 0, len(sum))
	for v, n := range sum {
		out = append(out, Bucket{Value: v, Count: n})
	}
	slices.SortFunc(out, func(a, b Bucket) int { return strings.Compare(a.Value, b.Value) })
	return out
}
