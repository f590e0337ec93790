// Package loggen generates large, realistic /var/log/auth.log files for
// benchmarks and accuracy tests, together with the ground truth: why each
// logged SSH connection really ended.
//
// The model is a Debian 12 server (OpenSSH 9.2p1 with PAM, LogLevel INFO,
// rsyslog): mostly bots (password brute force, scanners, old clients, bursts
// past MaxStartups), some real users (publickey and password logins, sessions
// from seconds to days, sudo) and non-sshd noise (CRON, sudo,
// systemd-logind). Optionally one extra host runs OpenSSH 10.0
// (`sshd-session[pid]`, listener grace-timeout and penalty lines).
//
// Output is deterministic for a given Config: the same seed gives the same
// bytes. Connections overlap and their lines interleave in time order; PIDs
// are allocated like the kernel does (increasing, wrapping at PIDMax,
// skipping PIDs still in use), so PIDs are reused.
//
// The line formats were checked against a real Debian 12 sshd
// (9.2p1-2+deb12u*) on a loopback lab; see formats_test.go. Config.OpenSSH
// "6.6" writes an Ubuntu 14.04 server instead, from the OpenSSH 6.6p1
// source (docs/openssh-legacy.md).
package loggen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Format selects the timestamp format of generated lines.
type Format int

// Timestamp formats.
const (
	// BSD is rsyslog's traditional format: "Jan  5 00:00:00 host prog[pid]: msg".
	BSD Format = iota
	// RFC3339 is rsyslog's high-precision RSYSLOG_FileFormat, what Debian
	// 12's stock rsyslog.conf writes (it sets no template):
	// "2026-01-05T00:00:00.123456+00:00 host prog[pid]: msg".
	RFC3339
)

// ParseFormat maps "bsd" and "rfc3339" to a Format.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "bsd":
		return BSD, nil
	case "rfc3339":
		return RFC3339, nil
	}
	return 0, fmt.Errorf("unknown format %q (want bsd or rfc3339)", s)
}

// Config controls a generation run. The zero value is not useful; start from
// DefaultConfig.
type Config struct {
	Lines  int       // exact number of lines to write (before rsyslog's reduction, see OpenSSH)
	Seed   uint64    // same seed, same output
	Format Format    // timestamp format
	Start  time.Time // time of the first line (UTC is used)
	Hosts  int       // Debian 12 (OpenSSH 9.2) hosts; odd-numbered ones use AllowUsers
	// Modern is the share (0..1) of connections that go to one extra host
	// running OpenSSH 10.0 (sshd-session); 0 means none.
	Modern float64
	PIDMax int     // PIDs wrap at this value (kernel.pid_max)
	Rate   float64 // mean new bot connections per second, all hosts together
	Noise  float64 // share (0..1) of non-sshd lines (CRON, sudo, systemd-logind)
	Users  int     // real users per host
	// OpenSSH is the version the Debian hosts run: "" or "9.2" (Debian
	// 12), or "6.6" (Ubuntu 14.04: lines without ports before 7.2, the
	// post-auth child's logout without "Disconnected from", and rsyslog's
	// repeated-message reduction, on in that release's rsyslog.conf).
	OpenSSH string
	// Open is a number of long-lived sessions (a bastion's) that log in
	// during the day before Start and never end, written first, on a host
	// of their own ("bastion1"): 2*Open lines before the Lines lines, which
	// are the same bytes whatever Open is. For benchmarks of the open set.
	Open int
	// Dense makes the bots' connections short (one password per
	// brute-force connection, probes, old clients' negotiation failures;
	// no bursts, scans or stalls): with Noise and Users 0, a connection
	// ends every 4 to 5 lines, each event with its evidence. For
	// benchmarks of event-dense logs.
	Dense bool
}

// DefaultConfig returns the configuration of the 10-million-line benchmark
// file.
func DefaultConfig() Config {
	return Config{
		Lines:  10_000_000,
		Seed:   1,
		Format: BSD,
		Start:  time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC),
		Hosts:  2,
		PIDMax: 32768,
		Rate:   2,
		Noise:  0.2,
		Users:  20,
	}
}

func (c Config) validate() error {
	switch {
	case c.Lines < 0:
		return errors.New("lines must be >= 0")
	case c.Hosts < 1 || c.Hosts > 1000:
		return errors.New("hosts must be between 1 and 1000")
	case c.Modern < 0 || c.Modern >= 1 || math.IsNaN(c.Modern):
		return errors.New("modern share must be in [0, 1)")
	case c.PIDMax < 1000 || c.PIDMax > 1<<22:
		return errors.New("pid-max must be between 1000 and 4194304")
	case !(c.Rate > 0 && c.Rate <= 10000):
		return errors.New("rate must be in (0, 10000]")
	case c.Noise < 0 || c.Noise >= 0.9 || math.IsNaN(c.Noise):
		return errors.New("noise share must be in [0, 0.9)")
	case c.Users < 0 || c.Users > 1000:
		return errors.New("users must be between 0 and 1000")
	case c.Start.IsZero():
		return errors.New("start time is required")
	case c.OpenSSH != "" && c.OpenSSH != "9.2" && c.OpenSSH != "6.6":
		return fmt.Errorf("openssh %q: want 9.2 or 6.6", c.OpenSSH)
	case c.OpenSSH == "6.6" && c.Modern > 0:
		return errors.New("openssh 6.6 and a modern share do not combine")
	case c.Open < 0 || c.Open > 4_000_000:
		return errors.New("open sessions must be between 0 and 4000000")
	}
	return nil
}

// Stats summarises a run.
type Stats struct {
	Lines       int            // lines written
	SSHDLines   int            // lines from sshd or sshd-session
	Connections int            // truth records (logged connections)
	Causes      map[string]int // truth records per cause
	First, Last time.Time      // timestamps of the first and last line
}

// Generate writes cfg.Lines log lines to w and, when truth is not nil, one
// Truth record (JSON line) per logged connection.
func Generate(w io.Writer, truth io.Writer, cfg Config) (Stats, error) {
	if err := cfg.validate(); err != nil {
		return Stats{}, err
	}
	g := newGenerator(cfg)
	bw := bufio.NewWriterSize(w, 1<<20)
	names := g.hostNames()
	if cfg.Open > 0 {
		names = append(names, "bastion1")
	}
	g.out = newLineWriter(bw, cfg.Format, names)
	g.openSessions(int32(len(names)-1), cfg.Open)
	g.out.reduce = cfg.OpenSSH == "6.6"
	if truth != nil {
		g.truth = bufio.NewWriterSize(truth, 1<<18)
	}
	g.run()
	if g.err != nil {
		return g.stats, g.err
	}
	g.out.flushRepeats()
	if g.out.reduce {
		g.stats.Lines = g.out.written
	}
	if err := g.out.err; err != nil {
		return g.stats, err
	}
	if err := bw.Flush(); err != nil {
		return g.stats, err
	}
	if g.truth != nil {
		if err := g.truth.Flush(); err != nil {
			return g.stats, err
		}
	}
	return g.stats, nil
}

// openSessions writes n logins on host (an index of the line writer's
// names) that stay open: "Accepted publickey" and PAM's "session opened"
// from one monitor pid each, spread over the day before Start. They use no
// randomness, so the lines after them do not depend on n.
func (g *generator) openSessions(host int32, n int) {
	if n == 0 {
		return
	}
	first := g.cfg.Start.UnixMicro() - day
	step := day / int64(n)
	for i := 0; i < n; i++ {
		t := first + int64(i)*step
		pid := int32(1000 + i)
		user := "u" + strconv.Itoa(i)
		ip := "10." + strconv.Itoa(i>>16&255) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255)
		port := strconv.Itoa(32768 + i%28000)
		key := "AAAAC3NzaC1lZDI1NTE5AAAAI" + strconv.FormatInt(int64(1e17)+int64(i), 10)
		g.out.write(&line{t: t, host: host, pid: pid, prog: progSSHD,
			msg: "Accepted publickey for " + user + " from " + ip + " port " + port + " ssh2: ED25519 SHA256:" + key})
		g.out.write(&line{t: t + 1000, host: host, pid: pid, prog: progSSHD,
			msg: "pam_unix(sshd:session): session opened for user " + user + "(uid=" + strconv.Itoa(2000+i%60000) + ") by (uid=0)"})
	}
	g.stats.Lines += 2 * n
	g.stats.SSHDLines += 2 * n
	g.stats.First = time.UnixMicro(first).UTC()
}

// Time inside the generator is int64 microseconds since the Unix epoch.
const (
	usec   int64 = 1
	msec         = 1000 * usec
	second       = 1000 * msec
	minute       = 60 * second
	hour         = 60 * minute
	day          = 24 * hour
)

// generator holds the whole simulation state. It is single-threaded so the
// output is deterministic.
type generator struct {
	cfg   Config
	rng   *rand.Rand
	hosts []*host

	lines  lineHeap  // pending lines, earliest first
	actors actorHeap // pending actors, earliest first
	seq    uint64    // tie-breaker: insertion order

	scratch []line // lines of the connection being built
	noise   float64

	committed int  // lines written or pending
	full      bool // no more connections fit into cfg.Lines
	now       int64

	out   *lineWriter
	truth *bufio.Writer
	tbuf  []byte
	stats Stats
	err   error

	modern *host // the OpenSSH 10.0 host, if any
}

func newGenerator(cfg Config) *generator {
	g := &generator{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		now: cfg.Start.UnixMicro(),
	}
	g.stats.Causes = make(map[string]int)
	for i := 0; i < cfg.Hosts; i++ {
		h := g.newHost(i, fmt.Sprintf("web%d", i+1), false, i%2 == 1)
		if cfg.OpenSSH == "6.6" {
			h.legacy = true
			for _, u := range h.users {
				u.keyInfo = md5Style(u.keyInfo)
			}
		}
		g.hosts = append(g.hosts, h)
	}
	if cfg.Modern > 0 {
		g.modern = g.newHost(cfg.Hosts, "trixie1", true, false)
		g.hosts = append(g.hosts, g.modern)
	}
	return g
}

func (g *generator) hostNames() []string {
	names := make([]string, len(g.hosts))
	for i, h := range g.hosts {
		names[i] = h.name
	}
	return names
}

// run is the main loop: fire actors in time order; before each, write every
// pending line that is due.
func (g *generator) run() {
	g.actors.push(&actor{at: g.now, kind: actSpawner}, &g.seq)
	for _, h := range g.hosts {
		for _, u := range h.users {
			g.actors.push(&actor{at: g.now + g.expDur(u.gap), kind: actUser, host: h, user: u}, &g.seq)
		}
	}
	for !g.full && g.err == nil && len(g.actors) > 0 {
		a := g.actors.pop()
		g.flush(a.at)
		g.now = a.at
		g.fire(a)
	}
	if g.err != nil {
		return
	}
	g.topUp()
	g.flush(math.MaxInt64)
}

// flush writes pending lines earlier than t.
func (g *generator) flush(t int64) {
	for len(g.lines) > 0 && g.lines[0].t < t {
		l := g.lines.pop()
		g.out.write(&l)
		if g.stats.Lines == 0 && g.cfg.Open == 0 {
			g.stats.First = time.UnixMicro(l.t).UTC()
		}
		g.stats.Lines++
		g.stats.Last = time.UnixMicro(l.t).UTC()
		if l.prog == progSSHD || l.prog == progSession {
			g.stats.SSHDLines++
		}
	}
}

// commit moves the scratch lines of one connection into the pending heap if
// they fit into the line budget. It reports whether they did; when not, the
// generator stops starting connections.
func (g *generator) commit() bool {
	n := len(g.scratch)
	if g.committed+n > g.cfg.Lines {
		g.full = true
		g.scratch = g.scratch[:0]
		return false
	}
	sshd := 0
	for i := range g.scratch {
		l := g.scratch[i]
		l.seq = g.seq
		g.seq++
		g.lines.push(l)
		if l.prog == progSSHD || l.prog == progSession {
			sshd++
		}
	}
	g.committed += n
	g.scratch = g.scratch[:0]
	// Noise credit: non-sshd lines owed so that they make up cfg.Noise of
	// the output. Lines of other programs inside the connection count.
	s := g.cfg.Noise
	g.noise += float64(sshd)*s/(1-s) - float64(n-sshd)
	g.spendNoise()
	return true
}

// rnd helpers

// between returns a uniform duration in [lo, hi).
func (g *generator) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + g.rng.Int64N(hi-lo)
}

// expDur returns an exponentially distributed duration with the given mean.
func (g *generator) expDur(mean int64) int64 {
	return int64(g.rng.ExpFloat64() * float64(mean))
}

// chance reports true with probability p.
func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

// pick returns an index chosen with the given weights.
func (g *generator) pick(weights []float64) int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	x := g.rng.Float64() * sum
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}
