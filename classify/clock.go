package classify

import (
	"slices"
	"strings"
	"time"
)

// The Machine's clocks and what they drive.
//
// Every host has its own clock: the latest time of its lines (Feed), or
// the wall clock an agent passes to Advance while its sources are idle,
// which moves every host's clock. One host's time never ends another
// host's connections: a central syslog (or an agent following several
// sources) can hold a host whose clock runs ahead of the others, and with
// one clock for all its lines would end the others' connections early.
// Every sweepEvery of a host's clock a sweep ends what that clock proves
// over and forgets what can no longer receive lines. Its cost does not
// grow with the connections that cannot end by silence:
//
//   - hostState.deadlines holds the host's connections that have a
//     deadline: unauthenticated ones (sshd cuts them at LoginGraceTime).
//     An authenticated session is not in it, so a bastion's thousands of
//     open sessions cost nothing per sweep. A connection's deadline only
//     moves later (its last line is later), so entries are updated
//     lazily: a popped entry is checked against the connection and pushed
//     again if it is not due yet, dropped if the connection ended or
//     authenticated. Deadlines mostly come in time order (a line's host
//     clock does not go back): those go to a queue, the others to a
//     min-heap.
//   - ended connections linger in end order (hostState.dead), post-auth
//     endings waiting for their session in end order (hostState.held): a
//     sweep looks only at the expired front of each.
//   - the open connections of all hosts are a list in the order of their
//     last line (Machine.live), so eviction (MaxOpen) takes the
//     longest-silent ones from its front without sorting.
//
// The order of events. Each event comes out when the line (or the Advance
// call) that ends it is processed, so events follow the input: a single
// host's events in the order its clock ends them, several hosts' events
// interleaved as the lines that end them are. An Advance sweeps the hosts
// in the order of their names; Flush ends each host's remaining
// connections host by host, in the order of their names. The output is a
// function of the input alone, and a host's events depend on its own
// lines only (and on Advance).

// hostState is one host's part of the Machine: its clock and what it
// drives, and what the host's sshd is known to do.
type hostState struct {
	name      string
	id        uint32    // in map keys, 1 and up
	now       time.Time // the host's clock: its latest line, or Advance
	lastSweep time.Time
	deadlines deadlines // unauthenticated connections, by when silence ends them
	dead      []*conn   // ended connections, in end order, until their linger expires
	held      []*conn   // ended orphans waiting for a PAM line, in end order (join.go)
	// relay is set once the host logged a " [preauth]" line: its sshd
	// (5.9+) relays the pre-auth child's lines through the monitor, so a
	// child line without the suffix comes from a post-auth child.
	relay bool
	known knownClients // addresses that logged in before
	// spare holds causes that went out with their connection's event, for
	// the next connection whose lines say one (one allocation less per
	// event; at most maxSpare).
	spare []*causes
}

const maxSpare = 256

// host returns the state of the host named name, made on first use.
func (m *Machine) host(name string) *hostState {
	if h := m.lastHost; h != nil && h.name == name {
		return h
	}
	h := m.hosts[name]
	if h == nil {
		h = &hostState{name: name, id: uint32(len(m.hosts) + 1), known: newKnownClients(knownMax)}
		m.hosts[name] = h
		m.hostList = append(m.hostList, h)
		m.hostsSorted = false
	}
	m.lastHost = h
	return h
}

// byName returns the hosts in the order of their names.
func (m *Machine) byName() []*hostState {
	if !m.hostsSorted {
		slices.SortFunc(m.hostList, func(a, b *hostState) int { return strings.Compare(a.name, b.name) })
		m.hostsSorted = true
	}
	return m.hostList
}

// Advance moves every host's clock to now when now is later, and runs
// what the clocks have passed: inferred grace timeouts, the end of
// lingering, post-auth endings that waited long enough for their session.
// Lines move their host's clock too (Feed); an agent calls Advance with
// the wall clock when its sources are idle, so nothing waits for the next
// line. A host whose lines are ahead of now keeps its own time.
func (m *Machine) Advance(now time.Time) {
	for _, h := range m.byName() {
		if now.After(h.now) {
			m.advance(h, now)
		}
	}
}

// advance moves h's clock to now, which is later, and sweeps h when a
// sweep is due.
func (m *Machine) advance(h *hostState, now time.Time) {
	h.now = now
	if now.Sub(h.lastSweep) >= m.sweepEvery {
		m.sweep(h)
	}
}

// deadline is when c's silence proves it over: LoginGraceTime after its
// start (with a margin for a late end line), and not before 5 seconds
// after its last line.
func (m *Machine) deadline(c *conn) time.Time {
	d := c.start.Add(m.opt.LoginGraceTime + 5*time.Second)
	if l := c.last.Add(5 * time.Second); l.After(d) {
		return l
	}
	return d
}

// hasDeadline reports whether c can end by silence.
func hasDeadline(c *conn) bool {
	return !c.authed && !c.client && !c.ended && !c.last.IsZero()
}

// watch puts c on its host's deadline heap when it has a deadline and is
// not on it yet.
func (m *Machine) watch(c *conn) {
	if !c.watched && hasDeadline(c) {
		c.watched = true
		c.h.deadlines.add(deadlineEntry{at: m.deadline(c), c: c})
	}
}

// due pops h's connections whose deadline is before h's clock.
func (m *Machine) due(h *hostState) []*conn {
	var out []*conn
	now := h.now
	for {
		e, ok := h.deadlines.popBefore(now)
		if !ok {
			return out
		}
		c := e.c
		if !hasDeadline(c) {
			c.watched = false
			m.recycle(c)
			continue
		}
		if at := m.deadline(c); at.Before(now) {
			c.watched = false
			out = append(out, c)
		} else {
			h.deadlines.add(deadlineEntry{at: at, c: c})
		}
	}
}

// deadlines is a queue of entries in time order and a heap of the others.
type deadlines struct {
	queue []deadlineEntry // non-decreasing at; queue[head:] are live
	head  int
	heap  deadlineHeap
}

func (d *deadlines) add(e deadlineEntry) {
	if n := len(d.queue); n == d.head || !e.at.Before(d.queue[n-1].at) {
		if d.head > 0 && d.head == n {
			d.queue, d.head = d.queue[:0], 0 // empty: start over
		}
		d.queue = append(d.queue, e)
		return
	}
	d.heap.push(e)
}

// popBefore pops the earliest entry when it is before now.
func (d *deadlines) popBefore(now time.Time) (deadlineEntry, bool) {
	q := d.head < len(d.queue) && d.queue[d.head].at.Before(now)
	h := len(d.heap) > 0 && d.heap[0].at.Before(now)
	switch {
	case q && (!h || !d.heap[0].at.Before(d.queue[d.head].at)):
		e := d.queue[d.head]
		d.queue[d.head] = deadlineEntry{}
		d.head++
		if d.head > 1024 && d.head > len(d.queue)/2 {
			d.queue = append(d.queue[:0], d.queue[d.head:]...)
			d.head = 0
		}
		return e, true
	case h:
		return d.heap.pop(), true
	}
	return deadlineEntry{}, false
}

// len is the number of entries.
func (d *deadlines) len() int { return len(d.queue) - d.head + len(d.heap) }

// all calls f for every entry, in no particular order.
func (d *deadlines) all(f func(deadlineEntry)) {
	for _, e := range d.queue[d.head:] {
		f(e)
	}
	for _, e := range d.heap {
		f(e)
	}
}

type deadlineEntry struct {
	at time.Time
	c  *conn
}

// deadlineHeap is a binary min-heap by time.
type deadlineHeap []deadlineEntry

func (h *deadlineHeap) push(e deadlineEntry) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].at.Before(s[p].at) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *deadlineHeap) pop() deadlineEntry {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = deadlineEntry{}
	s = s[:n]
	*h = s
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && s[l].at.Before(s[m].at) {
			m = l
		}
		if r < n && s[r].at.Before(s[m].at) {
			m = r
		}
		if m == i {
			return top
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
}

// connList is the open connections, least recently active first.
type connList struct {
	head, tail *conn
	n          int
}

func (l *connList) pushBack(c *conn) {
	c.prev, c.next, c.listed = l.tail, nil, true
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
	l.n++
}

func (l *connList) remove(c *conn) {
	if !c.listed {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next, c.listed = nil, nil, false
	l.n--
}

// touch moves c to the back: it just logged a line.
func (l *connList) touch(c *conn) {
	if c.listed && l.tail != c {
		l.remove(c)
		l.pushBack(c)
	}
}

// all returns the open connections, least recently active first.
func (l *connList) all() []*conn {
	out := make([]*conn, 0, l.n)
	for c := l.head; c != nil; c = c.next {
		out = append(out, c)
	}
	return out
}

// connIndex finds connections by a key (pid or address). It keeps the
// keys of authenticated sessions apart from the others: a bastion's
// thousands of sessions then do not make the maps that every bot line
// probes large (a small map stays in the processor's caches).
type connIndex[K comparable] struct {
	young    map[K]*conn // keys of unauthenticated connections (and clients)
	sessions map[K]*conn // keys of authenticated connections
	// The last get's key and connection (nil: none), until the next
	// change: a connection's lines often come one after another (a bot's
	// "Invalid user" and PAM's two lines), and a map lookup missed the
	// caches.
	lastKey  K
	lastConn *conn
}

func newConnIndex[K comparable]() connIndex[K] {
	return connIndex[K]{young: map[K]*conn{}, sessions: map[K]*conn{}}
}

func (x *connIndex[K]) get(k K) *conn {
	if x.lastConn != nil && x.lastKey == k {
		return x.lastConn
	}
	c := x.young[k]
	if c == nil {
		c = x.sessions[k]
	}
	if c != nil {
		x.lastKey, x.lastConn = k, c
	}
	return c
}

// set makes k find c (the key leaves the other map).
func (x *connIndex[K]) set(k K, c *conn) {
	x.lastConn = nil
	if c.authed {
		x.sessions[k] = c
		delete(x.young, k)
	} else {
		x.young[k] = c
		delete(x.sessions, k)
	}
}

// drop removes k if it finds c.
func (x *connIndex[K]) drop(k K, c *conn) {
	x.lastConn = nil
	if x.young[k] == c {
		delete(x.young, k)
	}
	if x.sessions[k] == c {
		delete(x.sessions, k)
	}
}

// promote moves k of c, which just authenticated, to the sessions.
func (x *connIndex[K]) promote(k K, c *conn) {
	x.lastConn = nil
	if x.young[k] == c {
		delete(x.young, k)
		x.sessions[k] = c
	}
}
