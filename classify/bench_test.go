package classify

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/ingest"
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
