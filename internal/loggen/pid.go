package loggen

import "errors"

// firstPID is where Linux restarts after wrapping (RESERVED_PIDS).
const firstPID = 300

var errPIDsExhausted = errors.New("loggen: no free pid (raise -pid-max)")

// pidSpace allocates PIDs the way the kernel does: increasing, wrapping at
// max back to firstPID, skipping PIDs still in use. A PID is in use until
// the time passed to alloc; then it is released lazily.
type pidSpace struct {
	next int
	max  int
	used []uint64 // bitset
	rel  releaseHeap
}

func newPIDSpace(max, start int) *pidSpace {
	return &pidSpace{next: start, max: max, used: make([]uint64, (max+63)/64)}
}

// alloc returns a free PID after skipping skip PIDs (taken by processes the
// log never shows). The PID stays in use until free is called for it (a
// process that never ends, like the listener, is never freed).
func (p *pidSpace) alloc(now int64, skip int) (int, error) {
	for len(p.rel) > 0 && p.rel[0].t <= now {
		r := p.rel.pop()
		p.used[r.pid/64] &^= 1 << (r.pid % 64)
	}
	p.next += skip
	for tries := 0; tries < p.max; tries++ {
		p.next++
		if p.next >= p.max {
			p.next = firstPID + (p.next - p.max)
		}
		pid := p.next
		if p.used[pid/64]&(1<<(pid%64)) == 0 {
			p.used[pid/64] |= 1 << (pid % 64)
			return pid, nil
		}
	}
	return 0, errPIDsExhausted
}

// free releases pid at time t: allocations at t or later may reuse it.
func (p *pidSpace) free(pid int, t int64) {
	p.rel.push(release{t: t, pid: pid})
}

type release struct {
	t   int64
	pid int
}

type releaseHeap []release

func (h *releaseHeap) push(r release) {
	*h = append(*h, r)
	s := *h
	i := len(s) - 1
	for i > 0 {
		q := (i - 1) / 2
		if s[q].t <= s[i].t {
			break
		}
		s[i], s[q] = s[q], s[i]
		i = q
	}
}

func (h *releaseHeap) pop() release {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s[r].t < s[l].t {
			m = r
		}
		if s[i].t <= s[m].t {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
