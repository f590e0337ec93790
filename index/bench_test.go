package index

import (
	"bufio"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
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
	stop := heapPeak(b)
	defer stop()
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

// heapPeak samples the heap in use until the returned function is called,
// which reports the peak as "heap-MB": the writer's memory is bounded by
// its batches (WriterOptions), not by the input.
func heapPeak(b *testing.B) func() {
	var peak uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() {
		close(done)
		<-sampled
		b.ReportMetric(float64(peak)/(1<<20), "heap-MB")
	}
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

// BenchmarkWriteEvents indexes the events of a JSON-lines file (the output
// of `sshwhy classify --format json`) named by $SSHWHY_BENCH_EVENTS, e.g.
// classified loggen output: realistic evidence lines, unlike genEvents.
func BenchmarkWriteEvents(b *testing.B) {
	path := os.Getenv("SSHWHY_BENCH_EVENTS")
	if path == "" {
		b.Skip("set SSHWHY_BENCH_EVENTS to a JSON-lines events file")
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var evs []*classify.Event
	dec := json.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	for {
		e := new(classify.Event)
		if err := dec.Decode(e); err == io.EOF {
			break
		} else if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, e)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start, cpu0 := time.Now(), cpuTime()
		w, err := OpenWriter(dir, WriterOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range evs {
			if err := w.Add(e); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		b.ReportMetric(float64(len(evs))/el.Seconds(), "events/s")
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(len(evs)), "cpu-µs/event")
		b.ReportMetric(float64(dirSize(dir))/float64(len(evs)), "bytes/event")
	}
}

// dirSize is the total size of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if i, err := d.Info(); err == nil {
				n += i.Size()
			}
		}
		return nil
	})
	return n
}
