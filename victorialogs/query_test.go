package victorialogs

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/index"
)

// TestFilter pins the LogsQL of each kind of query (the meaning is proven
// against the local index in cmd/sshwhy's TestFleetSameAnswers).
func TestFilter(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		q    index.Query
		want string
	}{
		{index.Query{}, `*`},
		{index.Query{Since: t0, Until: t0.Add(time.Hour)}, `_time:[2026-11-23T10:00:00.000000000Z, 2026-11-23T11:00:00.000000000Z]`},
		{index.Query{Since: t0}, `_time:>=2026-11-23T10:00:00.000000000Z`},
		{index.Query{Causes: []cause.Cause{cause.Probe, cause.AuthFailure}}, `cause:in("probe", "auth_failure")`},
		{index.Query{IPs: []string{"203.0.113.0/24"}}, `ip:ipv6_range("::ffff:203.0.113.0", "::ffff:203.0.113.255")`},
		{index.Query{IPs: []string{"::ffff:203.0.113.0/120"}}, `ip:ipv6_range("::ffff:203.0.113.0", "::ffff:203.0.113.255")`},
		{index.Query{IPs: []string{"2001:db8::/32", "192.0.2.1"}}, `(ip:ipv6_range("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff") OR ip:ipv6_range("::ffff:192.0.2.1", "::ffff:192.0.2.1"))`},
		// An IPv6 prefix around the IPv4-mapped range leaves it out.
		{index.Query{IPs: []string{"::/0"}}, `(ip:ipv6_range("::", "::fffe:ffff:ffff") OR ip:ipv6_range("::1:0:0:0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))`},
		{index.Query{IPs: []string{"::/96"}}, `ip:ipv6_range("::", "::ffff:ffff")`},
		{index.Query{Users: []string{"root", "a\"b\x1b"}}, `user:in("root", "a\"b\x1b")`},
		{index.Query{Users: []string{""}}, matchNone},
		{index.Query{Hosts: []string{"web1"}, Phases: []string{"preauth"}}, `host:in("web1") AND phase:in("preauth")`},
		{index.Query{Text: "cause:probe -user:root"}, `(cause:="probe" AND NOT user:="root")`},
		{index.Query{Text: "cause:probe user:root"}, `(cause:="probe" OR user:="root")`},
		{index.Query{Text: "+cause:probe +user:root -host:a -host:b"}, `(cause:="probe" AND user:="root" AND NOT (host:="a" OR host:="b"))`},
		{index.Query{Text: "-cause:probe"}, `(* AND NOT cause:="probe")`},
		{index.Query{Text: "src_ip:192.0.2.1"}, `src_ip:in("192.0.2.1", "::ffff:192.0.2.1")`},
		{index.Query{Text: "src_ip:::ffff:192.0.2.1"}, `src_ip:in("192.0.2.1", "::ffff:192.0.2.1")`},
		{index.Query{Text: "src_ip:2001:DB8::1"}, `src_ip:="2001:db8::1"`},
		{index.Query{Text: "duration_s:>60"}, `duration_key:>=61`},
		{index.Query{Text: "duration_s:7"}, `duration_key:=7`},
		{index.Query{Text: "duration_s:>=1.5"}, `duration_key:>=2`},
		{index.Query{Text: "pid:<100"}, `pid:range[0, 99]`},
		{index.Query{Text: "pid:<0"}, matchNone},
		{index.Query{Text: "auth_failures:>=0"}, `auth_failures:*`},
		{index.Query{Text: `end:>="2026-11-23T10:00:00Z"`}, `_time:>=2026-11-23T10:00:00.000000000Z`},
		{index.Query{Text: `end:2026-11-23`}, `_time:[2026-11-23T00:00:00.000000000Z, 2026-11-23T23:59:59.999999999Z]`},
		{index.Query{Text: `end:>2026-11-23`}, `_time:>=2026-11-24T00:00:00.000000000Z`},
		{index.Query{Text: `end:<0001-01-01`}, matchNone},
		{index.Query{Text: `end:>=1500-01-01`}, `*`},
		{index.Query{Text: `start:>=2026-11-23 +cause:probe`}, ``}, // refused by the index: unsigned next to +
		{index.Query{Text: `+start:<2026-11-23T10:00:00Z`}, `start_utc:string_range("0", "2026-11-23T10:00:00.000000000Z")`},
		{index.Query{Text: `start:2026-11-23`}, `start_utc:string_range("2026-11-23T00:00:00.000000000Z", "2026-11-24T00:00:00.000000000Z")`},
		{index.Query{Text: `hour:2026-11-23T10`}, `hour:="2026-11-23T10"`},
		{index.Query{Text: `hour:>2026-11-23T10`}, `_time:>=2026-11-23T11:00:00.000000000Z`},
		{index.Query{Text: `hour:<=2026-11-23T10`}, `_time:<=2026-11-23T10:59:59.999999999Z`},
		{index.Query{Text: "auth_method:publickey"}, `auth_methods:json_array_contains_any("publickey")`},
		{index.Query{Text: `ip:"10.0.0.0/8"`}, `ip:ipv6_range("::ffff:10.0.0.0", "::ffff:10.255.255.255")`},
		{index.Query{Text: "user:ro*"}, `user:~"^(?:(?s:ro.*))$"`},
		{index.Query{Text: "user:*"}, `(user:* AND user:~"^(?:(?s:.*))$")`},
		{index.Query{Text: `user:a\*?`}, `user:~"^(?:(?s:a\\*.))$"`},
		{index.Query{Text: "user:/r.o[t]+/"}, `user:~"^(?:r[^\\n]ot+)$"`},
		{index.Query{Text: "user:ab~1"}, `user:~"^(?:(?s:a(?:b.{0,1}|.?|.b)|.?b|.ab|ba))$"`},
	}
	for _, tt := range tests {
		got, err := Filter(tt.q)
		if tt.want == "" {
			if !errors.Is(err, index.ErrBadQuery) {
				t.Errorf("%+v: %q, %v, want the index's refusal", tt.q, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q:\n got %s (%v)\nwant %s", tt.q.Text, got, err, tt.want)
		}
	}
	// Free text and patterns over a JSON array have no exact translation:
	// refused, naming --logsql.
	for _, text := range []string{`"too many"`, "closed", "lines:x", "detail:x", "lines:clo*", "auth_method:pass*", "auth_method:/p.*/"} {
		_, err := Filter(index.Query{Text: text})
		if !errors.Is(err, index.ErrBadQuery) || !strings.Contains(err.Error(), "--logsql") {
			t.Errorf("%s: %v, want a bad query naming --logsql", text, err)
		}
	}
	// What the index refuses is refused with its own message.
	for _, text := range []string{"nosuch:x", "cause:>3", "+pid:1.5 +cause:probe", "user:a AND user:b", "+cause:probe user:root", "hour:2026"} {
		_, err := Filter(index.Query{Text: text})
		want := (&index.Query{Text: text}).Validate()
		if want == nil || err == nil || err.Error() != want.Error() {
			t.Errorf("%s: %v, want the index's %v", text, err, want)
		}
	}
}

// TestFuzzyRegexp: the values within k edits of a word, as the index's
// automaton counts them (restricted Damerau-Levenshtein over runes).
func TestFuzzyRegexp(t *testing.T) {
	tests := []struct {
		w    string
		k    int
		yes  []string
		none []string
	}{
		{"root", 1, []string{"root", "rot", "roots", "xoot", "orot", "rooot", "roo", "r0ot"}, []string{"ro", "oort", "rooott", "toor", ""}},
		{"root", 2, []string{"ro", "oort", "rooott", "rt", "orto", "oo"}, []string{"r", "toorx", "abcd"}},
		{"ca", 2, []string{"ac", "a", "", "cab", "xca"}, []string{"abc"}}, // abc is 3 edits when a swapped pair is not edited again
		{"é", 1, []string{"e", "éé", "", "x"}, []string{"xy"}},
		{"a.b", 1, []string{"a.b", "axb", "ab"}, []string{"xyb"}},
	}
	for _, tt := range tests {
		re := regexp.MustCompile("^(?:" + fuzzyRegexp(tt.w, tt.k) + ")$")
		for _, s := range tt.yes {
			if !re.MatchString(s) {
				t.Errorf("%q~%d does not match %q", tt.w, tt.k, s)
			}
		}
		for _, s := range tt.none {
			if re.MatchString(s) {
				t.Errorf("%q~%d matches %q", tt.w, tt.k, s)
			}
		}
	}
}
