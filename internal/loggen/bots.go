package loggen

import (
	"strconv"
	"strings"
)

// Bot campaigns: one source address doing one kind of thing, in one or more
// parallel streams of connections.

type campKind uint8

const (
	campBrute     campKind = iota // password guessing
	campProbe                     // port scanners, banner grabbers
	campNegotiate                 // clients with only old algorithms
	campKeyscan                   // ssh-keyscan: one connection per key type, at once
	campBurst                     // many parallel connections: MaxStartups drops
	campStall                     // connections that hang until LoginGraceTime
)

// campaignWeights are the shares of each kind among new campaigns.
var campaignWeights = []float64{
	campBrute:     0.50,
	campProbe:     0.30,
	campNegotiate: 0.09,
	campKeyscan:   0.02,
	campBurst:     0.04,
	campStall:     0.05,
}

// denseWeights are the shares with Config.Dense: short connections only
// (one password per brute-force connection, probes, old clients), so that a
// connection ends every 4 to 5 lines.
var denseWeights = []float64{
	campBrute:     0.60,
	campProbe:     0.30,
	campNegotiate: 0.10,
	campKeyscan:   0,
	campBurst:     0,
	campStall:     0,
}

// meanCampaignConns approximates the connections per campaign, to turn
// Config.Rate (connections per second) into campaigns per second.
const meanCampaignConns = 14.0

type endStyle uint8

const (
	endByeBye endStyle = iota // libssh: "Received disconnect …:11: Bye Bye [preauth]"
	endClosed                 // "Connection closed by [invalid|authenticating] user U … [preauth]"
	endReset                  // "Connection reset by …"
)

type campaign struct {
	kind     campKind
	host     *host
	ip       string
	port     int // next source port
	left     int // connections still to start
	users    []string
	userIdx  int
	attempts int // passwords per connection; maxAuthTries means "until refused"
	end      endStyle
	failed   int // connections with failed authentication so far (penalties, 10.0)
}

const maxAuthTries = 6 // Debian default

// Usernames bots try. Some exist on a stock Debian system (root, system
// accounts): those are "valid" users whose failures PAM logs with user=.
var (
	botUsers = []string{
		"admin", "test", "user", "ubuntu", "oracle", "postgres", "git", "ftpuser", "guest",
		"pi", "support", "deploy", "hadoop", "mysql", "administrator", "test1", "user1",
		"centos", "jenkins", "minecraft", "steam", "teamspeak", "ts3", "nagios", "zabbix",
		"es", "elastic", "kafka", "odoo", "sonar", "ansible", "vagrant", "docker", "devops",
		"dev", "ftp", "web", "www", "tomcat", "server", "student", "demo", "temp", "sysadmin",
		"backup", "www-data", "mail", "news", "proxy", "daemon", "nobody", "sync", "games",
		"", "root", "root", "root", "123456", "Admin", "ADMIN", "sa", "ubnt", "debian",
		"usuario", "alex", "john", "david", "michael", "sftp", "ftp_user", "mc", "bitrix",
		"admin1", "ec2-user", "azureuser", "fa", "gpadmin", "hdfs", "redis", "solr",
	}
	// hostileUsers try to fool parsers; sshd logs them verbatim (after vis
	// encoding of non-printable bytes).
	hostileUsers = []string{
		"x from 6.6.6.6 port 22",
		"admin port 22",
		"root from 10.0.0.1",
		`caf\303\251`,
		`a\033[31mred`,
		"invalid user admin",
		"user  with  spaces",
		`"quoted"`,
	}
	// Accounts that exist on the simulated hosts.
	systemAccounts = map[string]bool{
		"root": true, "daemon": true, "bin": true, "sys": true, "sync": true, "games": true,
		"man": true, "lp": true, "mail": true, "news": true, "uucp": true, "proxy": true,
		"www-data": true, "backup": true, "list": true, "irc": true, "nobody": true,
	}
)

func (g *generator) newCampaign(kind campKind, h *host) *campaign {
	c := &campaign{kind: kind, host: h, ip: g.botAddr(), port: g.clientPort(), left: 1}
	switch kind {
	case campBrute:
		c.left = 1 + int(g.rng.ExpFloat64()*22)
		if c.left > 3000 {
			c.left = 3000
		}
		switch g.rng.IntN(10) {
		case 0, 1, 2: // root only
			c.users = []string{"root"}
		default: // a dictionary from a random offset
			off := g.rng.IntN(len(botUsers))
			c.users = append(append([]string{}, botUsers[off:]...), botUsers[:off]...)
			if g.chance(0.02) {
				c.users = append(c.users, hostileUsers[g.rng.IntN(len(hostileUsers))])
			}
		}
		c.attempts = []int{1, 1, 1, 1, 1, 1, 2, 3, maxAuthTries, maxAuthTries}[g.rng.IntN(10)]
		if g.cfg.Dense {
			c.attempts = 1
		}
		c.end = endStyle(g.pick([]float64{0.45, 0.50, 0.05}))
	case campProbe:
		c.left = 1 + g.rng.IntN(3)
	case campNegotiate:
		c.left = 1 + g.rng.IntN(2)
	case campStall:
		c.left = 1 + g.rng.IntN(2)
		c.users = []string{botUsers[g.rng.IntN(len(botUsers))]}
	case campBurst:
		c.users = []string{"root"}
		c.attempts = 1
		c.end = endClosed
	}
	return c
}

// nextPort returns the campaign's next source port: bots' connections from
// one address usually have increasing ports.
func (c *campaign) nextPort(g *generator) int {
	p := c.port
	c.port += 1 + g.rng.IntN(7)
	if c.port > 65535 {
		c.port = 32768 + g.rng.IntN(1000)
	}
	return p
}

func (c *campaign) nextUser() string {
	u := c.users[c.userIdx%len(c.users)]
	c.userIdx++
	return u
}

// fireCampaign starts one connection of the campaign; it returns when the
// campaign's stream should start its next connection (or -1 when done).
func (g *generator) fireCampaign(c *campaign, streams int) int64 {
	if c.left <= 0 {
		return -1
	}
	c.left--
	start := g.now
	var end int64
	switch c.kind {
	case campBrute:
		end = g.bruteConn(c, start)
	case campProbe:
		end = g.probeConn(c, start)
	case campNegotiate:
		end = g.negotiateConn(c, start)
	case campStall:
		end = g.stallConn(c, start)
	case campKeyscan:
		g.keyscan(c, start)
		return -1
	case campBurst:
		g.burst(c, start)
		return -1
	}
	if c.left <= 0 || g.full || g.err != nil {
		return -1
	}
	gap := g.between(200*msec, 8*second)
	if streams > 1 {
		gap += g.between(0, 2*second)
	}
	if g.chance(0.05) { // a pause between rounds
		gap += g.expDur(10 * minute)
	}
	return end + gap
}

// kexDelay is the time from TCP connect to the first authentication line.
func (g *generator) kexDelay() int64 { return g.between(150*msec, 900*msec) }

// rhost renders the tail of a pam_unix auth-failure line: an unknown user
// leaves a trailing space, a known one adds "  user=NAME" [lab 9.2].
func rhost(ip, user string, known bool) string {
	if known {
		return "rhost=" + ip + "  user=" + user
	}
	return "rhost=" + ip + " "
}

// bruteConn is one password-guessing connection; it returns its end time.
func (g *generator) bruteConn(camp *campaign, start int64) int64 {
	h := camp.host
	port := camp.nextPort(g)
	// PerSourcePenalties (10.0): after a few failed connections the listener
	// refuses this source for a while.
	if h.modern && camp.failed >= 3 && g.chance(0.5) {
		return g.dropConn(h, camp.ip, port, start, "penalty: failed authentication", "brute/penalty")
	}
	c, ok := g.newConn(h, camp.ip, port, start)
	if !ok {
		return start
	}
	u := camp.nextUser()
	c.user = u
	c.wait(g.kexDelay())
	known := systemAccounts[u]
	denied := known && h.allowUsers
	switch {
	case !known && h.legacy: // 6.6: no port (auth.c), then the child's line
		c.m("Invalid user " + u + " from " + c.ip)
		c.m("input_userauth_request: invalid user " + u + " [preauth]")
	case !known:
		c.m("Invalid user " + u + " from " + c.ip + " port " + c.port)
	case denied:
		c.m("User " + u + " from " + c.ip + " not allowed because not listed in AllowUsers")
		if h.legacy {
			c.m("input_userauth_request: invalid user " + u + " [preauth]")
		}
	}
	pre := "authenticating user " // preamble of close lines
	inv := ""                     // in Failed lines
	if !known || denied {
		pre, inv = "invalid user ", "invalid user "
	}
	n := camp.attempts
	for i := 0; i < n; i++ {
		if i > 0 {
			c.wait(g.between(100*msec, 1500*msec))
		}
		if !known {
			c.m("pam_unix(sshd:auth): check pass; user unknown")
		}
		if i == 0 {
			c.wait(g.between(0, 15*msec))
			c.m("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= " + rhost(c.ip, u, known))
		}
		c.wait(g.between(1600*msec, 2600*msec)) // pam_faildelay
		c.m("Failed password for " + inv + u + " from " + c.ip + " port " + c.port + " ssh2")
	}
	camp.failed++
	cause, scen := causeAuthFailure, "brute/"
	if denied {
		cause, scen = causeAccessDenied, "denied/"
	}
	c.wait(g.between(5*msec, 900*msec))
	switch {
	case h.legacy && n >= maxAuthTries: // 6.6: auth.h AUTH_FAIL_MSG, no "maximum ... exceeded" line
		c.m("Disconnecting: Too many authentication failures for " + u + " [preauth]")
		scen += "maxauthtries"
	case h.legacy:
		switch camp.end { // 6.6: packet.c names no port and no user
		case endByeBye:
			c.m("Received disconnect from " + c.ip + ": 11: Bye Bye [preauth]")
			scen += "byebye"
		case endClosed:
			c.m("Connection closed by " + c.ip + " [preauth]")
			scen += "closed"
		case endReset:
			c.m("fatal: Read from socket failed: Connection reset by peer [preauth]")
			scen += "reset"
		}
	case n >= maxAuthTries:
		c.m("error: maximum authentication attempts exceeded for " + inv + u + " from " + c.ip + " port " + c.port + " ssh2 [preauth]")
		c.m("Disconnecting " + pre + u + " " + c.ip + " port " + c.port + ": Too many authentication failures [preauth]")
		scen += "maxauthtries"
	default:
		switch camp.end {
		case endByeBye:
			c.m("Received disconnect from " + c.ip + " port " + c.port + ":11: Bye Bye [preauth]")
			c.m("Disconnected from " + pre + u + " " + c.ip + " port " + c.port + " [preauth]")
			scen += "byebye"
		case endClosed:
			c.m("Connection closed by " + pre + u + " " + c.ip + " port " + c.port + " [preauth]")
			scen += "closed"
		case endReset:
			c.m("Connection reset by " + pre + u + " " + c.ip + " port " + c.port + " [preauth]")
			scen += "reset"
		}
	}
	if n > 1 {
		c.m(pamMore(n-1, c.ip, u, known))
	}
	c.finish(cause, "preauth", scen)
	return c.t
}

// pamMore renders pam_unix's summary of repeated failures at pam_end.
func pamMore(k int, ip, user string, known bool) string {
	s := "s"
	if k == 1 {
		s = ""
	}
	return "PAM " + strconv.Itoa(k) + " more authentication failure" + s + "; logname= uid=0 euid=0 tty=ssh ruser= " + rhost(ip, user, known)
}

// probe kinds
const (
	probeKexClosed    = iota // TCP open, nothing sent, FIN
	probeKexReset            // TCP open, RST
	probeKexPreauth          // banner + KEXINIT read, then close
	probeResetPreauth        // same with RST
	probeByeBye              // libssh client disconnects before auth
	probeHTTP                // non-SSH text
	probeBinary              // TLS hello or other bytes
)

var probeWeights = []float64{0.32, 0.15, 0.20, 0.03, 0.12, 0.12, 0.06}

func (g *generator) probeConn(camp *campaign, start int64) int64 {
	h := camp.host
	c, ok := g.newConn(h, camp.ip, camp.nextPort(g), start)
	if !ok {
		return start
	}
	k := g.pick(probeWeights)
	cause, scen := causeProbe, ""
	if h.legacy {
		cause, scen = g.legacyProbe(c, k)
		c.finish(cause, "preauth", scen)
		return c.t
	}
	switch k {
	case probeKexClosed:
		c.wait(g.between(1*msec, 3*second))
		if !h.modern { // VERBOSE since 9.5
			c.m("error: kex_exchange_identification: Connection closed by remote host")
		}
		c.m("Connection closed by " + c.ip + " port " + c.port)
		scen = "probe/kex-closed"
	case probeKexReset:
		c.wait(g.between(1*msec, 500*msec))
		c.m("error: kex_exchange_identification: read: Connection reset by peer")
		c.m("Connection reset by " + c.ip + " port " + c.port)
		scen = "probe/kex-reset"
	case probeKexPreauth:
		c.wait(g.between(100*msec, 2*second))
		c.m("Connection closed by " + c.ip + " port " + c.port + " [preauth]")
		scen = "probe/preauth-closed"
	case probeResetPreauth:
		c.wait(g.between(100*msec, 2*second))
		c.m("Connection reset by " + c.ip + " port " + c.port + " [preauth]")
		scen = "probe/preauth-reset"
	case probeByeBye:
		c.wait(g.between(100*msec, 1*second))
		text := "Bye Bye"
		if g.chance(0.2) {
			text = "Normal Shutdown, Thank you for playing"
		}
		c.m("Received disconnect from " + c.ip + " port " + c.port + ":11: " + text + " [preauth]")
		c.m("Disconnected from " + c.ip + " port " + c.port + " [preauth]")
		scen = "probe/byebye"
	case probeHTTP, probeBinary:
		c.wait(g.between(1*msec, 300*msec))
		if !h.modern {
			if k == probeHTTP {
				c.m(`error: kex_exchange_identification: client sent invalid protocol identifier "` + httpProbes[g.rng.IntN(len(httpProbes))] + `"`)
			} else {
				c.m("error: kex_exchange_identification: banner line contains invalid characters")
			}
		}
		c.m("banner exchange: Connection from " + c.ip + " port " + c.port + ": invalid format")
		cause, scen = causeProtocolError, "protocol/invalid-format"
	}
	c.finish(cause, "preauth", scen)
	return c.t
}

// legacyProbe writes a probe as OpenSSH 6.6 logs it: the banner exchange
// (sshd.c, in the monitor) names no port when nothing came, the key
// exchange closes (packet.c) name neither port nor user.
func (g *generator) legacyProbe(c *conn, k int) (cause, scen string) {
	switch k {
	case probeKexClosed, probeKexReset:
		c.wait(g.between(1*msec, 3*second))
		c.m("Did not receive identification string from " + c.ip)
		return causeProbe, "probe/no-banner"
	case probeKexPreauth:
		c.wait(g.between(100*msec, 2*second))
		c.m("Connection closed by " + c.ip + " [preauth]")
		return causeProbe, "probe/preauth-closed"
	case probeResetPreauth:
		c.wait(g.between(100*msec, 2*second))
		if g.chance(0.5) {
			c.m("fatal: Read from socket failed: Connection reset by peer [preauth]")
		} else {
			c.m("fatal: Write failed: Connection reset by peer [preauth]")
		}
		return causeProbe, "probe/preauth-reset"
	case probeByeBye:
		c.wait(g.between(100*msec, 1*second))
		c.m("Received disconnect from " + c.ip + ": 11: Bye Bye [preauth]")
		return causeProbe, "probe/byebye"
	}
	c.wait(g.between(1*msec, 300*msec))
	c.m("Bad protocol version identification '" + httpProbes[g.rng.IntN(len(httpProbes))] + "' from " + c.ip + " port " + c.port)
	return causeProtocolError, "protocol/bad-version"
}

var httpProbes = []string{
	"GET / HTTP/1.1", "GET / HTTP/1.0", "HEAD / HTTP/1.1", "MGLNDD_203.0.113.10_22",
	"GET /favicon.ico HTTP/1.1", `\026\003\001`, "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1",
}

var negotiationFailures = []struct{ kind, offer string }{
	{"key exchange method", "diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1"},
	{"key exchange method", "diffie-hellman-group1-sha1"},
	{"key exchange method", "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,ext-info-c"},
	{"host key type", "ssh-rsa,ssh-dss"},
	{"host key type", "ssh-dss"},
	{"host key type", "ssh-rsa"},
	{"cipher", "aes128-cbc,3des-cbc,aes192-cbc,aes256-cbc"},
	{"cipher", "3des-cbc"},
	{"MAC", "hmac-sha1,hmac-sha1-96,hmac-md5"},
}

func (g *generator) negotiateConn(camp *campaign, start int64) int64 {
	c, ok := g.newConn(camp.host, camp.ip, camp.nextPort(g), start)
	if !ok {
		return start
	}
	c.wait(g.between(20*msec, 400*msec))
	f := negotiationFailures[g.rng.IntN(len(negotiationFailures))]
	if camp.host.legacy { // 6.6 kex.c: no address, the peer's offer as "client"
		switch f.kind {
		case "key exchange method":
			c.m("fatal: Unable to negotiate a key exchange method [preauth]")
		case "host key type":
			c.m("fatal: no hostkey alg [preauth]")
		default:
			c.m("fatal: no matching " + strings.ToLower(f.kind) + " found: client " + f.offer + " server aes128-ctr,aes256-ctr [preauth]")
		}
		c.finish(causeNegotiation, "preauth", "negotiate/"+f.kind)
		return c.t
	}
	c.m("Unable to negotiate with " + c.ip + " port " + c.port + ": no matching " + f.kind + " found. Their offer: " + f.offer + " [preauth]")
	c.finish(causeNegotiation, "preauth", "negotiate/"+f.kind)
	return c.t
}

// keyscan is ssh-keyscan's burst: one connection per key type, all at once;
// the types the server has end in a closed KEX, the others in a
// negotiation failure [lab 9.2].
func (g *generator) keyscan(camp *campaign, start int64) {
	for i, offer := range []string{"", "", "", "sk-ecdsa-sha2-nistp256@openssh.com", "sk-ssh-ed25519@openssh.com"} {
		c, ok := g.newConn(camp.host, camp.ip, camp.nextPort(g), start+int64(i)*g.between(0, 3*msec))
		if !ok {
			return
		}
		c.wait(g.between(20*msec, 200*msec))
		switch {
		case camp.host.legacy && offer == "":
			c.m("Connection closed by " + c.ip + " [preauth]")
			c.finish(causeProbe, "preauth", "keyscan/closed")
		case camp.host.legacy: // 6.6 kex.c choose_hostkeyalg
			c.m("fatal: no hostkey alg [preauth]")
			c.finish(causeNegotiation, "preauth", "keyscan/negotiate")
		case offer == "":
			c.m("Connection closed by " + c.ip + " port " + c.port + " [preauth]")
			c.finish(causeProbe, "preauth", "keyscan/closed")
		default:
			c.m("Unable to negotiate with " + c.ip + " port " + c.port + ": no matching host key type found. Their offer: " + offer + " [preauth]")
			c.finish(causeNegotiation, "preauth", "keyscan/negotiate")
		}
		if g.full || g.err != nil {
			return
		}
	}
}

// loginGraceTime is Debian's default (120 s).
const loginGraceTime = 120 * second

// stallConn starts authenticating and then hangs until LoginGraceTime.
// Debian 12's sshd logs nothing when the timer fires [lab 9.2]; 10.0's
// listener logs "Timeout before authentication … pid = M".
func (g *generator) stallConn(camp *campaign, start int64) int64 {
	h := camp.host
	c, ok := g.newConn(h, camp.ip, camp.nextPort(g), start)
	if !ok {
		return start
	}
	u := camp.users[0]
	c.user = u
	c.wait(g.kexDelay())
	known := systemAccounts[u]
	stage := g.rng.IntN(3)
	if h.modern && g.chance(0.5) {
		stage = -1 // stuck in KEX: nothing but the listener's line
		c.user = ""
	}
	if stage >= 0 {
		if known {
			c.m("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= " + rhost(c.ip, u, true))
		} else {
			if h.legacy {
				c.m("Invalid user " + u + " from " + c.ip)
			} else {
				c.m("Invalid user " + u + " from " + c.ip + " port " + c.port)
			}
			if stage >= 1 {
				c.m("pam_unix(sshd:auth): check pass; user unknown")
				c.m("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= " + rhost(c.ip, u, false))
			}
		}
		if stage == 2 {
			inv := "invalid user "
			if known {
				inv = ""
			}
			c.wait(g.between(1600*msec, 2600*msec))
			c.m("Failed password for " + inv + u + " from " + c.ip + " port " + c.port + " ssh2")
		}
	}
	c.ended = start + loginGraceTime + g.between(0, 4*second)
	if h.modern {
		c.t = c.ended
		c.listener("Timeout before authentication for connection from " + c.ip + " to " + h.laddr + ", pid = " + strconv.Itoa(c.mon))
	}
	c.finish(causeGraceTimeout, "preauth", "stall/grace")
	return c.ended
}

// burst opens many connections at once; those beyond MaxStartups' start (10)
// are dropped by the listener. Debian 12 logs only the first drop of a
// throttling episode at INFO, the rest at VERBOSE.
func (g *generator) burst(camp *campaign, start int64) {
	h := camp.host
	n := 12 + g.rng.IntN(30)
	for i := 0; i < n && !g.full && g.err == nil; i++ {
		at := start + int64(i)*g.between(0, 20*msec)
		if i < 10 {
			g.bruteConn(camp, at)
			continue
		}
		port := camp.nextPort(g)
		if h.modern {
			g.dropConn(h, camp.ip, port, at, "Maxstartups", "burst/maxstartups")
			continue
		}
		if at < h.throttleEnd || h.legacy {
			continue // dropped silently (VERBOSE; before 8.4 every drop is)
		}
		if i == 10 {
			// a new episode: begin, first drop, and its end
			dropped := n - 10
			c := g.newDrop(h, camp.ip, port, at)
			c.listener("error: beginning MaxStartups throttling")
			c.listener("drop connection #" + strconv.Itoa(i) + " from [" + c.ip + "]:" + c.port + " on [" + h.laddr + "]:22 past MaxStartups")
			d := g.between(5*second, 40*second)
			h.throttleEnd = at + d
			c.finish(causeRateLimited, "preauth", "burst/maxstartups")
			g.throttleExit(h, at+d, d, dropped)
		}
	}
}

// throttleExit logs the end of a MaxStartups episode (not a connection).
func (g *generator) throttleExit(h *host, at, d int64, dropped int) {
	s := d / second
	c := &conn{g: g, h: h, t: at, first: -1}
	c.listener("exited MaxStartups throttling after " + twoDigits(s/3600) + ":" + twoDigits(s/60%60) + ":" + twoDigits(s%60) + ", " + strconv.Itoa(dropped) + " connections dropped")
	g.commit()
}

func twoDigits(v int64) string {
	if v < 10 {
		return "0" + strconv.FormatInt(v, 10)
	}
	return strconv.FormatInt(v, 10)
}

// dropConn is a connection the listener refuses (10.0 wording; every drop is
// logged at INFO there).
func (g *generator) dropConn(h *host, ip string, port int, at int64, reason, scen string) int64 {
	c := g.newDrop(h, ip, port, at)
	c.listener("drop connection #" + strconv.Itoa(g.rng.IntN(3)) + " from [" + ip + "]:" + c.port + " on [" + h.laddr + "]:22 " + reason)
	c.finish(causeRateLimited, "preauth", scen)
	return at
}
