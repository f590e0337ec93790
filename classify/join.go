package classify

import (
	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/rules"
)

// Joining the lines of child processes that name no port.
//
// A connection's lines come from several processes. From OpenSSH 7.2 on
// every line that names the peer names its port too, so the post-auth
// child's lines join their connection by (host, ip, port), and from 5.9 on
// the pre-auth child's lines are relayed by the monitor, under its pid and
// with " [preauth]". Older versions write, under a pid of the child's own
// and without the port (docs/openssh-legacy.md):
//
//   - before 5.9, the pre-auth child: "input_userauth_request: invalid
//     user U", "Received disconnect from IP: 11: Bye Bye", "Connection
//     closed by IP", "Disconnecting: Too many authentication failures for
//     U", "fatal: Read from socket failed: ...";
//   - before 7.2, the post-auth child: "Received disconnect from IP: 11:
//     disconnected by user", "Timeout, client not responding.", ...; then
//     the monitor's PAM "session closed for user U" ends the session.
//
// Rules mark such lines `child: true`. A child line of a pid the Machine
// does not know, without " [preauth]" and without a port, is joined here:
//
//   - on a host that never logged a " [preauth]" line (before 5.9), as
//     the pre-auth child of the unauthenticated connection on the same
//     host whose monitor pid is the nearest below the line's pid (the
//     child is forked right after the banner exchange), whose address and
//     user do not contradict the line, and which has no pre-auth child yet;
//   - otherwise, unless its rule's phase is preauth: as an orphan, a
//     record of its own that, once ended, waits
//     (Linger) for the PAM "session closed" of its session's monitor. That
//     line names the session; the orphan's ending becomes the session's.
//     The pid says nothing here: the child is forked at login, long after
//     other connections' monitors. So the join goes by address, and it is
//     marked inferred, with a note, whenever another session from that
//     address could own the ending: the log then cannot tell which one it
//     was, and sshwhy says so instead of guessing silently. An orphan no
//     PAM line claims joins the one open session from its address when
//     there is exactly one; with none it is an event of its own (its
//     session started before the input; or, when no session from its
//     address was open and its rule is not postauth, a pre-auth child's
//     whose monitor logged nothing), with several it is an event of its
//     own counted in Stats.Unjoined.
//
// Everything else starts a connection of its own, as before.

// The orphans whose session is not known yet wait in their host's held
// list; a host's relay flag says whether its sshd relays the pre-auth
// child's lines (clock.go).

// childWindow bounds how far above its monitor's pid a pre-auth child's
// pid may be (other processes fork in between on a busy host).
const childWindow = 1024

// adopt joins a child line (see above) to its connection, or returns nil
// when the line starts a connection of its own.
func (m *Machine) adopt(h *hostState, l *ingest.Line, mt *rules.Match, ip string, ipOK bool) *conn {
	r, f := mt.Rule, &mt.Fields
	user := ""
	if f.HasUser {
		user = f.User
	}
	pk := newPIDKey(h.id, int32(l.PID), false)
	if r.Phase != string(cause.Postauth) && !h.relay {
		if c := m.preauthParent(h, l.PID, ip, ipOK, user); c != nil {
			c.extra().preChild = l.PID
			c.addPID(l.PID)
			m.byPID.set(pk, c)
			return c
		}
	}
	if r.Phase == string(cause.Preauth) {
		return nil
	}
	// A post-auth child's, or (phase any, no session from its address
	// open) a pre-auth child's whose monitor logged nothing: an orphan
	// either way. It waits for a PAM line; unclaimed, it becomes an event
	// of its own, authenticated only if a session could own it.
	o := m.newConn(h, l)
	o.orphan = true
	if r.Phase == string(cause.Postauth) || len(m.sessionsFor(h, ip, ipOK, nil)) > 0 {
		m.authenticate(o)
	}
	return o
}

// preauthParent finds the unauthenticated connection a pre-auth child's
// line belongs to: on host, monitor pid the nearest below pid (within
// childWindow), no pre-auth child yet, from the line's address when it
// names one, and of its user when both name one.
func (m *Machine) preauthParent(host *hostState, pid int, ip string, ipOK bool, user string) *conn {
	var best *conn
	for c := m.live.head; c != nil; c = c.next {
		if c.h != host || c.authed || c.client || c.orphan || c.preChild() != 0 ||
			c.pid >= pid || pid-c.pid > childWindow || (best != nil && c.pid < best.pid) {
			continue
		}
		// A line naming the peer joins only a connection known to be from
		// it: a monitor that logged no address is no evidence.
		if ipOK && (!c.ipOK || c.ip != ip) || user != "" && c.user != "" && c.user != user {
			continue
		}
		best = c
	}
	return best
}

// sessionsFor lists the open sessions a post-auth child from ip (any, when
// ip is no address) could belong to: authenticated, not root (before 9.8
// a root session runs without a post-auth child), no post-auth child yet.
// except is left out.
func (m *Machine) sessionsFor(host *hostState, ip string, ipOK bool, except *conn) []*conn {
	var out []*conn
	for c := m.live.head; c != nil; c = c.next {
		if c == except || c.h != host || !c.authed || c.client || c.orphan || c.postChild() != 0 || c.user == "root" {
			continue
		}
		if ipOK && c.ipOK && c.ip != ip {
			continue
		}
		out = append(out, c)
	}
	sortByStart(out)
	return out
}

// hold parks an ended orphan until a PAM line claims it or Linger passes.
func (m *Machine) hold(o *conn) {
	o.ended = true
	m.live.remove(o)
	o.h.held = append(o.h.held, o)
}

// claim gives the session s, whose monitor just logged PAM's "session
// closed", the ending of its post-auth child when one is held: the
// earliest held orphan of s's host, from s's address (an orphan or a
// session without an address matches any), that ended within Linger and
// whose pid is above s's. It reports whether one was claimed.
func (m *Machine) claim(s *conn) bool {
	if s.user == "root" || s.postChild() != 0 {
		return false
	}
	var cands []*conn
	for _, o := range s.h.held {
		if s.h.now.Sub(o.last) > m.opt.Linger || o.pid <= s.pid && s.pid-o.pid < childWindow {
			continue
		}
		if o.ipOK && s.ipOK && o.ip != s.ip {
			continue
		}
		cands = append(cands, o)
	}
	if len(cands) == 0 {
		return false
	}
	o := cands[0]
	others := len(m.sessionsFor(s.h, o.ip, o.ipOK, s))
	switch {
	case s.ip == "":
		// A monitor whose session started before the input: its PAM
		// line names no address, so only time joins it.
		if others > 0 || len(cands) > 1 {
			return false
		}
		s.extra().joinNote = "joined by time: this session's start is not in the input and its post-auth process named no session"
	case others > 0 || len(cands) > 1:
		s.extra().joinNote = "joined by address: " + itoa(others+1) + " sessions from " + s.ip +
			" were open and the post-auth process that logged the end named none (OpenSSH before 7.2 logs no port)"
	}
	m.merge(s, o, true)
	return true
}

// merge makes orphan o's lines and ending those of session s. beforeLast
// puts them before s's last line (the PAM line that claimed them).
func (m *Machine) merge(s, o *conn, beforeLast bool) {
	removeHeld(o)
	if beforeLast && len(s.lines) > 0 {
		last := s.lines[len(s.lines)-1]
		s.lines = append(s.lines[:len(s.lines)-1], o.lines...)
		s.lines = append(s.lines, last)
	} else {
		s.lines = append(s.lines, o.lines...)
	}
	s.dropped += o.dropped
	if len(s.lines) > m.opt.MaxLines {
		// keep the first lines and the last one, as addLine does
		s.dropped += int32(len(s.lines) - m.opt.MaxLines)
		last := s.lines[len(s.lines)-1]
		s.lines = append(s.lines[:m.opt.MaxLines-1], last)
	}
	if os := o.causes(); os.best.r != nil || os.weak.r != nil {
		// s is authenticated: rank as such.
		authed := s.authed
		s.authed = true
		if os.best.r != nil {
			s.tellSaid(os.best, false)
		}
		if os.weak.r != nil {
			s.tellSaid(os.weak, true)
		}
		s.authed = authed
	}
	s.closed = s.closed || o.closed
	s.failures += o.failures
	s.extra().postChild = o.pid
	s.addPID(o.pid)
	m.byPID.set(newPIDKey(o.h.id, int32(o.pid), false), s)
	if o.last.After(s.last) {
		s.last = o.last
	}
	if s.ip == "" && o.ip != "" {
		s.ip, s.ipOK = o.ip, o.ipOK
		if o.remote() != "" {
			s.extra().remote = o.remote()
		}
	}
	o.lines = nil
}

// removeHeld takes o out of its host's held orphans.
func removeHeld(o *conn) {
	h := o.h
	for i, x := range h.held {
		if x == o {
			h.held = append(h.held[:i], h.held[i+1:]...)
			return
		}
	}
}

// expireHeld settles h's orphans whose Linger passed without a PAM line.
func (m *Machine) expireHeld(h *hostState) {
	for len(h.held) > 0 && h.now.Sub(h.held[0].last) > m.opt.Linger {
		m.settle(h.held[0])
	}
}

// settleHeld settles every orphan h holds (the input ended).
func (m *Machine) settleHeld(h *hostState) {
	for len(h.held) > 0 {
		m.settle(h.held[0])
	}
}

// settle ends an orphan no PAM line claimed: in the one open session from
// its address if there is exactly one, else as an event of its own.
func (m *Machine) settle(o *conn) {
	removeHeld(o)
	o.orphan = false
	switch s := m.sessionsFor(o.h, o.ip, o.ipOK, nil); len(s) {
	case 1:
		m.merge(s[0], o, false)
		m.finish(s[0], verdict{}, false)
		return
	case 0:
	default:
		m.stats.Unjoined++
		o.extra().joinNote = "not joined: " + itoa(len(s)) + " sessions from " + orDash(o.ip) +
			" were open and no line names the one this post-auth process served"
	}
	m.emitConn(o, m.verdict(o, verdict{}, false))
	m.retireOrphan(o)
}

// retireOrphan keeps a settled orphan's pid absorbing trailing lines.
func (m *Machine) retireOrphan(o *conn) {
	o.h.dead = append(o.h.dead, o)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
