package victorialogs

// Benchmarks against real VictoriaLogs servers; not part of `make test`
// (go test runs no benchmark without -bench). Commands and results:
// docs/benchmarks-fleet.md.

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/internal/loggen"
	"github.com/sshwhy/sshwhy/report"
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
	var l ingest.Line
	for {
		err := f.Next(&l)
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
	cpu0 := cpuTime()
	var writeTime, total time.Duration
	var sent uint64
	for i := 0; i < b.N; i++ {
		s, err := NewSink(c, b.TempDir(), SinkOptions{Compress: os.Getenv("SSHWHY_BENCH_COMPRESS") != "", Concurrency: envInt("SSHWHY_BENCH_CONC", 2)})
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
		st := s.Stats()
		if st.Shipped != uint64(len(evs)) {
			b.Fatalf("shipped %d of %d", st.Shipped, len(evs))
		}
		sent += st.SentBytes
		s.Close()
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	n := float64(len(evs) * b.N)
	// The sink's own CPU (this process: encoding, spool, compression,
	// HTTP); the engine runs in its own processes on the same cores.
	b.ReportMetric(float64(cpu.Microseconds())/n, "sink-cpu-us/event")
	b.ReportMetric(n/total.Seconds(), "events/s")
	b.ReportMetric(n/writeTime.Seconds(), "spooled-events/s")
	b.ReportMetric(float64(rowBytes)/float64(len(evs)), "row-bytes/event")
	b.ReportMetric(float64(sent)/n, "sent-bytes/event")
	b.ReportMetric(float64(len(evs)), "events")
	if got := srv.WaitRows(streamFilter, len(evs)*b.N, time.Minute); got != len(evs)*b.N {
		b.Fatalf("engine holds %d rows, want %d", got, len(evs)*b.N)
	}
}

// BenchmarkFleet: a simulated fleet (loggen with SSHWHY_FLEET_HOSTS
// hosts, SSHWHY_FLEET_LINES lines, spread over about 30 days) into a
// cluster of two storage nodes behind a front node. Phase 1 classifies
// the log and spools every event while the front node is down; phase 2
// starts it and times the spool's drain: the cluster's ingest rate from
// one shipping process. Then the bytes per event on the storage nodes and
// the p50 of a 7-day search for a cause and a CIDR network (the newest
// 100 events; the count by host).
//
//	SSHWHY_FLEET_LINES=80000000 go test -run '^$' -bench BenchmarkFleet -benchtime 1x -timeout 3h ./victorialogs
func BenchmarkFleet(b *testing.B) {
	if b.N > 1 {
		b.Skip("run with -benchtime 1x")
	}
	cfg := loggen.DefaultConfig()
	cfg.Lines = envInt("SSHWHY_FLEET_LINES", 4_000_000)
	cfg.Hosts = envInt("SSHWHY_FLEET_HOSTS", 1000)
	// Two real users per host; bots at the rate that spreads the lines
	// over about 30 days (about 8 lines a connection).
	cfg.Users = 2
	cfg.Rate = max(0.05, float64(cfg.Lines)/8/(30*86400))
	cfg.Format = loggen.RFC3339
	front, storage := vltest.StartCluster(b, 2, vltest.Options{})
	c, err := NewClient(front.URL, ClientOptions{})
	if err != nil {
		b.Fatal(err)
	}
	front.Stop()
	spool := b.TempDir()
	opt := SinkOptions{SpoolMax: 1 << 40, MaxBackoff: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s, err := NewSink(c, spool, opt)
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
		if a, err := netip.ParseAddr(ev.SrcIP); err == nil && a.Is4() && ev.Cause == cause.AuthFailure && !a.IsPrivate() {
			p, _ := a.Prefix(16)
			srcs[p]++
		}
		if err := s.Write(ev); err != nil {
			b.Fatal(err)
		}
	})
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	spoolTime := time.Since(start)
	spooled := s.Stats().SpooledBytes
	front.Restart()
	start = time.Now()
	if err := s.Drain(context.Background()); err != nil {
		b.Fatal(err)
	}
	ingest := time.Since(start)
	sst := s.Stats()
	s.Close()
	events := int(sst.Shipped)
	if sst.Written != sst.Shipped || sst.Dropped != 0 {
		b.Fatalf("sink: %+v", sst)
	}
	if got := front.WaitRows(streamFilter, events, 5*time.Minute, storage...); got != events {
		b.Fatalf("cluster holds %d rows, shipped %d", got, events)
	}
	// Merge parts so the size on disk is the steady one.
	for _, n := range storage {
		resp, err := vltest.Client.Get(n.URL + "/internal/force_merge")
		if err == nil {
			resp.Body.Close()
		}
	}
	var disk int64
	for prev := int64(-1); disk != prev; time.Sleep(5 * time.Second) {
		prev, disk = disk, 0
		for _, n := range storage {
			disk += dirSize(n.Dir)
		}
	}
	// The public /16 with the most auth failures, over the last 7 days.
	var net16 netip.Prefix
	for p, n := range srcs {
		if !net16.IsValid() || n > srcs[net16] || n == srcs[net16] && p.Addr().Less(net16.Addr()) {
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
	// A fleet report (sshwhy report --remote), of the last whole day
	// and of the 7 whole days before the last one: three runs each, the
	// median.
	reportTime := func(days int) (time.Duration, int, int) {
		var ts []time.Duration
		var hosts, total int
		for i := 0; i < 3; i++ {
			day := last.UTC().Truncate(24*time.Hour).AddDate(0, 0, -days) // whole days before the last one
			opt := report.Options{Day: day, Days: days, Loc: time.UTC, Now: last.Add(24 * time.Hour), Top: 5, Source: "victorialogs"}
			t0 := time.Now()
			r, err := report.Build(context.Background(), store, opt)
			if err != nil {
				b.Fatal(err)
			}
			if err := report.Render(io.Discard, r, report.FormatText); err != nil {
				b.Fatal(err)
			}
			ts = append(ts, time.Since(t0))
			hosts, total = len(r.PerHost), r.Total.Count
		}
		slices.Sort(ts)
		return ts[1], hosts, total
	}
	report1, hosts1, total1 := reportTime(1)
	report7, hosts7, total7 := reportTime(7)
	days := last.Sub(first).Hours() / 24
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(days, "days")
	b.ReportMetric(float64(events)/spoolTime.Seconds(), "classify+spool-events/s")
	b.ReportMetric(float64(events)/ingest.Seconds(), "ingest-events/s")
	b.ReportMetric(float64(disk)/float64(events), "stored-bytes/event")
	b.ReportMetric(float64(search[10].Microseconds())/1000, "search-p50-ms")
	b.ReportMetric(float64(count[10].Microseconds())/1000, "count-p50-ms")
	b.ReportMetric(report1.Seconds(), "report-1d-s")
	b.ReportMetric(report7.Seconds(), "report-7d-s")
	fmt.Fprintf(os.Stderr, "fleet: %d lines, %d events over %.1f days from %d hosts (%.0f events/day)\n"+
		"  classify+spool %s (%.0f events/s, %d bytes spooled, %.0f B/event)\n"+
		"  ingest from the spool into the cluster %s (%.0f events/s)\n"+
		"  stored %d bytes on 2 storage nodes (%.1f B/event)\n"+
		"  7-day %s + %s: %d matches; search (newest 100) p50 %s, p90 %s; count by host p50 %s\n"+
		"  report of one day: %s (%d events, %d hosts); of 7 days: %s (%d events, %d hosts)\n",
		st.Lines, events, days, cfg.Hosts, float64(events)/days,
		spoolTime.Round(time.Millisecond), float64(events)/spoolTime.Seconds(), spooled, float64(spooled)/float64(events),
		ingest.Round(time.Millisecond), float64(events)/ingest.Seconds(),
		disk, float64(disk)/float64(events),
		cause.AuthFailure, net16, found, search[10].Round(time.Microsecond), search[18].Round(time.Microsecond), count[10].Round(time.Microsecond),
		report1.Round(time.Millisecond), total1, hosts1, report7.Round(time.Millisecond), total7, hosts7)
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
