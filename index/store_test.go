package index

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
)

// storeEvents are n events ending on day, one a second from 01:00, with
// ids that do not collide across calls (prefix).
func storeEvents(prefix string, day time.Time, n int) []*classify.Event {
	out := make([]*classify.Event, n)
	causes := []cause.Cause{cause.AuthFailure, cause.Probe, cause.UserLogout}
	for i := range out {
		end := day.Add(time.Hour + time.Duration(i)*time.Second)
		e := &classify.Event{ID: fmt.Sprintf("%s-%d", prefix, i), Start: end.Add(-time.Second), End: end,
			Host: "h", PID: 1000 + i, SrcIP: fmt.Sprintf("198.51.100.%d", i%50), SrcPort: 2000 + i,
			Cause: causes[i%len(causes)], Phase: cause.Preauth, Confidence: cause.Certain}
		if e.Cause == cause.UserLogout {
			e.Phase, e.User, e.DurationS = cause.Postauth, "alice", float64(i)
		}
		out[i] = e
	}
	return out
}

// TestWriterReaderConcurrent searches through Writer.Reader from several
// goroutines while the writer adds and flushes events over a day boundary
// (the old day's shard closed by the writer and reopened read-only by
// searches, the new day's shard appearing), writes late events into a day
// that searches hold read-only (it is switched to writable), compacts the
// days that are over in the background, and Retain removes a day. Every
// search must succeed and count, for each day, at least what was flushed
// when it started and at most what was added when it ended; a removed
// day counts nothing. Run with -race.
func TestWriterReaderConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	w, err := OpenWriter(dir, WriterOptions{MaxOpenShards: 1, BatchSize: 40, CompactAfter: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r := w.Reader()
	const days, perDay, late = 4, 200, 30
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var flushed, added [days]atomic.Int64
	var removing, removed atomic.Bool // day 0
	dayQuery := func(k int) Query {
		d := base.AddDate(0, 0, k)
		return Query{Since: d, Until: d.Add(24*time.Hour - time.Nanosecond)}
	}
	// check judges a search of day k that started when lo events of it
	// were flushed and (gone) after it was removed.
	check := func(k int, lo int64, gone bool, got uint64, what string) error {
		hi := added[k].Load()
		if k == 0 && gone {
			lo, hi = 0, 0
		} else if k == 0 && removing.Load() {
			lo = 0
		}
		if int64(got) < lo || int64(got) > hi {
			return fmt.Errorf("%s of day %d: %d events, want %d to %d", what, k, got, lo, hi)
		}
		return nil
	}

	stop := make(chan struct{})
	var searches atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			ctx := context.Background()
			for {
				select {
				case <-stop:
					return
				default:
				}
				k := rng.Intn(days)
				lo, gone := flushed[k].Load(), removed.Load()
				var err error
				switch g % 3 {
				case 0:
					var res Result
					res, err = r.Search(ctx, dayQuery(k), SearchOptions{Limit: 5}, func(*classify.Event) error { return nil })
					if err == nil {
						err = check(k, lo, gone, res.Total, "search")
					}
				case 1:
					var c Counts
					c, err = r.Count(ctx, dayQuery(k), FieldCause, 0)
					if err == nil {
						err = check(k, lo, gone, c.Total, "count by cause")
					}
				default:
					var c Counts
					q := dayQuery(k)
					q.Causes = []cause.Cause{cause.UserLogout}
					c, err = r.Count(ctx, q, FieldSrcIP, 3)
					if err == nil && int64(c.Total) > added[k].Load() {
						err = fmt.Errorf("count by src_ip of day %d: %d events, more than were added", k, c.Total)
					}
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
				searches.Add(1)
			}
		}()
	}
	fail := func(err error) {
		t.Helper()
		close(stop)
		wg.Wait()
		w.Close()
		t.Fatal(err)
	}
	write := func(k int, evs []*classify.Event) {
		t.Helper()
		for i, e := range evs {
			added[k].Add(1)
			if err := w.Add(e); err != nil {
				fail(err)
			}
			if i%25 == 24 || i == len(evs)-1 {
				if err := w.Flush(); err != nil {
					fail(err)
				}
				flushed[k].Store(added[k].Load())
			}
		}
	}
	for k := 0; k < days; k++ {
		write(k, storeEvents(fmt.Sprint("d", k), base.AddDate(0, 0, k), perDay))
	}
	// Late events for day 0, whose shard the writer closed long ago
	// (MaxOpenShards 1) and searches hold read-only.
	write(0, storeEvents("late", base, late))
	if n, err := r.DocCount(time.Time{}, time.Time{}); err != nil || n != days*perDay+late {
		fail(fmt.Errorf("after the late events: %d events (%v), want %d", n, err, days*perDay+late))
	}
	// The days are long over: they are compacted in the background.
	deadline := time.Now().Add(30 * time.Second)
	for w.Stats().Compacted < days {
		if err := w.Flush(); err != nil { // starts the compactions that are due
			fail(err)
		}
		if time.Now().After(deadline) {
			fail(fmt.Errorf("not compacted in 30s: %+v", w.Stats()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	removing.Store(true)
	got, err := w.Retain(base.AddDate(0, 0, 1))
	if err != nil || len(got) != 1 {
		fail(fmt.Errorf("retain: %v %v", got, err))
	}
	removed.Store(true)
	time.Sleep(100 * time.Millisecond) // searches after the removal
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		w.Close()
		t.Fatal(err)
	default:
	}
	if searches.Load() < 20 {
		t.Errorf("only %d searches ran", searches.Load())
	}
	if n, err := r.DocCount(time.Time{}, time.Time{}); err != nil || n != (days-1)*perDay {
		t.Errorf("after retain: %d events (%v), want %d", n, err, (days-1)*perDay)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Count(context.Background(), Query{}, FieldCause, 0); !errors.Is(err, errClosed) {
		t.Errorf("search after the writer closed: %v", err)
	}
	for name, n := range segments(t, dir) {
		if n != 1 {
			t.Errorf("shard %s has %d segments, want 1", name, n)
		}
	}
	t.Logf("%d searches; %+v", searches.Load(), w.Stats())
}

// TestStoreHoldsShards: a shard a search holds is never closed under it.
// The writer needing it writable (late events) waits for the search, and
// searches starting meanwhile wait for the switch instead of slipping in;
// Retain waits too, and searches starting meanwhile skip the day.
func TestStoreHoldsShards(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := Write(dir, append(storeEvents("a", base, 20), storeEvents("b", base.AddDate(0, 0, 1), 20)...)); err != nil {
		t.Fatal(err)
	}
	w, err := OpenWriter(dir, WriterOptions{MaxOpenShards: 1, CompactAfter: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r := w.Reader()
	ctx := context.Background()
	day0 := Query{Since: base, Until: base.Add(24*time.Hour - time.Nanosecond)}
	total := func(q Query) uint64 {
		t.Helper()
		c, err := r.Count(ctx, q, FieldCause, 0)
		if err != nil {
			t.Fatal(err)
		}
		return c.Total
	}
	usable := func(h *handle, want uint64) {
		t.Helper()
		if n, err := h.idx.DocCount(); err != nil || n != want {
			t.Fatalf("held shard: %d events, %v; want %d", n, err, want)
		}
	}
	waiting := func(done <-chan error, what string) {
		t.Helper()
		select {
		case err := <-done:
			t.Fatalf("%s did not wait for the search holding the shard (%v)", what, err)
		case <-time.After(300 * time.Millisecond):
		}
	}
	finished := func(done <-chan error, what string) {
		t.Helper()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still waits after the search left", what)
		}
	}

	hs, err := r.st.acquireRead(day0.Since, day0.Until)
	if err != nil || len(hs) != 1 || hs[0].write {
		t.Fatalf("acquired %v (%v), want one read-only shard", hs, err)
	}
	flushed := make(chan error, 1)
	go func() {
		err := w.Add(storeEvents("late", base, 1)[0])
		if err == nil {
			err = w.Flush()
		}
		flushed <- err
	}()
	waiting(flushed, "writing to a shard a search holds read-only")
	usable(hs[0], 20)
	counted := make(chan error, 1)
	go func() {
		_, err := r.Count(ctx, day0, FieldCause, 0)
		counted <- err
	}()
	waiting(counted, "a search of a shard being switched to writable")
	r.st.release(hs...)
	finished(flushed, "the late event")
	finished(counted, "the search that waited")
	if n := total(day0); n != 21 {
		t.Errorf("day 0 after the late event: %d events, want 21", n)
	}

	hs, err = r.st.acquireRead(day0.Since, day0.Until)
	if err != nil || len(hs) != 1 {
		t.Fatalf("acquired %v (%v)", hs, err)
	}
	retained := make(chan error, 1)
	go func() {
		_, err := w.Retain(base.AddDate(0, 0, 1))
		retained <- err
	}()
	waiting(retained, "Retain")
	usable(hs[0], 21)
	if n := total(day0); n != 0 {
		t.Errorf("a search of a day being removed found %d events", n)
	}
	if n := total(Query{}); n != 20 {
		t.Errorf("a search of every day while one is removed found %d events, want 20", n)
	}
	r.st.release(hs...)
	finished(retained, "Retain")
	if s := r.Shards(); len(s) != 1 || !s[0].Day.Equal(base.AddDate(0, 0, 1)) {
		t.Errorf("shards after Retain: %v", s)
	}
}

// TestCompactWhenDayIsOver: a day's shard is compacted in the background
// once its UTC day has ended and it has not been written for
// CompactAfter, again after late events, and when asked; today's shard
// is left to be written, and searches answer throughout.
func TestCompactWhenDayIsOver(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	w, err := OpenWriter(dir, WriterOptions{BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	day0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day1 := day0.AddDate(0, 0, 1)
	var clock atomic.Pointer[time.Time]
	set := func(t time.Time) { clock.Store(&t) }
	set(day1.Add(5 * time.Minute))
	w.now = func() time.Time { return *clock.Load() }
	r := w.Reader()
	add := func(evs []*classify.Event) {
		t.Helper()
		for _, e := range evs {
			if err := w.Add(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	compacted := func(want int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for w.Stats().Compacted < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := w.Stats().Compacted; got != want {
			t.Fatalf("%d shards compacted, want %d", got, want)
		}
	}
	count := func(want uint64) {
		t.Helper()
		c, err := r.Count(context.Background(), Query{}, FieldCause, 0)
		if err != nil || c.Total != want {
			t.Fatalf("count: %d events (%v), want %d", c.Total, err, want)
		}
	}
	// stored tells whether a day's counts by src_ip come from what
	// compaction stored.
	stored := func(day time.Time) bool {
		t.Helper()
		q := Query{Since: day, Until: day.Add(24*time.Hour - time.Nanosecond)}
		hs, err := r.st.acquireRead(q.Since, q.Until)
		if err != nil || len(hs) != 1 {
			t.Fatalf("shards of %v: %v %v", day, hs, err)
		}
		defer r.st.release(hs...)
		var c Counts
		_, ok := shardCount(hs[0], q.Since, q.Until, FieldSrcIP, selection{all: true}, &c)
		return ok
	}
	add(storeEvents("a", day0, 60))
	add(storeEvents("b", day1, 60))
	set(day1.Add(14 * time.Minute)) // day 0 ended 14 minutes ago, last written 9 minutes ago
	add(nil)
	time.Sleep(100 * time.Millisecond)
	if n := w.Stats().Compacted; n != 0 {
		t.Fatalf("%d shards compacted before CompactAfter", n)
	}
	set(day1.Add(16 * time.Minute))
	add(nil) // starts the compaction of day 0
	add(storeEvents("c", day1, 30))
	count(150)
	compacted(1)
	if !stored(day0) || stored(day1) {
		t.Errorf("stored counts: day 0 %v, today %v; want day 0 only", stored(day0), stored(day1))
	}
	count(150)

	add(storeEvents("late", day0, 5)) // at 00:16
	if stored(day0) {
		t.Errorf("stored counts of day 0 used after late events")
	}
	set(day1.Add(25 * time.Minute))
	add(nil)
	time.Sleep(100 * time.Millisecond)
	if n := w.Stats().Compacted; n != 1 {
		t.Fatalf("day 0 compacted again %d times 9 minutes after a late event", n-1)
	}
	set(day1.Add(27 * time.Minute))
	add(nil)
	compacted(2)
	if !stored(day0) {
		t.Errorf("no stored counts for day 0 after its second compaction")
	}
	count(155)

	if err := w.Compact(day1); err != nil {
		t.Fatal(err)
	}
	compacted(3)
	if !stored(day1) {
		t.Errorf("no stored counts for today after Compact")
	}
	if err := w.Compact(day0.AddDate(0, 0, -5)); err != nil {
		t.Errorf("Compact of a day without a shard: %v", err)
	}
	count(155)
}
