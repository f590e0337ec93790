package loggen

import (
	"regexp"
	"strings"
	"testing"
)

// The message formats below are what a real Debian 12 sshd
// (OpenSSH_9.2p1 Debian-2+deb12u*, UsePAM yes, LogLevel INFO) wrote to
// rsyslog in a loopback lab, and for 10.0 what design/openssh-messages.md
// quotes from the source. Every sshd line the generator writes must match
// one of them; a typo in a generator template fails here.
const (
	ip   = `(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]+)`
	port = `\d{1,5}`
	usr  = `.*` // attacker-chosen: anything, including spaces
)

var sshdMessages = []struct {
	name string
	re   *regexp.Regexp
}{
	{"invalid user", re(`Invalid user ` + usr + ` from ` + ip + ` port ` + port)},
	{"not allowed", re(`User ` + usr + ` from ` + ip + ` not allowed because not listed in AllowUsers`)},
	{"pam check pass", re(`pam_unix\(sshd:auth\): check pass; user unknown`)},
	{"pam auth failure", re(`pam_unix\(sshd:auth\): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=` + ip + `(?: |  user=\S+)`)},
	{"pam more", re(`PAM \d+ more authentication failures?; logname= uid=0 euid=0 tty=ssh ruser= rhost=` + ip + `(?: |  user=\S+)`)},
	{"failed password", re(`Failed password for (?:invalid user )?` + usr + ` from ` + ip + ` port ` + port + ` ssh2`)},
	{"max auth tries", re(`error: maximum authentication attempts exceeded for (?:invalid user )?` + usr + ` from ` + ip + ` port ` + port + ` ssh2 \[preauth\]`)},
	{"disconnecting", re(`Disconnecting (?:invalid|authenticating) user ` + usr + ` ` + ip + ` port ` + port + `: Too many authentication failures \[preauth\]`)},
	{"received disconnect preauth", re(`Received disconnect from ` + ip + ` port ` + port + `:11: (?:Bye Bye|Normal Shutdown, Thank you for playing) \[preauth\]`)},
	{"disconnected preauth", re(`Disconnected from (?:(?:invalid|authenticating) user ` + usr + ` )?` + ip + ` port ` + port + ` \[preauth\]`)},
	{"closed preauth", re(`Connection (?:closed|reset) by (?:(?:invalid|authenticating) user ` + usr + ` )?` + ip + ` port ` + port + ` \[preauth\]`)},
	{"kex closed", re(`error: kex_exchange_identification: Connection closed by remote host`)},
	{"kex reset", re(`error: kex_exchange_identification: read: Connection reset by peer`)},
	{"kex invalid", re(`error: kex_exchange_identification: (?:client sent invalid protocol identifier ".*"|banner line contains invalid characters)`)},
	{"closed banner", re(`Connection (?:closed|reset) by ` + ip + ` port ` + port)},
	{"banner invalid", re(`banner exchange: Connection from ` + ip + ` port ` + port + `: invalid format`)},
	{"unable to negotiate", re(`Unable to negotiate with ` + ip + ` port ` + port + `: no matching (?:key exchange method|host key type|cipher|MAC) found\. Their offer: \S+ \[preauth\]`)},
	{"throttle begin", re(`error: beginning MaxStartups throttling`)},
	{"throttle end", re(`exited MaxStartups throttling after \d\d:\d\d:\d\d, \d+ connections dropped`)},
	{"drop 9.2", re(`drop connection #\d+ from \[` + ip + `\]:` + port + ` on \[` + ip + `\]:22 past MaxStartups`)},
	{"drop 10.0", re(`drop connection #\d+ from \[` + ip + `\]:` + port + ` on \[` + ip + `\]:22 (?:Maxstartups|penalty: failed authentication)`)},
	{"grace 10.0", re(`Timeout before authentication for connection from ` + ip + ` to ` + ip + `, pid = \d+`)},
	{"accepted", re(`Accepted (?:publickey|password) for \S+ from ` + ip + ` port ` + port + ` ssh2(?:: (?:ED25519|RSA|ECDSA) SHA256:[A-Za-z0-9+/]{43})?`)},
	{"pam session opened", re(`pam_unix\(sshd:session\): session opened for user \S+\(uid=\d+\) by \(uid=0\)`)},
	{"pam session closed", re(`pam_unix\(sshd:session\): session closed for user \S+`)},
	{"pam_env", re(`pam_env\(sshd:session\): deprecated reading of user environment enabled`)},
	{"logout", re(`Received disconnect from ` + ip + ` port ` + port + `:11: disconnected by user`)},
	{"disconnected user", re(`Disconnected from user \S+ ` + ip + ` port ` + port)},
	{"client alive", re(`Timeout, client not responding from user \S+ ` + ip + ` port ` + port)},
	{"reset user", re(`Connection reset by user \S+ ` + ip + ` port ` + port)},
	{"broken pipe", re(`process_output: ssh_packet_write_poll: Connection from user \S+ ` + ip + ` port ` + port + `: Broken pipe`)},
	{"read error 10.0", re(`Read error from remote host ` + ip + ` port ` + port + `: Connection reset by peer`)},
	{"mac", re(`ssh_dispatch_run_fatal: Connection from user \S+ ` + ip + ` port ` + port + `: message authentication code incorrect`)},
	{"signal", re(`Exiting on signal 15`)},
}

var otherMessages = map[string]*regexp.Regexp{
	"CRON":           re(`pam_unix\(cron:session\): session (?:opened for user \S+\(uid=\d+\) by \(uid=0\)|closed for user \S+)`),
	"sudo":           re(`(?: *\S+ : (?:TTY=pts/\d+ ; PWD=\S+|PWD=/|command not allowed ; PWD=/) ; USER=root ; COMMAND=.+|pam_unix\(sudo:session\): session (?:opened for user root\(uid=0\) by \S*\(uid=\d+\)|closed for user root))`),
	"systemd-logind": re(`(?:New session \d+ of user \S+\.|Session \d+ logged out\. Waiting for processes to exit\.|Removed session \d+\.)`),
	"(systemd)":      re(`pam_unix\(systemd-user:session\): session opened for user \S+\(uid=\d+\) by \(uid=0\)`),
}

func re(s string) *regexp.Regexp { return regexp.MustCompile(`^` + s + `$`) }

var (
	bsdHeader  = regexp.MustCompile(`^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d \d\d:\d\d:\d\d (\S+) ([^\s\[:]+)(?:\[(\d+)\])?: (.*)$`)
	rfc3339Hdr = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 (\S+) ([^\s\[:]+)(?:\[(\d+)\])?: (.*)$`)
)

// TestLinesWellFormed checks every line of generated logs, in both formats
// and with a 10.0 host, against the header format and the message catalog,
// and that every catalog entry a scenario needs actually occurs.
func TestLinesWellFormed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format Format
		modern float64
		header *regexp.Regexp
	}{
		{"bsd", BSD, 0, bsdHeader},
		{"rfc3339", RFC3339, 0, rfc3339Hdr},
		{"bsd+10.0", BSD, 0.3, bsdHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(60000)
			cfg.Format, cfg.Modern = tc.format, tc.modern
			log, _ := generate(t, cfg)
			seen := make(map[string]int)
			for i, l := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
				m := tc.header.FindStringSubmatch(l)
				if m == nil {
					t.Fatalf("line %d: bad header: %q", i+1, l)
				}
				prog, pid, msg := m[2], m[3], m[4]
				switch prog {
				case "sshd", "sshd-session":
					if pid == "" {
						t.Fatalf("line %d: sshd line without pid: %q", i+1, l)
					}
					if prog == "sshd-session" && tc.modern == 0 {
						t.Fatalf("line %d: sshd-session on a 9.2-only log: %q", i+1, l)
					}
					name := matchSSHD(msg)
					if name == "" {
						t.Fatalf("line %d: sshd message matches no known format: %q", i+1, msg)
					}
					seen[name]++
				default:
					re, ok := otherMessages[prog]
					if !ok {
						t.Fatalf("line %d: unexpected program %q", i+1, prog)
					}
					if !re.MatchString(msg) {
						t.Fatalf("line %d: %s message matches no known format: %q", i+1, prog, msg)
					}
					if (pid == "") != (prog == "sudo") {
						t.Fatalf("line %d: pid presence wrong for %s: %q", i+1, prog, l)
					}
				}
			}
			for _, want := range []string{"invalid user", "failed password", "max auth tries", "accepted", "logout", "unable to negotiate", "banner invalid", "pam more"} {
				if seen[want] == 0 {
					t.Errorf("no %q line in %d lines", want, cfg.Lines)
				}
			}
			if tc.modern > 0 && seen["drop 10.0"] == 0 {
				t.Errorf("no 10.0 drop line")
			}
		})
	}
}

func matchSSHD(msg string) string {
	for _, m := range sshdMessages {
		if m.re.MatchString(msg) {
			return m.name
		}
	}
	return ""
}

// sshd66Messages are the formats OpenSSH 6.6p1 (V_6_6_P1: auth.c, auth2.c,
// packet.c, sshd.c, kex.c, serverloop.c) and Ubuntu 14.04's libpam write
// for what the generator simulates, plus rsyslog's repeated-message line.
var sshd66Messages = []struct {
	name string
	re   *regexp.Regexp
}{
	{"invalid user", re(`Invalid user ` + usr + ` from ` + ip)},
	{"userauth invalid", re(`input_userauth_request: invalid user ` + usr + ` \[preauth\]`)},
	{"not allowed", re(`User ` + usr + ` from ` + ip + ` not allowed because not listed in AllowUsers`)},
	{"pam check pass", re(`pam_unix\(sshd:auth\): check pass; user unknown`)},
	{"pam auth failure", re(`pam_unix\(sshd:auth\): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=` + ip + `(?: |  user=\S+)`)},
	{"pam more", re(`PAM \d+ more authentication failures?; logname= uid=0 euid=0 tty=ssh ruser= rhost=` + ip + `(?: |  user=\S+)`)},
	{"failed password", re(`Failed password for (?:invalid user )?` + usr + ` from ` + ip + ` port ` + port + ` ssh2`)},
	{"max auth tries", re(`Disconnecting: Too many authentication failures for ` + usr + ` \[preauth\]`)},
	{"received disconnect preauth", re(`Received disconnect from ` + ip + `: 11: Bye Bye \[preauth\]`)},
	{"closed preauth", re(`Connection closed by ` + ip + ` \[preauth\]`)},
	{"read failed", re(`fatal: Read from socket failed: Connection reset by peer \[preauth\]`)},
	{"write failed preauth", re(`fatal: Write failed: Connection reset by peer \[preauth\]`)},
	{"no banner", re(`Did not receive identification string from ` + ip)},
	{"bad version", re(`Bad protocol version identification '.*' from ` + ip + ` port ` + port)},
	{"kex", re(`fatal: (?:Unable to negotiate a key exchange method|no hostkey alg|no matching (?:cipher|mac) found: client \S+ server \S+) \[preauth\]`)},
	{"accepted", re(`Accepted (?:publickey|password) for \S+ from ` + ip + ` port ` + port + ` ssh2(?:: RSA (?:[0-9a-f]{2}:){15}[0-9a-f]{2})?`)},
	{"pam session opened", re(`pam_unix\(sshd:session\): session opened for user \S+ by \(uid=0\)`)},
	{"pam session closed", re(`pam_unix\(sshd:session\): session closed for user \S+`)},
	{"logout", re(`Received disconnect from ` + ip + `: 11: disconnected by user`)},
	{"client alive", re(`Timeout, client not responding\.`)},
	{"write failed", re(`fatal: Write failed: (?:Connection reset by peer|Broken pipe)`)},
	{"mac", re(`Corrupted MAC on input\.|Disconnecting: Packet corrupt`)},
	{"signal", re(`Exiting on signal 15`)},
	{"repeated", re(`message repeated \d+ times: \[ .*\]`)},
}

// TestLegacyLinesWellFormed checks every sshd line of a generated OpenSSH
// 6.6 log against the 6.6 formats, and that the shapes the legacy rules
// are about all occur.
func TestLegacyLinesWellFormed(t *testing.T) {
	cfg := testConfig(60000)
	cfg.OpenSSH, cfg.Rate = "6.6", 1 // fewer bots at once: runs of identical lines
	log, _ := generate(t, cfg)
	seen := make(map[string]int)
	for i, l := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		m := bsdHeader.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %d: bad header: %q", i+1, l)
		}
		if m[2] != "sshd" {
			continue
		}
		name := ""
		for _, f := range sshd66Messages {
			if f.re.MatchString(m[4]) {
				name = f.name
				break
			}
		}
		if name == "" {
			t.Fatalf("line %d: not a 6.6 format: %q", i+1, m[4])
		}
		seen[name]++
	}
	for _, f := range sshd66Messages {
		if seen[f.name] == 0 && f.name != "mac" && f.name != "signal" && f.name != "client alive" && f.name != "write failed" {
			t.Errorf("no %q line in %d lines", f.name, cfg.Lines)
		}
	}
}
