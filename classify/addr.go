package classify

import "net/netip"

// canonAddr reads the peer address sshd wrote. It returns the address in
// canonical form (as net/netip prints it: IPv4-mapped IPv6 unmapped, no
// zone) and true, or s itself and false when s is no address: a host name
// (UseDNS), "UNKNOWN" (a peer that is not on a socket) or garbage such as
// "999.1.1.1". It does not allocate when s is already canonical.
func canonAddr(s string) (string, bool) {
	if canonIPv4(s) {
		return s, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return s, false
	}
	a = a.Unmap().WithZone("")
	var buf [64]byte
	if b := a.AppendTo(buf[:0]); string(b) != s {
		return string(b), true
	}
	return s, true
}

// hasZone reports whether s carries an IPv6 zone ("fe80::1%eth0").
func hasZone(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			return true
		}
	}
	return false
}

// canonIPv4 reports whether s is an IPv4 address in canonical form (four
// decimal numbers up to 255 without leading zeros): most peers, checked
// without parsing and printing the address again.
func canonIPv4(s string) bool {
	_, ok := parseIPv4(s)
	return ok
}

// parseIPv4 returns the IPv4 address s in canonical form as a word, and
// false when s is anything else.
func parseIPv4(s string) (uint32, bool) {
	if len(s) < 7 || len(s) > 15 {
		return 0, false
	}
	// Part by part: one to three digits, no leading zero, then a dot
	// (a branch a byte fewer than a switch on every byte; every address of
	// every connection is read here).
	var a uint32
	i := 0
	for part := 0; part < 4; part++ {
		if part > 0 {
			if i >= len(s) || s[i] != '.' {
				return 0, false
			}
			i++
		}
		if i >= len(s) || s[i]-'0' > 9 {
			return 0, false
		}
		n := uint32(s[i] - '0')
		i++
		if n != 0 && i < len(s) && s[i]-'0' <= 9 {
			n = n*10 + uint32(s[i]-'0')
			i++
			if i < len(s) && s[i]-'0' <= 9 {
				n = n*10 + uint32(s[i]-'0')
				i++
				if n > 255 {
					return 0, false
				}
			}
		}
		a = a<<8 | n
	}
	return a, i == len(s)
}

// addrIndex finds connections by host, port and address. An IPv4 peer of
// one of the first 65,536 hosts (nearly every key) is one word, for the
// maps' fast path and no string to follow; other keys (IPv6, names) take
// the general map.
type addrIndex struct {
	v4   connIndex[uint64]
	rest connIndex[addrKey]
}

type addrKey struct {
	host uint32
	port int32
	ip   string
}

func newAddrIndex() addrIndex {
	return addrIndex{v4: newConnIndex[uint64](), rest: newConnIndex[addrKey]()}
}

// An addrRef is where a host, port and canonical address are in an
// addrIndex: one word for an IPv4 peer of one of the first 65,536 hosts
// (nearly every key), the three fields otherwise. A connection's lookup
// makes it once for both its search and its insertion.
type addrRef struct {
	word   uint64
	isWord bool
	key    addrKey
}

func (addrIndex) ref(host uint32, port int32, ip string) addrRef {
	if host < 1<<16 && port >= 0 && port <= 0xffff {
		if a, ok := parseIPv4(ip); ok {
			return addrRef{word: uint64(host)<<48 | uint64(port)<<32 | uint64(a), isWord: true}
		}
	}
	return addrRef{key: addrKey{host, port, ip}}
}

func (x *addrIndex) find(r addrRef) *conn {
	if r.isWord {
		return x.v4.get(r.word)
	}
	return x.rest.get(r.key)
}

func (x *addrIndex) put(r addrRef, c *conn) {
	if r.isWord {
		x.v4.set(r.word, c)
		return
	}
	x.rest.set(r.key, c)
}

func (x *addrIndex) set(host uint32, port int32, ip string, c *conn) {
	x.put(x.ref(host, port, ip), c)
}

func (x *addrIndex) drop(c *conn) {
	if r := x.ref(c.h.id, c.port, c.ip); r.isWord {
		x.v4.drop(r.word, c)
	} else {
		x.rest.drop(r.key, c)
	}
}

func (x *addrIndex) promote(c *conn) {
	if r := x.ref(c.h.id, c.port, c.ip); r.isWord {
		x.v4.promote(r.word, c)
	} else {
		x.rest.promote(r.key, c)
	}
}
