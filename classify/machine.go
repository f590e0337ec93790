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
	"iter"
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
	// MaxOpen caps the connections tracked at once (default 1<<20, about
	// 0.9 GB of open sessions: docs/benchmarks-scaling.md); past it the
	// longest-silent tenth is flushed as unknown.
	MaxOpen int
	// Linger is how long (in log time) an ended connection still absorbs
	// its trailing lines, such as PAM's "session closed" (default 10s).
	Linger time.Duration
	// Unmatched, when set, receives every line of a program that has rules
	// but that no rule matched.
	Unmatched func(*ingest.Line)
	// ReuseEvents makes the Event passed to emit valid only during the
	// call: the Machine fills the same one every time (an allocation less
	// per event). Its slices stay valid.
	ReuseEvents bool
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
	rules   *rules.Set
	opt     Options
	emit    func(*Event)
	stats   Stats // ByCause is in byCause
	byCause causeCounts

	byPID  connIndex[pidKey]
	byAddr addrIndex
	live   connList // open connections of every host, least recently active first (clock.go)

	// hosts holds each host's clock, deadlines and ended connections
	// (clock.go), hostList the same in the order first seen, or of their
	// names once hostsSorted.
	hosts       map[string]*hostState
	hostList    []*hostState
	hostsSorted bool
	lastHost    *hostState

	sweepEvery time.Duration // log time between sweeps
	matcher    Matcher       // Feed's
	matched    Matched

	origins    map[[2]string]*origin
	lastOrigin *origin
	byID       map[string]*rules.Rule // rules by id, built by Restore
	event      Event                  // the one emit gets with Options.ReuseEvents
	spare      []*conn                // forgotten connections, zeroed, for newConn (recycle)
	recycled   int                    // connections put in spare (for the tests)
}

// Map keys are small (an open connection holds one of each): hosts are
// numbered (hostState.id).
// A pidKey is a host number, a pid and whether the pid is a client's
// (ssh) in one word, for the maps' fast path.
type pidKey uint64

func newPIDKey(host uint32, pid int32, client bool) pidKey {
	k := pidKey(host)<<33 | pidKey(uint32(pid))<<1
	if client {
		k |= 1
	}
	return k
}

// conn is one connection being followed. It is what an open connection
// costs (docs/benchmarks-scaling.md): fields are ordered and sized to keep
// it small, and what only old sshds need is in x.
type conn struct {
	h                 *hostState
	user              string
	ip                string    // canonical address, or sshd's text when it is none (ipOK false)
	from              *origin   // program and source
	start, last       time.Time // once ended, last is the end
	pid               int
	port              int32  // -1 until known
	child             int32  // a further pid of the connection (a child's); more in x.pids
	methods           string // authentication methods tried, in order, space-separated (a method is a word)
	lines             []string
	said              *causes // what its lines said, nil until a line says a cause
	prev, next        *conn   // in Machine.live
	x                 *connExtra
	failures, dropped int32
	prec              int8
	client            bool
	ipOK              bool
	authed            bool
	attempted         bool // a user-auth request was made (a user was named, a method tried)
	authSeen          bool // the line saying it authenticated ("Accepted ...") is in the input
	closed            bool // a rule said the peer is gone
	ended             bool
	hostKey           bool // ended by a line that allows the host-key inference
	// orphan marks the lines of a post-auth process whose session is not
	// known yet; ended, it waits in hostState.held for the session's PAM
	// line instead of becoming an event (join.go).
	orphan    bool
	listed    bool // in Machine.live
	watched   bool // on Machine.deadlines
	forgotten bool // out of the indexes for good: recycled once unwatched
}

// connExtra holds what few connections need: an address that is none (or
// has a zone), and the joins of child processes without a port (join.go).
type connExtra struct {
	pids   []int  // further pids beyond conn.child
	remote string // sshd's text for the peer when it is no address or has a zone
	// The children joined by address: the pre-auth child's pid (before
	// OpenSSH 5.9) and the post-auth child's (before 7.2).
	preChild, postChild int
	// joinNote says how an ending was joined when the join was a guess.
	joinNote string
}

// origin is where a connection's lines come from: the program that logs
// them and the input. Connections share it (Machine.origins).
type origin struct {
	program, source string
}

// origin returns the shared origin of program and source.
func (m *Machine) origin(program, source string) *origin {
	if o := m.lastOrigin; o != nil && o.program == program && o.source == source {
		return o
	}
	k := [2]string{program, source}
	o := m.origins[k]
	if o == nil {
		o = &origin{program, source}
		m.origins[k] = o
	}
	m.lastOrigin = o
	return o
}

// addPID records a further pid of the connection (a child's).
func (c *conn) addPID(pid int) {
	if c.child == 0 {
		c.child = int32(pid)
		return
	}
	c.extra().pids = append(c.extra().pids, pid)
}

// otherPIDs are c's pids but its first (nil when it has one).
func (c *conn) otherPIDs() []int {
	if c.child == 0 && c.x == nil {
		return nil
	}
	return c.allPIDs(nil)[1:]
}

// allPIDs appends the connection's pids to out: its own first, then the
// children's. A caller passes a small array's slice, so that the hot paths
// (forget, promote) allocate nothing.
func (c *conn) allPIDs(out []int) []int {
	out = append(out, c.pid)
	if c.child != 0 {
		out = append(out, int(c.child))
	}
	if c.x != nil {
		out = append(out, c.x.pids...)
	}
	return out
}

func (c *conn) extra() *connExtra {
	if c.x == nil {
		c.x = &connExtra{}
	}
	return c.x
}

func (c *conn) remote() string {
	if c.x == nil {
		return ""
	}
	return c.x.remote
}

func (c *conn) joinNote() string {
	if c.x == nil {
		return ""
	}
	return c.x.joinNote
}

func (c *conn) preChild() int {
	if c.x == nil {
		return 0
	}
	return c.x.preChild
}

func (c *conn) postChild() int {
	if c.x == nil {
		return 0
	}
	return c.x.postChild
}

// causes is what a connection's lines said: the strongest cause and the
// strongest weak one ("Connection closed by ..." says how, not why).
type causes struct {
	best, weak said
}

var noCauses causes

// causes returns what c's lines said (nothing, for a connection whose
// lines said no cause: most open sessions).
func (c *conn) causes() *causes {
	if c.said == nil {
		return &noCauses
	}
	return c.said
}

// tell records what a line said, keeping the strongest of each kind.
// detail renders the line's detail, only when it is kept.
func (c *conn) tell(r *rules.Rule, detail func() string, weak bool) {
	if dst := c.causes().of(weak); r.Rank(c.authed) >= dst.rank(c.authed) {
		c.keep(said{r: r, detail: detail()}, weak)
	}
}

// tellSaid is tell of something said before (by another process of the
// connection).
func (c *conn) tellSaid(v said, weak bool) {
	if dst := c.causes().of(weak); v.rank(c.authed) >= dst.rank(c.authed) {
		c.keep(v, weak)
	}
}

func (c *conn) keep(v said, weak bool) {
	if c.said == nil {
		if n := len(c.h.spare); n > 0 {
			c.said, c.h.spare = c.h.spare[n-1], c.h.spare[:n-1]
		} else {
			c.said = &causes{}
		}
	}
	*c.said.of(weak) = v
}

// dropCauses forgets what c's lines said, keeping the storage for another
// connection of its host.
func (c *conn) dropCauses() {
	if c.said != nil && len(c.h.spare) < maxSpare {
		*c.said = causes{}
		c.h.spare = append(c.h.spare, c.said)
	}
	c.said = nil
}

func (cs *causes) of(weak bool) *said {
	if weak {
		return &cs.weak
	}
	return &cs.best
}

// rank is the rank of what was said for a connection that did (or did
// not) authenticate; -1 when nothing was said.
func (s *said) rank(authed bool) int {
	if s.r == nil {
		return -1
	}
	return s.r.Rank(authed)
}

// said is a cause a rule's line gave its connection: the rule (its cause,
// preauth cause and id) and the line's detail.
type said struct {
	r      *rules.Rule
	detail string
}

// of returns the cause said for a connection that did (or did not)
// authenticate; "" when nothing was said.
func (s *said) of(authed bool) cause.Cause {
	switch {
	case s.r == nil:
		return ""
	case !authed && s.r.CausePreauth != "":
		return s.r.CausePreauth
	}
	return s.r.Cause
}

// verdict turns what was said into a verdict.
func (s *said) verdict() verdict {
	if s.r == nil {
		return verdict{}
	}
	return verdict{c: s.r.Cause, pre: s.r.CausePreauth, rule: s.r.ID, detail: s.detail}
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
		opt.MaxOpen = 1 << 20
	}
	if opt.Linger <= 0 {
		opt.Linger = 10 * time.Second
	}
	return &Machine{
		// Sweeps end grace timeouts and forget ended connections: often
		// enough to do so promptly, rarely enough to cost nothing per line.
		sweepEvery: min(max(opt.LoginGraceTime/8, time.Second), opt.Linger),
		rules:      rs,
		matcher:    Matcher{rules: rs},
		opt:        opt,
		emit:       emit,
		byPID:      newConnIndex[pidKey](),
		byAddr:     newAddrIndex(),
		origins:    map[[2]string]*origin{},
		hosts:      map[string]*hostState{},
	}, nil
}

// Stats returns the counters so far.
func (m *Machine) Stats() Stats {
	s := m.stats
	s.ByCause = make(map[cause.Cause]int64, len(m.byCause))
	for _, n := range m.byCause {
		s.ByCause[n.c] = n.n
	}
	return s
}

// causeCounts counts events by cause, for Stats.ByCause: a map's hash of
// the cause cost 2% of classify on a log of bots; the causes are few, and
// the common ones come first.
type causeCounts []causeCount

type causeCount struct {
	c cause.Cause
	n int64
}

func (cc *causeCounts) add(c cause.Cause) {
	for i := range *cc {
		if (*cc)[i].c == c {
			(*cc)[i].n++
			return
		}
	}
	*cc = append(*cc, causeCount{c, 1})
}

func isClient(program string) bool { return program == "ssh" || program == "autossh" }

// Feed processes one line.
func (m *Machine) Feed(l *ingest.Line) {
	m.matcher.Match(l, &m.matched)
	m.FeedMatched(l, &m.matched)
}

// FeedMatched processes one line that a Matcher of the Machine's rules
// matched (Feed is Match then FeedMatched).
func (m *Machine) FeedMatched(l *ingest.Line, x *Matched) {
	m.stats.Lines++
	if l.Truncated {
		m.stats.Truncated++
	}
	switch x.kind {
	case kindUnparsed:
		m.stats.Unparsed++
		return
	case kindOther:
		m.stats.Other++
		return
	}
	h := m.host(l.Host)
	if l.Time.After(h.now) {
		m.advance(h, l.Time)
	}
	mt := &x.match
	if x.kind == kindUnmatched {
		m.stats.Unmatched++
		if m.opt.Unmatched != nil {
			// A copy: handing l itself to an unknown function would make
			// every caller's line escape to the heap.
			lc := *l
			m.opt.Unmatched(&lc)
		}
		// Still evidence for a connection we follow.
		if c := m.byPID.get(newPIDKey(h.id, int32(l.PID), isClient(l.Program))); c != nil && !c.ended {
			c.addLine(l.Raw, m.opt.MaxLines)
		}
		return
	}
	m.stats.Matched++
	if mt.Preauth {
		h.relay = true
	}
	r := mt.Rule
	if r.Scope == "listener" {
		m.listener(h, l, mt)
		return
	}
	c := m.lookup(h, l, mt)
	if c == nil {
		return // a trailing line of an ended connection
	}
	m.apply(c, l, mt)
}

// lookup finds or creates the connection a line belongs to. It returns nil
// for a trailing line of a connection that already ended.
func (m *Machine) lookup(h *hostState, l *ingest.Line, mt *rules.Match) *conn {
	f := &mt.Fields
	client := isClient(l.Program)
	pk := newPIDKey(h.id, int32(l.PID), client)
	c := m.byPID.get(pk)
	var ip string
	var ipOK bool
	switch {
	case f.IP == "" || client:
	case c != nil && f.IP == c.ip:
		ip, ipOK = c.ip, c.ipOK // the connection's own, already read
	default:
		ip, ipOK = canonAddr(f.IP)
	}
	hasAddr := ip != "" && f.Port >= 0
	opens := mt.Rule.Action == rules.Open
	if c != nil {
		sameAddr := true
		switch {
		case hasAddr && c.port >= 0:
			sameAddr = c.ip == ip && int(c.port) == f.Port
		case ipOK && c.ipOK:
			sameAddr = c.ip == ip // no port: the address alone
		}
		switch {
		case c.ended && sameAddr && !opens && l.Time.Sub(c.last) <= m.opt.Linger:
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
	var ref addrRef
	if hasAddr && (c == nil || c.port < 0) {
		ref = m.byAddr.ref(h.id, int32(f.Port), ip)
	}
	if c == nil && hasAddr {
		if c2 := m.byAddr.find(ref); c2 != nil {
			if c2.ended {
				if l.Time.Sub(c2.last) <= m.opt.Linger && !opens {
					return nil
				}
			} else if !opens {
				// Another process of the same connection (post-auth child).
				m.byPID.set(pk, c2)
				c2.addPID(l.PID)
				c = c2
			}
		}
	}
	if c == nil && !hasAddr && !client && mt.Rule.Child && !mt.Preauth {
		c = m.adopt(h, l, mt, ip, ipOK)
	}
	if c == nil {
		c = m.newConn(h, l)
	}
	if hasAddr && c.port < 0 {
		c.setIP(f.IP, ip, ipOK)
		c.port = int32(f.Port)
		m.byAddr.put(ref, c)
	}
	return c
}

// newConn starts following the connection of l's pid on h.
func (m *Machine) newConn(h *hostState, l *ingest.Line) *conn {
	client := isClient(l.Program)
	c := m.spareConn()
	c.h, c.from, c.pid, c.client = h, m.origin(l.Program, l.Source), l.PID, client
	c.port, c.start, c.prec = -1, l.Time, l.Prec
	m.byPID.set(newPIDKey(h.id, int32(l.PID), client), c)
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

// authenticate marks c authenticated; its keys move to the sessions'
// side of the indexes.
func (m *Machine) authenticate(c *conn) {
	if c.authed {
		return
	}
	c.authed = true
	if n := len(c.lines); cap(c.lines) > n+1 {
		// A session may stay open for days: room for its next line (PAM's
		// "session opened") only.
		c.lines = append(make([]string, 0, n+1), c.lines...)
	}
	if c.client {
		return
	}
	h := c.h.id
	var buf [4]int
	for _, pid := range c.allPIDs(buf[:0]) {
		m.byPID.promote(newPIDKey(h, int32(pid), false), c)
	}
	if c.port >= 0 {
		m.byAddr.promote(c)
	}
}

// startUnknown reports whether the connection's start is not in the
// input: it authenticated, but the line saying so is missing (the input
// begins after it).
func (c *conn) startUnknown() bool { return c.authed && !c.authSeen }

// setIP records the peer's address: raw as sshd wrote it, ip its
// canonical form (canonAddr).
func (c *conn) setIP(raw, ip string, ok bool) {
	c.ip, c.ipOK = ip, ok
	switch {
	case !ok || hasZone(raw):
		c.extra().remote = raw
	case c.x != nil:
		c.x.remote = ""
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
		m.authenticate(c)
	}
	switch {
	case f.Preamble == "authenticating user", f.Preamble == "invalid user",
		r.Cause == cause.AuthFailure, r.CausePreauth == cause.AuthFailure:
		c.attempted = true
	}
	n := max(1, l.Repeat) // rsyslog's "message repeated N times": N more of the message
	switch r.Action {
	case rules.AuthFail:
		c.failures += int32(n)
		c.attempted = true
		c.addMethod(f.Method)
	case rules.AuthOK:
		m.authenticate(c)
		c.authSeen = true
		c.addMethod(f.Method)
		// Failures before a successful login are not why it ended.
		c.dropCauses()
		if c.ip != "" {
			c.h.known.add(c.ip)
		}
	case rules.SetUser:
		c.attempted = true
	case rules.Child:
		if f.PID >= 0 {
			k := newPIDKey(c.h.id, int32(f.PID), false)
			if old := m.byPID.get(k); old != nil && old != c && !old.ended {
				m.finish(old, verdict{c: cause.Unknown, rule: "pid-reused"}, false)
			}
			m.byPID.set(k, c)
			c.addPID(f.PID)
			c.extra().postChild = f.PID
		}
	}
	if r.Cause != "" {
		c.tell(r, mt.Detail, r.Weak)
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
func (m *Machine) listener(h *hostState, l *ingest.Line, mt *rules.Match) {
	r, f := mt.Rule, &mt.Fields
	switch r.Action {
	case rules.GracePID:
		if c := m.byPID.get(newPIDKey(h.id, int32(f.PID), false)); c != nil && !c.ended {
			c.addLine(l.Raw, m.opt.MaxLines)
			c.last = l.Time
			if c.ip == "" {
				ip, ok := canonAddr(f.IP)
				c.setIP(f.IP, ip, ok)
			}
			m.finish(c, verdict{c: cause.GraceTimeout, rule: r.ID, detail: mt.Detail()}, true)
			return
		}
		m.single(h, l, mt, f.PID)
	case rules.Drop:
		m.single(h, l, mt, l.PID)
	}
}

// single emits an event made of one listener line: a refused connection,
// or a grace timeout of a connection that logged nothing else.
func (m *Machine) single(h *hostState, l *ingest.Line, mt *rules.Match, pid int) {
	f := &mt.Fields
	c := &conn{h: h, from: m.origin(l.Program, l.Source), pid: pid, port: int32(f.Port),
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
	m.live.remove(c)
	c.h.dead = append(c.h.dead, c)
}

// verdict decides why c ended (see finish).
func (m *Machine) verdict(c *conn, alt verdict, force bool) verdict {
	var final verdict
	weak := false
	said := c.causes()
	switch {
	case force:
		final = alt
	case said.best.r != nil:
		final = said.best.verdict()
	case alt.c != "":
		final = alt
	case c.hostKey && said.weak.of(c.authed) == cause.Probe && c.failures == 0 && c.user == "" && c.ip != "" && c.h.known.has(c.ip):
		return verdict{c: cause.HostKeyMismatch, rule: said.weak.r.ID, inferred: true,
			detail: "closed right after key exchange by a client that logged in before: most likely it refused a changed host key"}
	case said.weak.r != nil:
		final, weak = said.weak.verdict(), true
	default:
		final = verdict{c: cause.Unknown}
	}
	final.c, final.pre = final.of(c.authed), ""
	// A client that leaves after a user-auth request, without a reason of
	// its own (a probe's goodbye, or a bare "Disconnected from"), gave up
	// authenticating: a probe is a connection without any authentication
	// attempt (causes.md).
	if !force && !c.authed && c.attempted && (final.c == cause.Probe || weak && final.c == cause.ProtocolError) {
		if said.weak.of(false) == cause.AuthFailure {
			final = said.weak.verdict()
			final.c, final.pre = cause.AuthFailure, ""
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
	if final.inferred || c.joinNote() != "" {
		conf = cause.Inferred
	}
	ev := &m.event
	if !m.opt.ReuseEvents {
		ev = new(Event)
	}
	c.fill(ev, c.lines)
	ev.Cause, ev.Confidence, ev.Rule = final.c, conf, final.rule
	ev.Detail = joinDetail(final.text(), c.joinNote())
	c.lines, c.methods = nil, "" // out with the event; only its keys are used now
	c.dropCauses()
	m.stats.Events++
	m.byCause.add(final.c)
	m.emit(ev)
}

// fillAddr sets the event's address fields: src_ip only for an address,
// the text sshd wrote in Remote otherwise (or when it has a zone).
func (c *conn) fillAddr(ev *Event) {
	if c.ipOK {
		ev.SrcIP = c.ip
	}
	ev.Remote = c.remote()
	if c.port >= 0 {
		ev.SrcPort = int(c.port)
	}
}

// sweep ends h's connections whose silence proves them over and forgets
// its ended connections whose trailing lines can no longer come.
func (m *Machine) sweep(h *hostState) {
	h.lastSweep = h.now
	silent := m.due(h)
	// Events come out in a stable order.
	sortByStart(silent)
	for _, c := range silent {
		m.endSilent(c)
	}
	m.expireHeld(h)
	m.expireDead(h)
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

func (m *Machine) expireDead(h *hostState) {
	i := 0
	for ; i < len(h.dead); i++ {
		c := h.dead[i]
		if h.now.Sub(c.last) <= m.opt.Linger {
			break
		}
		m.forget(c)
		h.dead[i] = nil
	}
	h.dead = h.dead[i:]
}

func (m *Machine) forget(c *conn) {
	var buf [4]int
	for _, pid := range c.allPIDs(buf[:0]) {
		k := newPIDKey(c.h.id, int32(pid), c.client)
		m.byPID.drop(k, c)
	}
	if c.port >= 0 {
		m.byAddr.drop(c)
	}
	c.forgotten = true
	m.recycle(c)
}

// maxSpareConns bounds Machine.spare (a variable for the tests).
var maxSpareConns = 4096

// recycle keeps c for a new connection once nothing refers to it: it is
// forgotten (out of the indexes and the ended list) and off its host's
// deadlines (which drop an ended connection lazily, when its time comes).
// A bot's connection costs no allocation of its own then.
func (m *Machine) recycle(c *conn) {
	if c.forgotten && !c.watched && len(m.spare) < maxSpareConns {
		*c = conn{}
		m.spare = append(m.spare, c)
		m.recycled++
	}
}

// spareConn returns a zero conn, recycled when there is one.
func (m *Machine) spareConn() *conn {
	if n := len(m.spare); n > 0 {
		c := m.spare[n-1]
		m.spare = m.spare[:n-1]
		return c
	}
	return new(conn)
}

// evict flushes the longest-silent tenth of the open connections.
func (m *Machine) evict() {
	for k := m.live.n/10 + 1; k > 0 && m.live.head != nil; k-- {
		c := m.live.head
		c.orphan = false // an evicted orphan is reported, not held
		m.finish(c, verdict{c: cause.Unknown, rule: "evicted", detail: "too many open connections; flushed while still open"}, false)
	}
}

// Flush is the end of a batch of input. Host by host, in the order of
// their names, it ends what the host's time proves over, in the order the
// connections started: unauthenticated connections that started
// LoginGraceTime or more before the host's last line (sshd has cut them;
// a sweep waits a few seconds longer for a late end line), and those whose
// own lines said the peer was gone. It settles post-auth endings still
// waiting for their session's PAM line. Connections still open stay open:
// OpenEvents reports them, and a later Feed (or a Machine restored from
// State) continues them.
func (m *Machine) Flush() {
	for _, h := range m.byName() {
		m.flushHost(h)
	}
}

func (m *Machine) flushHost(h *hostState) {
	m.sweep(h)
	var over []*conn
	h.deadlines.all(func(e deadlineEntry) { // every connection that can end by silence is here
		c := e.c
		if hasDeadline(c) && !c.start.IsZero() && (c.closed || h.now.Sub(c.start) >= m.opt.LoginGraceTime) {
			over = append(over, c)
		}
	})
	sortByStart(over)
	for _, c := range over {
		m.endSilent(c)
	}
	m.settleHeld(h)
}

// OpenCount is how many connections are being followed (not ended yet).
func (m *Machine) OpenCount() int { return m.live.n }

// OpenEvents yields the connections still open, in the order they
// started, as events with Open set: no cause or confidence yet, End the
// time of their last line, and the ID they will have when they end. Each
// event is new (the caller may keep it); they are made one at a time, so a
// million open sessions need no second million events in memory. The
// Machine must not be fed while the iteration runs.
func (m *Machine) OpenEvents() iter.Seq[*Event] {
	return func(yield func(*Event) bool) {
		open := m.live.all()
		sortByStart(open)
		for _, c := range open {
			if !yield(m.openEvent(c)) {
				return
			}
		}
	}
}

func (m *Machine) openEvent(c *conn) *Event {
	ev := new(Event)
	c.fill(ev, slices.Clone(c.lines))
	ev.Open = true
	return ev
}

// fill sets ev to what c knows, with lines as its evidence: everything
// but the verdict (cause, confidence, rule, detail) and Open.
func (c *conn) fill(ev *Event, lines []string) {
	// Zeroed, then set field by field: a composite literal is built in a
	// temporary and copied.
	*ev = Event{}
	ev.ID = EventID(c.h.name, c.pid, int(c.port), c.start)
	ev.Start, ev.End, ev.StartUnknown, ev.Prec = c.start, c.last, c.startUnknown(), c.prec
	ev.Host, ev.Program, ev.PID, ev.User = c.h.name, c.from.program, c.pid, c.user
	ev.Phase, ev.AuthFailures, ev.AuthMethods = cause.Preauth, int(c.failures), c.methodList()
	ev.Lines, ev.LinesDropped, ev.Source = lines, int(c.dropped), c.from.source
	c.fillAddr(ev)
	if c.authed {
		ev.Phase = cause.Postauth
	}
	if c.startUnknown() {
		ev.Start = time.Time{}
	} else if !c.start.IsZero() && !c.last.IsZero() {
		ev.DurationS = c.last.Sub(c.start).Seconds()
	}
}

// sortByStart orders connections by start, host and pid.
func sortByStart(cs []*conn) {
	slices.SortFunc(cs, func(a, b *conn) int {
		if n := a.start.Compare(b.start); n != 0 {
			return n
		}
		if n := strings.Compare(a.h.name, b.h.name); n != 0 {
			return n
		}
		return a.pid - b.pid
	})
}

func (c *conn) addLine(raw string, max int) {
	if n := len(c.lines); n < max {
		switch {
		case c.lines == nil:
			// Most connections (bots') end within 6 lines; an
			// authenticated session's lines are trimmed (authenticate).
			c.lines = make([]string, 0, min(6, max))
		case n == cap(c.lines) && n < 8:
			l := make([]string, n, min(8, max)) // then within 8
			copy(l, c.lines)
			c.lines = l
		}
		c.lines = append(c.lines, raw)
		return
	}
	c.lines[len(c.lines)-1] = raw
	c.dropped++
}

// addMethod records an authentication method tried (a rule's {method}
// field is a word: it holds no space).
func (c *conn) addMethod(method string) {
	switch {
	case method == "" || strings.IndexByte(method, ' ') >= 0:
	case c.methods == "":
		c.methods = method // a substring of the line: no allocation
	default:
		for rest := c.methods; rest != ""; {
			x := rest
			if i := strings.IndexByte(rest, ' '); i >= 0 {
				x, rest = rest[:i], rest[i+1:]
			} else {
				rest = ""
			}
			if x == method {
				return
			}
		}
		c.methods += " " + method
	}
}

// methodList is the methods tried, for an event. A list of one common
// method is shared (events are read, never changed).
func (c *conn) methodList() []string {
	switch c.methods {
	case "":
		return nil
	case "password":
		return onlyPassword
	case "publickey":
		return onlyPublickey
	case "keyboard-interactive/pam":
		return onlyKbdPAM
	case "none":
		return onlyNone
	}
	return strings.Split(c.methods, " ")
}

var (
	onlyPassword  = []string{"password"}
	onlyPublickey = []string{"publickey"}
	onlyKbdPAM    = []string{"keyboard-interactive/pam"}
	onlyNone      = []string{"none"}
)

// knownClients remembers which addresses logged in successfully on a host,
// for the host-key inference. It holds at most about max entries: two
// generations, the older dropped when the newer fills.
type knownClients struct {
	cur, old map[string]struct{}
	max      int
}

// knownMax bounds the addresses remembered per host.
const knownMax = 1 << 16

func newKnownClients(max int) knownClients { return knownClients{max: max} }

func (k *knownClients) add(ip string) {
	if k.cur == nil {
		k.cur = map[string]struct{}{}
	}
	k.cur[ip] = struct{}{}
	if len(k.cur) >= k.max/2 {
		k.old, k.cur = k.cur, map[string]struct{}{}
	}
}

func (k *knownClients) has(ip string) bool {
	_, a := k.cur[ip]
	_, b := k.old[ip]
	return a || b
}
