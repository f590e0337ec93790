package index

import (
	"errors"
	"net"
	"strings"
	"testing"
)

func TestParseText(t *testing.T) {
	tests := []struct {
		in   string
		want []Clause
	}{
		{"word", []Clause{{Field: FieldLines, Value: "word"}}},
		{`+user:"john smith" -cause:probe`, []Clause{
			{Occur: Must, Field: FieldUser, Value: "john smith"},
			{Occur: MustNot, Field: FieldCause, Value: "probe"}}},
		{"src_ip:2001:db8::1", []Clause{{Field: FieldSrcIP, Value: "2001:db8::1"}}},
		{`src_ip:2001\:db8\:\:1`, []Clause{{Field: FieldSrcIP, Value: "2001:db8::1"}}},
		{`user:o\"brien`, []Clause{{Field: FieldUser, Value: `o"brien`}}},
		{`user:"o\"brien"`, []Clause{{Field: FieldUser, Value: `o"brien`}}},
		{`user:a\\b`, []Clause{{Field: FieldUser, Value: `a\b`}}},
		{`user:a\qb`, []Clause{{Field: FieldUser, Value: `a\qb`}}}, // bleve keeps \ before other characters
		{`user:ro*t?`, []Clause{{Field: FieldUser, Op: OpWildcard, Value: "ro*t?"}}},
		{`user:r\*o*`, []Clause{{Field: FieldUser, Op: OpWildcard, Value: `r\*o*`}}},
		{`user:"ro*"`, []Clause{{Field: FieldUser, Value: "ro*"}}},
		{`user:/r[o]+t/`, []Clause{{Field: FieldUser, Op: OpRegexp, Value: "r[o]+t"}}},
		{`/a\/b/`, []Clause{{Field: FieldLines, Op: OpRegexp, Value: "a/b"}}},
		{"user:alice~", []Clause{{Field: FieldUser, Op: OpFuzzy, Value: "alice", Fuzziness: 1}}},
		{"user:alice~2", []Clause{{Field: FieldUser, Op: OpFuzzy, Value: "alice", Fuzziness: 2}}},
		{"user:alice~0", []Clause{{Field: FieldUser, Value: "alice"}}},
		{"duration_s:>=3600", []Clause{{Field: FieldDuration, Op: OpRange, Min: "3600", MinIncl: true}}},
		{"pid:<-5", []Clause{{Field: FieldPID, Op: OpRange, Max: "-5"}}},
		{`end:<="2026-11-23T10:00:00Z"`, []Clause{{Field: FieldEnd, Op: OpRange, Max: "2026-11-23T10:00:00Z", MaxIncl: true}}},
		{"end:>2026-11-23T10:00:00+01:00", []Clause{{Field: FieldEnd, Op: OpRange, Min: "2026-11-23T10:00:00+01:00"}}},
		{"  a\tb  ", []Clause{{Field: FieldLines, Value: "a"}, {Field: FieldLines, Value: "b"}}},
		{`"AND"`, []Clause{{Field: FieldLines, Value: "AND"}}},
		{`\AND`, []Clause{{Field: FieldLines, Value: `\AND`}}},
		{"and", []Clause{{Field: FieldLines, Value: "and"}}},
		{`\(a\)`, []Clause{{Field: FieldLines, Value: "(a)"}}},
		{"-a -b", []Clause{{Occur: MustNot, Field: FieldLines, Value: "a"}, {Occur: MustNot, Field: FieldLines, Value: "b"}}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := ParseText(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		for i := range got {
			got[i].text = ""
		}
		if len(got) != len(tt.want) {
			t.Errorf("%q: %+v, want %+v", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%q: clause %d is %+v, want %+v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

// TestParseTextErrors: malformed and meaningless texts are refused with a
// message that names the problem.
func TestParseTextErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"(", `"(": parentheses do not group terms`},
		{"(a b)", "parentheses do not group terms"},
		{"user:(root)", "parentheses do not group terms"},
		{"/[a-z/", `"/[a-z/": bad regexp: error parsing regexp: missing closing ]`},
		{"user:/a\\b/", "bad regexp"}, // word boundaries: vellum has none
		{"user:/abc", "the regexp has no closing /"},
		{"/usr/sbin/sshd", `unexpected "sbin/sshd"`},
		{"caus:client_timeout", `unknown field "caus" (fields: cause, user, src_ip, ip, remote, host,`},
		{"2001:db8::1", `unknown field "2001"`},
		{"cause:client_timout", `unknown cause "client_timout" (causes: user_logout, auth_failure,`},
		{`cause:"client_timout"`, `unknown cause "client_timout"`},
		{"phase:during", `unknown phase "during" (phases: preauth, postauth)`},
		{"confidence:sure", `unknown confidence "sure" (confidences: certain, inferred)`},
		{"probe AND vm", "AND is not an operator in this syntax: write +term"},
		{"probe OR vm", "OR is not an operator"},
		{"NOT probe", "NOT is not an operator"},
		{"a && b", "&& is not an operator"},
		{"a || b", "|| is not an operator"},
		{"!probe", "! is not an operator in this syntax: write -term"},
		{"+host:vm user:root", `"user:root" has no sign, but "+host:vm" is required (+)`},
		{"probe^2", "a boost (^) only changes ranking"},
		{`"a b"~2`, "~ (fuzzy) follows an unquoted word"},
		{"user:root~3", "fuzziness is 0, 1 or 2 edits"},
		{"a~1 b", ""}, // fine
		{"- probe", "a lone -: write -term"},
		{"+", "a lone +"},
		{"+-a", "one sign per term"},
		{"user:", `"user:": user: needs a value (-user:* finds events without one)`},
		{`user:""`, "empty value"},
		{`"Connection closed`, "unterminated quote"},
		{`a\`, "ends in a lone backslash"},
		{`"a"b`, `unexpected "b"`},
		{"...", `"..." has no letters or digits to search for`},
		{`"[]"`, "has no letters or digits"},
		{"pid:abc", `pid takes a number, not "abc"`},
		{"pid:1.5", "pid compares a whole number"},
		{"duration_s:1.5", "duration_s compares whole seconds"},
		{"duration_s:>abc", `duration_s takes a number, not "abc"`},
		{"pid:NaN", "takes a number"},
		{"pid:ro*", "pid takes a number or a range"},
		{"end:2026", `end takes an RFC 3339 time (2026-11-23T10:00:00Z) or a UTC date (2026-11-23), not "2026"`},
		{`end:>"yesterday"`, `not "yesterday"`},
		{"end:2026-11-*", "end takes a time or a range"},
		{"user:>m", "ranges compare numbers, times and hours; user is a name"},
		{"lines:>5", "lines is text: ranges compare numbers, times and hours"},
		{"hour:12", `hour is a UTC hour written like 2026-11-23T10`},
		{"hour:>2026-11-23", "hour compares UTC hours"},
		{"hour:2026-11-23T10~1", "hour takes an hour"},
		{"ip:nope", `"nope" is neither an IP address nor a CIDR prefix`},
		{"ip:10.0.0.0/33", "neither"},
		{"ip:fe80::1%eth0", "has a zone"},
		{"ip:10.*", "ip takes an address or a CIDR prefix"},
		{"user:>", "the range needs a bound"},
		{`detail:"a b"~`, "~ (fuzzy) follows an unquoted word"},
		{"lines:a/b~1", "~ (fuzzy) takes one word"},
	}
	for _, tt := range tests {
		_, err := ParseText(tt.in)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.in, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%q: no error, want %q", tt.in, tt.want)
			continue
		}
		if !errors.Is(err, ErrBadQuery) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.in, err, tt.want)
		}
	}
}

// FuzzParseText: any text parses or gives an error wrapping ErrBadQuery,
// never a panic; what parses compiles; invalid UTF-8 survives unchanged.
func FuzzParseText(f *testing.F) {
	for _, s := range []string{"word", `+user:"john smith" -cause:probe`, "src_ip:2001:db8::1", `user:a\*b*`,
		"end:>=2026-11-23", "hour:2026-11-23T*", "/re/", `"\xff\xfe"`, `user:\` + "\xff", "a~2", "(", "pid:>-1e308"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseText(s)
		if err != nil {
			if !errors.Is(err, ErrBadQuery) {
				t.Fatalf("%q: %v does not wrap ErrBadQuery", s, err)
			}
			return
		}
		if _, err := textQuery(cs); err != nil {
			t.Fatalf("%q parsed but does not compile: %v", s, err)
		}
	})
}

// A prefix's first and last term in the IP field: 16 bytes, IPv4 as
// IPv4-mapped, as bleve indexes net.IP.
func TestCIDRTermRange(t *testing.T) {
	for _, tc := range []struct{ q, lo, hi string }{
		{"203.0.113.0/24", "203.0.113.0", "203.0.113.255"},
		{"203.0.113.77/20", "203.0.112.0", "203.0.127.255"},
		{"198.51.100.4", "198.51.100.4", "198.51.100.4"},
		{"::ffff:203.0.113.0/120", "203.0.113.0", "203.0.113.255"},
		{"0.0.0.0/0", "0.0.0.0", "255.255.255.255"},
		{"2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	} {
		q, err := ipQuery(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := q.(*cidrQuery).termRange()
		if !net.IP(lo).Equal(net.ParseIP(tc.lo)) || !net.IP(hi).Equal(net.ParseIP(tc.hi)) || len(lo) != 16 || len(hi) != 16 {
			t.Errorf("%s: terms %v .. %v, want %s .. %s", tc.q, net.IP(lo), net.IP(hi), tc.lo, tc.hi)
		}
	}
}
