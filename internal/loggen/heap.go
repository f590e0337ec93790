package loggen

// Program tags of generated lines.
type prog uint8

const (
	progSSHD    prog = iota // sshd
	progSession             // sshd-session (OpenSSH 9.8+)
	progCron                // CRON
	progSudo                // sudo (logs without a pid)
	progLogind              // systemd-logind
	progSystemd             // (systemd), the user manager's PAM lines
)

var progNames = [...]string{"sshd", "sshd-session", "CRON", "sudo", "systemd-logind", "(systemd)"}

// line is one pending log line.
type line struct {
	t    int64 // microseconds since the epoch
	seq  uint64
	host int32
	pid  int32 // 0: no "[pid]"
	prog prog
	msg  string
}

func (a *line) before(b *line) bool {
	if a.t != b.t {
		return a.t < b.t
	}
	return a.seq < b.seq
}

// lineHeap is a binary min-heap of lines ordered by (t, seq).
type lineHeap []line

func (h *lineHeap) push(l line) {
	*h = append(*h, l)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].before(&s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *lineHeap) pop() line {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = line{}
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s[r].before(&s[l]) {
			m = r
		}
		if !s[m].before(&s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// actorHeap is a binary min-heap of actors ordered by (at, seq).
type actorHeap []*actor

func (h *actorHeap) push(a *actor, seq *uint64) {
	a.seq = *seq
	*seq++
	*h = append(*h, a)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].before(s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *actorHeap) pop() *actor {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = nil
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s[r].before(s[l]) {
			m = r
		}
		if !s[m].before(s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

func (a *actor) before(b *actor) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}
