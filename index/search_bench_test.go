package index

import (
	"context"
	"fmt"
	"math/rand"
	"net/netip"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index/internal/synth"
)

// The search benchmarks run over $SSHWHY_BENCH_INDEX (e.g. the 10M-event
// index `go run ./index/internal/indexbench build` makes) or else over a
// 300k-event, 30-day index built once per run in a temporary directory.
var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
	benchTmp  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchTmp != "" {
		os.RemoveAll(benchTmp)
	}
	os.Exit(code)
}

func benchIndex(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		if d := os.Getenv("SSHWHY_BENCH_INDEX"); d != "" {
			benchDir = d
			return
		}
		benchTmp, benchErr = os.MkdirTemp("", "sshwhy-bench-")
		if benchErr != nil {
			return
		}
		benchDir = benchTmp + "/data"
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		g := synth.New(1, from, from.Add(30*24*time.Hour), 300_000)
		w, err := OpenWriter(benchDir, WriterOptions{})
		if err != nil {
			benchErr = err
			return
		}
		for e := g.Next(); e != nil; e = g.Next() {
			if benchErr = w.Add(e); benchErr != nil {
				return
			}
		}
		benchErr = w.Close()
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir
}

// latencies runs query b.N times with a warm reader (every shard open, as
// in a long-running process), a cold one (opened per query, as each
// `sshwhy search` does) or, with store, the Reader of a Writer (as the
// agent searches), and reports p50 and p99.
func latencies(b *testing.B, cold bool, query func(r *Reader, rng *rand.Rand) error) {
	latenciesIn(b, cold, false, query)
}

func latenciesIn(b *testing.B, cold, store bool, query func(r *Reader, rng *rand.Rand) error) {
	dir := benchIndex(b)
	open := func() *Reader {
		r, err := OpenReader(dir, ReaderOptions{})
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	var warm *Reader
	if store {
		// As the agent searches: through the writer's store.
		w, err := OpenWriter(dir, WriterOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		warm = w.Reader()
		if _, err := warm.DocCount(time.Time{}, time.Time{}); err != nil {
			b.Fatal(err)
		}
	} else if !cold {
		warm = open()
		defer warm.Close()
		if _, err := warm.DocCount(time.Time{}, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewSource(2))
	if !cold {
		// Warm means steady state: the first queries fault in pages.
		for i := 0; i < 20; i++ {
			if err := query(warm, rng); err != nil {
				b.Fatal(err)
			}
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		r := warm
		if cold {
			r = open()
		}
		if err := query(r, rng); err != nil {
			b.Fatal(err)
		}
		if cold {
			r.Close()
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[(len(lat)-1)*99/100]), "p99-ms")
}

// window picks a random range of the given length inside the index.
func window(r *Reader, rng *rand.Rand, d time.Duration) (time.Time, time.Time) {
	sh := r.Shards()
	first, last := sh[0].Day, sh[len(sh)-1].Day.Add(24*time.Hour)
	span := last.Sub(first) - d
	if span <= 0 {
		return first, last
	}
	since := first.Add(time.Duration(rng.Int63n(int64(span))))
	return since, since.Add(d)
}

func scannerNet(rng *rand.Rand) string {
	g := synth.New(1, time.Time{}, time.Time{}.Add(time.Hour), 1)
	for {
		var a, b, c, d int
		s := g.Scanners()
		if _, err := fmt.Sscanf(s[rng.Intn(len(s))], "%d.%d.%d.%d", &a, &b, &c, &d); err == nil {
			return fmt.Sprintf("%d.%d.%d.0/24", a, b, c)
		}
	}
}

func benchCauseIPWeek(b *testing.B, cold, store bool) {
	latenciesIn(b, cold, store, func(r *Reader, rng *rand.Rand) error {
		since, until := window(r, rng, 7*24*time.Hour)
		q := Query{Since: since, Until: until, Causes: []cause.Cause{cause.AuthFailure}, IPs: []string{scannerNet(rng)}}
		_, err := r.Search(context.Background(), q, SearchOptions{Limit: 100}, func(*classify.Event) error { return nil })
		return err
	})
}

// BenchmarkSearchCauseIPWeek: auth failures from a /24 over 7 days, the
// newest 100.
func BenchmarkSearchCauseIPWeek(b *testing.B)     { benchCauseIPWeek(b, false, false) }
func BenchmarkSearchCauseIPWeekCold(b *testing.B) { benchCauseIPWeek(b, true, false) }

// BenchmarkSearchCauseIPWeekStore: the same through a Writer's Reader.
func BenchmarkSearchCauseIPWeekStore(b *testing.B) { benchCauseIPWeek(b, false, true) }

func benchCountDay(b *testing.B, cold bool) {
	latencies(b, cold, func(r *Reader, rng *rand.Rand) error {
		sh := r.Shards()
		day := sh[rng.Intn(len(sh))].Day
		_, err := r.Count(context.Background(), Query{Since: day, Until: day.Add(24*time.Hour - 1)}, FieldCause, 0)
		return err
	})
}

// BenchmarkCountByCauseDay: the facet over one day.
func BenchmarkCountByCauseDay(b *testing.B)     { benchCountDay(b, false) }
func BenchmarkCountByCauseDayCold(b *testing.B) { benchCountDay(b, true) }

// BenchmarkSearchPhraseWeek: a phrase in the evidence lines over 7 days.
func BenchmarkSearchPhraseWeek(b *testing.B) {
	latencies(b, false, func(r *Reader, rng *rand.Rand) error {
		since, until := window(r, rng, 7*24*time.Hour)
		q := Query{Since: since, Until: until, Text: `+"no matching key exchange method"`}
		_, err := r.Search(context.Background(), q, SearchOptions{Limit: 100}, func(*classify.Event) error { return nil })
		return err
	})
}

// BenchmarkSearchRecentRange: the live agent's search (agentbench's
// poller): events from a /24 (IPv6: /64) that ended in the last 2 s of the index (the
// newest event's address and end). "model" lets checkCheaper choose
// between checking the range per event and searching it; "checked" and
// "searched" force one.
func BenchmarkSearchRecentRange(b *testing.B) {
	for _, mode := range []struct {
		name string
		n    uint64
	}{{"model", checksPerLookup}, {"checked", 1 << 32}, {"searched", 0}} {
		b.Run(mode.name, func(b *testing.B) {
			defer func(n uint64) { checksPerLookup = n }(checksPerLookup)
			checksPerLookup = mode.n
			var q Query
			latencies(b, false, func(r *Reader, _ *rand.Rand) error {
				if q.Since.IsZero() {
					var newest *classify.Event
					if _, err := r.Search(context.Background(), Query{}, SearchOptions{Limit: 1}, func(e *classify.Event) error {
						newest = e
						return nil
					}); err != nil || newest == nil {
						return fmt.Errorf("no newest event (%v)", err)
					}
					a := netip.MustParseAddr(newest.SrcIP).Unmap()
					bits := 24
					if a.Is6() {
						bits = 64
					}
					q = Query{Since: newest.End.Add(-2 * time.Second), IPs: []string{netip.PrefixFrom(a, bits).Masked().String()}}
				}
				_, err := r.Search(context.Background(), q, SearchOptions{Limit: 100}, func(*classify.Event) error { return nil })
				return err
			})
		})
	}
}
