package cause

import (
	"strconv"
	"strings"
	"testing"
)

// settings is a server's settings for the tests: keys lower case, and
// "version" for AtLeast.
type settings map[string]string

func (s settings) Setting(k string) (string, bool) { v, ok := s[strings.ToLower(k)]; return v, ok }

func (s settings) AtLeast(major, minor int) bool {
	a, b, _ := strings.Cut(s["version"], ".")
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	return x > major || x == major && y >= minor
}

// debian12 is Debian 12's sshd as installed (sshd -T, the keys used here).
var debian12 = settings{
	"version": "9.2", "loglevel": "INFO", "logingracetime": "120", "clientaliveinterval": "0",
	"clientalivecountmax": "3", "tcpkeepalive": "yes", "maxstartups": "10:30:100",
	"maxauthtries": "6", "passwordauthentication": "yes", "usedns": "no",
	"unusedconnectiontimeout": "none", "persourcemaxstartups": "none",
	"hostkey": "/etc/ssh/ssh_host_ed25519_key",
}

var tuned = settings{
	"version": "9.8", "loglevel": "VERBOSE", "logingracetime": "30", "clientaliveinterval": "15",
	"clientalivecountmax": "4", "tcpkeepalive": "no", "maxstartups": "20:50:60",
	"maxauthtries": "3", "passwordauthentication": "no", "usedns": "no",
	"persourcemaxstartups": "5", "persourcepenalties": "crash:90 authfail:5",
}

// TestEveryTemplateRenders renders every advice and finding with unknown,
// default and tuned settings: none may fail, and without settings no
// advice may claim a value.
func TestEveryTemplateRenders(t *testing.T) {
	facts := Facts{Count: 12, Sources: 3, Also: 1, Subject: "203.0.113.0/24", Typical: "5m2s", Avg: 2.5, Confidence: "inferred"}
	for _, s := range []Settings{nil, debian12, tuned} {
		for _, c := range All() {
			got := c.Advice(s, facts)
			if strings.HasPrefix(got, "(") {
				t.Errorf("%s advice with %v: %s", c, s, got)
			}
			if s == nil && got != "" {
				t.Errorf("%s advice without settings: %q", c, got)
			}
		}
		for _, f := range Findings() {
			for _, got := range []string{f.RenderTitle(s, facts), f.RenderRemedy(s, facts)} {
				if got == "" || strings.HasPrefix(got, "(") || strings.Contains(got, "<no value>") {
					t.Errorf("finding %s with %v: %q", f.ID, s, got)
				}
			}
		}
	}
}

func TestAdviceQuotesTheSettings(t *testing.T) {
	for _, tc := range []struct {
		c    Cause
		s    Settings
		f    Facts
		want string
	}{
		{ClientTimeout, debian12, Facts{}, "ClientAliveInterval is 0: sshd does not probe"},
		{ClientTimeout, tuned, Facts{}, "after ClientAliveInterval 15s × ClientAliveCountMax 4 = 60s"},
		{NetworkReset, debian12, Facts{}, "ClientAliveInterval is 0: a dead client holds its session until TCP gives up (TCPKeepAlive yes: hours)"},
		{GraceTimeout, debian12, Facts{}, "LoginGraceTime is 2m: each such connection held one of the MaxStartups (10:30:100)"},
		{GraceTimeout, tuned, Facts{}, "LoginGraceTime is 30s"},
		{ConnectionLost, debian12, Facts{Confidence: "inferred"}, "LogLevel is INFO: VERBOSE would log the read error"},
		{AuthFailure, debian12, Facts{}, "PasswordAuthentication is yes"},
		{RateLimited, tuned, Facts{}, "PerSourcePenalties crash:90 authfail:5"},
	} {
		if got := tc.c.Advice(tc.s, tc.f); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q\nwant it to contain %q", tc.c, got, tc.want)
		}
	}
	if got := ConnectionLost.Advice(tuned, Facts{Confidence: "certain"}); strings.Contains(got, "LogLevel") {
		t.Errorf("VERBOSE server told to raise LogLevel: %q", got)
	}
	if got := RateLimited.Advice(debian12, Facts{}); strings.Contains(got, "PerSourcePenalties") {
		t.Errorf("9.2 has no PerSourcePenalties: %q", got)
	}
}

func TestFindingRemedies(t *testing.T) {
	f, ok := Finding("idle_cut_network")
	if !ok {
		t.Fatal("no idle_cut_network finding")
	}
	got := f.RenderRemedy(debian12, Facts{Typical: "5m"})
	for _, want := range []string{"ServerAliveInterval 30", "On this server ClientAliveInterval is 0", "a little under 5m"} {
		if !strings.Contains(got, want) {
			t.Errorf("remedy %q lacks %q", got, want)
		}
	}
	f, _ = Finding("loglevel_hides")
	if got := f.RenderRemedy(debian12, Facts{}); !strings.Contains(got, "this OpenSSH logs nothing at all when LoginGraceTime expires") {
		t.Errorf("9.2's silent grace timeouts not said: %q", got)
	}
	if got := f.RenderRemedy(tuned, Facts{}); strings.Contains(got, "logs nothing at all") {
		t.Errorf("9.8 logs grace timeouts: %q", got)
	}
}

func TestSeconds(t *testing.T) {
	for n, want := range map[int]string{0: "0 (no limit)", 20: "20s", 60: "1m", 90: "1m30s", 120: "2m", 7200: "2h", 3700: "1h1m40s"} {
		if got := Seconds(n); got != want {
			t.Errorf("Seconds(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseFindingsErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"- {id: a, weight: 1, title: t, remedy: r}\n- {id: a, weight: 1, title: t, remedy: r}", "twice"},
		{"- {id: a, weight: 101, title: t, remedy: r}", "weight"},
		{"- {id: a, weight: 1, causes: [nope], title: t, remedy: r}", "unknown cause"},
		{"- {id: a, weight: 1, title: '{{.Nope', remedy: r}", "unclosed"},
		{"- {id: a, weight: 1, title: t}", "remedy"},
	} {
		if _, err := parseFindings([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
