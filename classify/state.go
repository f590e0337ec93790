package classify

import (
	"slices"
	"time"

	"github.com/sshwhy/sshwhy/cause"
)

// State is a Machine's memory, in a form that survives a restart: the
// open connections, those that ended recently (still absorbing trailing
// lines), the addresses that logged in before, and the counters. A
// daemon saves it together with its input positions (file offsets,
// journal cursor) and resumes exactly where it stopped.
type State struct {
	Now   time.Time   `json:"now"`
	Conns []ConnState `json:"conns"`
	Known []Known     `json:"known"`
	Stats Stats       `json:"stats"`
}

// Known is an address that authenticated successfully on a host.
type Known struct {
	Host string `json:"host"`
	IP   string `json:"ip"`
}

// ConnState is one followed connection.
type ConnState struct {
	Host     string    `json:"host"`
	Program  string    `json:"program"`
	Source   string    `json:"source,omitempty"`
	PID      int       `json:"pid"`
	PIDs     []int     `json:"pids,omitempty"`
	Client   bool      `json:"client,omitempty"`
	IP       string    `json:"ip,omitempty"`
	Port     int       `json:"port"`
	User     string    `json:"user,omitempty"`
	Start    time.Time `json:"start"`
	Last     time.Time `json:"last"`
	End      time.Time `json:"end,omitempty"`
	Prec     int8      `json:"prec"`
	Authed   bool      `json:"authed,omitempty"`
	Failures int       `json:"failures,omitempty"`
	Methods  []string  `json:"methods,omitempty"`
	Lines    []string  `json:"lines,omitempty"`
	Dropped  int       `json:"dropped,omitempty"`
	Closed   bool      `json:"closed,omitempty"`
	Ended    bool      `json:"ended,omitempty"`
	HostKey  bool      `json:"host_key,omitempty"`
	Best     [3]string `json:"best"`      // cause, rule, detail
	BestWeak [3]string `json:"best_weak"` // cause, rule, detail
}

// State returns a copy of the Machine's state.
func (m *Machine) State() State {
	st := State{Now: m.now, Stats: m.Stats()}
	for c := range m.live {
		st.Conns = append(st.Conns, c.state())
	}
	for _, c := range m.dead {
		st.Conns = append(st.Conns, c.state())
	}
	for _, gen := range []map[addrKey]struct{}{m.known.old, m.known.cur} {
		for k := range gen {
			st.Known = append(st.Known, Known{Host: k.host, IP: k.ip})
		}
	}
	return st
}

// Restore replaces the Machine's state with st (from State, possibly of
// another process).
func (m *Machine) Restore(st State) {
	m.now, m.lastSweep = st.Now, st.Now
	m.stats = st.Stats
	if m.stats.ByCause == nil {
		m.stats.ByCause = map[cause.Cause]int64{}
	}
	m.byPID = map[pidKey]*conn{}
	m.byAddr = map[addrKey]*conn{}
	m.live = map[*conn]struct{}{}
	m.dead = nil
	for _, cs := range st.Conns {
		c := restoreConn(cs)
		for _, pid := range append([]int{c.pid}, c.pids...) {
			m.byPID[pidKey{c.host, pid, c.client}] = c
		}
		if c.port >= 0 {
			m.byAddr[addrKey{c.host, c.ip, c.port}] = c
		}
		if c.ended {
			m.dead = append(m.dead, c)
		} else {
			m.live[c] = struct{}{}
		}
	}
	// Ended connections expire in end order.
	slices.SortStableFunc(m.dead, func(a, b *conn) int { return a.end.Compare(b.end) })
	m.known = newKnownClients(m.known.max)
	for _, k := range st.Known {
		m.known.add(k.Host, k.IP)
	}
}

func (c *conn) state() ConnState {
	return ConnState{
		Host: c.host, Program: c.program, Source: c.source, PID: c.pid, PIDs: c.pids, Client: c.client,
		IP: c.ip, Port: c.port, User: c.user, Start: c.start, Last: c.last, End: c.end, Prec: c.prec,
		Authed: c.authed, Failures: c.failures, Methods: c.methods, Lines: c.lines, Dropped: c.dropped,
		Closed: c.closed, Ended: c.ended, HostKey: c.hostKey,
		Best:     [3]string{string(c.best.c), c.best.rule, c.best.text()},
		BestWeak: [3]string{string(c.bestWeak.c), c.bestWeak.rule, c.bestWeak.text()},
	}
}

func restoreConn(s ConnState) *conn {
	return &conn{
		host: s.Host, program: s.Program, source: s.Source, pid: s.PID, pids: s.PIDs, client: s.Client,
		ip: s.IP, port: s.Port, user: s.User, start: s.Start, last: s.Last, end: s.End, prec: s.Prec,
		authed: s.Authed, failures: s.Failures, methods: s.Methods, lines: s.Lines, dropped: s.Dropped,
		closed: s.Closed, ended: s.Ended, hostKey: s.HostKey,
		best:     verdict{c: cause.Cause(s.Best[0]), rule: s.Best[1], detail: s.Best[2]},
		bestWeak: verdict{c: cause.Cause(s.BestWeak[0]), rule: s.BestWeak[1], detail: s.BestWeak[2]},
	}
}
