// Package synth generates plausible sshd connection events for tests and
// benchmarks of the index: a skewed mix of causes, a pool of source
// addresses (a few noisy scanners, many one-off addresses, IPv4 and IPv6),
// usernames, and evidence lines shaped like real sshd lines.
package synth

import (
	"fmt"
	"math/rand"
	"time"

	"github.com/sshwhy/sshwhy/cause"

	"github.com/sshwhy/sshwhy/classify"
)

// Gen produces events in time order, spread evenly between From and To.
type Gen struct {
	rng      *rand.Rand
	from     time.Time
	step     time.Duration
	n, i     int
	scanners []string
	hosts    []string
}

// New returns a generator of n events ending in [from, to).
func New(seed int64, from, to time.Time, n int) *Gen {
	rng := rand.New(rand.NewSource(seed))
	g := &Gen{rng: rng, from: from, n: n, hosts: []string{"bastion", "web1", "web2", "db1"}}
	if n > 0 {
		g.step = to.Sub(from) / time.Duration(n)
	}
	for i := 0; i < 200; i++ {
		g.scanners = append(g.scanners, g.randIP())
	}
	return g
}

// weights of causes, roughly what an Internet-facing sshd sees.
var causeWeights = []struct {
	c cause.Cause
	w int
}{
	{cause.AuthFailure, 40}, {cause.Probe, 25}, {cause.UserLogout, 8},
	{cause.NegotiationFailure, 5}, {cause.ProtocolError, 4}, {cause.GraceTimeout, 3},
	{cause.NetworkReset, 3}, {cause.ConnectionLost, 3}, {cause.AccessDenied, 2},
	{cause.ClientTimeout, 2}, {cause.HostKeyMismatch, 1}, {cause.IdleTimeout, 1},
	{cause.PacketCorruption, 1}, {cause.RateLimited, 1}, {cause.ServerShutdown, 1},
	{cause.Unknown, 1},
}

var users = []string{"root", "admin", "ubuntu", "test", "oracle", "postgres", "git", "deploy",
	"user", "pi", "ftpuser", "alice", "bob", "backup", "guest", "support"}

func (g *Gen) randIP() string {
	if g.rng.Intn(10) == 0 {
		return fmt.Sprintf("2001:db8:%x:%x::%x", g.rng.Intn(1<<16), g.rng.Intn(1<<16), g.rng.Intn(1<<16))
	}
	return fmt.Sprintf("%d.%d.%d.%d", 1+g.rng.Intn(222), g.rng.Intn(256), g.rng.Intn(256), 1+g.rng.Intn(254))
}

func (g *Gen) cause() cause.Cause {
	total := 0
	for _, cw := range causeWeights {
		total += cw.w
	}
	x := g.rng.Intn(total)
	for _, cw := range causeWeights {
		if x < cw.w {
			return cw.c
		}
		x -= cw.w
	}
	return cause.Unknown
}

// Next returns the next event, or nil after n events.
func (g *Gen) Next() *classify.Event {
	if g.i >= g.n {
		return nil
	}
	end := g.from.Add(time.Duration(g.i)*g.step + time.Duration(g.rng.Int63n(int64(g.step)+1))).Truncate(time.Microsecond)
	g.i++
	e := &classify.Event{
		End:     end,
		Prec:    6,
		Host:    g.hosts[g.rng.Intn(len(g.hosts))],
		Program: "sshd",
		PID:     1000 + g.rng.Intn(4_000_000),
		SrcPort: 1024 + g.rng.Intn(64000),
		Cause:   g.cause(),
		Source:  "/var/log/auth.log",
	}
	if g.rng.Intn(2) == 0 {
		e.SrcIP = g.scanners[g.rng.Intn(len(g.scanners))]
	} else {
		e.SrcIP = g.randIP()
	}
	e.Confidence = cause.Certain
	e.Phase = cause.Preauth
	dur := time.Duration(g.rng.Intn(5000)) * time.Millisecond
	ts := func(t time.Time) string { return t.Format("2006-01-02T15:04:05.000000-07:00") }
	pfx := func(t time.Time) string { return fmt.Sprintf("%s %s sshd[%d]: ", ts(t), e.Host, e.PID) }
	start := end.Add(-dur)
	e.Lines = append(e.Lines, pfx(start)+fmt.Sprintf("Connection from %s port %d on 10.0.0.1 port 22 rdomain \"\"", e.SrcIP, e.SrcPort))
	switch e.Cause {
	case cause.AuthFailure:
		e.User = users[g.rng.Intn(len(users))]
		if g.rng.Intn(4) == 0 {
			e.User = fmt.Sprintf("u%06d", g.rng.Intn(1000000))
		}
		e.AuthFailures = 1 + g.rng.Intn(6)
		e.AuthMethods = []string{"password"}
		for k := 0; k < e.AuthFailures && k < 3; k++ {
			e.Lines = append(e.Lines, pfx(end)+fmt.Sprintf("Failed password for invalid user %s from %s port %d ssh2", e.User, e.SrcIP, e.SrcPort))
		}
		e.Lines = append(e.Lines, pfx(end)+fmt.Sprintf("Connection closed by invalid user %s %s port %d [preauth]", e.User, e.SrcIP, e.SrcPort))
		e.Rule = "closed-invalid-user"
	case cause.UserLogout, cause.ClientTimeout, cause.IdleTimeout, cause.ConnectionLost:
		e.User = users[g.rng.Intn(8)]
		e.Phase = cause.Postauth
		dur = time.Duration(g.rng.Intn(36000)) * time.Second
		start = end.Add(-dur)
		e.AuthMethods = []string{"publickey"}
		e.Lines = append(e.Lines,
			pfx(start)+fmt.Sprintf("Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", e.User, e.SrcIP, e.SrcPort),
			pfx(start)+fmt.Sprintf("pam_unix(sshd:session): session opened for user %s(uid=1000) by (uid=0)", e.User),
			pfx(end)+fmt.Sprintf("Received disconnect from %s port %d:11: disconnected by user", e.SrcIP, e.SrcPort),
			pfx(end)+fmt.Sprintf("Disconnected from user %s %s port %d", e.User, e.SrcIP, e.SrcPort))
		e.Rule = "disconnected-by-user"
	case cause.NegotiationFailure:
		e.Detail = "kex"
		e.Lines = append(e.Lines, pfx(end)+fmt.Sprintf("Unable to negotiate with %s port %d: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1,diffie-hellman-group14-sha1 [preauth]", e.SrcIP, e.SrcPort))
		e.Rule = "unable-to-negotiate"
	default:
		e.Lines = append(e.Lines, pfx(end)+fmt.Sprintf("Connection closed by %s port %d [preauth]", e.SrcIP, e.SrcPort))
		e.Rule = "closed-preauth"
		if e.Cause == cause.GraceTimeout || e.Cause == cause.HostKeyMismatch {
			e.Confidence = cause.Inferred
			e.Rule = ""
		}
	}
	e.Start = start
	e.DurationS = dur.Seconds()
	e.ID = classify.EventID(e.Host, e.PID, e.SrcPort, e.Start)
	return e
}

// Scanners lists the generator's noisy source addresses: half of all
// events come from them.
func (g *Gen) Scanners() []string { return append([]string(nil), g.scanners...) }
