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
	if len(s) < 7 || len(s) > 15 {
		return false
	}
	parts, n, digits := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && n == 0 { // a leading zero
				return false
			}
			n = n*10 + int(c-'0')
			digits++
			if n > 255 {
				return false
			}
		case c == '.' && digits > 0 && parts < 3:
			parts++
			n, digits = 0, 0
		default:
			return false
		}
	}
	return parts == 3 && digits > 0
}
