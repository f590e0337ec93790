package report

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
)

// scanCounter is a Source that counts the searches without a limit: a
// report that can count never reads every event.
type scanCounter struct {
	Source
	scans int
}

func (s *scanCounter) Search(ctx context.Context, q index.Query, opt index.SearchOptions, fn func(*classify.Event) error) (index.Result, error) {
	if opt.Limit == 0 {
		s.scans++
	}
	return s.Source.Search(ctx, q, opt, fn)
}

// TestIndexAgreesWithMemory: a report from the index equals the report
// from the same events in memory, session median and p95 included, and
// is made from counts: no search reads every session for their durations
// (the index counts by duration_s).
func TestIndexAgreesWithMemory(t *testing.T) {
	evs := benchEvents(4000, 10)
	dir := t.TempDir()
	if _, err := index.Write(dir, evs); err != nil {
		t.Fatal(err)
	}
	r, err := index.OpenReader(dir, index.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	day := time.Date(2026, 1, 8, 0, 0, 0, 0, time.UTC)
	for _, days := range []int{1, 3} {
		opt := Options{Day: day, Days: days, Loc: time.UTC, Now: day.AddDate(0, 1, 0), Source: "test"}
		render := func(src Source) []byte {
			t.Helper()
			rep, err := Build(context.Background(), src, opt)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Sessions.Count == 0 || rep.Sessions.MedianS == nil || rep.Sessions.P95S == nil {
				t.Fatalf("%d days: sessions %+v, notes %q", days, rep.Sessions, rep.Notes)
			}
			var b bytes.Buffer
			if err := Render(&b, rep, FormatJSON); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}
		fromIndex := &scanCounter{Source: r}
		got := render(fromIndex)
		want := render(&scanCounter{Source: NewMemory(evs, nil)})
		if !bytes.Equal(got, want) {
			t.Errorf("%d days: the report from the index differs from the one from memory:\n%s\n---\n%s", days, got, want)
		}
		if fromIndex.scans != 0 {
			t.Errorf("%d days: %d searches read every matching event", days, fromIndex.scans)
		}
	}
}
