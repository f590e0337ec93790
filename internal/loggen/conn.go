package loggen

import (
	"strconv"
	"time"
)

// conn builds the lines of one connection into the generator's scratch
// buffer. Its clock t only moves forward.
type conn struct {
	g     *generator
	h     *host
	prog  prog // of the monitor and child: sshd (9.2) or sshd-session (10.0)
	mon   int  // monitor pid
	child int  // post-auth child pid; 0 until allocated
	ip    string
	portN int
	port  string
	user  string
	t     int64 // time of the latest line
	first int64 // time of the first sshd line, -1 before it
	last  int64 // time of the last sshd line
	ended int64 // when the processes exit (>= t)
	drop  bool  // refused by the listener: no per-connection process
}

// newConn starts a connection at time at (>= g.now) from ip:port. The
// monitor pid is allocated now; skip models the pids the fork/re-exec uses.
func (g *generator) newConn(h *host, ip string, port int, at int64) (*conn, bool) {
	pid, err := h.pids.alloc(g.now, 1+g.rng.IntN(3))
	if err != nil {
		g.err = err
		return nil, false
	}
	c := &conn{g: g, h: h, prog: progSSHD, mon: pid, ip: ip, portN: port, port: strconv.Itoa(port), t: at, first: -1}
	if h.modern {
		c.prog = progSession
	}
	return c, true
}

// newDrop starts a connection the listener refuses (MaxStartups, penalty):
// its only line comes from the listener, whose pid the truth record names.
func (g *generator) newDrop(h *host, ip string, port int, at int64) *conn {
	return &conn{g: g, h: h, prog: progSSHD, mon: h.listener, drop: true, ip: ip, portN: port, port: strconv.Itoa(port), t: at, first: -1}
}

// wait advances the connection's clock.
func (c *conn) wait(d int64) { c.t += d }

func (c *conn) add(p prog, pid int, msg string) {
	c.g.scratch = append(c.g.scratch, line{t: c.t, host: c.h.idx, pid: int32(pid), prog: p, msg: msg})
	if p == progSSHD || p == progSession {
		if c.first < 0 {
			c.first = c.t
		}
		c.last = c.t
	}
}

// m logs from the monitor: preauth lines, Accepted, PAM.
func (c *conn) m(msg string) { c.add(c.prog, c.mon, msg) }

// post logs from the post-authentication process: the child, or on 9.2 the
// monitor itself for root.
func (c *conn) post(msg string) {
	if c.child == 0 {
		c.m(msg)
		return
	}
	c.add(c.prog, c.child, msg)
}

// listener logs from the host's listening sshd.
func (c *conn) listener(msg string) { c.add(progSSHD, c.h.listener, msg) }

// other logs a non-sshd line that belongs to the connection's story.
func (c *conn) other(p prog, pid int, msg string) { c.add(p, pid, msg) }

// forkChild allocates the post-auth child (every user on 10.0, non-root on 9.2).
func (c *conn) forkChild(root bool) bool {
	if root && !c.h.modern {
		return true
	}
	pid, err := c.h.pids.alloc(c.g.now, 2+c.g.rng.IntN(5))
	if err != nil {
		c.g.err = err
		return false
	}
	c.child = pid
	return true
}

// finish commits the connection and writes its truth record. cause "" means
// the connection left no line worth a record.
func (c *conn) finish(cause, phase, scenario string) {
	g := c.g
	if c.ended < c.t {
		c.ended = c.t
	}
	ok := len(g.scratch) > 0 && g.commit()
	end := c.ended
	if !ok {
		end = g.now
	}
	if !c.drop {
		c.h.pids.free(c.mon, end)
	}
	if c.child != 0 {
		c.h.pids.free(c.child, end)
	}
	if !ok || cause == "" || c.first < 0 {
		return
	}
	g.stats.Connections++
	g.stats.Causes[cause]++
	if g.truth == nil {
		return
	}
	tr := Truth{
		Host:     c.h.name,
		Program:  progNames[c.prog],
		PID:      c.mon,
		ChildPID: c.child,
		SrcIP:    c.ip,
		SrcPort:  c.portN,
		User:     c.user,
		Cause:    cause,
		Phase:    phase,
		Start:    time.UnixMicro(c.first).UTC(),
		End:      time.UnixMicro(c.last).UTC(),
		Scenario: scenario,
	}
	g.tbuf = appendTruth(g.tbuf[:0], &tr)
	if _, err := g.truth.Write(g.tbuf); err != nil && g.err == nil {
		g.err = err
	}
}
