package loggen

import (
	"encoding/base64"
	"net/netip"
	"strconv"
)

// host is one simulated server.
type host struct {
	idx        int32
	name       string
	modern     bool   // OpenSSH 10.0: sshd-session, listener grace lines, penalties
	legacy     bool   // OpenSSH 6.6 (Ubuntu 14.04): no ports in endings, no preambles
	allowUsers bool   // "AllowUsers" set: other existing accounts are refused
	laddr      string // the server's own address, in drop lines
	pids       *pidSpace
	listener   int // pid of the listening sshd
	logind     int // pid of systemd-logind
	session    int // next systemd-logind session number
	users      []*user
	// MaxStartups throttling episode (9.2): lines are logged only for the
	// first drop; throttleEnd is when the episode's exit line is due.
	throttleEnd int64
}

// user is a real account that logs in.
type user struct {
	name    string
	uid     int
	ip      string
	method  string // "publickey" or "password"
	keyInfo string // ": ED25519 SHA256:…" for publickey
	sudo    bool
	kind    userKind
	gap     int64 // mean (or exact, for periodic jobs) time between sessions
	// busyUntil is when the user's last session so far ends: a login after
	// it starts a new systemd user manager.
	busyUntil int64
	seen      bool // logged in successfully before (enables host-key inference)
}

type userKind uint8

const (
	interactive userKind = iota
	automation           // short exec sessions on a schedule (monitoring, backups)
	admin                // root by key
)

var userNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yann"}

var automationNames = []string{"nagios", "deploy", "borg", "ansible", "gitlab-runner"}

func (g *generator) newHost(i int, name string, modern, allowUsers bool) *host {
	h := &host{
		idx:        int32(i),
		name:       name,
		modern:     modern,
		allowUsers: allowUsers,
		laddr:      "203.0.113." + strconv.Itoa(10+i%240),
		pids:       newPIDSpace(g.cfg.PIDMax, 400+g.rng.IntN(200)),
		session:    1 + g.rng.IntN(500),
	}
	// Long-lived daemons hold their pids forever.
	h.logind, _ = h.pids.alloc(0, 0)
	h.listener, _ = h.pids.alloc(0, g.rng.IntN(50))
	h.pids.next += g.rng.IntN(g.cfg.PIDMax / 4)

	n := g.cfg.Users
	for k := 0; k < n; k++ {
		u := &user{uid: 1000 + k, sudo: g.chance(0.3)}
		switch {
		case k == 0:
			u.kind, u.name, u.uid = admin, "root", 0
			u.gap = 12 * hour
		case k%5 == 4:
			u.kind = automation
			u.name = automationNames[(k/5)%len(automationNames)]
			u.uid = 1100 + k
			// periodic: every minute to every 15 minutes
			u.gap = []int64{minute, 2 * minute, 5 * minute, 10 * minute, 15 * minute}[g.rng.IntN(5)]
		default:
			u.kind = interactive
			u.name = userNames[k%len(userNames)]
			if k >= len(userNames) {
				u.name += strconv.Itoa(k / len(userNames))
			}
			u.gap = hour + g.between(0, 3*hour)
		}
		u.ip = g.userAddr()
		if u.kind == interactive && g.chance(0.3) {
			u.method = "password"
		} else {
			u.method = "publickey"
			u.keyInfo = g.keyInfo()
		}
		h.users = append(h.users, u)
	}
	return h
}

// keyInfo renders the " ssh2: TYPE SHA256:…" suffix of an Accepted publickey line.
func (g *generator) keyInfo() string {
	var raw [32]byte
	for i := range raw {
		raw[i] = byte(g.rng.Uint32())
	}
	kt := []string{"ED25519", "ED25519", "RSA", "ECDSA"}[g.rng.IntN(4)]
	return ": " + kt + " SHA256:" + base64.RawStdEncoding.EncodeToString(raw[:])
}

// md5Style turns a key suffix into the MD5 hex fingerprint OpenSSH wrote
// before 6.8 (": RSA 4b:1f:…"), derived from the same random key.
func md5Style(info string) string {
	if info == "" {
		return ""
	}
	const hex = "0123456789abcdef"
	b := []byte(": RSA ")
	for i := 0; i < 16; i++ {
		c := info[len(info)-1-i]
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hex[c>>4&0xf], hex[c&0xf])
	}
	return string(b)
}

// botAddr returns a random public address of a bot; about 4% are IPv6.
func (g *generator) botAddr() string {
	if g.chance(0.04) {
		var a [16]byte
		a[0], a[1] = 0x24, 0x0e+byte(g.rng.IntN(4))
		for i := 2; i < 16; i++ {
			a[i] = byte(g.rng.Uint32())
		}
		if g.chance(0.5) { // many hosts use ::1-style interface ids
			for i := 8; i < 15; i++ {
				a[i] = 0
			}
		}
		return netip.AddrFrom16(a).String()
	}
	for {
		v := g.rng.Uint32()
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		if a.IsGlobalUnicast() && !a.IsPrivate() && v>>24 != 0 && v>>24 < 224 && v>>24 != 100 && v>>16 != 0xcb00 {
			return a.String()
		}
	}
}

// userAddr returns an address of a real user: VPN, office NAT or home.
func (g *generator) userAddr() string {
	switch g.rng.IntN(3) {
	case 0:
		return "10.8.0." + strconv.Itoa(2+g.rng.IntN(250))
	case 1:
		return "198.51.100." + strconv.Itoa(1+g.rng.IntN(254))
	}
	return g.botAddr() // home connections look like anything else
}

// clientPort returns an ephemeral source port (Linux or Windows range).
func (g *generator) clientPort() int {
	if g.chance(0.8) {
		return 32768 + g.rng.IntN(60999-32768+1)
	}
	return 49152 + g.rng.IntN(65535-49152+1)
}
