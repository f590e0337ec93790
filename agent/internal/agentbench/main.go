// Command agentbench measures the agent live: it starts `sshwhy agent` on a
// log file, appends connections to it at a steady rate with the current
// time, and notes when each connection's event becomes searchable through
// the agent's API. It reports the latency from a connection's last line
// being written to its event being found (p50, p99, max), the agent's CPU
// and resident memory while loaded and while idle, and the warm latency of
// a search through the API.
//
//	go build -o bin/sshwhy ./cmd/sshwhy
//	go run ./agent/internal/agentbench -bin bin/sshwhy -rate 1000 -for 60s -idle 30s
//
// Results and the commands used are in docs/benchmarks-agent.md.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sshwhy/sshwhy/agent"
	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
)

func main() {
	var (
		bin     = flag.String("bin", "bin/sshwhy", "the sshwhy binary")
		rate    = flag.Int("rate", 1000, "connections a second")
		dur     = flag.Duration("for", 60*time.Second, "how long to write")
		idle    = flag.Duration("idle", 30*time.Second, "how long to measure the idle agent after writing")
		dir     = flag.String("dir", "", "work directory (default: a temporary one, removed)")
		commit  = flag.Duration("commit", 500*time.Millisecond, "the agent's --commit-interval")
		sample  = flag.Int("sample", 20, "time one connection in every N (all are written; the timed ones come from 203.0.113.0/24)")
		cpuCore = flag.Int("cpu", -1, "pin the agent to this CPU (taskset); -1: not pinned")
		cgroup  = flag.String("cgroup", "", "run the agent in this existing cgroup directory (its cgroup.procs), e.g. one with a memory limit")
		data    = flag.String("data", "", "instead: start the agent on this existing data directory (e.g. 10M events from index/internal/indexbench) and time searches through its API")
		runs    = flag.Int("runs", 200, "with -data: searches to time")
	)
	flag.Parse()
	if *data != "" {
		if err := searchBench(*bin, *data, *runs); err != nil {
			fmt.Fprintln(os.Stderr, "agentbench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*bin, *rate, *dur, *idle, *dir, *commit, *sample, *cpuCore, *cgroup); err != nil {
		fmt.Fprintln(os.Stderr, "agentbench:", err)
		os.Exit(1)
	}
}

func run(bin string, rate int, dur, idle time.Duration, dir string, commit time.Duration, sample, cpuCore int, cgroup string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "agentbench-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	log := filepath.Join(dir, "auth.log")
	sock := filepath.Join(dir, "sshwhy.sock")
	if err := os.WriteFile(log, nil, 0o644); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(dir, "none.toml"), nil, 0o644)
	argv := []string{bin, "agent", "--file", log, "--data", filepath.Join(dir, "data"), "--socket", sock,
		"--config", filepath.Join(dir, "none.toml"), "--commit-interval", commit.String(), "--login-grace-time", "120s"}
	if cpuCore >= 0 {
		argv = append([]string{"taskset", "-c", strconv.Itoa(cpuCore)}, argv...)
	}
	if cgroup != "" {
		// The shell joins the cgroup, then becomes the agent: only the
		// agent's memory (and its page cache) is charged there.
		argv = append([]string{"sh", "-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, cgroup}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	pid := cmd.Process.Pid
	var client *agent.Client
	for i := 0; ; i++ {
		c, err := agent.Dial(sock)
		if err == nil {
			client = c
			break
		}
		if i > 200 {
			return err
		}
		time.Sleep(25 * time.Millisecond)
	}

	// Written connections to time, by source port: when their last line
	// was written.
	var mu sync.Mutex
	// A port comes round again every 65,535 connections; a timed one not
	// found by then is counted as missing.
	written := map[int]time.Time{}
	var lat []time.Duration
	timed, missing := 0, 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The poller asks for the probes that ended since a little before the
	// last one it saw, every 50 ms.
	var pollWG sync.WaitGroup
	pollWG.Add(1)
	go func() {
		defer pollWG.Done()
		since := time.Now().Add(-time.Second)
		for ctx.Err() == nil {
			now := time.Now()
			newest := since
			client.Search(ctx, index.Query{Since: since, Causes: []cause.Cause{cause.Probe}, IPs: []string{timedNet}}, index.SearchOptions{Sort: "end"}, func(e *classify.Event) error {
				mu.Lock()
				if w, ok := written[e.SrcPort]; ok && !e.End.Before(w.Add(-time.Second)) { // this use of the port, not the last one
					lat = append(lat, now.Sub(w))
					delete(written, e.SrcPort)
				}
				mu.Unlock()
				if e.End.After(newest) {
					newest = e.End
				}
				return nil
			})
			if newest.After(since) { // nothing new: ask again from the same point
				since = newest.Add(-1500 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	// The writer: probes from many addresses (one line each, an ended
	// connection at once), every `sample`th one timed; a port is unique
	// within the run.
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	cpu0 := cpuTime(pid)
	var rss []int
	tick := time.NewTicker(10 * time.Millisecond)
	n, port := 0, 1
	every := max(dur/12, 10*time.Second) // progress lines
	nextReport := every
	for now := range tick.C {
		if now.Sub(start) > dur {
			break
		}
		want := int(now.Sub(start).Seconds() * float64(rate))
		for ; n < want; n++ {
			port = port%65535 + 1
			ts := time.Now().UTC().Format("2006-01-02T15:04:05.000000+00:00")
			src := fmt.Sprintf("198.51.%d.%d", rng.IntN(256), rng.IntN(256))
			isTimed := n%sample == 0
			if isTimed {
				src = fmt.Sprintf("203.0.113.%d", rng.IntN(256))
			}
			fmt.Fprintf(bw, "%s bench sshd[%d]: Connection closed by %s port %d [preauth]\n", ts, 1000+n%30000, src, port)
			if isTimed {
				mu.Lock()
				if _, pending := written[port]; pending {
					missing++
				}
				written[port] = time.Now()
				timed++
				mu.Unlock()
			}
		}
		bw.Flush()
		if n%rate < rate/100+1 {
			rss = append(rss, rssMB(pid))
		}
		if el := now.Sub(start); el >= nextReport {
			fmt.Printf("  after %s: %d connections, RSS %d MB (anonymous %d MB), CPU %.1f%% of a core so far\n", el.Round(time.Second), n,
				rssMB(pid), status(pid, "RssAnon:"), 100*(cpuTime(pid)-cpu0).Seconds()/el.Seconds())
			nextReport += every
		}
	}
	loaded := time.Since(start)
	cpuLoaded := cpuTime(pid) - cpu0
	time.Sleep(3 * commit)
	cancel()
	pollWG.Wait()

	mu.Lock()
	missing += len(written)
	found := len(lat)
	mu.Unlock()
	slices.Sort(lat)
	q := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	fmt.Printf("wrote %d connections in %s (%.0f/s); timed %d, found %d (%d not found)\n",
		n, loaded.Round(time.Millisecond), float64(n)/loaded.Seconds(), timed, found, missing)
	fmt.Printf("line written → searchable: p50 %s, p99 %s, max %s\n", q(0.5).Round(time.Millisecond), q(0.99).Round(time.Millisecond), q(1).Round(time.Millisecond))
	fmt.Printf("agent CPU while loaded: %.1f%% of a core; RSS max %d MB, last %d MB (anonymous %d MB, files mapped %d MB)\n",
		100*cpuLoaded.Seconds()/loaded.Seconds(), slices.Max(append(rss, 0)), rssMB(pid), status(pid, "RssAnon:"), status(pid, "RssFile:"))

	searchTimes(client, start, "while just loaded")
	if idle > 0 {
		c0, t0 := cpuTime(pid), time.Now()
		time.Sleep(idle)
		fmt.Printf("agent CPU idle over %s: %.2f%% of a core; RSS %d MB\n", idle, 100*(cpuTime(pid)-c0).Seconds()/time.Since(t0).Seconds(), rssMB(pid))
		searchTimes(client, start, "idle")
	}
	return nil
}

// searchTimes times 50 warm searches through the API: probes from a /24
// since start, the newest 100.
func searchTimes(client *agent.Client, start time.Time, when string) error {
	var times []time.Duration
	for i := 0; i < 50; i++ {
		t0 := time.Now()
		if _, err := client.Search(context.Background(), index.Query{Since: start, Causes: []cause.Cause{cause.Probe}, IPs: []string{"198.51.100.0/24"}},
			index.SearchOptions{Limit: 100}, func(*classify.Event) error { return nil }); err != nil {
			return err
		}
		times = append(times, time.Since(t0))
	}
	slices.Sort(times)
	fmt.Printf("search through the API %s (cause + /24 over the run, newest 100): p50 %s, p99 %s\n", when,
		times[len(times)/2].Round(10*time.Microsecond), times[len(times)*99/100].Round(10*time.Microsecond))
	return nil
}

// timedNet holds the addresses of the connections timed.
const timedNet = "203.0.113.0/24"

// cpuTime is the user+system time of process pid.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// rssMB is the resident memory of process pid.
func rssMB(pid int) int { return status(pid, "VmRSS:") }

// status reads one memory figure of /proc/PID/status, in MB.
func status(pid int, key string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key) {
			kb, _ := strconv.Atoi(strings.Fields(l)[1])
			return kb / 1024
		}
	}
	return 0
}

// searchBench starts the agent on an existing data directory (following
// an empty file) and times 7-day cause + /24 searches through its API:
// the networks are the /24s of the most frequent auth_failure sources.
func searchBench(bin, data string, runs int) error {
	dir, err := os.MkdirTemp("", "agentbench-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	log, sock := filepath.Join(dir, "auth.log"), filepath.Join(dir, "sshwhy.sock")
	os.WriteFile(log, nil, 0o644)
	os.WriteFile(filepath.Join(dir, "none.toml"), nil, 0o644)
	cmd := exec.Command(bin, "agent", "--file", log, "--data", data, "--socket", sock, "--config", filepath.Join(dir, "none.toml"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	var client *agent.Client
	for i := 0; ; i++ {
		if client, err = agent.Dial(sock); err == nil {
			break
		}
		if i > 400 {
			return err
		}
		time.Sleep(25 * time.Millisecond)
	}
	ctx := context.Background()
	days, err := client.Count(ctx, index.Query{}, index.FieldHour, 0)
	if err != nil || len(days.Buckets) == 0 {
		return fmt.Errorf("no events in %s: %v", data, err)
	}
	first, _ := time.Parse("2006-01-02T15", days.Buckets[0].Value)
	last, _ := time.Parse("2006-01-02T15", days.Buckets[len(days.Buckets)-1].Value)
	top, err := client.Count(ctx, index.Query{Since: first, Until: first.Add(24 * time.Hour), Causes: []cause.Cause{cause.AuthFailure}}, index.FieldSrcIP, 20)
	if err != nil {
		return err
	}
	var nets []string
	for _, b := range top.Buckets {
		var a, bb, c, d int
		if _, err := fmt.Sscanf(b.Value, "%d.%d.%d.%d", &a, &bb, &c, &d); err == nil {
			nets = append(nets, fmt.Sprintf("%d.%d.%d.0/24", a, bb, c))
		}
	}
	if len(nets) == 0 {
		return fmt.Errorf("no IPv4 sources to search for")
	}
	causes := []cause.Cause{cause.AuthFailure, cause.Probe, cause.ClientTimeout, cause.NegotiationFailure}
	rng := rand.New(rand.NewPCG(5, 6))
	span := int(last.Sub(first).Hours()/24) - 7
	var times []time.Duration
	found := 0
	for i := 0; i < runs+20; i++ {
		since := first.Add(time.Duration(rng.IntN(max(span, 1)))*24*time.Hour + time.Duration(rng.IntN(86400))*time.Second)
		q := index.Query{Since: since, Until: since.Add(7 * 24 * time.Hour), Causes: []cause.Cause{causes[rng.IntN(len(causes))]}, IPs: []string{nets[rng.IntN(len(nets))]}}
		t0 := time.Now()
		n := 0
		if _, err := client.Search(ctx, q, index.SearchOptions{Limit: 100}, func(*classify.Event) error { n++; return nil }); err != nil {
			return err
		}
		if i >= 20 { // the first 20 warm the caches
			times = append(times, time.Since(t0))
			found += n
		}
	}
	slices.Sort(times)
	fmt.Printf("%d searches through the agent's API (7 days, a cause, a /24, the newest 100; %d events found in all) over %s: p50 %s, p90 %s, p99 %s\n",
		len(times), found, data, times[len(times)/2].Round(10*time.Microsecond), times[len(times)*9/10].Round(10*time.Microsecond), times[len(times)*99/100].Round(10*time.Microsecond))
	return nil
}
