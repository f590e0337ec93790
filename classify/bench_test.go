package classify

import (
	"bufio"
	"bytes"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/internal/loggen"
	"github.com/sshwhy/sshwhy/rules"
)

// benchLines builds n parsed lines from the case files, shifting pids and
// ports per copy so that connections do not collide.
func benchLines(b *testing.B, n int) []ingest.Line {
	files, _ := filepath.Glob("testdata/*.cases")
	var src []string
	for _, f := range files {
		for _, c := range readCases(&testing.T{}, f) {
			src = append(src, c.lines...)
		}
	}
	p := ingest.Parser{Ref: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), Loc: time.UTC}
	out := make([]ingest.Line, 0, n)
	for k := 0; len(out) < n; k++ {
		for _, s := range src {
			s = strings.Replace(s, "]: ", fmt.Sprintf("%d]: ", k%10), 1) // new pids
			s = strings.Replace(s, " port 4", fmt.Sprintf(" port %d", 1+k%6), 1)
			out = append(out, p.Parse(s))
		}
	}
	return out[:n]
}

// BenchmarkFeed measures the state machine and rules alone (lines already
// parsed), with the JSON encoding of every event.
func BenchmarkFeed(b *testing.B) {
	rs, err := rules.Load()
	if err != nil {
		b.Fatal(err)
	}
	lines := benchLines(b, 100000)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		m, _ := New(rs, Options{}, func(ev *Event) { buf = AppendJSON(buf[:0], ev) })
		for j := range lines {
			m.Feed(&lines[j])
		}
		m.Flush()
		n += len(lines)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}

// openBench holds the parsed lines of BenchmarkOpenSessions: the same bot
// traffic after prefixes of open sessions.
var openBench struct {
	once  sync.Once
	bots  []ingest.Line
	open  []ingest.Line // 2 lines per session, for the largest count
	start time.Time
}

func openBenchLines(b *testing.B) {
	openBench.once.Do(func() {
		cfg := loggen.DefaultConfig()
		cfg.Lines, cfg.Users, cfg.Open, cfg.PIDMax = 200000, 0, 100000, 1<<22
		var buf bytes.Buffer
		if _, err := loggen.Generate(&buf, nil, cfg); err != nil {
			b.Fatal(err)
		}
		p := ingest.Parser{Ref: cfg.Start.Add(24 * time.Hour), Loc: time.UTC}
		sc := bufio.NewScanner(&buf)
		for sc.Scan() {
			l := p.Parse(sc.Text())
			if l.Host == "bastion1" {
				openBench.open = append(openBench.open, l)
			} else {
				openBench.bots = append(openBench.bots, l)
			}
		}
	})
}

// BenchmarkOpenSessions classifies the same 200k lines of bot traffic
// (two hosts, no real users) after 0, 10k or 100k logins that stay open:
// the time per bot line must not grow with the open set (issue 10: at most
// 1.3x). Only the bot lines are timed.
func BenchmarkOpenSessions(b *testing.B) {
	rs, err := rules.Load()
	if err != nil {
		b.Fatal(err)
	}
	openBenchLines(b)
	for _, n := range []int{0, 10000, 100000} {
		b.Run(fmt.Sprintf("open=%d", n), func(b *testing.B) {
			lines := openBench.bots
			events := 0
			perOpen := 0.0
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				var before, after runtime.MemStats
				if i == 0 {
					runtime.GC()
					runtime.ReadMemStats(&before)
				}
				m, _ := New(rs, Options{MaxOpen: 1 << 21}, func(*Event) { events++ })
				for j := range openBench.open[:2*n] {
					m.Feed(&openBench.open[j])
				}
				if i == 0 && n > 0 {
					runtime.GC()
					runtime.ReadMemStats(&after)
					// The lines' text is the input's (held by the benchmark
					// too): what the Machine adds is its own structures.
					perOpen = float64(after.HeapInuse-before.HeapInuse) / float64(n)
				}
				b.StartTimer()
				for j := range lines {
					m.Feed(&lines[j])
				}
				m.Flush()
				if i == 0 {
					b.StopTimer()
					if got := len(slices.Collect(m.OpenEvents())); got < n {
						b.Fatalf("%d sessions open at the end, want at least %d", got, n)
					}
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(len(lines)*b.N)/b.Elapsed().Seconds(), "lines/s")
			if n > 0 {
				b.ReportMetric(perOpen, "B/open")
			}
		})
	}
}
