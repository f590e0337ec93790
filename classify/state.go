package classify

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/rules"
)

// State is a Machine's memory, in a form that survives a restart: the
// open connections, those that ended recently (still absorbing trailing
// lines), the addresses that logged in before, and the counters. A
// daemon saves it together with its input positions (file offsets,
// journal cursor) and resumes exactly where it stopped.
type State struct {
	// Now is the latest of the hosts' clocks. A state saved before Hosts
	// existed had one clock for every host: Now and LastSweep.
	Now       time.Time `json:"now"`
	LastSweep time.Time `json:"last_sweep,omitempty"`
	// Hosts are the hosts' clocks (clock.go), in the order of their names.
	Hosts []HostClock `json:"hosts,omitempty"`
	Conns []ConnState `json:"conns"`
	// Ended are the connections that ended within the linger, kept to
	// take their trailing lines (a state saved before Ended existed has
	// them in Conns).
	Ended []EndedConn `json:"ended,omitempty"`
	Known []Known     `json:"known"`
	// Relay lists the hosts whose sshd relays pre-auth lines with
	// " [preauth]" (OpenSSH 5.9+), as seen in their lines.
	Relay []string `json:"relay,omitempty"`
	Stats Stats    `json:"stats"`
}

// HostClock is one host's clock: the latest time of its lines (or of an
// Advance), and its last sweep (the next comes sweepEvery later).
type HostClock struct {
	Host      string    `json:"host"`
	Now       time.Time `json:"now"`
	LastSweep time.Time `json:"last_sweep,omitempty"`
}

// Known is an address that authenticated successfully on a host.
type Known struct {
	Host string `json:"host"`
	IP   string `json:"ip"`
}

// ConnKeys are what joins a line to its connection: its host, process
// and pids, and its address.
type ConnKeys struct {
	Host    string `json:"host"`
	Program string `json:"program"`
	Source  string `json:"source,omitempty"`
	PID     int    `json:"pid"`
	PIDs    []int  `json:"pids,omitempty"`
	Client  bool   `json:"client,omitempty"`
	IP      string `json:"ip,omitempty"`
	Port    int    `json:"port"`
}

// EndedConn is an ended connection as far as it still matters: its keys,
// which join its trailing lines to it until its linger passes. Its
// evidence and cause went out with its event. (The agent saves the state
// twice a second, a linger's worth of these in it.)
type EndedConn struct {
	ConnKeys
	End time.Time `json:"end"`
}

// ConnState is one followed connection.
type ConnState struct {
	ConnKeys
	Remote string    `json:"remote,omitempty"`
	User   string    `json:"user,omitempty"`
	Start  time.Time `json:"start,omitzero"`
	Last   time.Time `json:"last"`
	End    time.Time `json:"end,omitzero"`
	Prec   int8      `json:"prec,omitempty"`
	Authed bool      `json:"authed,omitempty"`
	// Attempted: a user-auth request was made. StartUnknown: authenticated,
	// but the line saying so was not in the input.
	Attempted    bool     `json:"attempted,omitempty"`
	StartUnknown bool     `json:"start_unknown,omitempty"`
	Failures     int      `json:"failures,omitempty"`
	Methods      []string `json:"methods,omitempty"`
	Lines        []string `json:"lines,omitempty"`
	Dropped      int      `json:"dropped,omitempty"`
	Closed       bool     `json:"closed,omitempty"`
	Ended        bool     `json:"ended,omitempty"`
	HostKey      bool     `json:"host_key,omitempty"`
	// Children joined by address, and the orphan state (join.go): an ended
	// orphan is waiting for its session's PAM line.
	PreChild  int    `json:"pre_child,omitempty"`
	PostChild int    `json:"post_child,omitempty"`
	Orphan    bool   `json:"orphan,omitempty"`
	JoinNote  string `json:"join_note,omitempty"`
	// Best and BestWeak: cause, rule, detail, and the cause before
	// authentication when it differs (a state saved before that fourth
	// element existed restores with it empty).
	Best     [4]string `json:"best,omitzero"`
	BestWeak [4]string `json:"best_weak,omitzero"`
}

// State returns a copy of the Machine's state.
func (m *Machine) State() State {
	st := State{Stats: m.Stats()}
	hosts := m.byName()
	conns, ended := m.live.n, 0
	for _, h := range hosts {
		conns, ended = conns+len(h.held), ended+len(h.dead)
	}
	st.Conns, st.Ended = make([]ConnState, 0, conns), make([]EndedConn, 0, ended)
	for c := m.live.head; c != nil; c = c.next {
		st.Conns = append(st.Conns, c.state())
	}
	for _, h := range hosts {
		st.Hosts = append(st.Hosts, HostClock{Host: h.name, Now: h.now, LastSweep: h.lastSweep})
		if h.now.After(st.Now) {
			st.Now = h.now
		}
		for _, c := range h.dead {
			st.Ended = append(st.Ended, EndedConn{ConnKeys: c.keys(), End: c.last})
		}
		for _, c := range h.held {
			st.Conns = append(st.Conns, c.state())
		}
		if h.relay {
			st.Relay = append(st.Relay, h.name)
		}
		for _, gen := range []map[string]struct{}{h.known.old, h.known.cur} {
			// Older first (Restore keeps the newer), each sorted: the same
			// Machine saves the same state.
			for _, ip := range slices.Sorted(maps.Keys(gen)) {
				st.Known = append(st.Known, Known{Host: h.name, IP: ip})
			}
		}
	}
	return st
}

// Restore replaces the Machine's state with st (from State, possibly of
// another process).
func (m *Machine) Restore(st State) {
	m.stats, m.byCause = st.Stats, nil
	for _, c := range slices.Sorted(maps.Keys(st.Stats.ByCause)) {
		m.byCause = append(m.byCause, causeCount{c, st.Stats.ByCause[c]})
	}
	m.stats.ByCause = nil
	m.byPID = newConnIndex[pidKey]()
	m.byAddr = newAddrIndex()
	m.live = connList{}
	m.hosts, m.hostList, m.hostsSorted, m.lastHost = map[string]*hostState{}, nil, false, nil
	for _, hc := range st.Hosts {
		h := m.host(hc.Host)
		h.now, h.lastSweep = hc.Now, hc.LastSweep
	}
	// A state saved with one clock for every host: each host it names
	// starts from that clock.
	old := st.Hosts == nil
	clock := func(name string) *hostState {
		h := m.host(name)
		if old && h.now.IsZero() {
			h.now, h.lastSweep = st.Now, st.LastSweep
			if h.lastSweep.IsZero() {
				h.lastSweep = st.Now // a state saved before LastSweep existed
			}
		}
		return h
	}
	for _, name := range st.Relay {
		clock(name).relay = true
	}
	var live []*conn
	for _, cs := range st.Conns {
		c := m.restoreConn(clock(cs.Host), cs)
		switch {
		case c.ended && c.orphan:
			c.h.held = append(c.h.held, c)
		case c.ended:
			c.h.dead = append(c.h.dead, c)
		default:
			live = append(live, c) // saved least recently active first
			m.live.pushBack(c)
		}
	}
	for _, e := range st.Ended {
		h := clock(e.Host)
		h.dead = append(h.dead, m.restoreConn(h, ConnState{ConnKeys: e.ConnKeys, Last: e.End, Ended: true}))
	}
	// Ended connections expire in end order.
	byEnd := func(a, b *conn) int { return a.last.Compare(b.last) }
	for _, h := range m.hostList {
		slices.SortStableFunc(h.dead, byEnd)
		slices.SortStableFunc(h.held, byEnd)
	}
	// A pid or address used by several connections (reused) belongs to
	// the open one, else to the one that ended last: register in that
	// order.
	register := func(c *conn) {
		for _, pid := range c.allPIDs(nil) {
			m.byPID.set(newPIDKey(c.h.id, int32(pid), c.client), c)
		}
		if c.port >= 0 {
			m.byAddr.set(c.h.id, c.port, c.ip, c)
		}
	}
	for _, h := range m.hostList {
		for _, c := range h.dead {
			register(c)
		}
		for _, c := range h.held {
			register(c)
		}
	}
	for _, c := range live {
		register(c)
	}
	// Deadlines are not saved: they follow from start, last line and the
	// options.
	for _, c := range live {
		m.watch(c)
	}
	for _, k := range st.Known {
		clock(k.Host).known.add(k.IP)
	}
}

func (c *conn) keys() ConnKeys {
	return ConnKeys{Host: c.h.name, Program: c.from.program, Source: c.from.source, PID: c.pid, PIDs: c.otherPIDs(),
		Client: c.client, IP: c.ip, Port: int(c.port)}
}

func (c *conn) state() ConnState {
	s := ConnState{
		ConnKeys: c.keys(), Remote: c.remote(), User: c.user, Start: c.start, Last: c.last, Prec: c.prec,
		Authed: c.authed, Attempted: c.attempted, StartUnknown: c.startUnknown(),
		Failures: int(c.failures), Methods: c.methodList(), Lines: c.lines, Dropped: int(c.dropped),
		Closed: c.closed, Ended: c.ended, HostKey: c.hostKey,
		PreChild: c.preChild(), PostChild: c.postChild(), Orphan: c.orphan, JoinNote: c.joinNote(),
		Best:     c.causes().best.state(),
		BestWeak: c.causes().weak.state(),
	}
	if c.ended {
		s.End = c.last
	}
	return s
}

func (s *said) state() [4]string {
	if s.r == nil {
		return [4]string{}
	}
	return [4]string{string(s.r.Cause), s.r.ID, s.detail, string(s.r.CausePreauth)}
}

// restoreSaid finds the rule a saved cause came from. When the rule set
// no longer has it (the rules changed between runs), a rule with the saved
// id and causes stands in.
func (m *Machine) restoreSaid(s [4]string) said {
	if s[0] == "" && s[1] == "" {
		return said{}
	}
	if m.byID == nil {
		m.byID = make(map[string]*rules.Rule, len(m.rules.Rules))
		for _, r := range m.rules.Rules {
			m.byID[r.ID] = r
		}
	}
	r := m.byID[s[1]]
	if r == nil || string(r.Cause) != s[0] || string(r.CausePreauth) != s[3] {
		r = &rules.Rule{ID: s[1], Cause: cause.Cause(s[0]), CausePreauth: cause.Cause(s[3])}
	}
	return said{r: r, detail: s[2]}
}

func (m *Machine) restoreConn(h *hostState, s ConnState) *conn {
	c := &conn{
		h: h, from: m.origin(s.Program, s.Source), pid: s.PID, client: s.Client,
		ip: s.IP, port: int32(s.Port), user: s.User, start: s.Start, last: s.Last, prec: s.Prec,
		authed: s.Authed, attempted: s.Attempted, authSeen: !s.StartUnknown,
		failures: int32(s.Failures), methods: strings.Join(s.Methods, " "), lines: s.Lines, dropped: int32(s.Dropped),
		closed: s.Closed, ended: s.Ended, hostKey: s.HostKey, orphan: s.Orphan,
	}
	if b, w := m.restoreSaid(s.Best), m.restoreSaid(s.BestWeak); b.r != nil || w.r != nil {
		c.said = &causes{best: b, weak: w}
	}
	if s.Remote != "" || s.PreChild != 0 || s.PostChild != 0 || s.JoinNote != "" {
		c.x = &connExtra{remote: s.Remote, preChild: s.PreChild, postChild: s.PostChild, joinNote: s.JoinNote}
	}
	for _, pid := range s.PIDs {
		c.addPID(pid)
	}
	if s.Ended && s.End.After(s.Last) {
		c.last = s.End // a state saved when end and last were two fields
	}
	if s.IP != "" {
		_, c.ipOK = canonAddr(s.IP)
	}
	return c
}
