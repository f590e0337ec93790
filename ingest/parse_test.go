package ingest

import (
	"reflect"
	"testing"
	"time"
	"unsafe"
)

// ts parses an RFC 3339 time for expectations.
func ts(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// within reports whether sub lies inside s in memory (a substring that
// costs no allocation). The empty string always does.
func within(s, sub string) bool {
	if len(sub) == 0 {
		return true
	}
	b := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	p := uintptr(unsafe.Pointer(unsafe.StringData(sub)))
	return p >= b && p+uintptr(len(sub)) <= b+uintptr(len(s))
}

// checkLine asserts what holds for every Line.
func checkLine(t testing.TB, l Line) {
	t.Helper()
	for name, sub := range map[string]string{"Host": l.Host, "Program": l.Program, "Message": l.Message} {
		if !within(l.Raw, sub) {
			t.Errorf("%s %q is not a substring of Raw %q", name, sub, l.Raw)
		}
	}
	if l.Prec < -1 || l.Prec > 9 {
		t.Errorf("Prec %d out of range in %q", l.Prec, l.Raw)
	}
	if (l.Prec == -1) != l.Time.IsZero() {
		t.Errorf("Prec %d with Time %v in %q", l.Prec, l.Time, l.Raw)
	}
	if l.Format == FormatUnknown && (l.Message != l.Raw || l.Program != "" || l.Host != "") {
		t.Errorf("unknown line with header fields: %+v", l)
	}
	if l.PID < 0 {
		t.Errorf("negative PID %d", l.PID)
	}
}

func TestParse(t *testing.T) {
	utc := time.UTC
	june := ts(t, "2023-06-10T00:00:00Z")
	tests := []struct {
		name string
		ref  time.Time
		raw  string
		want Line // Raw is filled in from raw; Time compared with Equal
	}{
		// BSD syslog
		{"bsd", june, "Jun  1 12:00:00 vm sshd[123]: Accepted publickey for root from 10.0.0.1 port 5 ssh2",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Prec: 0, Host: "vm", Program: "sshd", PID: 123, Message: "Accepted publickey for root from 10.0.0.1 port 5 ssh2"}},
		{"bsd zero-padded day", june, "Jun 01 12:00:00 vm sshd[1]: x",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", PID: 1, Message: "x"}},
		{"bsd unpadded day", june, "Jun 1 12:00:00 vm sshd[1]: x",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", PID: 1, Message: "x"}},
		{"bsd two-digit day", june, "Jun 10 23:59:59 vm sshd[1]: x",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-10T23:59:59Z"), Host: "vm", Program: "sshd", PID: 1, Message: "x"}},
		{"bsd pri", june, "<38>Jun  1 12:00:00 vm sshd[77]: x",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", PID: 77, Message: "x"}},
		{"bsd no host", june, "Jun  1 12:00:00 sshd[5]: Connection closed by 10.0.0.1 port 22",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Program: "sshd", PID: 5, Message: "Connection closed by 10.0.0.1 port 22"}},
		{"bsd no host, message with colon", june, "Jun  1 12:00:00 sshd[5]: error: kex_exchange_identification: read: Connection reset by peer",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Program: "sshd", PID: 5, Message: "error: kex_exchange_identification: read: Connection reset by peer"}},
		{"bsd freebsd -v facility", june, "Jun  1 12:00:00 <auth.info> bsd1 sshd[7]: Invalid user x from 192.0.2.1",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "bsd1", Program: "sshd", PID: 7, Message: "Invalid user x from 192.0.2.1"}},
		{"bsd freebsd -vv priority", june, "Jun  1 12:00:00 <4.6> bsd1 sshd[7]: x",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "bsd1", Program: "sshd", PID: 7, Message: "x"}},
		{"bsd solaris msgid", june, "Jun  1 12:00:00 sol sshd[9]: [ID 800047 auth.info] Failed none for root from 192.0.2.3 port 2 ssh2",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "sol", Program: "sshd", PID: 9, Message: "Failed none for root from 192.0.2.3 port 2 ssh2"}},
		{"bsd bracket text is not a solaris msgid", june, "Jun  1 12:00:00 sol sshd[9]: [IDx] y",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "sol", Program: "sshd", PID: 9, Message: "[IDx] y"}},
		{"bsd no pid", june, "Jun  1 12:00:00 vm sshd: x y",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", Message: "x y"}},
		{"bsd sshd-session", june, "Jun  1 12:00:00 vm sshd-session[3262]: Received disconnect from 127.0.0.1 port 53080:11: disconnected by user",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd-session", PID: 3262, Message: "Received disconnect from 127.0.0.1 port 53080:11: disconnected by user"}},
		{"bsd sshd-auth", june, "Jun  1 12:00:00 vm sshd-auth[9]: x",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd-auth", PID: 9, Message: "x"}},
		{"bsd pam style program", june, "Jun  1 12:00:00 vm sshd(pam_unix)[4242]: session closed for user bob",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", PID: 4242, Message: "session closed for user bob"}},
		{"bsd systemd user manager", june, "Jun  1 12:00:00 vm (systemd)[7339]: pam_unix(systemd-user:session): session opened for user bob(uid=1000) by (uid=0)",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "(systemd)", PID: 7339, Message: "pam_unix(systemd-user:session): session opened for user bob(uid=1000) by (uid=0)"}},
		{"bsd empty message", june, "Jun  1 12:00:00 vm sshd[1]:",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", PID: 1}},
		{"bsd no space after colon", june, "Jun  1 12:00:00 vm sshd[1]:x",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", PID: 1, Message: "x"}},
		{"bsd no tag", june, "Jun  1 12:00:00 vm -- MARK --",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Message: "-- MARK --"}},
		{"bsd timestamp only", june, "Jun  1 12:00:00",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z")}},
		{"bsd pid overflow is no tag", june, "Jun  1 12:00:00 vm sshd[99999999999]: x",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Message: "sshd[99999999999]: x"}},
		{"bsd pid above int32", june, "Jun  1 12:00:00 vm sshd[4294967296]: x",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Message: "sshd[4294967296]: x"}},
		{"bsd non-numeric pid", june, "Jun  1 12:00:00 vm sshd[12a]: x",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Message: "sshd[12a]: x"}},
		{"bsd NUL in host", june, "Jun  1 12:00:00 v\x00m sshd[1]: x",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Message: "v\x00m sshd[1]: x"}},
		{"header-like username stays in message", june,
			"Jun  1 12:00:00 vm sshd[1]: Invalid user Jun  1 12:00:00 evil sshd[2]: from 10.9.9.9 port 2222",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", PID: 1, Message: "Invalid user Jun  1 12:00:00 evil sshd[2]: from 10.9.9.9 port 2222"}},
		{"invalid utf-8 in message", june, "Jun  1 12:00:00 vm sshd[1]: Invalid user \xff\xfe from 10.0.0.1",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", PID: 1, Message: "Invalid user \xff\xfe from 10.0.0.1"}},

		// rsyslog's repeated-message reduction
		{"repeated message", june, "Jun  1 12:00:00 vm sshd[24227]: message repeated 5 times: [ Failed password for root from 198.51.100.9 port 42393 ssh2]",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", PID: 24227, Repeat: 5, Message: "Failed password for root from 198.51.100.9 port 42393 ssh2"}},
		{"repeated message rfc3339", june, "2023-06-01T12:00:00.5+00:00 vm sshd[7]: message repeated 2 times: [ Failed password for invalid user a] from 1.2.3.4 port 5 ssh2]",
			Line{Format: FormatRFC3339, Time: ts(t, "2023-06-01T12:00:00.5Z"), Prec: 1, Host: "vm", Program: "sshd", PID: 7, Repeat: 2, Message: "Failed password for invalid user a] from 1.2.3.4 port 5 ssh2"}},
		{"repeated message cut short stays as written", june, "Jun  1 12:00:00 vm sshd[7]: message repeated 5 times: [ Failed password for ro",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", PID: 7, Message: "message repeated 5 times: [ Failed password for ro"}},
		{"repeated zero times is not a repeat", june, "Jun  1 12:00:00 vm sshd[7]: message repeated 0 times: [ x]",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", PID: 7, Message: "message repeated 0 times: [ x]"}},
		{"repeated without count", june, "Jun  1 12:00:00 vm sshd[7]: message repeated times: [ x]",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", PID: 7, Message: "message repeated times: [ x]"}},
		{"repeated huge count", june, "Jun  1 12:00:00 vm sshd[7]: message repeated 99999999999999 times: [ x]",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", PID: 7, Message: "message repeated 99999999999999 times: [ x]"}},
		{"repeated empty message", june, "Jun  1 12:00:00 vm sshd[7]: message repeated 3 times: [ ]",
			Line{Format: FormatBSD, Time: ts(t, "2023-06-01T12:00:00Z"), Host: "vm", Program: "sshd", PID: 7, Repeat: 3, Message: ""}},

		// year inference
		{"december before january ref", ts(t, "2024-01-01T06:00:00Z"), "Dec 31 23:59:59 vm sshd[1]: x",
			Line{Format: FormatBSD, Time: ts(t, "2023-12-31T23:59:59Z"), Host: "vm", Program: "sshd", PID: 1, Message: "x"}},
		{"january at january ref", ts(t, "2024-01-01T06:00:00Z"), "Jan  1 00:00:01 vm sshd[1]: x",
			Line{Format: FormatBSD, Time: ts(t, "2024-01-01T00:00:01Z"), Host: "vm", Program: "sshd", PID: 1, Message: "x"}},
		{"less than a day ahead of ref", ts(t, "2023-12-31T10:00:00Z"), "Jan  1 00:05:00 vm sshd[1]: x",
			Line{Format: FormatBSD, Time: ts(t, "2024-01-01T00:05:00Z"), Host: "vm", Program: "sshd", PID: 1, Message: "x"}},
		{"more than a day ahead of ref", ts(t, "2023-06-10T00:00:00Z"), "Jun 12 00:00:00 vm sshd[1]: x",
			Line{Format: FormatBSD, Time: ts(t, "2022-06-12T00:00:00Z"), Host: "vm", Program: "sshd", PID: 1, Message: "x"}},
		{"feb 29 goes to leap year", ts(t, "2025-03-01T00:00:00Z"), "Feb 29 10:00:00 vm sshd[1]: x",
			Line{Format: FormatBSD, Time: ts(t, "2024-02-29T10:00:00Z"), Host: "vm", Program: "sshd", PID: 1, Message: "x"}},

		// RFC 3339
		{"rfc3339 micro", june, "2023-06-01T12:00:00.123456+02:00 vm sshd[123]: x",
			Line{Format: FormatRFC3339, Time: ts(t, "2023-06-01T10:00:00.123456Z"), Prec: 6, Host: "vm", Program: "sshd", PID: 123, Message: "x"}},
		{"rfc3339 no fraction", june, "2023-06-01T12:00:00+02:00 vm sshd[123]: x",
			Line{Format: FormatRFC3339, Time: ts(t, "2023-06-01T10:00:00Z"), Prec: 0, Host: "vm", Program: "sshd", PID: 123, Message: "x"}},
		{"rfc3339 zulu millis", june, "2023-06-01T12:00:00.120Z vm sshd[1]: x",
			Line{Format: FormatRFC3339, Time: ts(t, "2023-06-01T12:00:00.12Z"), Prec: 3, Host: "vm", Program: "sshd", PID: 1, Message: "x"}},
		{"rfc3339 nanos", june, "2023-06-01T12:00:00.000000001Z vm sshd[1]: x",
			Line{Format: FormatRFC3339, Time: ts(t, "2023-06-01T12:00:00.000000001Z"), Prec: 9, Host: "vm", Program: "sshd", PID: 1, Message: "x"}},
		{"short-iso", june, "2023-06-01T12:00:00+0200 vm sshd[123]: x",
			Line{Format: FormatRFC3339, Time: ts(t, "2023-06-01T10:00:00Z"), Prec: 0, Host: "vm", Program: "sshd", PID: 123, Message: "x"}},
		{"short-iso-precise negative offset", june, "2023-06-01T12:00:00.654321-0530 vm sshd-session[8]: x",
			Line{Format: FormatRFC3339, Time: ts(t, "2023-06-01T17:30:00.654321Z"), Prec: 6, Host: "vm", Program: "sshd-session", PID: 8, Message: "x"}},

		{"macos log show", june, "2023-06-01 12:00:00.123456-0700  mac sshd[12]: x",
			Line{Format: FormatRFC3339, Time: ts(t, "2023-06-01T19:00:00.123456Z"), Prec: 6, Host: "mac", Program: "sshd", PID: 12, Message: "x"}},

		// RFC 5424
		{"rfc5424", june, "<38>1 2023-06-01T12:00:00.5Z vm sshd 123 - - x y",
			Line{Format: FormatRFC5424, Time: ts(t, "2023-06-01T12:00:00.5Z"), Prec: 1, Host: "vm", Program: "sshd", PID: 123, Message: "x y"}},
		{"rfc5424 bom and sd", june, "<38>1 2023-06-01T12:00:00+01:00 vm sshd-session 7 ID47 [a@1 k=\"v\\\"]\"][b@2] \xef\xbb\xbfx",
			Line{Format: FormatRFC5424, Time: ts(t, "2023-06-01T11:00:00Z"), Prec: 0, Host: "vm", Program: "sshd-session", PID: 7, Message: "x"}},
		{"rfc5424 nil fields", june, "<38>1 - - - - - -",
			Line{Format: FormatRFC5424}},
		{"rfc5424 non-numeric procid", june, "<38>1 - vm sshd abc - - x",
			Line{Format: FormatRFC5424, Host: "vm", Program: "sshd", Message: "x"}},

		// no timestamp
		{"bare", june, "vm sshd[42]: Disconnected from user bob 10.0.0.1 port 2",
			Line{Format: FormatBare, Host: "vm", Program: "sshd", PID: 42, Message: "Disconnected from user bob 10.0.0.1 port 2"}},
		{"bare no host", june, "sshd-session[3214]: Accepted publickey for root",
			Line{Format: FormatBare, Program: "sshd-session", PID: 3214, Message: "Accepted publickey for root"}},

		// no header
		{"empty", june, "", Line{}},
		{"text", june, "hello world", Line{}},
		{"bare without pid", june, "Note: this is text", Line{}},
		{"bare zero pid", june, "vm sshd[0]: x", Line{}},
		{"bare pid overflow", june, "vm sshd[99999999999999999999]: x", Line{}},
		{"month only", june, "Jan", Line{}},
		{"bad day", june, "Feb 30 12:00:00 vm sshd[1]: x", Line{}},
		{"bad hour", june, "Jun  1 25:00:00 vm sshd[1]: x", Line{}},
		{"bad bsd separator", june, "Jun  1 12:00:00x vm sshd[1]: x", Line{}},
		{"bad month", june, "2023-13-01T12:00:00Z vm sshd[1]: x", Line{}},
		{"bad offset", june, "2023-06-01T12:00:00+2 vm sshd[1]: x", Line{}},
		{"offset cut", june, "2023-06-01T12:00:00.1+", Line{}},
		{"too many fraction digits", june, "2023-06-01T12:00:00.1234567890Z vm sshd[1]: x", Line{}},
		{"empty fraction", june, "2023-06-01T12:00:00.Z vm sshd[1]: x", Line{}},
		{"bad pri", june, "<x>Jun  1 12:00:00 vm sshd[1]: x", Line{}},
		{"empty pri", june, "<>Jun  1 12:00:00 vm sshd[1]: x", Line{}},
		{"unterminated sd", june, "<38>1 - vm sshd 1 - [a k=\"]\" x", Line{}},
		{"binary junk", june, "\x00\x01\x02\xff\xfe<\x1f\x8b", Line{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Parser{Ref: tt.ref, Loc: utc}
			got := p.Parse(tt.raw)
			want := tt.want
			want.Raw = tt.raw
			if want.Format == FormatUnknown {
				want.Message = tt.raw
			}
			if want.Time.IsZero() {
				want.Prec = -1
			}
			checkLine(t, got)
			if !got.Time.Equal(want.Time) {
				t.Errorf("Time = %v, want %v", got.Time, want.Time)
			}
			got.Time, want.Time = time.Time{}, time.Time{}
			if got != want {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.raw, got, want)
			}
		})
	}
}

// TestParseKeepsOffset checks that RFC 3339 times keep the source's offset.
func TestParseKeepsOffset(t *testing.T) {
	var p Parser
	for raw, want := range map[string]string{
		"2023-06-01T12:00:00+02:00 vm sshd[1]: x": "2023-06-01T12:00:00+02:00",
		"2023-06-01T12:00:00-0530 vm sshd[1]: x":  "2023-06-01T12:00:00-05:30",
		"2023-06-01T12:00:00Z vm sshd[1]: x":      "2023-06-01T12:00:00Z",
	} {
		if got := p.Parse(raw).Time.Format(time.RFC3339); got != want {
			t.Errorf("%q: time %s, want %s", raw, got, want)
		}
	}
}

// TestParseLoc checks that BSD times are read in Parser.Loc.
func TestParseLoc(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err) // tzdata is part of the Go distribution's fallback too
	}
	p := Parser{Ref: ts(t, "2023-06-10T00:00:00Z"), Loc: berlin}
	l := p.Parse("Jun  1 12:00:00 vm sshd[1]: x")
	if want := ts(t, "2023-06-01T10:00:00Z"); !l.Time.Equal(want) {
		t.Errorf("Time = %v, want %v", l.Time, want)
	}
	// The minute cache must not leak across dates or zones' DST switches.
	l = p.Parse("Mar 26 03:00:01 vm sshd[1]: x") // after the spring-forward gap
	if want := ts(t, "2023-03-26T01:00:01Z"); !l.Time.Equal(want) {
		t.Errorf("Time = %v, want %v", l.Time, want)
	}
	l = p.Parse("Jun  1 12:00:59 vm sshd[1]: x")
	if want := ts(t, "2023-06-01T10:00:59Z"); !l.Time.Equal(want) {
		t.Errorf("Time = %v, want %v", l.Time, want)
	}
}

// TestParseZeroRef checks that a zero Ref means "now".
func TestParseZeroRef(t *testing.T) {
	var p Parser
	now := time.Now()
	l := p.Parse(now.Format(time.Stamp) + " vm sshd[1]: x")
	if d := l.Time.Sub(now); d < -time.Second || d > time.Second {
		t.Errorf("Time = %v, want about %v", l.Time, now)
	}
}

// A Parser remembers the last BSD timestamp's text: lines that start with
// it (or with a longer or cut version of it) parse as a fresh Parser
// parses them.
func TestParseSameStamp(t *testing.T) {
	ref := ts(t, "2023-06-10T00:00:00Z")
	lines := []string{
		"Jun  1 12:00:00 vm sshd[1]: x",
		"Jun  1 12:00:00 vm sshd[2]: y",
		"Jun  1 12:00:00x vm sshd[1]: x",
		"Jun  1 12:00:00",
		"Jun  1 12:00:0",
		"Jun  1 12:00:00  vm sshd[3]: two spaces",
		"Jun  1 12:00:001 vm sshd[1]: x",
		"Jun 1 12:00:00 vm sshd[1]: one-digit day",
		"Jun 1 12:00:00 vm sshd[1]: again",
		"Jun  1 12:00:01 vm sshd[1]: next second",
		"Jun  1 12:00:00 vm sshd[1]: back",
		"Feb 29 12:00:00 vm sshd[1]: leap",
		"Feb 29 12:00:00 vm sshd[1]: leap again",
	}
	p := Parser{Ref: ref, Loc: time.UTC}
	for _, raw := range append(lines, lines...) {
		fresh := Parser{Ref: ref, Loc: time.UTC}
		got, want := p.Parse(raw), fresh.Parse(raw)
		if !got.Time.Equal(want.Time) || got.Time.Location() != want.Time.Location() {
			t.Errorf("%q: Time %v, fresh %v", raw, got.Time, want.Time)
		}
		got.Time, want.Time = time.Time{}, time.Time{}
		if got != want {
			t.Errorf("%q:\n got %+v\nfresh %+v", raw, got, want)
		}
	}
}

// TestParseAllocs checks that Parse does not allocate: Host, Program and
// Message are slices of Raw.
func TestParseAllocs(t *testing.T) {
	p := Parser{Ref: ts(t, "2023-06-10T00:00:00Z")}
	for _, raw := range []string{
		"Jun  1 12:00:00 vm sshd[123]: Accepted publickey for root from 10.0.0.1 port 5 ssh2",
		"2023-06-01T12:00:00.123456+02:00 vm sshd[123]: x",
		"<38>1 2023-06-01T12:00:00.5Z vm sshd 123 - - x y",
	} {
		p.Parse(raw) // warm the caches
		if n := testing.AllocsPerRun(100, func() { p.Parse(raw) }); n != 0 {
			t.Errorf("Parse(%q) allocates %v times", raw, n)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Jun  1 12:00:00 vm sshd[123]: Accepted publickey for root from 10.0.0.1 port 5 ssh2",
		"<38>Jun 1 12:00:00 sshd: x",
		"2023-06-01T12:00:00.123456+02:00 vm sshd-session[1]: x",
		"2023-06-01T12:00:00+0200 vm sshd(pam_unix)[1]: x",
		"<38>1 2023-06-01T12:00:00.5Z vm sshd 123 ID [a k=\"\\]\"] \xef\xbb\xbfx",
		"vm sshd[42]: x",
		"Feb 29 00:00:00 h p[1]:",
		"Jun  1 12:00:00 vm sshd[7]: message repeated 5 times: [ Failed password for root from 198.51.100.9 port 42393 ssh2]",
		"\x00\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p := Parser{Ref: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Loc: time.UTC}
		l := p.Parse(raw)
		if l.Raw != raw {
			t.Fatalf("Raw changed")
		}
		checkLine(t, l)
		if l.Repeat < 0 || (l.Repeat > 0 && l.Program == "") {
			t.Errorf("Repeat %d (program %q)", l.Repeat, l.Program)
		}
		if l.Format == FormatBSD && l.Time.Year() != 2023 && l.Time.Year() != 2024 && !(l.Time.Month() == 2 && l.Time.Day() == 29) {
			t.Errorf("BSD year %d outside the Ref window", l.Time.Year())
		}
	})
}

// parse overwrites every field of the Line it is given: filled with junk
// first, it comes out as a fresh Parse's.
func TestParseOverwrites(t *testing.T) {
	ref := ts(t, "2023-06-10T00:00:00Z")
	for _, raw := range []string{"Jun  1 12:00:00 vm sshd[1]: x", "no header", "<38>1 2023-06-01T12:00:00.5Z vm sshd 123 - - x y", "\xff"} {
		var junk Line
		v := reflect.ValueOf(&junk).Elem()
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			switch f.Kind() {
			case reflect.String:
				f.SetString("junk")
			case reflect.Int, reflect.Int8, reflect.Int64:
				f.SetInt(7)
			case reflect.Uint8:
				f.SetUint(7)
			case reflect.Bool:
				f.SetBool(true)
			case reflect.Pointer:
				f.Set(reflect.New(f.Type().Elem()))
			case reflect.Struct: // time.Time
				f.Set(reflect.ValueOf(time.Unix(7, 7)))
			default:
				t.Fatalf("field %s of kind %s: teach this test to fill it", v.Type().Field(i).Name, f.Kind())
			}
		}
		p, fresh := Parser{Ref: ref, Loc: time.UTC}, Parser{Ref: ref, Loc: time.UTC}
		p.parse(&junk, raw)
		if want := fresh.Parse(raw); !reflect.DeepEqual(junk, want) {
			t.Errorf("%q:\n got %+v\nwant %+v", raw, junk, want)
		}
	}
}
