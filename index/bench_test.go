package index

import (
	"syscall"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index/internal/synth"
)

// genEvents makes n synthetic events spread over days days.
func genEvents(n, days int) []*classify.Event {
	from := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	g := synth.New(1, from, from.Add(time.Duration(days)*24*time.Hour), n)
	evs := make([]*classify.Event, 0, n)
	for e := g.Next(); e != nil; e = g.Next() {
		evs = append(evs, e)
	}
	return evs
}

// BenchmarkWrite measures indexing throughput: events/s over a fresh data
// directory, b.N events spread over 2 days, including the final flush.
func BenchmarkWrite(b *testing.B) {
	evs := genEvents(b.N, 2)
	dir := b.TempDir()
	b.ResetTimer()
	start := time.Now()
	cpu0 := cpuTime()
	w, err := OpenWriter(dir, WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range evs {
		if err := w.Add(e); err != nil {
			b.Fatal(err)
		}
	}
	added := time.Since(start)
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("add %v, close %v", added, time.Since(start)-added)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
}

// cpuTime is the CPU time (user+system) this process used so far: on a
// shared machine a steadier measure than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
