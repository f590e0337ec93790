package classify

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/rules"
)

// A case file holds cases separated by "=== name" lines. Each case has log
// lines, then "--- want" and one line per expected event, in emission
// order (the connections still open at the end come last), as
// space-separated key=value pairs compared with the event's fields (see
// eventField). Values cannot hold spaces.
type caseSpec struct {
	name  string
	lines []string
	want  []map[string]string
	grace time.Duration
}

func readCases(t *testing.T, path string) []caseSpec {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []caseSpec
	var cur *caseSpec
	inWant := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "=== "):
			cases = append(cases, caseSpec{name: strings.TrimPrefix(line, "=== ")})
			cur, inWant = &cases[len(cases)-1], false
		case cur == nil || strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "--- grace "):
			d, err := time.ParseDuration(strings.TrimPrefix(line, "--- grace "))
			if err != nil {
				t.Fatal(err)
			}
			cur.grace = d
		case line == "--- want":
			inWant = true
		case inWant:
			w := map[string]string{}
			for _, kv := range strings.Fields(line) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("%s: bad want %q", cur.name, kv)
				}
				w[k] = v
			}
			cur.want = append(cur.want, w)
		default:
			cur.lines = append(cur.lines, line)
		}
	}
	return cases
}

func eventField(ev *Event, k string) string {
	switch k {
	case "src_port":
		return fmt.Sprint(ev.SrcPort)
	case "src_ip":
		return ev.SrcIP
	case "cause":
		return string(ev.Cause)
	case "confidence":
		return string(ev.Confidence)
	case "phase":
		return string(ev.Phase)
	case "user":
		return ev.User
	case "failures":
		return fmt.Sprint(ev.AuthFailures)
	case "rule":
		return ev.Rule
	case "host":
		return ev.Host
	case "pid":
		return fmt.Sprint(ev.PID)
	case "lines":
		return fmt.Sprint(len(ev.Lines))
	case "duration":
		return fmt.Sprint(ev.DurationS)
	case "methods":
		return strings.Join(ev.AuthMethods, ",")
	case "open":
		return fmt.Sprint(ev.Open)
	case "start_unknown":
		return fmt.Sprint(ev.StartUnknown)
	case "start":
		if ev.Start.IsZero() {
			return "-"
		}
		return ev.Start.Format(time.RFC3339Nano)
	case "end":
		return ev.End.Format(time.RFC3339Nano)
	case "remote":
		return ev.Remote
	case "detail":
		return ev.Detail
	}
	return "?unknown field " + k
}

// run classifies lines as one input and returns the events: the ended
// ones in emission order, then the connections still open at the end.
func run(t testing.TB, lines []string, opt Options) ([]*Event, *Machine) {
	rs, err := rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	var evs []*Event
	m, err := New(rs, opt, func(ev *Event) { evs = append(evs, ev) })
	if err != nil {
		t.Fatal(err)
	}
	p := ingest.Parser{Ref: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), Loc: time.UTC}
	for _, s := range lines {
		l := p.Parse(s)
		m.Feed(&l)
	}
	m.Flush()
	return append(evs, slices.Collect(m.OpenEvents())...), m
}

func TestCases(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.cases")
	if len(files) == 0 {
		t.Fatal("no testdata/*.cases")
	}
	for _, file := range files {
		for _, c := range readCases(t, file) {
			t.Run(filepath.Base(file)+"/"+c.name, func(t *testing.T) {
				evs, _ := run(t, c.lines, Options{LoginGraceTime: c.grace})
				if len(evs) != len(c.want) {
					for _, ev := range evs {
						t.Logf("got %s port=%d user=%q rule=%s", ev.Cause, ev.SrcPort, ev.User, ev.Rule)
					}
					t.Fatalf("got %d events, want %d", len(evs), len(c.want))
				}
				for i, w := range c.want {
					for k, v := range w {
						if got := eventField(evs[i], k); got != v {
							t.Errorf("event %d: %s = %q, want %q (rule %s)", i, k, got, v, evs[i].Rule)
						}
					}
				}
			})
		}
	}
}

// FuzzFeed pushes arbitrary lines through parser, rules and machine: no
// panic, every event valid JSON with a known cause, and an event's source
// address always taken from one of its own evidence lines.
func FuzzFeed(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.cases")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Nov ") {
				f.Add(l, "Nov 23 10:00:09 srv sshd[100]: Connection closed by 203.0.113.7 port 40001 [preauth]")
			}
		}
	}
	rs, err := rules.Load()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var evs []*Event
		m, err := New(rs, Options{}, func(ev *Event) { evs = append(evs, ev) })
		if err != nil {
			t.Fatal(err)
		}
		p := ingest.Parser{Ref: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), Loc: time.UTC}
		for _, s := range []string{a, b, a} {
			l := p.Parse(s)
			m.Feed(&l)
		}
		m.Flush()
		for _, ev := range evs {
			var back Event
			if err := json.Unmarshal(AppendJSON(nil, ev), &back); err != nil {
				t.Fatalf("invalid JSON for %+v: %v", ev, err)
			}
			if !ev.Cause.Valid() {
				t.Fatalf("cause %q", ev.Cause)
			}
			if ev.SrcIP != "" {
				if _, ok := canonAddr(ev.SrcIP); !ok {
					t.Fatalf("src_ip %q is no address", ev.SrcIP)
				}
				found := false
				for _, l := range ev.Lines {
					found = found || strings.Contains(l, ev.SrcIP) || addrIn(l, ev.SrcIP)
				}
				if !found {
					t.Fatalf("src_ip %q in no evidence line %q", ev.SrcIP, ev.Lines)
				}
			}
			if ev.Remote != "" && !strings.Contains(strings.Join(ev.Lines, "\n"), ev.Remote) {
				t.Fatalf("remote %q in no evidence line %q", ev.Remote, ev.Lines)
			}
		}
	})
}

// addrIn reports whether some word of line is an address whose canonical
// form is ip (sshd may write "::ffff:1.2.3.4" or upper-case IPv6).
func addrIn(line, ip string) bool {
	for _, w := range strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '[' || r == ']' || r == ',' }) {
		for _, cand := range []string{w, strings.TrimSuffix(w, ":")} {
			if c, ok := canonAddr(cand); ok && c == ip {
				return true
			}
		}
	}
	return false
}

// canonAddr's IPv4 shortcut agrees with net/netip on what is canonical.
func TestCanonIPv4(t *testing.T) {
	cases := []string{"1.2.3.4", "0.0.0.0", "255.255.255.255", "10.0.0.1", "192.168.100.200",
		"01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ",
		"::1", "::ffff:1.2.3.4", "a.b.c.d", "999.1.1.1", "1.2.3.-4", "0.00.0.0", "100.200.250.255"}
	r := rand.New(rand.NewPCG(7, 8))
	for range 200000 { // strings of digits and dots, some of them addresses
		b := make([]byte, r.IntN(17))
		for i := range b {
			b[i] = "0123456789.0125."[r.IntN(16)]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		a, err := netip.ParseAddr(s)
		want := err == nil && a.Is4() && a.String() == s
		if got := canonIPv4(s); got != want {
			t.Errorf("canonIPv4(%q) = %v, want %v", s, got, want)
		}
		if w, ok := parseIPv4(s); ok && w != binary.BigEndian.Uint32(a.AsSlice()) {
			t.Errorf("parseIPv4(%q) = %#x, want %v", s, w, a)
		}
	}
}

// The address index keeps apart what its one-word keys could confuse: the
// same address and port on two hosts, IPv4 and IPv4-like names, hosts and
// ports beyond the word.
func TestAddrIndex(t *testing.T) {
	x := newAddrIndex()
	h0, h1, far := &hostState{id: 0}, &hostState{id: 1}, &hostState{id: 1 << 16}
	conns := []*conn{
		{h: h0, port: 22, ip: "1.2.3.4"},
		{h: h1, port: 22, ip: "1.2.3.4"},
		{h: h0, port: 23, ip: "1.2.3.4"},
		{h: h0, port: 22, ip: "1.2.3.5"},
		{h: far, port: 22, ip: "1.2.3.4"},
		{h: h0, port: 1 << 16, ip: "1.2.3.4"},
		{h: h0, port: 22, ip: "01.2.3.4"},       // no canonical address: the general map
		{h: h0, port: 22, ip: "gw.example.org"}, // UseDNS
		{h: h0, port: 22, ip: "2001:db8::1"},
		{h: h0, port: 0, ip: "0.0.0.0"},
	}
	for _, c := range conns {
		x.set(c.h.id, c.port, c.ip, c)
	}
	for _, c := range conns {
		if got := x.find(x.ref(c.h.id, c.port, c.ip)); got != c {
			t.Errorf("find(ref(%d, %d, %q)) = %+v, want its own", c.h.id, c.port, c.ip, got)
		}
	}
	c := conns[0]
	c.authed = true
	x.promote(c)
	if x.find(x.ref(0, 22, "1.2.3.4")) != c || len(x.v4.sessions) != 1 {
		t.Errorf("promote: the key did not move to the sessions")
	}
	for _, c := range conns {
		x.drop(c)
	}
	if n := len(x.v4.young) + len(x.v4.sessions) + len(x.rest.young) + len(x.rest.sessions); n != 0 {
		t.Errorf("%d keys left after dropping every connection", n)
	}
}

func FuzzCanonIPv4(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "01.2.3.4", "255.255.255.255", "::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := netip.ParseAddr(s)
		if want := err == nil && a.Is4() && a.String() == s; canonIPv4(s) != want {
			t.Fatalf("canonIPv4(%q) = %v, want %v", s, !want, want)
		}
		if w, ok := parseIPv4(s); ok && w != binary.BigEndian.Uint32(a.AsSlice()) {
			t.Fatalf("parseIPv4(%q) = %#x, want %v", s, w, a)
		}
	})
}

// The index's last-lookup memo never answers with what a change replaced.
func TestConnIndexMemo(t *testing.T) {
	x := newConnIndex[uint64]()
	a, b := &conn{}, &conn{authed: true}
	steps := []struct {
		do   func()
		key  uint64
		want *conn
	}{
		{func() {}, 1, nil},
		{func() { x.set(1, a) }, 1, a},
		{func() {}, 1, a},
		{func() { x.set(1, b) }, 1, b},
		{func() { x.drop(1, b) }, 1, nil},
		{func() { x.set(2, a) }, 2, a},
		{func() { a.authed = true; x.promote(2, a) }, 2, a},
		{func() { x.drop(2, a) }, 2, nil},
		{func() { x.set(3, b); x.get(3); x.drop(3, a) }, 3, b}, // not its connection: stays
		{func() { x.drop(3, b) }, 3, nil},
	}
	for i, s := range steps {
		s.do()
		if got := x.get(s.key); got != s.want {
			t.Fatalf("step %d: get(%d) = %p, want %p", i, s.key, got, s.want)
		}
	}
}
