// Package classify stitches the lines of each SSH connection together and,
// when the connection ends, emits one Event saying why it ended.
//
// A Machine receives ingest.Lines in log order (Feed). Each line is matched
// against the rules (package rules); the match is an observation about one
// connection. Connections are keyed by (host, pid) and by (host, ip, port),
// because the lines of one connection come from several processes: sshd's
// per-connection monitor, its post-auth child, and the listener. Older
// sshds (before 7.2) write some lines without the peer's port, from a
// child process's own pid: join.go joins those. The design is in
// causes.md ("The state machine").
//
// The Machine is single-threaded and streaming: memory is bounded by the
// connections open at once, never by the input size.
package classify

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sshwhy/sshwhy/cause"

	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/rules"
)

// Options tune the Machine. Zero values take the defaults.
type Options struct {
	// LoginGraceTime is the server's LoginGraceTime: an unauthenticated
	// connection silent for longer has been cut by sshd (default 120s).
	LoginGraceTime time.Duration
	// MaxLines caps the evidence lines kept per connection (default 50);
	// the last line is always kept, the others beyond the cap are counted.
	MaxLines int
	// MaxOpen caps the connections tracked at once (default 100000); past
	// it the longest-silent connections are flushed as unknown.
	MaxOpen int
	// Linger is how long (in log time) an ended connection still absorbs
	// its trailing lines, such as PAM's "session closed" (default 10s).
	Linger time.Duration
	// Unmatched, when set, receives every line of a program that has rules
	// but that no rule matched.
	Unmatched func(*ingest.Line)
}

// Stats counts what the Machine saw.
type Stats struct {
	Lines     int64 // every line fed
	Unparsed  int64 // no syslog/journal header found
	Other     int64 // lines of programs sshwhy has no rules for (cron, sudo, ...)
	Matched   int64 // lines a rule matched
	Unmatched int64 // lines of sshd/ssh that no rule matched
	Truncated int64 // lines cut at the reader's length limit
	Events    int64
	ByCause   map[cause.Cause]int64
	// Unjoined counts connection endings that could not be joined to the
	// connection they end: a post-auth process's ending (written without
	// the peer's port) while several sessions from its address were open
	// and no PAM line named one. Each became an event of its own; the
	// sessions stay open. A non-zero count is worth a look (--unmatched
	// does not show these: the lines matched).
	Unjoined int64
}

// Machine is the per-connection state machine.
type Machine struct {
	rules *rules.Set
	opt   Options
	emit  func(*Event)
	stats Stats

	byPID     map[pidKey]*conn
	byAddr    map[addrKey]*conn
	live      connList     // open connections, least recently active first (clock.go)
	deadlines deadlineHeap // unauthenticated connections, by when silence ends them
	dead      []*conn      // ended connections, in end order, until their linger expires
	known     knownClients
	family    family // child processes without a port (join.go)

	now        time.Time // latest log time seen
	lastSweep  time.Time
	sweepEvery time.Duration // log time between sweeps
	match      rules.Match

	lastProgram string // cache of the last program's rules
	lastGroup   *rules.Group
}

type pidKey struct {
	host   string
	pid    int
	client bool
}

type addrKey struct {
	host string
	ip   string
	port int
}

// conn is one connection being followed.
type conn struct {
	host, program, source string
	pid                   int
	pids                  []int // further pids (children)
	client                bool
	ip                    string // canonical address, or sshd's text when it is none (ipOK false)
	ipOK                  bool
	remote                string // sshd's text for the peer when it is no address or has a zone
	port                  int    // -1 until known
	user                  string
	start, last, end      time.Time
	prec                  int8
	authed                bool
	attempted             bool // a user-auth request was made (a user was named, a method tried)
	authSeen              bool // the line saying it authenticated ("Accepted ...") is in the input
	failures              int
	methods               []string
	lines                 []string
	dropped               int
	closed                bool // a rule said the peer is gone
	ended                 bool

	// Children joined by address (join.go): the pre-auth child's pid
	// (before OpenSSH 5.9) and the post-auth child's (before 7.2).
	preChild, postChild int
	// orphan marks the lines of a post-auth process whose session is not
	// known yet; ended, it waits in Machine.family for the session's PAM
	// line instead of becoming an event.
	orphan bool
	// joinNote says how an ending was joined when the join was a guess.
	joinNote string

	best     verdict // strongest cause stated by a line
	bestWeak verdict // strongest weak cause
	hostKey  bool    // ended by a line that allows the host-key inference

	prev, next *conn // in Machine.live
	listed     bool  // in Machine.live
	watched    bool  // on Machine.deadlines
}

// verdict is a cause a line (or the machine) gave its connection.
type verdict struct {
	c        cause.Cause
	pre      cause.Cause // the cause before authentication, when it differs
	rule     string
	detail   string
	inferred bool // deduced by the machine, not stated by a line
}

// of returns the verdict's cause for a connection that did (or did not)
// authenticate.
func (v *verdict) of(authed bool) cause.Cause {
	if !authed && v.pre != "" {
		return v.pre
	}
	return v.c
}

// text is the verdict's detail for people.
func (v *verdict) text() string { return v.detail }

// New returns a Machine that calls emit for every ended connection.
func New(rs *rules.Set, opt Options, emit func(*Event)) (*Machine, error) {
	if opt.LoginGraceTime <= 0 {
		opt.LoginGraceTime = 120 * time.Second
	}
	if opt.MaxLines <= 0 {
		opt.MaxLines = 50
	}
	if opt.MaxOpen <= 0 {
		opt.MaxOpen = 100000
	}
	if opt.Linger <= 0 {
		opt.Linger = 10 * time.Second
	}
	return &Machine{
		// Sweeps end grace timeouts and forget ended connections: often
		// enough to do so promptly, rarely enough to cost nothing per line.
		sweepEvery: min(max(opt.LoginGraceTime/8, time.Second), opt.Linger),
		rules:      rs,
		opt:        opt,
		emit:       emit,
		stats:      Stats{ByCause: map[cause.Cause]int64{}},
		byPID:      map[pidKey]*conn{},
		byAddr:     map[addrKey]*conn{},
		known:      newKnownClients(1 << 16),
		family:     newFamily(),
	}, nil
}

// Stats returns the counters so far.
func (m *Machine) Stats() Stats {
	s := m.stats
	s.ByCause = make(map[cause.Cause]int64, len(m.stats.ByCause))
	for k, v := range m.stats.ByCause {
		s.ByCause[k] = v
	}
	return s
}

func isClient(program string) bool { return program == "ssh" || program == "autossh" }

// Feed processes one line.
func (m *Machine) Feed(l *ingest.Line) {
	m.stats.Lines++
	if l.Truncated {
		m.stats.Truncated++
	}
	if l.Program == "" {
		m.stats.Unparsed++
		return
	}
	if l.Program != m.lastProgram {
		m.lastProgram, m.lastGroup = l.Program, m.rules.For(l.Program)
	}
	g := m.lastGroup
	if g == nil {
		m.stats.Other++
		return
	}
	if l.Time.After(m.now) {
		m.Advance(l.Time)
	}
	mt := &m.match
	if !g.Match(l.Message, mt) {
		m.stats.Unmatched++
		if m.opt.Unmatched != nil {
			// A copy: handing l itself to an unknown function would make
			// every caller's line escape to the heap.
			lc := *l
			m.opt.Unmatched(&lc)
		}
		// Still evidence for a connection we follow.
		if c := m.byPID[pidKey{l.Host, l.PID, isClient(l.Program)}]; c != nil && !c.ended {
			c.addLine(l.Raw, m.opt.MaxLines)
		}
		return
	}
	m.stats.Matched++
	if mt.Preauth && !m.family.relay[l.Host] {
		m.family.relay[l.Host] = true
	}
	r := mt.Rule
	if r.Scope == "listener" {
		m.listener(l, mt)
		return
	}
	c := m.lookup(l, mt)
	if c == nil {
		return // a trailing line of an ended connection
	}
	m.apply(c, l, mt)
}

// lookup finds or creates the connection a line belongs to. It returns nil
// for a trailing line of a connection that already ended.
func (m *Machine) lookup(l *ingest.Line, mt *rules.Match) *conn {
	f := &mt.Fields
	client := isClient(l.Program)
	pk := pidKey{l.Host, l.PID, client}
	var ip string
	var ipOK bool
	if f.IP != "" && !client {
		ip, ipOK = canonAddr(f.IP)
	}
	hasAddr := ip != "" && f.Port >= 0
	opens := mt.Rule.Action == rules.Open
	c := m.byPID[pk]
	if c != nil {
		sameAddr := true
		switch {
		case hasAddr && c.port >= 0:
			sameAddr = c.ip == ip && c.port == f.Port
		case ipOK && c.ipOK:
			sameAddr = c.ip == ip // no port: the address alone
		}
		switch {
		case c.ended && sameAddr && !opens && l.Time.Sub(c.end) <= m.opt.Linger:
			if c.orphan {
				c.addLine(l.Raw, m.opt.MaxLines) // still waiting for its session: evidence
			}
			return nil // e.g. PAM's session close after the close line
		case c.ended:
			c = nil // pid reused after the old connection ended
		case !sameAddr || (opens && len(c.lines) > 0):
			// The pid is reused by a new connection although the old one
			// never logged an end.
			m.finish(c, verdict{c: cause.Unknown, rule: "pid-reused", detail: "the pid was reused by a new connection before this one logged an end"}, false)
			c = nil
		}
	}
	if c == nil && hasAddr {
		if c2 := m.byAddr[addrKey{l.Host, ip, f.Port}]; c2 != nil {
			if c2.ended {
				if l.Time.Sub(c2.end) <= m.opt.Linger && !opens {
					return nil
				}
			} else if !opens {
				// Another process of the same connection (post-auth child).
				m.byPID[pk] = c2
				c2.pids = append(c2.pids, l.PID)
				c = c2
			}
		}
	}
	if c == nil && !hasAddr && !client && mt.Rule.Child && !mt.Preauth {
		c = m.adopt(l, mt, ip, ipOK)
	}
	if c == nil {
		c = m.newConn(l)
	}
	if hasAddr && c.port < 0 {
		c.setIP(f.IP, ip, ipOK)
		c.port = f.Port
		m.byAddr[addrKey{l.Host, ip, f.Port}] = c
	}
	return c
}

// newConn starts following the connection of l's pid.
func (m *Machine) newConn(l *ingest.Line) *conn {
	client := isClient(l.Program)
	c := &conn{host: l.Host, program: l.Program, source: l.Source, pid: l.PID, client: client,
		port: -1, start: l.Time, prec: l.Prec}
	m.byPID[pidKey{l.Host, l.PID, client}] = c
	m.live.pushBack(c)
	if m.live.n > m.opt.MaxOpen {
		m.evict()
	}
	return c
}

// postauthLine reports whether a match can only come from a connection
// that authenticated: a postauth rule, or sshd's peer identifier naming
// "user U" (set only after authentication succeeded).
func postauthLine(mt *rules.Match) bool {
	r := mt.Rule
	return r.Phase == string(cause.Postauth) || mt.Fields.Preamble == "user" ||
		r.Action == rules.SessionOpen || r.Action == rules.SessionEnd
}

// startUnknown reports whether the connection's start is not in the
// input: it authenticated, but the line saying so is missing (the input
// begins after it).
func (c *conn) startUnknown() bool { return c.authed && !c.authSeen }

// setIP records the peer's address: raw as sshd wrote it, ip its
// canonical form (canonAddr).
func (c *conn) setIP(raw, ip string, ok bool) {
	c.ip, c.ipOK, c.remote = ip, ok, ""
	if !ok || hasZone(raw) {
		c.remote = raw
	}
}

// apply records one matched line on its connection.
func (m *Machine) apply(c *conn, l *ingest.Line, mt *rules.Match) {
	r, f := mt.Rule, &mt.Fields
	m.live.touch(c)
	c.addLine(l.Raw, m.opt.MaxLines)
	if !l.Time.IsZero() {
		c.last = l.Time
		if c.start.IsZero() {
			c.start = l.Time
		}
	}
	if c.ip == "" && f.IP != "" && !c.client {
		// an address without a port ("User x from IP not allowed")
		ip, ok := canonAddr(f.IP)
		c.setIP(f.IP, ip, ok)
	}
	if f.HasUser && (c.user == "" || r.Action == rules.AuthOK) {
		c.user = f.User
	}
	if postauthLine(mt) {
		c.authed = true
	}
	switch {
	case f.Preamble == "authenticating user", f.Preamble == "invalid user",
		r.Cause == cause.AuthFailure, r.CausePreauth == cause.AuthFailure:
		c.attempted = true
	}
	n := max(1, l.Repeat) // rsyslog's "message repeated N times": N more of the message
	switch r.Action {
	case rules.AuthFail:
		c.failures += n
		c.attempted = true
		c.addMethod(f.Method)
	case rules.AuthOK:
		c.authed, c.authSeen = true, true
		c.addMethod(f.Method)
		// Failures before a successful login are not why it ended.
		c.best, c.bestWeak = verdict{}, verdict{}
		if c.ip != "" {
			m.known.add(c.host, c.ip)
		}
	case rules.SetUser:
		c.attempted = true
	case rules.Child:
		if f.PID >= 0 {
			k := pidKey{c.host, f.PID, false}
			if old := m.byPID[k]; old != nil && old != c && !old.ended {
				m.finish(old, verdict{c: cause.Unknown, rule: "pid-reused"}, false)
			}
			m.byPID[k] = c
			c.pids = append(c.pids, f.PID)
			c.postChild = f.PID
		}
	}
	if r.Cause != "" {
		v := verdict{c: r.Cause, pre: r.CausePreauth, rule: r.ID, detail: mt.Detail()}
		if r.Weak {
			if v.of(c.authed).Rank() >= c.bestWeak.of(c.authed).Rank() {
				c.bestWeak = v
			}
		} else if v.of(c.authed).Rank() >= c.best.of(c.authed).Rank() {
			c.best = v
		}
	}
	if r.Closed {
		c.closed = true
	}
	switch {
	case r.Ends:
		c.hostKey = r.Infer == "host_key"
		m.finish(c, verdict{}, false)
	case r.Action == rules.SessionEnd && m.claim(c):
		m.finish(c, verdict{}, false)
	case r.Action == rules.SessionEnd:
		m.finish(c, verdict{c: cause.ConnectionLost, rule: r.ID, inferred: true,
			detail: "PAM session closed with no OpenSSH close line (OpenSSH 9.7 and older log nothing at INFO when the peer vanishes)"}, false)
	default:
		m.watch(c)
	}
}

// listener handles lines of sshd's listening process, which speak of other
// processes or of peers that never got a connection process.
func (m *Machine) listener(l *ingest.Line, mt *rules.Match) {
	r, f := mt.Rule, &mt.Fields
	switch r.Action {
	case rules.GracePID:
		if c := m.byPID[pidKey{l.Host, f.PID, false}]; c != nil && !c.ended {
			c.addLine(l.Raw, m.opt.MaxLines)
			c.last = l.Time
			if c.ip == "" {
				ip, ok := canonAddr(f.IP)
				c.setIP(f.IP, ip, ok)
			}
			m.finish(c, verdict{c: cause.GraceTimeout, rule: r.ID, detail: mt.Detail()}, true)
			return
		}
		m.single(l, mt, f.PID)
	case rules.Drop:
		m.single(l, mt, l.PID)
	}
}

// single emits an event made of one listener line: a refused connection,
// or a grace timeout of a connection that logged nothing else.
func (m *Machine) single(l *ingest.Line, mt *rules.Match, pid int) {
	f := &mt.Fields
	c := &conn{host: l.Host, program: l.Program, source: l.Source, pid: pid, port: f.Port,
		start: l.Time, last: l.Time, prec: l.Prec}
	if f.IP != "" {
		ip, ok := canonAddr(f.IP)
		c.setIP(f.IP, ip, ok)
	}
	c.addLine(l.Raw, m.opt.MaxLines)
	m.emitConn(c, verdict{c: mt.Rule.Cause, rule: mt.Rule.ID, detail: mt.Detail()})
}

// finish ends a connection. A cause stated by a line wins; alt is used when
// no line stated one, or always when force is set (a grace timeout cuts a
// connection whatever its failed attempts said).
func (m *Machine) finish(c *conn, alt verdict, force bool) {
	if c.orphan {
		m.hold(c) // a post-auth process's end waits for its session (join.go)
		return
	}
	m.emitConn(c, m.verdict(c, alt, force))
	m.retire(c)
}

// retire marks an emitted connection ended; it still absorbs trailing
// lines until its linger expires.
func (m *Machine) retire(c *conn) {
	c.ended = true
	c.end = c.last
	m.live.remove(c)
	m.dead = append(m.dead, c)
}

// verdict decides why c ended (see finish).
func (m *Machine) verdict(c *conn, alt verdict, force bool) verdict {
	var final verdict
	weak := false
	switch {
	case force:
		final = alt
	case c.best.c != "":
		final = c.best
	case alt.c != "":
		final = alt
	case c.hostKey && c.bestWeak.of(c.authed) == cause.Probe && c.failures == 0 && c.user == "" && c.ip != "" && m.known.has(c.host, c.ip):
		return verdict{c: cause.HostKeyMismatch, rule: c.bestWeak.rule, inferred: true,
			detail: "closed right after key exchange by a client that logged in before: most likely it refused a changed host key"}
	case c.bestWeak.c != "":
		final, weak = c.bestWeak, true
	default:
		final = verdict{c: cause.Unknown}
	}
	final.c, final.pre = final.of(c.authed), ""
	// A client that leaves after a user-auth request, without a reason of
	// its own (a probe's goodbye, or a bare "Disconnected from"), gave up
	// authenticating: a probe is a connection without any authentication
	// attempt (causes.md).
	if !force && !c.authed && c.attempted && (final.c == cause.Probe || weak && final.c == cause.ProtocolError) {
		if c.bestWeak.of(false) == cause.AuthFailure {
			final = c.bestWeak
			final.pre = ""
		} else {
			final.c = cause.AuthFailure
			final.detail = joinDetail(final.detail, "after a user-auth request: the client gave up authenticating")
		}
	}
	return final
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

func (m *Machine) emitConn(c *conn, final verdict) {
	conf := cause.Certain
	if final.inferred || c.joinNote != "" {
		conf = cause.Inferred
	}
	ev := &Event{
		ID:           EventID(c.host, c.pid, c.port, c.start),
		Start:        c.start,
		End:          c.last,
		StartUnknown: c.startUnknown(),
		Prec:         c.prec,
		Host:         c.host,
		Program:      c.program,
		PID:          c.pid,
		User:         c.user,
		Cause:        final.c,
		Confidence:   conf,
		Phase:        cause.Preauth,
		Detail:       joinDetail(final.text(), c.joinNote),
		Rule:         final.rule,
		AuthFailures: c.failures,
		AuthMethods:  c.methods,
		Lines:        c.lines,
		LinesDropped: c.dropped,
		Source:       c.source,
	}
	c.fillAddr(ev)
	if c.authed {
		ev.Phase = cause.Postauth
	}
	if c.startUnknown() {
		ev.Start = time.Time{}
	} else if !c.start.IsZero() && !c.last.IsZero() {
		ev.DurationS = c.last.Sub(c.start).Seconds()
	}
	c.lines, c.methods = nil, nil
	m.stats.Events++
	m.stats.ByCause[final.c]++
	m.emit(ev)
}

// fillAddr sets the event's address fields: src_ip only for an address,
// the text sshd wrote in Remote otherwise (or when it has a zone).
func (c *conn) fillAddr(ev *Event) {
	if c.ipOK {
		ev.SrcIP = c.ip
	}
	ev.Remote = c.remote
	if c.port >= 0 {
		ev.SrcPort = c.port
	}
}

// sweep ends connections whose silence proves them over and forgets ended
// connections whose trailing lines can no longer come.
func (m *Machine) sweep() {
	m.lastSweep = m.now
	silent := m.due(m.now)
	// Events come out in a stable order.
	sortByStart(silent)
	for _, c := range silent {
		m.endSilent(c)
	}
	m.family.expire(m)
	m.expireDead()
}

// endSilent ends an unauthenticated connection that went silent: either a
// line said the peer was gone, or sshd's LoginGraceTime cut it.
func (m *Machine) endSilent(c *conn) {
	if c.closed {
		m.finish(c, verdict{}, false)
		return
	}
	end := c.start.Add(m.opt.LoginGraceTime)
	if end.After(c.last) {
		c.last = end
	}
	m.finish(c, verdict{c: cause.GraceTimeout, inferred: true, detail: fmt.Sprintf(
		"silent until LoginGraceTime (%s) expired; this sshd logs no line for it", m.opt.LoginGraceTime)}, true)
}

func (m *Machine) expireDead() {
	i := 0
	for ; i < len(m.dead); i++ {
		c := m.dead[i]
		if m.now.Sub(c.end) <= m.opt.Linger {
			break
		}
		m.forget(c)
	}
	m.dead = m.dead[i:]
}

func (m *Machine) forget(c *conn) {
	for _, pid := range append([]int{c.pid}, c.pids...) {
		k := pidKey{c.host, pid, c.client}
		if m.byPID[k] == c {
			delete(m.byPID, k)
		}
	}
	if c.port >= 0 {
		k := addrKey{c.host, c.ip, c.port}
		if m.byAddr[k] == c {
			delete(m.byAddr, k)
		}
	}
}

// evict flushes the longest-silent tenth of the open connections.
func (m *Machine) evict() {
	for k := m.live.n/10 + 1; k > 0 && m.live.head != nil; k-- {
		c := m.live.head
		c.orphan = false // an evicted orphan is reported, not held
		m.finish(c, verdict{c: cause.Unknown, rule: "evicted", detail: "too many open connections; flushed while still open"}, false)
	}
}

// Flush is the end of a batch of input. It ends what the log's time
// proves over, in the order the connections started: unauthenticated
// connections that started LoginGraceTime or more before the last line
// (sshd has cut them; a sweep waits a few seconds longer for a late end
// line), and those whose own lines said the peer was gone. It settles
// post-auth endings still waiting for their session's PAM line.
// Connections still open stay open: OpenEvents reports them, and a later
// Feed (or a Machine restored from State) continues them.
func (m *Machine) Flush() {
	m.sweep()
	var over []*conn
	for c := m.live.head; c != nil; c = c.next {
		if !c.authed && !c.client && !c.start.IsZero() && (c.closed || m.now.Sub(c.start) >= m.opt.LoginGraceTime) {
			over = append(over, c)
		}
	}
	sortByStart(over)
	for _, c := range over {
		m.endSilent(c)
	}
	m.family.settle(m)
}

// OpenEvents returns the connections still open, in the order they
// started, as events with Open set: no cause or confidence yet, End the
// OpenCount is how many connections are being followed (not ended yet).
func (m *Machine) OpenCount() int { return m.live.n }

// time of their last line, and the ID they will have when they end.
func (m *Machine) OpenEvents() []*Event {
	open := m.live.all()
	sortByStart(open)
	evs := make([]*Event, 0, len(open))
	for _, c := range open {
		ev := &Event{
			ID:           EventID(c.host, c.pid, c.port, c.start),
			Start:        c.start,
			End:          c.last,
			StartUnknown: c.startUnknown(),
			Open:         true,
			Prec:         c.prec,
			Host:         c.host,
			Program:      c.program,
			PID:          c.pid,
			User:         c.user,
			Phase:        cause.Preauth,
			AuthFailures: c.failures,
			AuthMethods:  slices.Clone(c.methods),
			Lines:        slices.Clone(c.lines),
			LinesDropped: c.dropped,
			Source:       c.source,
		}
		c.fillAddr(ev)
		if c.authed {
			ev.Phase = cause.Postauth
		}
		if c.startUnknown() {
			ev.Start = time.Time{}
		} else if !c.start.IsZero() && !c.last.IsZero() {
			ev.DurationS = c.last.Sub(c.start).Seconds()
		}
		evs = append(evs, ev)
	}
	return evs
}

// sortByStart orders connections by start, host and pid.
func sortByStart(cs []*conn) {
	slices.SortFunc(cs, func(a, b *conn) int {
		if n := a.start.Compare(b.start); n != 0 {
			return n
		}
		if n := strings.Compare(a.host, b.host); n != 0 {
			return n
		}
		return a.pid - b.pid
	})
}

func (c *conn) addLine(raw string, max int) {
	if len(c.lines) < max {
		if c.lines == nil {
			c.lines = make([]string, 0, 8)
		}
		c.lines = append(c.lines, raw)
		return
	}
	c.lines[len(c.lines)-1] = raw
	c.dropped++
}

func (c *conn) addMethod(method string) {
	if method == "" {
		return
	}
	for _, x := range c.methods {
		if x == method {
			return
		}
	}
	c.methods = append(c.methods, method)
}

// knownClients remembers which addresses logged in successfully, per host,
// for the host-key inference. It holds at most about max entries: two
// generations, the older dropped when the newer fills.
type knownClients struct {
	cur, old map[addrKey]struct{}
	max      int
}

func newKnownClients(max int) knownClients {
	return knownClients{cur: map[addrKey]struct{}{}, old: map[addrKey]struct{}{}, max: max}
}

func (k *knownClients) add(host, ip string) {
	key := addrKey{host: host, ip: ip}
	k.cur[key] = struct{}{}
	if len(k.cur) >= k.max/2 {
		k.old, k.cur = k.cur, map[addrKey]struct{}{}
	}
}

func (k *knownClients) has(host, ip string) bool {
	key := addrKey{host: host, ip: ip}
	_, a := k.cur[key]
	_, b := k.old[key]
	return a || b
}
