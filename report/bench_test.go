package report

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
)

// BenchmarkReport builds and renders reports from an index. With
// SSHWHY_BENCH_INDEX=DIR (an index from `go run ./index/internal/indexbench
// build -data DIR -n 3700000 -days 37`, which starts on 2026-01-01) it
// reports 30 days and 1 day of it; without, a small index it makes.
func BenchmarkReport(b *testing.B) {
	dir := os.Getenv("SSHWHY_BENCH_INDEX")
	if dir == "" {
		dir = b.TempDir()
		if _, err := index.Write(dir, benchEvents(40000, 10)); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Date(2026, 1, 8, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		day  time.Time
		days int
	}{
		{"30days", start, 30},
		{"1day", start, 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				r, err := index.OpenReader(dir, index.ReaderOptions{})
				if err != nil {
					b.Fatal(err)
				}
				opt := Options{Day: tc.day, Days: tc.days, Loc: time.UTC, Now: start.AddDate(0, 2, 0)}
				if err := Write(context.Background(), r, opt, FormatText, io.Discard); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
}

// benchEvents makes n events over days days from 2026-01-01: a skewed mix
// of causes from a pool of addresses, like index/internal/synth.
func benchEvents(n, days int) []*classify.Event {
	rng := rand.New(rand.NewSource(1))
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := time.Duration(days) * 24 * time.Hour / time.Duration(n)
	causes := []cause.Cause{cause.AuthFailure, cause.AuthFailure, cause.AuthFailure, cause.Probe, cause.Probe,
		cause.UserLogout, cause.ClientTimeout, cause.NetworkReset, cause.GraceTimeout, cause.NegotiationFailure}
	out := make([]*classify.Event, n)
	for i := range out {
		c := causes[rng.Intn(len(causes))]
		e := &classify.Event{End: from.Add(time.Duration(i) * step), Host: fmt.Sprintf("h%d", rng.Intn(3)),
			PID: i + 1, SrcPort: 1024 + rng.Intn(60000), Cause: c, Phase: cause.Preauth, Confidence: cause.Certain,
			SrcIP: fmt.Sprintf("%d.%d.%d.%d", 1+rng.Intn(200), rng.Intn(256), rng.Intn(256), 1+rng.Intn(250))}
		if c == cause.UserLogout || c == cause.ClientTimeout {
			e.Phase, e.User, e.DurationS = cause.Postauth, "u"+fmt.Sprint(rng.Intn(20)), float64(rng.Intn(36000))
		}
		e.Start = e.End.Add(-time.Duration(e.DurationS) * time.Second)
		e.ID = classify.EventID(e.Host, e.PID, e.SrcPort, e.Start)
		out[i] = e
	}
	return out
}
