package victorialogs

// Benchmarks against real VictoriaLogs servers; not part of `make test`
// (go test runs no benchmark without -bench). Commands and results:
// docs/benchmarks-fleet.md.

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/internal/loggen"
	"github.com/sshwhy/sshwhy/rules"
	"github.com/sshwhy/sshwhy/victorialogs/vltest"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// generate streams a loggen log of cfg through the classifier and calls
// emit with each event.
func generate(tb testing.TB, cfg loggen.Config, emit func(*classify.Event)) classify.Stats {
	tb.Helper()
	rs, err := rules.Load()
	if err != nil {
		tb.Fatal(err)
	}
	m, err := classify.New(rs, classify.Options{}, emit)
	if err != nil {
		tb.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := loggen.Generate(pw, nil, cfg)
		pw.CloseWithError(err)
	}()
	f, err := ingest.Open("-", ingest.Options{Stdin: pr, Loc: time.UTC})
	if err != nil {
		tb.Fatal(err)
	}
	for {
		l, err := f.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		m.Feed(&l)
	}
	m.Flush()
	return m.Stats()
}

// BenchmarkShip: events/s from one process into a single VictoriaLogs
// node on loopback, from Write to the engine's acknowledgement of the
// last batch (spool on disk, gzip, HTTP). The events are classified
// from a loggen log first, outside the timing.
//
//	go test -run '^$' -bench BenchmarkShip -benchtime 3x ./victorialogs
func BenchmarkShip(b *testing.B) {
	cfg := loggen.DefaultConfig()
	cfg.Lines, cfg.Hosts = envInt("SSHWHY_BENCH_LINES", 2_000_000), 20
	var evs []*classify.Event
	generate(b, cfg, func(ev *classify.Event) { evs = append(evs, ev) })
	srv := vltest.Start(b, vltest.Options{})
	c, err := NewClient(srv.URL, ClientOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var rowBytes int
	for _, ev := range evs {
		r, _, _ := appendRow(nil, ev)
		rowBytes += len(r)
	}
	b.ResetTimer()
	var writeTime, total time.Duration
	for i := 0; i < b.N; i++ {
		s, err := NewSink(c, b.TempDir(), SinkOptions{NoCompress: os.Getenv("SSHWHY_BENCH_NOGZIP") != "", Concurrency: envInt("SSHWHY_BENCH_CONC", 2)})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for _, ev := range evs {
			if err := s.Write(ev); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
		writeTime += time.Since(start)
		if err := s.Drain(context.Background()); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		if st := s.Stats(); st.Shipped != uint64(len(evs)) {
			b.Fatalf("shipped %d of %d", st.Shipped, len(evs))
		}
		s.Close()
	}
	b.StopTimer()
	n := float64(len(evs) * b.N)
	b.ReportMetric(n/total.Seconds(), "events/s")
	b.ReportMetric(n/writeTime.Seconds(), "spooled-events/s")
	b.ReportMetric(float64(rowBytes)/float64(len(evs)), "row-bytes/event")
	b.ReportMetric(float64(len(evs)), "events")
	if got := srv.WaitRows(streamFilter, len(evs)*b.N, time.Minute); got != len(evs)*b.N {
		b.Fatalf("engine holds %d rows, want %d", got, len(evs)*b.N)
	}
}

// BenchmarkFleet: a simulated fleet (loggen with SSHWHY_FLEET_HOSTS hosts,
// SSHWHY_FLEET_LINES lines) classified and shipped by one process into a
// cluster of two storage nodes behind a front node; then the stored size
// per event, and the p50 of a 7-day search for a cause and a CIDR
// network (newest 100 events, and the count by host).
//
//	SSHWHY_FLEET_LINES=80000000 go test -run '^$' -bench BenchmarkFleet -benchtime 1x -timeout 2h ./victorialogs
func BenchmarkFleet(b *testing.B) {
	if b.N > 1 {
		b.Skip("run with -benchtime 1x")
	}
	cfg := loggen.DefaultConfig()
	cfg.Lines = envInt("SSHWHY_FLEET_LINES", 4_000_000)
	cfg.Hosts = envInt("SSHWHY_FLEET_HOSTS", 1000)
	// About 60 days of bots, so that a 7-day query sees a slice.
	cfg.Rate = float64(cfg.Lines) / 8 / (60 * 86400)
	cfg.Format = loggen.RFC3339
	front, storage := vltest.StartCluster(b, 2, vltest.Options{})
	c, err := NewClient(front.URL, ClientOptions{})
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSink(c, b.TempDir(), SinkOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var first, last time.Time
	srcs := map[netip.Prefix]int{}
	start := time.Now()
	st := generate(b, cfg, func(ev *classify.Event) {
		if first.IsZero() || ev.End.Before(first) {
			first = ev.End
		}
		if ev.End.After(last) {
			last = ev.End
		}
		if a, err := netip.ParseAddr(ev.SrcIP); err == nil && a.Is4() && ev.Cause == cause.AuthFailure {
			p, _ := a.Prefix(16)
			srcs[p]++
		}
		if err := s.Write(ev); err != nil {
			b.Fatal(err)
		}
	})
	if err := s.Drain(context.Background()); err != nil {
		b.Fatal(err)
	}
	ingest := time.Since(start)
	sst := s.Stats()
	s.Close()
	front.Flush(storage...)
	events := int(sst.Shipped)
	if got := front.WaitRows(streamFilter, events, time.Minute, storage...); got != events {
		b.Fatalf("cluster holds %d rows, shipped %d", got, events)
	}
	// Merge parts so the size on disk is the steady one.
	for _, n := range storage {
		resp, err := vltest.Client.Get(n.URL + "/internal/force_merge")
		if err == nil {
			resp.Body.Close()
		}
	}
	time.Sleep(10 * time.Second)
	var disk int64
	for _, n := range storage {
		disk += dirSize(n.Dir)
	}
	// The /16 with the most auth failures, over the last 7 days.
	var net16 netip.Prefix
	for p, n := range srcs {
		if !net16.IsValid() || n > srcs[net16] {
			net16 = p
		}
	}
	q := index.Query{Since: last.Add(-7 * 24 * time.Hour), Until: last, Causes: []cause.Cause{cause.AuthFailure}, IPs: []string{net16.String()}}
	store := NewStore(c)
	var search, count []time.Duration
	var found uint64
	for i := 0; i < 21; i++ {
		t0 := time.Now()
		res, err := store.Search(context.Background(), q, index.SearchOptions{Limit: 100}, func(*classify.Event) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		search = append(search, time.Since(t0))
		found = res.Total
		t0 = time.Now()
		if _, err := store.Count(context.Background(), q, index.FieldHost, 0); err != nil {
			b.Fatal(err)
		}
		count = append(count, time.Since(t0))
	}
	slices.Sort(search)
	slices.Sort(count)
	b.ReportMetric(float64(st.Lines), "lines")
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(last.Sub(first).Hours()/24, "days")
	b.ReportMetric(float64(events)/ingest.Seconds(), "ingest-events/s")
	b.ReportMetric(float64(disk)/float64(events), "stored-bytes/event")
	b.ReportMetric(float64(search[10].Microseconds())/1000, "search-p50-ms")
	b.ReportMetric(float64(count[10].Microseconds())/1000, "count-p50-ms")
	b.ReportMetric(float64(found), "search-matches")
	fmt.Fprintf(os.Stderr, "fleet: %d lines, %d events over %.1f days from %d hosts; ingest %s (%.0f events/s); %d bytes on the storage nodes (%.1f B/event); 7-day %s + %s: %d matches, search p50 %s, count by host p50 %s\n",
		st.Lines, events, last.Sub(first).Hours()/24, cfg.Hosts, ingest.Round(time.Millisecond), float64(events)/ingest.Seconds(),
		disk, float64(disk)/float64(events), cause.AuthFailure, net16, found, search[10], count[10])
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
