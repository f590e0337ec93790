package loggen

import (
	"math"
	"strconv"
)

// userSession is one login of a real user, from connect to the last line.
func (g *generator) userSession(h *host, u *user) {
	c, ok := g.newConn(h, u.ip, g.clientPort(), g.now)
	if !ok {
		return
	}
	c.user = u.name
	root := u.uid == 0
	c.wait(g.kexDelay())

	// Rare pre-auth endings.
	r := g.rng.Float64()
	if u.seen && r < 0.01 {
		// The client refused the (changed) host key: a known address
		// closes right after key exchange, no user named [lab 9.2].
		c.user = ""
		if h.legacy {
			c.m("Connection closed by " + c.ip + " [preauth]")
		} else {
			c.m("Connection closed by " + c.ip + " port " + c.port + " [preauth]")
		}
		c.finish(causeHostKeyMismatch, "preauth", "user/hostkey")
		return
	}
	// Before 7.5 a key user giving up leaves only "Connection closed by
	// IP [preauth]" at INFO, a probe's line: 6.6 users give up only at a
	// password prompt, after a logged failure.
	if r < 0.02 && u.kind != automation && (!h.legacy || u.method == "password") {
		if u.method == "password" {
			c.m("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= " + rhost(c.ip, u.name, true))
			c.wait(g.between(1600*msec, 2600*msec))
			c.m("Failed password for " + u.name + " from " + c.ip + " port " + c.port + " ssh2")
			c.wait(g.between(2*second, 20*second))
		} else {
			c.wait(g.between(100*msec, 30*second)) // rejected keys are VERBOSE
		}
		if h.legacy {
			c.m("Connection closed by " + c.ip + " [preauth]")
		} else {
			c.m("Connection closed by authenticating user " + u.name + " " + c.ip + " port " + c.port + " [preauth]")
		}
		c.finish(causeAuthFailure, "preauth", "user/gave-up")
		return
	}
	if u.method == "password" && g.chance(0.05) { // a typo first
		c.m("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= " + rhost(c.ip, u.name, true))
		c.wait(g.between(1600*msec, 2600*msec))
		c.m("Failed password for " + u.name + " from " + c.ip + " port " + c.port + " ssh2")
		c.wait(g.between(1*second, 6*second))
	}

	c.m("Accepted " + u.method + " for " + u.name + " from " + c.ip + " port " + c.port + " ssh2" + u.keyInfo)
	if !c.forkChild(root) {
		return
	}
	uid := strconv.Itoa(u.uid)
	c.wait(g.between(200*usec, 2*msec))
	if h.legacy { // libpam 1.1.8 names no uid
		c.m("pam_unix(sshd:session): session opened for user " + u.name + " by (uid=0)")
	} else {
		c.m("pam_unix(sshd:session): session opened for user " + u.name + "(uid=" + uid + ") by (uid=0)")
	}
	dur := g.sessionLength(u)
	if g.now >= u.busyUntil && u.uid != 0 && !h.legacy {
		// first session: systemd starts the user's manager
		if pid, err := h.pids.alloc(g.now, 1); err == nil {
			c.wait(g.between(1*msec, 20*msec))
			c.other(progSystemd, pid, "pam_unix(systemd-user:session): session opened for user "+u.name+"(uid="+uid+") by (uid=0)")
			h.pids.free(pid, c.t+dur+10*second)
		}
	}
	sid := strconv.Itoa(h.session)
	h.session++
	c.wait(g.between(1*msec, 30*msec))
	c.other(progLogind, h.logind, "New session "+sid+" of user "+u.name+".")
	c.wait(g.between(1*msec, 6*msec))
	if !h.legacy {
		c.m("pam_env(sshd:session): deprecated reading of user environment enabled")
	}

	begin := c.t
	if u.sudo && u.kind == interactive {
		g.sudoLines(c, u, begin, dur)
	}
	c.wait(dur)

	cause, scen := g.sessionEnd(c, u)
	c.wait(g.between(100*usec, 3*msec))
	c.m("pam_unix(sshd:session): session closed for user " + u.name)
	c.wait(g.between(1*msec, 10*msec))
	c.other(progLogind, h.logind, "Session "+sid+" logged out. Waiting for processes to exit.")
	c.wait(g.between(5*msec, 60*msec))
	c.other(progLogind, h.logind, "Removed session "+sid+".")
	if c.t > u.busyUntil {
		u.busyUntil = c.t
	}
	u.seen = true
	c.finish(cause, "postauth", scen)
}

// sessionLength draws how long a session stays open.
func (g *generator) sessionLength(u *user) int64 {
	switch u.kind {
	case automation:
		return g.between(300*msec, 20*second)
	case admin:
		return int64(float64(10*minute) * math.Exp(g.rng.NormFloat64()))
	}
	if g.chance(0.03) { // tmux, port forwarding: days
		return g.between(day, 3*day)
	}
	d := int64(float64(25*minute) * math.Exp(1.3*g.rng.NormFloat64()))
	return min(d, 3*day)
}

// sessionEnd logs how the session ended and returns the cause.
func (g *generator) sessionEnd(c *conn, u *user) (cause, scenario string) {
	weights := []float64{0.84, 0.07, 0.04, 0.035, 0.005, 0.005}
	if u.kind == automation {
		weights = []float64{0.985, 0.005, 0, 0.01, 0, 0}
	}
	id := "user " + u.name + " " + c.ip + " port " + c.port
	if c.h.legacy {
		return g.legacySessionEnd(c, weights)
	}
	switch g.pick(weights) {
	case 1:
		if c.h.modern { // promoted to INFO in 9.8
			c.post("Connection closed by " + c.ip + " port " + c.port)
		}
		// 9.2: no OpenSSH line at INFO, only PAM's session closed.
		return causeConnectionLost, "session/lost"
	case 2:
		c.post("Timeout, client not responding from " + id)
		return causeClientTimeout, "session/client-alive"
	case 3:
		switch {
		case c.h.modern && g.chance(0.6):
			c.post("Read error from remote host " + c.ip + " port " + c.port + ": Connection reset by peer")
		case g.chance(0.5):
			c.post("Connection reset by " + id)
		default:
			c.post("process_output: ssh_packet_write_poll: Connection from " + id + ": Broken pipe")
		}
		return causeNetworkReset, "session/reset"
	case 4:
		c.post("ssh_dispatch_run_fatal: Connection from " + id + ": message authentication code incorrect")
		return causePacketCorruption, "session/mac"
	case 5:
		if !c.h.modern { // removed in 9.8
			c.post("Exiting on signal 15")
			return causeServerShutdown, "session/signal"
		}
	}
	c.post("Received disconnect from " + c.ip + " port " + c.port + ":11: disconnected by user")
	c.post("Disconnected from " + id)
	return causeUserLogout, "session/logout"
}

// legacySessionEnd is sessionEnd for OpenSSH 6.6: packet.c and
// serverloop.c name no port, nothing follows "Received disconnect", and
// the post-auth read error is VERBOSE.
func (g *generator) legacySessionEnd(c *conn, weights []float64) (cause, scenario string) {
	switch g.pick(weights) {
	case 1:
		return causeConnectionLost, "session/lost" // only PAM's session closed
	case 2:
		c.post("Timeout, client not responding.")
		return causeClientTimeout, "session/client-alive"
	case 3:
		if g.chance(0.5) {
			c.post("fatal: Write failed: Connection reset by peer")
		} else {
			c.post("fatal: Write failed: Broken pipe")
		}
		return causeNetworkReset, "session/reset"
	case 4:
		c.post("Corrupted MAC on input.")
		c.post("Disconnecting: Packet corrupt")
		return causePacketCorruption, "session/mac"
	case 5:
		c.post("Exiting on signal 15")
		return causeServerShutdown, "session/signal"
	}
	c.post("Received disconnect from " + c.ip + ": 11: disconnected by user")
	return causeUserLogout, "session/logout"
}

var sudoCommands = []string{
	"/usr/bin/apt update", "/usr/bin/apt upgrade -y", "/usr/bin/systemctl restart nginx",
	"/usr/bin/journalctl -u ssh", "/usr/bin/tail -f /var/log/auth.log", "/usr/bin/docker ps",
	"/usr/bin/vim /etc/ssh/sshd_config", "/usr/sbin/reboot", "/bin/bash",
	"/usr/bin/systemctl status postgresql", "/usr/bin/du -sh /var/lib/docker",
}

// sudoLines adds sudo's three lines for a few commands inside the session.
func (g *generator) sudoLines(c *conn, u *user, begin, dur int64) {
	tty := "pts/" + strconv.Itoa(g.rng.IntN(6))
	name := u.name
	for len(name) < 8 {
		name = " " + name
	}
	for k := g.rng.IntN(4); k > 0; k-- {
		t := begin + g.between(0, dur)
		cmd := sudoCommands[g.rng.IntN(len(sudoCommands))]
		g.scratch = append(g.scratch,
			line{t: t, host: c.h.idx, prog: progSudo, msg: name + " : TTY=" + tty + " ; PWD=/home/" + u.name + " ; USER=root ; COMMAND=" + cmd},
			line{t: t + 200*usec, host: c.h.idx, prog: progSudo, msg: "pam_unix(sudo:session): session opened for user root(uid=0) by " + u.name + "(uid=" + strconv.Itoa(u.uid) + ")"},
			line{t: t + g.between(10*msec, max(begin+dur-t, 11*msec)), host: c.h.idx, prog: progSudo, msg: "pam_unix(sudo:session): session closed for user root"},
		)
	}
}
