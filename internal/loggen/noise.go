package loggen

// Non-sshd lines of a Debian auth.log: cron's PAM sessions and sudo from
// local jobs. They are scheduled from a credit that commit fills so that
// they make up Config.Noise of the output.

// spendNoise schedules noise items while the credit lasts, at random times
// in the next minute.
func (g *generator) spendNoise() {
	for g.noise >= 2 && !g.full {
		at := g.now + g.between(0, minute)
		if !g.noiseItem(at, g.cfg.Lines-g.committed) {
			return
		}
	}
}

// topUp fills the line budget with noise after the last connection that fit.
func (g *generator) topUp() {
	at := g.now
	for g.committed < g.cfg.Lines && g.err == nil {
		at += g.expDur(20 * second)
		if !g.noiseItem(at, g.cfg.Lines-g.committed) {
			return
		}
	}
}

// noiseItem schedules one noise item of at most room lines at time at. It
// reports false when nothing fits.
func (g *generator) noiseItem(at int64, room int) bool {
	if room <= 0 {
		return false
	}
	h := g.hosts[g.rng.IntN(len(g.hosts))]
	push := func(t int64, p prog, pid int, msg string) {
		g.lines.push(line{t: t, seq: g.seq, host: h.idx, pid: int32(pid), prog: p, msg: msg})
		g.seq++
		g.committed++
		g.noise--
	}
	switch {
	case room >= 2 && g.chance(0.85):
		// CRON: open and close around a job
		pid, err := h.pids.alloc(g.now, g.rng.IntN(3))
		if err != nil {
			g.err = err
			return false
		}
		u, uid := "root", "0"
		if g.chance(0.15) {
			u, uid = "www-data", "33"
		}
		end := at + g.between(5*msec, 3*second)
		push(at, progCron, pid, "pam_unix(cron:session): session opened for user "+u+"(uid="+uid+") by (uid=0)")
		push(end, progCron, pid, "pam_unix(cron:session): session closed for user "+u)
		h.pids.free(pid, end)
	case room >= 3:
		// a monitoring agent's sudo: command, PAM open, PAM close
		cmd := []string{"/usr/lib/nagios/plugins/check_raid", "/usr/sbin/smartctl -H /dev/sda", "/usr/bin/fail2ban-client status sshd"}[g.rng.IntN(3)]
		push(at, progSudo, 0, "  nagios : PWD=/ ; USER=root ; COMMAND="+cmd)
		push(at+200*usec, progSudo, 0, "pam_unix(sudo:session): session opened for user root(uid=0) by (uid=109)")
		push(at+g.between(20*msec, 900*msec), progSudo, 0, "pam_unix(sudo:session): session closed for user root")
	default:
		push(at, progSudo, 0, "  nagios : command not allowed ; PWD=/ ; USER=root ; COMMAND=/usr/sbin/reboot")
	}
	return true
}
