// Command indexbench builds a large synthetic sshwhy index and measures
// search latency on it, for the numbers in docs/benchmarks-index.md:
//
//	go run ./index/internal/indexbench build -data /tmp/sshwhy-10m -n 10000000 -days 90
//	go run ./index/internal/indexbench query -data /tmp/sshwhy-10m -runs 200
//	go run ./index/internal/indexbench compact -data /tmp/sshwhy-10m
//
// build reports indexing throughput (wall and CPU) and the size per event;
// query reports p50/p90/p99 latency of typical searches, with the reader
// kept open (warm, as a long-running process would) and opened per query
// (cold, as each `sshwhy search` command does).
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/sshwhy/sshwhy/cause"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
	"github.com/sshwhy/sshwhy/index/internal/synth"
)

var from = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: indexbench build|query [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "build":
		err = build(os.Args[2:])
	case "query":
		err = query(os.Args[2:])
	case "compact":
		err = compact(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q (build, query or compact)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "indexbench:", err)
		os.Exit(1)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if i, err := d.Info(); err == nil {
				n += i.Size()
			}
		}
		return nil
	})
	return n
}

func build(args []string) error {
	fl := flag.NewFlagSet("build", flag.ExitOnError)
	data := fl.String("data", "", "data directory to create (must not exist)")
	n := fl.Int("n", 1_000_000, "events")
	days := fl.Int("days", 90, "days the events spread over, from 2026-01-01")
	seed := fl.Int64("seed", 1, "random seed")
	batch := fl.Int("batch", 0, "batch size (0: the writer's default)")
	gogc := fl.Int("gogc", 400, "GOGC while indexing (sshwhy index uses 400)")
	noCompact := fl.Bool("no-compact", false, "leave the shards as bleve's merger left them")
	_ = fl.Parse(args)
	if *data == "" {
		return fmt.Errorf("-data is required")
	}
	if _, err := os.Stat(*data); err == nil {
		return fmt.Errorf("%s exists; give a new directory", *data)
	}
	debug.SetGCPercent(*gogc)
	g := synth.New(*seed, from, from.Add(time.Duration(*days)*24*time.Hour), *n)
	start, cpu0 := time.Now(), cpuTime()
	w, err := index.OpenWriter(*data, index.WriterOptions{BatchSize: *batch, NoCompact: *noCompact})
	if err != nil {
		return err
	}
	last := start
	i := 0
	for e := g.Next(); e != nil; e = g.Next() {
		if err := w.Add(e); err != nil {
			return err
		}
		i++
		if i%100_000 == 0 && time.Since(last) > 30*time.Second {
			last = time.Now()
			el := time.Since(start)
			fmt.Fprintf(os.Stderr, "%d events in %s (%.0f/s, %.1f cpu-µs/event)\n", i, el.Round(time.Second),
				float64(i)/el.Seconds(), float64((cpuTime()-cpu0).Microseconds())/float64(i))
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	el, cpu := time.Since(start), cpuTime()-cpu0
	// Reopen for writing once: scorch deletes segment files that merges
	// made obsolete when a writer opens the shard, so the size is settled.
	if w, err = index.OpenWriter(*data, index.WriterOptions{NoCompact: true}); err == nil {
		_ = w.Close()
	}
	size := dirSize(*data)
	shards, _ := index.Shards(*data)
	fmt.Printf("built %d events in %d day shards in %s: %.0f events/s, %.1f cpu-µs/event; %.2f GB on disk, %.0f bytes/event\n",
		i, len(shards), el.Round(time.Second), float64(i)/el.Seconds(), float64(cpu.Microseconds())/float64(i),
		float64(size)/1e9, float64(size)/float64(i))
	return nil
}

func compact(args []string) error {
	fl := flag.NewFlagSet("compact", flag.ExitOnError)
	data := fl.String("data", "", "data directory")
	_ = fl.Parse(args)
	shards, err := index.Shards(*data)
	if err != nil {
		return err
	}
	w, err := index.OpenWriter(*data, index.WriterOptions{CompactAfter: -1})
	if err != nil {
		return err
	}
	start, cpu0 := time.Now(), cpuTime()
	work := make(chan index.Shard)
	errs := make(chan error, len(shards))
	for i := 0; i < 2; i++ {
		go func() {
			for s := range work {
				errs <- w.Compact(s.Day)
			}
		}()
	}
	for _, s := range shards {
		work <- s
	}
	close(work)
	for range shards {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	fmt.Printf("compacted %d shards in %s (cpu %s)\n", len(shards), time.Since(start).Round(time.Millisecond), (cpuTime() - cpu0).Round(time.Millisecond))
	return err
}

// sample is one kind of query with its latencies.
type sample struct {
	name string
	run  func(r *index.Reader, rng *rand.Rand) (uint64, error)
	lat  []time.Duration
	hits uint64
}

func query(args []string) error {
	fl := flag.NewFlagSet("query", flag.ExitOnError)
	data := fl.String("data", "", "data directory built by indexbench build")
	runs := fl.Int("runs", 200, "queries of each kind")
	seed := fl.Int64("seed", 2, "random seed for the query parameters")
	only := fl.String("only", "", "run only the queries whose name contains this")
	mode := fl.String("mode", "warm,cold", "reader modes to run")
	prof := fl.String("cpuprofile", "", "write a CPU profile to this file")
	_ = fl.Parse(args)
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	r0, err := index.OpenReader(*data, index.ReaderOptions{})
	if err != nil {
		return err
	}
	shards := r0.Shards()
	r0.Close()
	if len(shards) < 8 {
		return fmt.Errorf("need at least 8 day shards, have %d", len(shards))
	}
	first, lastDay := shards[0].Day, shards[len(shards)-1].Day
	// Networks to look for: the /24s and /32s of scanners the generator uses.
	nets, ips := scannerNets()
	causes := []cause.Cause{cause.AuthFailure, cause.Probe, cause.ClientTimeout, cause.NegotiationFailure}
	ctx := context.Background()
	week := func(rng *rand.Rand) (time.Time, time.Time) {
		span := int(lastDay.Sub(first).Hours()/24) - 7
		since := first.Add(time.Duration(rng.Intn(span+1))*24*time.Hour + time.Duration(rng.Intn(86400))*time.Second)
		return since, since.Add(7 * 24 * time.Hour)
	}
	day := func(rng *rand.Rand) (time.Time, time.Time) {
		d := shards[rng.Intn(len(shards))].Day
		return d, d.Add(24*time.Hour - time.Nanosecond)
	}
	list := func(r *index.Reader, q index.Query) (uint64, error) {
		res, err := r.Search(ctx, q, index.SearchOptions{Limit: 100}, func(*classify.Event) error { return nil })
		return res.Total, err
	}
	samples := []*sample{
		{name: "cause+ip/24+7d, newest 100", run: func(r *index.Reader, rng *rand.Rand) (uint64, error) {
			s, u := week(rng)
			return list(r, index.Query{Since: s, Until: u, Causes: []cause.Cause{causes[rng.Intn(len(causes))]}, IPs: []string{nets[rng.Intn(len(nets))]}})
		}},
		{name: "cause+ip+7d, newest 100", run: func(r *index.Reader, rng *rand.Rand) (uint64, error) {
			s, u := week(rng)
			return list(r, index.Query{Since: s, Until: u, Causes: []cause.Cause{cause.AuthFailure}, IPs: []string{ips[rng.Intn(len(ips))]}})
		}},
		{name: "count by cause over a day", run: func(r *index.Reader, rng *rand.Rand) (uint64, error) {
			s, u := day(rng)
			c, err := r.Count(ctx, index.Query{Since: s, Until: u}, index.FieldCause, 0)
			return c.Total, err
		}},
		{name: "count by src_ip over a day", run: func(r *index.Reader, rng *rand.Rand) (uint64, error) {
			s, u := day(rng)
			c, err := r.Count(ctx, index.Query{Since: s, Until: u}, index.FieldSrcIP, 0)
			return c.Total, err
		}},
		{name: "phrase+7d, newest 100", run: func(r *index.Reader, rng *rand.Rand) (uint64, error) {
			s, u := week(rng)
			return list(r, index.Query{Since: s, Until: u, Text: `+"no matching key exchange method"`})
		}},
		{name: "user+90m, newest 100", run: func(r *index.Reader, rng *rand.Rand) (uint64, error) {
			s, _ := week(rng)
			return list(r, index.Query{Since: s, Until: s.Add(90 * time.Minute), Users: []string{"admin"}})
		}},
	}
	for _, mode := range strings.Split(*mode, ",") {
		rng := rand.New(rand.NewSource(*seed))
		var warm *index.Reader
		if mode == "warm" {
			if warm, err = index.OpenReader(*data, index.ReaderOptions{}); err != nil {
				return err
			}
			// Open every shard once, as a long-running reader would have.
			if _, err := warm.DocCount(time.Time{}, time.Time{}); err != nil {
				return err
			}
		}
		for _, s := range samples {
			if !strings.Contains(s.name, *only) {
				continue
			}
			if warm != nil {
				// Warm means steady state: the first queries fault in pages.
				for i := 0; i < 20; i++ {
					if _, err := s.run(warm, rand.New(rand.NewSource(int64(i)))); err != nil {
						return fmt.Errorf("%s: %v", s.name, err)
					}
				}
			}
			s.lat, s.hits = s.lat[:0], 0
			for i := 0; i < *runs; i++ {
				t0 := time.Now()
				r := warm
				if r == nil {
					if r, err = index.OpenReader(*data, index.ReaderOptions{}); err != nil {
						return err
					}
				}
				n, err := s.run(r, rng)
				if warm == nil {
					r.Close()
				}
				if err != nil {
					return fmt.Errorf("%s: %v", s.name, err)
				}
				s.lat = append(s.lat, time.Since(t0))
				s.hits += n
			}
			sort.Slice(s.lat, func(i, j int) bool { return s.lat[i] < s.lat[j] })
			pct := func(p float64) time.Duration { return s.lat[int(p*float64(len(s.lat)-1))].Round(10 * time.Microsecond) }
			fmt.Printf("%-5s %-30s p50 %9v  p90 %9v  p99 %9v  max %9v  (mean hits %d)\n", mode, s.name,
				pct(0.5), pct(0.9), pct(0.99), s.lat[len(s.lat)-1].Round(10*time.Microsecond), s.hits/uint64(len(s.lat)))
		}
		if warm != nil {
			warm.Close()
		}
	}
	return nil
}

// scannerNets returns the generator's scanner addresses (seed 1, as build
// uses by default) and their "a.b.c.0/24" networks (IPv4 only).
func scannerNets() (nets, ips []string) {
	g := synth.New(1, from, from.Add(24*time.Hour), 1)
	for _, ip := range g.Scanners() {
		var a, b, c, d int
		if _, err := fmt.Sscanf(ip, "%d.%d.%d.%d", &a, &b, &c, &d); err == nil {
			nets = append(nets, fmt.Sprintf("%d.%d.%d.0/24", a, b, c))
			ips = append(ips, ip)
		}
	}
	return nets, ips
}
