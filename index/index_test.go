package index

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"

	"github.com/sshwhy/sshwhy/classify"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fixture is a small set of events over four UTC days, each with an id
// that names it, so expectations read as lists of names.
func fixture(t testing.TB) []*classify.Event {
	mk := func(id, end string, dur float64, c cause.Cause, host, ip, user string, phase cause.Phase, lines ...string) *classify.Event {
		e := &classify.Event{
			ID: id, End: mustTime(t, end), Host: host, Program: "sshd", PID: 100 + len(id), SrcIP: ip,
			SrcPort: 40000 + int(id[0]), User: user, Cause: c, Confidence: cause.Certain, Phase: phase,
			DurationS: dur, Lines: lines, Source: "/var/log/auth.log", Prec: 6,
		}
		e.Start = e.End.Add(-time.Duration(dur * float64(time.Second)))
		return e
	}
	a := mk("a", "2026-11-20T10:00:00Z", 4.6, cause.AuthFailure, "bastion", "203.0.113.7", "root", cause.Preauth,
		"2026-11-20T10:00:00.000000+00:00 bastion sshd[101]: Failed password for root from 203.0.113.7 port 40097 ssh2",
		"2026-11-20T10:00:00.000000+00:00 bastion sshd[101]: Failed password for root from 203.0.113.7 port 40097 ssh2",
		"2026-11-20T10:00:00.000000+00:00 bastion sshd[101]: Connection closed by authenticating user root 203.0.113.7 port 40097 [preauth]")
	a.AuthFailures = 3
	a.AuthMethods = []string{"password"}
	b := mk("b", "2026-11-21T23:59:59.999Z", 0.2, cause.Probe, "web1", "203.0.113.200", "", cause.Preauth,
		"2026-11-21T23:59:59.999000+00:00 web1 sshd[101]: Connection closed by 203.0.113.200 port 40098 [preauth]")
	c := mk("c", "2026-11-22T00:00:00Z", 7200, cause.ClientTimeout, "bastion", "2001:db8::5", "alice", cause.Postauth,
		"2026-11-22T00:00:00.000000+00:00 bastion sshd[101]: Timeout, client not responding from user alice 2001:db8::5 port 40099")
	d := mk("d", "2026-11-22T12:30:00Z", 0.1, cause.NegotiationFailure, "web1", "198.51.100.9", "", cause.Preauth,
		"2026-11-22T12:30:00.000000+00:00 web1 sshd[101]: Unable to negotiate with 198.51.100.9 port 40100: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]")
	d.Detail = "kex"
	e := mk("e", "2026-11-23T08:15:30.5Z", 2, cause.AuthFailure, "bastion", "2001:db8:1::77", "\x1b[31mevil\x07 from 6.6.6.6", cause.Preauth,
		"2026-11-23T08:15:30.500000+00:00 bastion sshd[101]: Invalid user \x1b[31mevil\x07 from 6.6.6.6 from 2001:db8:1::77 port 40101")
	e.AuthFailures = 1
	f := mk("f", "2026-11-23T09:00:00Z", 3600, cause.UserLogout, "web1", "192.0.2.10", "bob", cause.Postauth,
		"2026-11-23T09:00:00.000000+00:00 web1 sshd[101]: Received disconnect from 192.0.2.10 port 40102:11: disconnected by user",
		"2026-11-23T09:00:00.000000+00:00 web1 sshd[101]: Disconnected from user bob 192.0.2.10 port 40102")
	return []*classify.Event{a, b, c, d, e, f}
}

// writeFixture indexes the fixture in a fresh data directory.
func writeFixture(t *testing.T) (string, []*classify.Event) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	evs := fixture(t)
	if _, err := Write(dir, evs); err != nil {
		t.Fatal(err)
	}
	return dir, evs
}

func openReader(t *testing.T, dir string) *Reader {
	t.Helper()
	r, err := OpenReader(dir, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// ids searches and returns the ids found, in result order.
func ids(t *testing.T, r *Reader, q Query, opt SearchOptions) ([]string, error) {
	t.Helper()
	var out []string
	_, err := r.Search(context.Background(), q, opt, func(e *classify.Event) error {
		out = append(out, e.ID)
		return nil
	})
	return out, err
}

func TestSearch(t *testing.T) {
	dir, _ := writeFixture(t)
	r := openReader(t, dir)
	ts := func(s string) time.Time { return mustTime(t, s) }
	tests := []struct {
		name string
		q    Query
		want string // ids in time order
	}{
		{"everything", Query{}, "abcdef"},
		{"cause", Query{Causes: []cause.Cause{cause.AuthFailure}}, "ae"},
		{"causes", Query{Causes: []cause.Cause{cause.Probe, cause.ClientTimeout}}, "bc"},
		{"ip", Query{IPs: []string{"203.0.113.7"}}, "a"},
		{"ipv4 cidr", Query{IPs: []string{"203.0.113.0/24"}}, "ab"},
		{"ipv4 cidr upper half", Query{IPs: []string{"203.0.113.128/25"}}, "b"},
		{"ipv4 cidr /0 excludes v6", Query{IPs: []string{"0.0.0.0/0"}}, "abdf"},
		{"ipv6", Query{IPs: []string{"2001:db8::5"}}, "c"},
		{"ipv6 cidr", Query{IPs: []string{"2001:db8::/32"}}, "ce"},
		{"ipv6 cidr /48", Query{IPs: []string{"2001:db8:1::/48"}}, "e"},
		{"ips", Query{IPs: []string{"192.0.2.0/24", "2001:db8::5"}}, "cf"},
		{"user", Query{Users: []string{"alice"}}, "c"},
		{"hostile user", Query{Users: []string{"\x1b[31mevil\x07 from 6.6.6.6"}}, "e"},
		{"user is exact", Query{Users: []string{"ALICE"}}, ""},
		{"host", Query{Hosts: []string{"web1"}}, "bdf"},
		{"phase", Query{Phases: []string{string(cause.Postauth)}}, "cf"},
		{"inclusive bounds", Query{Since: ts("2026-11-21T23:59:59.999Z"), Until: ts("2026-11-22T00:00:00Z")}, "bc"},
		{"since a nanosecond later", Query{Since: ts("2026-11-22T00:00:00.000000001Z")}, "def"},
		{"until", Query{Until: ts("2026-11-20T10:00:00Z")}, "a"},
		{"until a nanosecond earlier", Query{Until: ts("2026-11-20T09:59:59.999999999Z")}, ""},
		{"range over shards", Query{Since: ts("2026-11-22T12:00:00Z"), Until: ts("2026-11-23T08:15:30.5Z")}, "de"},
		{"range in one minute", Query{Since: ts("2026-11-23T08:15:30Z"), Until: ts("2026-11-23T08:15:31Z")}, "e"},
		{"range without events", Query{Since: ts("2026-11-24T00:00:00Z")}, ""},
		{"combined", Query{Causes: []cause.Cause{cause.AuthFailure}, IPs: []string{"2001:db8::/32"}, Since: ts("2026-11-23T00:00:00Z")}, "e"},
		{"word", Query{Text: "diffie-hellman-group1-sha1"}, "d"},
		{"word case", Query{Text: "PREAUTH"}, "abd"},
		{"phrase", Query{Text: `"Connection closed by"`}, "ab"},
		{"phrase with address", Query{Text: `"closed by 203.0.113.200 port"`}, "b"},
		{"phrase across lines never matches", Query{Text: `"ssh2 connection"`}, ""},
		{"address in lines", Query{Text: `"2001:db8:1::77"`}, "e"},
		{"keyword field", Query{Text: "user:root"}, "a"},
		{"detail", Query{Text: "detail:kex"}, "d"},
		{"must and must not", Query{Text: "+host:web1 -cause:probe"}, "df"},
		{"number", Query{Text: "auth_failures:3"}, "a"},
		{"number range", Query{Text: "duration_s:>3600"}, "c"},
		{"number range inclusive", Query{Text: "duration_s:>=3600"}, "cf"},
		{"number range below", Query{Text: "duration_s:<1"}, "bd"},
		{"pid and port", Query{Text: "+pid:101 +src_port:40097"}, "a"},
		{"terms are alternatives", Query{Text: "user:alice user:bob"}, "cf"},
		{"ip field in text", Query{Text: `ip:"2001:db8::/32"`}, "ce"},
		{"end range in text", Query{Text: `end:>="2026-11-23T00:00:00Z"`}, "ef"},
		{"end range exclusive", Query{Text: `end:>"2026-11-23T08:15:30.5Z"`}, "f"},
		{"start range in text", Query{Text: `start:<"2026-11-20T09:59:56Z"`}, "a"},
		{"hour keyword", Query{Text: "hour:2026-11-22T12"}, "d"},
		{"auth method", Query{Text: "auth_method:password"}, "a"},
		{"wildcard", Query{Text: "user:ali*"}, "c"},
		{"quoted keyword", Query{Text: `user:"root"`}, "a"},
		{"quoted cause", Query{Text: `cause:"probe"`}, "b"},
		{"quoted host", Query{Text: `host:"web1"`}, "bdf"},
		{"quoted number", Query{Text: `auth_failures:"3"`}, "a"},
		{"quoted hostile user", Query{Text: "user:\"\x1b[31mevil\x07 from 6.6.6.6\""}, "e"},
		{"ipv6 src_ip unquoted", Query{Text: "src_ip:2001:db8::5"}, "c"},
		{"ipv6 src_ip quoted", Query{Text: `src_ip:"2001:db8::5"`}, "c"},
		{"ipv6 src_ip other spelling", Query{Text: "src_ip:2001:DB8:0::5"}, "c"},
		{"ipv4 src_ip mapped spelling", Query{Text: "src_ip:::ffff:203.0.113.7"}, "a"},
		{"ipv6 cidr unquoted", Query{Text: "ip:2001:db8::/32"}, "ce"},
		{"ipv6 prefix excludes ipv4", Query{Text: "ip:::/0"}, "ce"},
		{"mapped prefix is ipv4", Query{Text: "ip:::ffff:203.0.113.0/120"}, "ab"},
		{"end unquoted", Query{Text: "end:>=2026-11-23T00:00:00Z"}, "ef"},
		{"end is a date", Query{Text: "end:2026-11-22"}, "cd"},
		{"end after a date", Query{Text: "end:>2026-11-22"}, "ef"},
		{"end before a date", Query{Text: "end:<2026-11-22"}, "ab"},
		{"end until a date", Query{Text: "end:<=2026-11-22"}, "abcd"},
		{"end at an instant", Query{Text: `end:"2026-11-23T08:15:30.5Z"`}, "e"},
		{"hour range", Query{Text: `hour:>="2026-11-22T12"`}, "def"},
		{"hour exclusive", Query{Text: "hour:<2026-11-22T00"}, "ab"},
		{"hour wildcard", Query{Text: "hour:2026-11-23T*"}, "ef"},
		{"without a user", Query{Text: "-user:*"}, "bd"},
		{"regexp on keyword is whole value", Query{Text: "user:/ro/"}, ""},
		{"regexp on keyword", Query{Text: "user:/ro.*/"}, "a"},
		{"fuzzy keyword", Query{Text: "user:alica~1"}, "c"},
		{"fuzzy word", Query{Text: "negotiat~1"}, "d"},
		{"escaped wildcard is literal", Query{Text: `user:ali\*`}, ""},
		{"several words in one value are a phrase", Query{Text: `lines:closed\ by`}, "ab"},
		{"words must not", Query{Text: "-preauth"}, "cef"},
		{"alternatives and exclusion", Query{Text: "user:alice user:bob -host:web1"}, "c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ids(t, r, tt.q, SearchOptions{Sort: FieldEnd})
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.Join(got, ""); s != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
}

func TestSearchOrder(t *testing.T) {
	dir, _ := writeFixture(t)
	r := openReader(t, dir)
	tests := []struct {
		opt  SearchOptions
		want string
	}{
		{SearchOptions{}, "abcdef"},
		{SearchOptions{Limit: 2}, "ef"}, // the newest two, in time order
		{SearchOptions{Sort: "end", Limit: 2}, "ab"},
		{SearchOptions{Sort: "-end", Limit: 2}, "fe"},
		{SearchOptions{Sort: "-end"}, "fedcba"},
		{SearchOptions{Sort: "duration_s"}, "bdeafc"}, // 0.1 and 0.2 both round to 0: then by end
		{SearchOptions{Sort: "-duration_s"}, "cfaedb"},
		{SearchOptions{Sort: "-auth_failures", Limit: 2}, "ae"},
		{SearchOptions{Sort: "host"}, "acebdf"},
	}
	for _, tt := range tests {
		got, err := ids(t, r, Query{}, tt.opt)
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.Join(got, ""); s != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.opt, s, tt.want)
		}
	}
}

func TestEventRoundTrip(t *testing.T) {
	dir, evs := writeFixture(t)
	r := openReader(t, dir)
	var got []*classify.Event
	if _, err := r.Search(context.Background(), Query{}, SearchOptions{Sort: FieldEnd}, func(e *classify.Event) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs) {
		t.Fatalf("got %d events, want %d", len(got), len(evs))
	}
	for i, want := range evs {
		g := *got[i]
		w := *want
		if !g.Start.Equal(w.Start) || !g.End.Equal(w.End) {
			t.Errorf("%s: times %v %v, want %v %v", w.ID, g.Start, g.End, w.Start, w.End)
		}
		g.Start, g.End, w.Start, w.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: got\n%+v\nwant\n%+v", w.ID, g, w)
		}
	}
}

func TestSearchErrors(t *testing.T) {
	dir, _ := writeFixture(t)
	r := openReader(t, dir)
	ts := func(s string) time.Time { return mustTime(t, s) }
	tests := []struct {
		name string
		q    Query
		opt  SearchOptions
		want string
	}{
		{"cause", Query{Causes: []cause.Cause{"bored"}}, SearchOptions{}, `unknown cause "bored"`},
		{"ip", Query{IPs: []string{"203.0.113.300"}}, SearchOptions{}, `"203.0.113.300" is neither an IP address nor a CIDR prefix`},
		{"cidr", Query{IPs: []string{"10.0.0.0/33"}}, SearchOptions{}, `"10.0.0.0/33" is neither`},
		{"phase", Query{Phases: []string{"during"}}, SearchOptions{}, `unknown phase "during"`},
		{"reversed range", Query{Since: ts("2026-11-23T00:00:00Z"), Until: ts("2026-11-22T00:00:00Z")}, SearchOptions{}, "ends"},
		{"syntax", Query{Text: "user:"}, SearchOptions{}, `"user:": user: needs a value`},
		{"quote", Query{Text: `"Connection closed`}, SearchOptions{}, `unterminated quote`},
		{"date", Query{Text: `end:>"yesterday"`}, SearchOptions{}, `end takes an RFC 3339 time (2026-11-23T10:00:00Z) or a UTC date (2026-11-23), not "yesterday"`},
		{"number field", Query{Text: "pid:abc"}, SearchOptions{}, `pid takes a number, not "abc"`},
		{"time field", Query{Text: "end:2026"}, SearchOptions{}, `end takes an RFC 3339 time (2026-11-23T10:00:00Z) or a UTC date (2026-11-23), not "2026"`},
		{"time field number", Query{Text: "end:>5"}, SearchOptions{}, `not "5"`},
		{"date on keyword", Query{Text: `user:>"2026-11-23T00:00:00Z"`}, SearchOptions{}, "ranges compare numbers, times and hours; user is a name"},
		{"ip in text", Query{Text: `ip:"nope"`}, SearchOptions{}, `"ip:\"nope\"": ip takes an address or a CIDR prefix: "nope" is neither an IP address nor a CIDR prefix`},
		{"sort", Query{}, SearchOptions{Sort: "lines"}, `cannot sort by "lines"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ids(t, r, tt.q, tt.opt)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrBadQuery) {
				t.Errorf("error %q does not wrap ErrBadQuery", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
	if _, err := r.Count(context.Background(), Query{}, "lines", 0); !errors.Is(err, ErrBadQuery) {
		t.Errorf("count by lines: %v", err)
	}
}

func TestCount(t *testing.T) {
	dir, _ := writeFixture(t)
	r := openReader(t, dir)
	ts := func(s string) time.Time { return mustTime(t, s) }
	tests := []struct {
		by      string
		q       Query
		limit   int
		want    []Bucket
		other   int
		missing int
	}{
		{FieldCause, Query{}, 0, []Bucket{{"auth_failure", 2}, {"client_timeout", 1}, {"negotiation_failure", 1}, {"probe", 1}, {"user_logout", 1}}, 0, 0},
		{FieldCause, Query{}, 2, []Bucket{{"auth_failure", 2}, {"client_timeout", 1}}, 3, 0},
		{FieldHost, Query{Since: ts("2026-11-22T00:00:00Z")}, 0, []Bucket{{"bastion", 2}, {"web1", 2}}, 0, 0},
		{FieldUser, Query{}, 0, []Bucket{{"\x1b[31mevil\x07 from 6.6.6.6", 1}, {"alice", 1}, {"bob", 1}, {"root", 1}}, 0, 2},
		{FieldSrcIP, Query{IPs: []string{"203.0.113.0/24"}}, 0, []Bucket{{"203.0.113.200", 1}, {"203.0.113.7", 1}}, 0, 0},
		{FieldHour, Query{Since: ts("2026-11-22T00:00:00Z")}, 0, []Bucket{{"2026-11-22T00", 1}, {"2026-11-22T12", 1}, {"2026-11-23T08", 1}, {"2026-11-23T09", 1}}, 0, 0},
		{FieldCause, Query{Causes: []cause.Cause{cause.RateLimited}}, 0, nil, 0, 0},
	}
	for _, tt := range tests {
		c, err := r.Count(context.Background(), tt.q, tt.by, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c.Buckets, tt.want) || c.Other != tt.other || c.Missing != tt.missing {
			t.Errorf("count by %s %+v: got %+v other %d missing %d, want %+v other %d missing %d",
				tt.by, tt.q, c.Buckets, c.Other, c.Missing, tt.want, tt.other, tt.missing)
		}
	}
}

func docCount(t *testing.T, dir string) uint64 {
	t.Helper()
	r, err := OpenReader(dir, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n, err := r.DocCount(time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReindexAddsNothing(t *testing.T) {
	dir, evs := writeFixture(t)
	if n := docCount(t, dir); n != uint64(len(evs)) {
		t.Fatalf("%d documents after the first run, want %d", n, len(evs))
	}
	// Again, in one run twice over, and with the ids left for the index to compute.
	again := fixture(t)
	for _, e := range again {
		e.ID = ""
	}
	if _, err := Write(dir, append(fixture(t), fixture(t)...)); err != nil {
		t.Fatal(err)
	}
	if n := docCount(t, dir); n != uint64(len(evs)) {
		t.Errorf("%d documents after re-indexing, want %d", n, len(evs))
	}
	if _, err := Write(dir, again); err != nil {
		t.Fatal(err)
	}
	// Computed ids differ from the fixture's hand-written ones: now twice as many.
	if n := docCount(t, dir); n != 2*uint64(len(evs)) {
		t.Errorf("%d documents after indexing without ids, want %d", n, 2*len(evs))
	}
	if _, err := Write(dir, again); err != nil {
		t.Fatal(err)
	}
	if n := docCount(t, dir); n != 2*uint64(len(evs)) {
		t.Errorf("%d documents after re-indexing without ids, want %d", n, 2*len(evs))
	}
}

func TestManyShardsInTimeOrder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	evs := genEvents(3000, 6)
	// Indexed out of order, in small batches, few shards open at a time.
	shuffled := append([]*classify.Event(nil), evs...)
	sort.Slice(shuffled, func(i, j int) bool { return shuffled[i].ID < shuffled[j].ID })
	if st := writeEvents(t, dir, shuffled, WriterOptions{BatchSize: 97, MaxOpenShards: 2}); st.Added != len(evs) || st.Shards != 6 {
		t.Errorf("stats %+v, want %d added to 6 shards", st, len(evs))
	}
	r := openReader(t, dir)
	if n := len(r.Shards()); n != 6 {
		t.Errorf("%d shards, want 6", n)
	}
	for _, opt := range []SearchOptions{{}, {Sort: FieldEnd}, {Limit: 2500}} {
		var got []*classify.Event
		res, err := r.Search(context.Background(), Query{}, opt, func(e *classify.Event) error {
			got = append(got, e)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := len(evs)
		if opt.Limit > 0 {
			want = opt.Limit
		}
		if len(got) != want || res.Total != uint64(len(evs)) || res.Shards != 6 {
			t.Errorf("%+v: %d events (total %d, %d shards), want %d (total %d, 6 shards)", opt, len(got), res.Total, res.Shards, want, len(evs))
		}
		for i := 1; i < len(got); i++ {
			if got[i].End.Before(got[i-1].End) {
				t.Fatalf("%+v: event %d (%v) before event %d (%v)", opt, i, got[i].End, i-1, got[i-1].End)
			}
		}
		if opt.Limit > 0 && !got[len(got)-1].End.Equal(evs[len(evs)-1].End) {
			t.Errorf("%+v: the last event is not the newest", opt)
		}
	}
	// A range inside one day opens only that day's shard.
	day := dayOf(evs[0].End).Add(48 * time.Hour)
	n := 0
	for _, e := range evs {
		if !e.End.Before(day.Add(3*time.Hour)) && !e.End.After(day.Add(5*time.Hour)) {
			n++
		}
	}
	res, err := r.Search(context.Background(), Query{Since: day.Add(3 * time.Hour), Until: day.Add(5 * time.Hour)}, SearchOptions{}, func(*classify.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != uint64(n) || res.Shards != 1 {
		t.Errorf("range in one day: total %d in %d shards, want %d in 1", res.Total, res.Shards, n)
	}
}

// TestTimeRange compares range queries with a brute-force filter over
// events scattered across minute and hour boundaries.
func TestTimeRange(t *testing.T) {
	base := mustTime(t, "2026-11-22T21:58:00Z")
	var evs []*classify.Event
	var times []time.Time
	for i := 0; i < 400; i++ {
		// Clustered around boundaries: xx:59:59.9, xx:00:00, odd nanoseconds.
		at := base.Add(time.Duration(i*i) * 777_777_777 % (6 * time.Hour))
		if i%7 == 0 {
			at = at.Truncate(time.Minute)
		}
		if i%11 == 0 {
			at = at.Truncate(time.Hour).Add(-time.Nanosecond)
		}
		times = append(times, at)
		evs = append(evs, &classify.Event{ID: fmt.Sprint("t", i), End: at, Cause: cause.Probe})
	}
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := Write(dir, evs); err != nil {
		t.Fatal(err)
	}
	r := openReader(t, dir)
	probe := append([]time.Time{{}}, times...)
	for i := 0; i < len(probe); i += 3 {
		for j := 0; j < len(probe); j += 29 {
			lo, hi := probe[i], probe[(j+i)%len(probe)]
			if i%2 == 1 && !lo.IsZero() {
				lo = lo.Add(time.Nanosecond)
			}
			if !lo.IsZero() && !hi.IsZero() && hi.Before(lo) {
				lo, hi = hi, lo
			}
			want := 0
			for _, at := range times {
				if (lo.IsZero() || !at.Before(lo)) && (hi.IsZero() || !at.After(hi)) {
					want++
				}
			}
			res, err := r.Search(context.Background(), Query{Since: lo, Until: hi}, SearchOptions{Limit: 1}, func(*classify.Event) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != uint64(want) {
				t.Errorf("[%v, %v]: %d events, want %d", lo, hi, res.Total, want)
			}
		}
	}
}

func TestRetain(t *testing.T) {
	dir, _ := writeFixture(t)
	// Things that are not shards must survive.
	foreign := []string{"notes.txt", "events-2026-11-19.bleve.bak", "events-garbage.bleve", "events-2026-02-30.bleve"}
	for _, f := range foreign {
		if err := os.MkdirAll(filepath.Join(dir, f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w, err := OpenWriter(dir, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	removed, err := w.Retain(mustTime(t, "2026-11-22T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range removed {
		names = append(names, s.Name())
	}
	if want := "events-2026-11-20.bleve events-2026-11-21.bleve"; strings.Join(names, " ") != want {
		t.Errorf("removed %v, want %s", names, want)
	}
	ents, _ := os.ReadDir(dir)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	want := "events-2026-02-30.bleve events-2026-11-19.bleve.bak events-2026-11-22.bleve events-2026-11-23.bleve events-garbage.bleve notes.txt sshwhy-index.json writer.lock"
	if got := strings.Join(left, " "); got != want {
		t.Errorf("left %s\nwant %s", got, want)
	}
	r := openReader(t, dir)
	got, err := ids(t, r, Query{}, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(got, ""); s != "cdef" {
		t.Errorf("after retention found %q, want cdef", s)
	}
	// A cutoff inside a day keeps that day's shard.
	w, err = OpenWriter(dir, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	removed, err = w.Retain(mustTime(t, "2026-11-22T23:59:59Z"))
	if err != nil || len(removed) != 0 {
		t.Errorf("cutoff inside a day removed %v (%v)", removed, err)
	}
	w.Close()
}

func TestNotBefore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if st := writeEvents(t, dir, fixture(t), WriterOptions{NotBefore: mustTime(t, "2026-11-22T00:00:00Z")}); st.Added != 4 || st.Skipped != 2 {
		t.Errorf("stats %+v, want 4 added, 2 skipped", st)
	}
	if n := docCount(t, dir); n != 4 {
		t.Errorf("%d documents, want 4", n)
	}
}

func TestEventWithoutTime(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	w, err := OpenWriter(dir, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*classify.Event{
		{ID: "none", Cause: cause.Unknown},
		{ID: "far", Cause: cause.Unknown, End: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "bad start", Cause: cause.Unknown, End: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Start: time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "start only", Cause: cause.Unknown, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.NoTime != 3 || st.Added != 1 {
		t.Errorf("stats %+v, want 3 without time, 1 added", st)
	}
	if err := w.Add(&classify.Event{End: time.Now()}); err == nil {
		t.Error("Add after Close did not fail")
	}
}

func TestEmptyResults(t *testing.T) {
	dir, _ := writeFixture(t)
	r := openReader(t, dir)
	res, err := r.Search(context.Background(), Query{Since: mustTime(t, "2030-01-01T00:00:00Z")}, SearchOptions{}, func(*classify.Event) error {
		t.Error("callback for an empty result")
		return nil
	})
	if err != nil || res.Total != 0 || res.Shards != 0 {
		t.Errorf("result %+v, %v", res, err)
	}
	c, err := r.Count(context.Background(), Query{Since: mustTime(t, "2030-01-01T00:00:00Z")}, FieldCause, 0)
	if err != nil || c.Total != 0 || len(c.Buckets) != 0 {
		t.Errorf("count %+v, %v", c, err)
	}
}

// writeEvents indexes evs into dir with opt and returns the writer's stats.
func writeEvents(t *testing.T, dir string, evs []*classify.Event, opt WriterOptions) WriterStats {
	t.Helper()
	w, err := OpenWriter(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Stats()
}

// segments counts the segment files of each shard in dir.
func segments(t *testing.T, dir string) map[string]int {
	t.Helper()
	shards, err := listShards(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := make(map[string]int)
	for _, s := range shards {
		zaps, err := filepath.Glob(filepath.Join(s.Path, "store", "*.zap"))
		if err != nil {
			t.Fatal(err)
		}
		n[s.Name()] = len(zaps)
	}
	return n
}

// TestCompact checks that Close leaves each shard it wrote in one segment
// with every event findable, that NoCompact leaves bleve's segments, and
// that a shard a reader holds open is skipped, not waited for.
func TestCompact(t *testing.T) {
	evs := genEvents(3000, 2)
	write := func(dir string, opt WriterOptions) WriterStats {
		opt.BatchSize = 100 // many small segments
		return writeEvents(t, dir, evs, opt)
	}

	loose := t.TempDir()
	write(loose, WriterOptions{NoCompact: true})
	many := 0
	for _, n := range segments(t, loose) {
		many = max(many, n)
	}
	if many < 2 {
		t.Fatalf("without compaction the largest shard has %d segments; the test needs more", many)
	}

	dir := t.TempDir()
	st := write(dir, WriterOptions{})
	segs := segments(t, dir)
	if len(segs) < 2 || st.Compacted != len(segs) || st.CompactSkipped != 0 {
		t.Fatalf("stats %+v for shards %v", st, segs)
	}
	for name, n := range segs {
		if n != 1 {
			t.Errorf("shard %s has %d segments after compaction, want 1", name, n)
		}
	}
	if n := docCount(t, dir); n != uint64(len(evs)) {
		t.Fatalf("%d events after compaction, want %d", n, len(evs))
	}
	r := openReader(t, dir)
	for _, e := range evs[:50] {
		q := Query{IPs: []string{e.SrcIP}, Since: e.End, Until: e.End}
		if e.User != "" {
			q.Users = []string{e.User}
		}
		got, err := ids(t, r, q, SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(got, e.ID) {
			t.Errorf("event %s not found after compaction (got %v)", e.ID, got)
		}
	}

	// A reader of another process (here: a Reader with a store of its
	// own) that opened a shard after the writer closed it: the shard is
	// skipped at once, not waited for.
	if _, err := r.DocCount(time.Time{}, time.Time{}); err != nil { // opens every shard
		t.Fatal(err)
	}
	defer r.Close()
	w, err := OpenWriter(dir, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, s := range r.Shards() {
		start := time.Now()
		err := w.Compact(s.Day)
		if !errors.Is(err, ErrInUse) {
			t.Errorf("compacting %s held by a reader: %v, want ErrInUse", s.Name(), err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("compacting %s held by a reader took %v", s.Name(), d)
		}
	}
	if st := w.Stats(); st.CompactSkipped != len(r.Shards()) || st.Compacted != 0 {
		t.Errorf("stats %+v", st)
	}
}

// countEvents are genEvents with what the stored counts must cope with:
// a cause in both phases, events without a phase, without a cause,
// without a user; and no server_shutdown.
func countEvents(n, days int) []*classify.Event {
	evs := genEvents(n, days)
	for i, e := range evs {
		if e.Cause == cause.ServerShutdown {
			e.Cause = cause.Unknown
		}
		switch {
		case e.Cause == cause.NetworkReset && i%2 == 0:
			e.Phase, e.User = cause.Postauth, "carol"
		case i%97 == 0:
			e.Phase = ""
		case i%89 == 0:
			e.Cause = ""
		}
	}
	return evs
}

// countSelections are the queries besides time whose counts come from
// the stored counts of whole days (and one that does not).
var countSelections = []Query{
	{},
	{Causes: []cause.Cause{cause.AuthFailure}},
	{Causes: []cause.Cause{cause.NetworkReset}},
	{Causes: []cause.Cause{cause.UserLogout, cause.Probe, cause.PacketCorruption}},
	{Phases: []string{string(cause.Postauth)}},
	{Phases: []string{string(cause.Preauth)}, Causes: []cause.Cause{cause.NetworkReset, cause.AuthFailure}},
	{Causes: []cause.Cause{cause.ServerShutdown}}, // none in the events
	{Hosts: []string{"web1"}, Phases: []string{string(cause.Postauth)}},
}

// TestCountWithoutSearch checks that counts of whole days taken without a
// search (term dictionaries; counts stored by compaction, for all events
// and per cause and phase) equal those of a search over the events, for
// every key, over whole, partial and open ranges and with limits, also
// while replaced events are still in the shards as deleted documents (the
// dictionaries would count them) and after events were added to a day
// without compaction (the stored counts are then out of date).
func TestCountWithoutSearch(t *testing.T) {
	evs := countEvents(4000, 3)
	day := evs[0].End.Truncate(24 * time.Hour)
	ranges := []Query{
		{},
		{Since: day, Until: day.Add(24*time.Hour - time.Nanosecond)},
		{Since: day.Add(24 * time.Hour), Until: day.Add(72 * time.Hour)},
		{Since: day.Add(30 * time.Hour)},
		{Since: day.Add(90 * time.Minute), Until: day.Add(50 * time.Hour)},
		{Until: day.Add(36 * time.Hour)},
	}
	ctx := context.Background()
	// compare checks every range, selection, key and limit; it returns
	// the keys that some shard counted without a search, by selection.
	compare := func(t *testing.T, dir string) map[string]bool {
		t.Helper()
		r := openReader(t, dir)
		fast := make(map[string]bool)
		for _, rq := range ranges {
			for si, sq := range countSelections {
				q := sq
				q.Since, q.Until = rq.Since, rq.Until
				for _, by := range CountKeys {
					fastCounts = false
					want, err := r.Count(ctx, q, by, 0)
					fastCounts = true
					if err != nil {
						t.Fatal(err)
					}
					hits := 0
					for _, b := range want.Buckets {
						hits += b.Count
					}
					if sq.Causes == nil || sq.Causes[0] != cause.ServerShutdown {
						if want.Total == 0 || hits == 0 {
							t.Fatalf("count by %s of %s: nothing counted", by, describe(q))
						}
					}
					if sel, ok := q.selection(); ok {
						hs, err := r.st.acquireRead(q.Since, q.Until)
						if err != nil {
							t.Fatal(err)
						}
						for _, h := range hs {
							var c Counts
							if _, ok := shardCount(h, q.Since, q.Until, by, sel, &c); ok {
								fast[fmt.Sprint(si, by)] = true
							}
						}
						r.st.release(hs...)
					}
					got, err := r.Count(ctx, q, by, 0)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("count by %s of %s: without search %+v, the search %+v", by, describe(q), got, want)
					}
					for _, limit := range []int{1, 3} {
						lc, err := r.Count(ctx, q, by, limit)
						if err != nil {
							t.Fatal(err)
						}
						w := want
						w.Buckets, w.Other = want.Buckets, 0
						if len(w.Buckets) > limit {
							for _, b := range w.Buckets[limit:] {
								w.Other += b.Count
							}
							w.Buckets = w.Buckets[:limit]
						}
						if !reflect.DeepEqual(lc, w) {
							t.Errorf("count by %s of %s, limit %d: %+v, want %+v", by, describe(q), limit, lc, w)
						}
					}
				}
			}
		}
		return fast
	}
	// firstDay tells whether the first day's count by by of sel came
	// without a search.
	firstDay := func(t *testing.T, dir string, sel Query, by string) bool {
		t.Helper()
		r := openReader(t, dir)
		q := sel
		q.Since, q.Until = day, day.Add(24*time.Hour-time.Nanosecond)
		s, _ := q.selection()
		hs, err := r.st.acquireRead(q.Since, q.Until)
		if err != nil {
			t.Fatal(err)
		}
		defer r.st.release(hs...)
		var c Counts
		_, ok := shardCount(hs[0], q.Since, q.Until, by, s, &c)
		return ok
	}
	dir := t.TempDir()
	writeEvents(t, dir, evs, WriterOptions{})
	t.Run("compacted", func(t *testing.T) {
		fast := compare(t, dir)
		for si := range countSelections[:len(countSelections)-1] {
			for _, by := range CountKeys {
				if !fast[fmt.Sprint(si, by)] {
					t.Errorf("count by %s of %s: never without a search", by, describe(countSelections[si]))
				}
			}
		}
	})
	writeEvents(t, dir, evs[:1000], WriterOptions{NoCompact: true}) // replaced: deleted documents remain
	t.Run("with deleted documents", func(t *testing.T) {
		compare(t, dir) // the days without replaced events still count fast
		for _, by := range CountKeys {
			if firstDay(t, dir, Query{}, by) {
				t.Errorf("count by %s: the first day was counted without search though it has replaced events", by)
			}
		}
	})
	writeEvents(t, dir, nil, WriterOptions{}) // nothing written: nothing compacted
	more := countEvents(300, 1)
	for _, e := range more {
		e.ID = "more-" + e.ID
	}
	writeEvents(t, dir, evs[:1000], WriterOptions{})          // compacted again
	writeEvents(t, dir, more, WriterOptions{NoCompact: true}) // a second segment, no deletions
	t.Run("events added since compaction", func(t *testing.T) {
		compare(t, dir)
		for _, sel := range countSelections[:6] {
			for _, by := range []string{FieldSrcIP, FieldUser, FieldDuration} {
				if firstDay(t, dir, sel, by) {
					t.Errorf("count by %s of %s: out-of-date stored counts used", by, describe(sel))
				}
			}
		}
		if !firstDay(t, dir, Query{}, FieldCause) {
			t.Errorf("count by cause: the dictionaries of the first day were not used")
		}
	})
}

// TestStoredCountsDamaged: a stored counts file that is cut or altered
// anywhere is never used wrongly: the count equals the search's, and
// nothing panics.
func TestStoredCountsDamaged(t *testing.T) {
	evs := countEvents(400, 1)
	dir := t.TempDir()
	writeEvents(t, dir, evs, WriterOptions{})
	shards, err := listShards(dir)
	if err != nil || len(shards) != 1 {
		t.Fatalf("shards %v %v", shards, err)
	}
	path := filepath.Join(shards[0].Path, countsFileName)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	day := evs[0].End.Truncate(24 * time.Hour)
	q := Query{Since: day, Until: day.Add(24*time.Hour - time.Nanosecond), Causes: []cause.Cause{cause.AuthFailure, cause.NetworkReset}}
	r := openReader(t, dir)
	want := map[string]Counts{}
	for _, by := range CountKeys {
		fastCounts = false
		c, err := r.Count(context.Background(), q, by, 0)
		fastCounts = true
		if err != nil {
			t.Fatal(err)
		}
		want[by] = c
	}
	rng := rand.New(rand.NewSource(1))
	check := func(what string, b []byte) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o640); err != nil {
			t.Fatal(err)
		}
		for _, by := range CountKeys {
			c, err := r.Count(context.Background(), q, by, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c, want[by]) {
				t.Fatalf("%s: count by %s %+v, want %+v", what, by, c, want[by])
			}
		}
	}
	check("intact", orig)
	sel, _ := q.selection()
	hs, err := r.st.acquireRead(q.Since, q.Until)
	if err != nil {
		t.Fatal(err)
	}
	for _, by := range CountKeys {
		var c Counts
		if _, ok := shardCount(hs[0], q.Since, q.Until, by, sel, &c); !ok {
			t.Errorf("count by %s: the intact stored counts were not used", by)
		}
	}
	r.st.release(hs...)
	for i := 0; i < 300; i++ {
		b := slices.Clone(orig)
		at := rng.Intn(len(b))
		switch i % 3 {
		case 0:
			b = b[:at]
		case 1:
			b[at] ^= byte(1 + rng.Intn(255))
		default:
			b = append(b[:at], b[at+1:]...)
		}
		check(fmt.Sprintf("damage %d (%d)", i, at), b)
	}
}

// TestCountManyValues counts values of one document next to values of
// many in a compacted day: the dictionary's own counts go wrong there
// (see dictBuckets).
func TestCountManyValues(t *testing.T) {
	base := mustTime(t, "2026-11-20T10:00:00Z")
	var evs []*classify.Event
	add := func(ip, user string, n int) {
		for i := 0; i < n; i++ {
			at := base.Add(time.Duration(len(evs)) * time.Second)
			evs = append(evs, &classify.Event{Start: at, End: at, Host: "h", PID: 100 + len(evs), SrcIP: ip, SrcPort: 1000 + len(evs),
				User: user, Cause: cause.AuthFailure, Confidence: "certain", Phase: "preauth"})
		}
	}
	add("1.1.1.1", "a", 1)
	add("2.2.2.2", "b", 5)
	add("3.3.3.3", "a", 1)
	add("4.4.4.4", "c", 3)
	// Small batches: several segments, merged into one on Close.
	dir := t.TempDir()
	st := writeEvents(t, dir, evs, WriterOptions{BatchSize: 3})
	if segs := segments(t, dir); len(segs) != 1 || st.Compacted != 1 {
		t.Fatalf("segments %v, stats %+v", segs, st)
	}
	r := openReader(t, dir)
	day := Query{Since: base.Truncate(24 * time.Hour), Until: base.Truncate(24 * time.Hour).Add(24*time.Hour - time.Nanosecond)}
	for _, tt := range []struct {
		by   string
		want []Bucket
	}{
		{FieldSrcIP, []Bucket{{"2.2.2.2", 5}, {"4.4.4.4", 3}, {"1.1.1.1", 1}, {"3.3.3.3", 1}}},
		{FieldUser, []Bucket{{"b", 5}, {"c", 3}, {"a", 2}}},
	} {
		c, err := r.Count(context.Background(), day, tt.by, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c.Buckets, tt.want) || c.Total != 10 || c.Missing != 0 {
			t.Errorf("count by %s: %+v, want %+v", tt.by, c, tt.want)
		}
	}
}

// TestRetainWhatWasWritten: shards written and then removed by Retain in
// the same session are not compacted (nor an error) on Close.
func TestRetainWhatWasWritten(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(dir, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range fixture(t) {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := w.Retain(mustTime(t, "2026-11-22T00:00:00Z"))
	if err != nil || len(removed) != 2 {
		t.Fatalf("removed %v (%v)", removed, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close after Retain: %v", err)
	}
	if st := w.Stats(); st.Compacted != 2 {
		t.Errorf("stats %+v, want the 2 remaining shards compacted", st)
	}
}

// TestEmptyClauses: a clause that matches nothing in a shard (a range
// beyond every value, a word no event has), of every field type, leaves
// a conjunction empty, an alternative absent and an exclusion void; it
// is never dropped so that the rest of the query widens (bleve's
// BooleanQuery did that with a clause whose searcher matched nothing).
func TestEmptyClauses(t *testing.T) {
	dir, _ := writeFixture(t)
	r := openReader(t, dir)
	empty := []string{
		"src_port:>70000", "pid:>999999", "duration_s:>100000", "auth_failures:>100", "duration_s:<0",
		`start:>"2030-01-01T00:00:00Z"`, `end:>"2030-01-01T00:00:00Z"`, `end:<"2000-01-01T00:00:00Z"`,
		`hour:>"2030-01-01T00"`, "user:nobody", "zzzz", `"no such phrase"`, "user:zz*", "detail:/zz.*/",
	}
	shapes := []struct {
		text string // X is the empty clause
		q    Query
		want string
	}{
		{text: "X -cause:probe", want: ""},
		{text: "X", want: ""},
		{text: "+X +host:web1", want: ""},
		{text: "+host:web1 +X", want: ""},
		{text: "+host:web1 -X", want: "bdf"},
		{text: "-X", want: "abcdef"},
		{text: "X host:web1", want: "bdf"},
		{text: "+X +host:web1", q: Query{Since: mustTime(t, "2026-11-20T00:00:00Z"), Until: mustTime(t, "2026-11-24T00:00:00Z")}, want: ""},
		{text: "X -cause:probe", q: Query{Since: mustTime(t, "2026-11-22T06:00:00Z")}, want: ""},
		{text: "-X", q: Query{Until: mustTime(t, "2026-11-22T00:00:00Z")}, want: "abc"},
		{text: "X", q: Query{Causes: []cause.Cause{cause.AuthFailure}}, want: ""},
		{text: "-X", q: Query{Hosts: []string{"web1"}}, want: "bdf"},
	}
	for _, x := range empty {
		for _, s := range shapes {
			q := s.q
			q.Text = strings.ReplaceAll(s.text, "X", x)
			got, err := ids(t, r, q, SearchOptions{Sort: FieldEnd})
			if err != nil {
				t.Errorf("%s: %v", describe(q), err)
				continue
			}
			if g := strings.Join(got, ""); g != s.want {
				t.Errorf("%s: got %q, want %q", describe(q), g, s.want)
			}
		}
	}
}

// A daemon's writer (the agent) closes without compacting today's shard:
// on a busy day that merge took minutes and GBs. Older days are compacted
// on Close, and yesterday's shard, written by an earlier run, is too.
func TestDaemonClose(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	at := func(days int) *classify.Event {
		e := &classify.Event{ID: fmt.Sprint("d", days), Host: "h", PID: 100 + days, SrcIP: "192.0.2.1", SrcPort: 4000 + days,
			Cause: cause.Probe, Phase: cause.Preauth, Confidence: "certain"}
		e.End = dayOf(now).AddDate(0, 0, -days).Add(time.Minute) // whatever the hour of the test
		e.Start = e.End
		return e
	}
	counted := func(day time.Time) bool {
		_, err := os.Stat(filepath.Join(dir, shardName(day), countsFileName))
		return err == nil
	}
	// An earlier run (not a daemon, no compaction) wrote yesterday.
	writeEvents(t, dir, []*classify.Event{at(1)}, WriterOptions{NoCompact: true})
	if counted(now.AddDate(0, 0, -1)) {
		t.Fatal("yesterday compacted by a NoCompact writer")
	}
	writeEvents(t, dir, []*classify.Event{at(0), at(3)}, WriterOptions{Daemon: true, CompactAfter: -1})
	for _, c := range []struct {
		days int
		want bool
	}{{0, false}, {1, true}, {3, true}} {
		if got := counted(now.AddDate(0, 0, -c.days)); got != c.want {
			t.Errorf("%d days ago: compacted %v, want %v", c.days, got, c.want)
		}
	}
	if n := docCount(t, dir); n != 3 {
		t.Errorf("%d events, want 3", n)
	}
}
