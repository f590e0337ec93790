package index

import (
	"cmp"
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/classify"
)

// TestMergeAndOrder checks the pieces Count puts counts together with —
// the k-way merge of lists sorted by value, the counting sort by count,
// the top-k selection — against a map and a sort, for random lists.
func TestMergeAndOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 300; n++ {
		k := rng.Intn(40)
		var lists [][]Bucket
		want := map[string]int{}
		for i := 0; i < k; i++ {
			seen := map[string]int{}
			for j := rng.Intn(60); j > 0; j-- {
				v := fmt.Sprintf("%x", rng.Intn(1+rng.Intn(500)))
				c := 1 + rng.Intn(3)
				if rng.Intn(20) == 0 {
					c = 1 + rng.Intn(5000) // a few large counts: the sort's other path
				}
				seen[v] += c
			}
			var l []Bucket
			for v, c := range seen {
				l = append(l, Bucket{v, c})
				want[v] += c
			}
			slices.SortFunc(l, func(a, b Bucket) int { return strings.Compare(a.Value, b.Value) })
			lists = append(lists, l)
		}
		var byValue []Bucket
		for v, c := range want {
			byValue = append(byValue, Bucket{v, c})
		}
		slices.SortFunc(byValue, func(a, b Bucket) int { return strings.Compare(a.Value, b.Value) })
		got := mergeByValue(lists)
		if len(got) == 0 && len(byValue) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, byValue) {
			t.Fatalf("merge of %d lists: %v, want %v", k, got, byValue)
		}
		ordered := slices.Clone(byValue)
		slices.SortFunc(ordered, func(a, b Bucket) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
		})
		if bc := byCount(got); !reflect.DeepEqual(bc, ordered) {
			t.Fatalf("by count: %v, want %v", bc, ordered)
		}
		for _, lim := range []int{1, 2, 7, len(got) - 1} {
			if lim <= 0 || lim >= len(got) {
				continue
			}
			if top := topCounts(got, lim); !reflect.DeepEqual(top, ordered[:lim]) {
				t.Fatalf("top %d: %v, want %v", lim, top, ordered[:lim])
			}
		}
	}
}

// TestSearchShortcuts: searches with a limit in end order (day by day)
// and in duration order (narrowed by the stored durations) return the
// same events, in the same order, with the same totals as one search
// over every shard; on compacted days, on days with deleted documents
// and on days written since their compaction.
func TestSearchShortcuts(t *testing.T) {
	evs := countEvents(1500, 3)
	day := evs[0].End.Truncate(24 * time.Hour)
	ranges := []Query{
		{},
		{Since: day.Add(90 * time.Minute), Until: day.Add(50 * time.Hour)},
	}
	sels := append(slices.Clone(countSelections), Query{IPs: []string{evs[7].SrcIP}}, Query{Text: "user:root"})
	check := func(t *testing.T, dir string) {
		r := openReader(t, dir)
		for _, rq := range ranges {
			for _, sq := range sels {
				q := sq
				q.Since, q.Until = rq.Since, rq.Until
				for _, sort := range []string{"", FieldEnd, "-" + FieldEnd, FieldDuration, "-" + FieldDuration, FieldUser} {
					for _, limit := range []int{1, 7, 1200} {
						opt := SearchOptions{Limit: limit, Sort: sort}
						fastSearch = false
						want, wres := searchIDs(t, r, q, opt)
						fastSearch = true
						got, gres := searchIDs(t, r, q, opt)
						if !slices.Equal(got, want) || gres != wres {
							t.Fatalf("%s sort %q limit %d: %d events %+v, want %d %+v\ngot  %v\nwant %v",
								describe(q), sort, limit, len(got), gres, len(want), wres, got, want)
						}
					}
				}
			}
		}
	}
	dir := t.TempDir()
	writeEvents(t, dir, evs, WriterOptions{})
	t.Run("compacted", func(t *testing.T) { check(t, dir) })
	writeEvents(t, dir, evs[:500], WriterOptions{NoCompact: true})
	more := countEvents(200, 1)
	for _, e := range more {
		e.ID = "more-" + e.ID
	}
	writeEvents(t, dir, more, WriterOptions{NoCompact: true})
	t.Run("written since", func(t *testing.T) { check(t, dir) })
}

func searchIDs(t *testing.T, r *Reader, q Query, opt SearchOptions) ([]string, Result) {
	t.Helper()
	var ids []string
	res, err := r.Search(context.Background(), q, opt, func(e *classify.Event) error {
		ids = append(ids, e.ID)
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", describe(q), err)
	}
	return ids, res
}
