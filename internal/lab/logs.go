package lab

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Paths owned by journald. They are global, hence Lock.
const (
	journalRunDir  = "/run/systemd/journal"
	journalDevLog  = journalRunDir + "/dev-log"
	journalSyslog  = journalRunDir + "/syslog" // ForwardToSyslog target, rsyslog listens here
	journalVarlink = journalRunDir + "/io.systemd.journal"
	devLog         = "/dev/log"
	journaldBin    = "/lib/systemd/systemd-journald"
	journaldDropIn = "/run/systemd/journald.conf.d/zz-sshwhy-lab.conf"
	labPIDFile     = "/run/sshwhy-lab-journald.pid" // lets a later run kill a journald a crashed run left behind
)

// journaldConf is the lab's journald drop-in: volatile storage under
// /run/log/journal/<machine-id>, forwarding to syslog like Debian 12, and no
// rate limit so bursts of scenario lines are never suppressed.
const journaldConf = `# written by the sshwhy lab (internal/lab); removed when the lab stops
[Journal]
Storage=volatile
ReadKMsg=no
ForwardToSyslog=yes
ForwardToWall=no
ForwardToConsole=no
ForwardToKMsg=no
RateLimitIntervalSec=0
RateLimitBurst=0
Audit=no
`

// Logs is a running journald plus rsyslog pair. sshd, logger and anything
// else that logs through /dev/log ends up in the journal and, for facilities
// auth and authpriv, in two rsyslog files.
type Logs struct {
	// JournalDir is the journal directory (/run/log/journal/<machine-id>),
	// for journalctl --directory and ingest.OpenJournal.
	JournalDir string
	// BSDFile is written with RSYSLOG_TraditionalFileFormat
	// ("Nov 23 20:01:07 host sshd[7831]: …").
	BSDFile string
	// RFC3339File is written with RSYSLOG_FileFormat, Debian 12's default
	// ("2026-11-23T20:01:07.123456+00:00 host sshd[7831]: …").
	RFC3339File string
	// Dir holds the rsyslog config, daemon output and the files above.
	Dir string

	journald *daemon
	rsyslog  *daemon
}

// StartLogs takes the lab lock and starts journald and rsyslog; both stop,
// and /dev/log is removed, when tb's test ends. The journal starts empty.
func StartLogs(tb TB) *Logs {
	tb.Helper()
	requireRoot(tb)
	requireBinary(tb, journaldBin, "systemd")
	requireBinary(tb, "journalctl", "systemd")
	requireBinary(tb, "rsyslogd", "rsyslog")
	requireBinary(tb, "logger", "bsdutils")
	Lock(tb)

	if procComm(1) == "systemd" || isSystemdInit() {
		tb.Fatalf("lab: systemd is PID 1: the lab would disturb this host's journald; run it in a container or VM without systemd")
	}
	killStaleJournald(tb)
	if pids := pidsNamed("systemd-journald"); len(pids) > 0 {
		tb.Fatalf("lab: a systemd-journald the lab did not start is running (pid %v); refusing to disturb it", pids)
	}
	if err := checkDevLogFree(); err != nil {
		tb.Fatalf("lab: %v", err)
	}
	mid, err := machineID()
	if err != nil {
		tb.Fatalf("lab: %v (journald needs /etc/machine-id: run systemd-machine-id-setup)", err)
	}

	l := &Logs{
		JournalDir: filepath.Join("/run/log/journal", mid),
		Dir:        tempDir(tb, "logs"),
	}
	l.BSDFile = filepath.Join(l.Dir, "auth.log")
	l.RFC3339File = filepath.Join(l.Dir, "auth-rfc3339.log")

	// A clean slate: stale sockets from an earlier run, and the previous
	// run's volatile journal (no journald is running, see above).
	if err := os.MkdirAll(journalRunDir, 0o755); err != nil {
		tb.Fatalf("lab: %v", err)
	}
	for _, s := range []string{journalDevLog, journalSyslog, journalVarlink, journalRunDir + "/socket", journalRunDir + "/stdout"} {
		os.Remove(s)
	}
	if err := os.RemoveAll(l.JournalDir); err != nil {
		tb.Fatalf("lab: %v", err)
	}

	// systemd (PID 1) raises the datagram queue of unix sockets to 512 at
	// boot; the kernel default of 10 makes journald drop forwarded lines
	// ("Forwarding to syslog missed N messages") in any burst. Do the same
	// before the sockets are made, and restore the value afterwards.
	raiseDgramQueue(tb, 512)

	// rsyslog first, so its socket exists before journald forwards to it.
	conf := fmt.Sprintf(`# sshwhy lab rsyslog: reads journald's ForwardToSyslog socket, as on Debian 12.
global(workDirectory=%q)
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket=%q CreatePath="on" RateLimit.Interval="0")
auth,authpriv.* action(type="omfile" file=%q template="RSYSLOG_TraditionalFileFormat")
auth,authpriv.* action(type="omfile" file=%q template="RSYSLOG_FileFormat")
`, l.Dir, journalSyslog, l.BSDFile, l.RFC3339File)
	confPath := filepath.Join(l.Dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		tb.Fatalf("lab: %v", err)
	}
	l.rsyslog, err = startDaemon("rsyslogd", filepath.Join(l.Dir, "rsyslogd.out"),
		"rsyslogd", "-n", "-f", confPath, "-i", filepath.Join(l.Dir, "rsyslogd.pid"))
	if err != nil {
		tb.Fatalf("lab: %v", err)
	}
	tb.Cleanup(l.rsyslog.stop)
	if !waitFor(10*time.Second, func() bool { return isSocket(journalSyslog) || !l.rsyslog.running() }) || !l.rsyslog.running() {
		tb.Fatalf("lab: rsyslogd did not create %s: %s", journalSyslog, readTail(filepath.Join(l.Dir, "rsyslogd.out")))
	}

	if err := os.MkdirAll(filepath.Dir(journaldDropIn), 0o755); err != nil {
		tb.Fatalf("lab: %v", err)
	}
	if err := os.WriteFile(journaldDropIn, []byte(journaldConf), 0o644); err != nil {
		tb.Fatalf("lab: %v", err)
	}
	tb.Cleanup(func() { os.Remove(journaldDropIn) })
	l.journald, err = startDaemon("systemd-journald", filepath.Join(l.Dir, "journald.out"), journaldBin)
	if err != nil {
		tb.Fatalf("lab: %v", err)
	}
	os.WriteFile(labPIDFile, []byte(strconv.Itoa(l.journald.cmd.Process.Pid)), 0o644)
	tb.Cleanup(func() {
		l.journald.stop()
		os.Remove(labPIDFile)
	})
	if !waitFor(10*time.Second, func() bool {
		return (isSocket(journalDevLog) && isSocket(journalVarlink)) || !l.journald.running()
	}) || !l.journald.running() {
		tb.Fatalf("lab: systemd-journald did not start: %s", readTail(filepath.Join(l.Dir, "journald.out")))
	}

	os.Remove(devLog)
	if err := os.Symlink(journalDevLog, devLog); err != nil {
		tb.Fatalf("lab: %v", err)
	}
	tb.Cleanup(func() {
		if t, _ := os.Readlink(devLog); t == journalDevLog {
			os.Remove(devLog)
		}
	})
	if err := l.Sync(); err != nil {
		tb.Fatalf("lab: logs do not flow: %v", err)
	}
	return l
}

// Sync makes sure everything logged before the call is readable: it logs a
// unique barrier line (facility authpriv, tag "sshwhy-lab") and waits until
// the journal and both rsyslog files contain it. Datagrams on /dev/log are
// processed in order, so every earlier line is there too.
func (l *Logs) Sync() error {
	token := "barrier " + randomHex(8)
	if out, err := exec.Command("logger", "-p", "authpriv.info", "-t", "sshwhy-lab", token).CombinedOutput(); err != nil {
		return fmt.Errorf("logger: %v: %s", err, out)
	}
	var why string
	ok := waitFor(15*time.Second, func() bool {
		for _, f := range []string{l.BSDFile, l.RFC3339File} {
			b, _ := os.ReadFile(f)
			if !bytes.Contains(b, []byte(token)) {
				why = f + " lacks the barrier line"
				return false
			}
		}
		exec.Command("journalctl", "--sync").Run()
		out, err := exec.Command("journalctl", "--directory", l.JournalDir, "--no-pager", "-o", "cat", "-t", "sshwhy-lab").Output()
		if err != nil || !bytes.Contains(out, []byte(token)) {
			why = "the journal lacks the barrier line"
			return false
		}
		return true
	})
	if !ok {
		return fmt.Errorf("%w: %s", errTimeout, why)
	}
	return nil
}

// ReopenFiles sends SIGHUP to rsyslog, which closes its output files and
// creates them again at the next line: what logrotate's postrotate does.
func (l *Logs) ReopenFiles() error {
	return l.rsyslog.cmd.Process.Signal(syscall.SIGHUP)
}

// Log sends messages to /dev/log with logger(1), one entry per message, all
// from one logger process, with tag (the program name, e.g. "sshd") and
// priority (e.g. "authpriv.info"). It returns the pid the entries carry.
func Log(tag, priority string, messages ...string) (int, error) {
	cmd := exec.Command("logger", "--id", "-t", tag, "-p", priority)
	cmd.Stdin = strings.NewReader(strings.Join(messages, "\n") + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("logger: %w", err)
	}
	pid := cmd.Process.Pid
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("logger: %v: %s", err, out.String())
	}
	return pid, nil
}

// Export writes the journal in `journalctl -o <mode>` form (e.g. "export",
// "json", "short-iso-precise") to path.
func (l *Logs) Export(mode, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	cmd := exec.Command("journalctl", "--directory", l.JournalDir, "--no-pager", "-o", mode)
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("journalctl -o %s: %v: %s", mode, err, stderr.String())
	}
	return nil
}

// Capture files written by CaptureTo, relative to its directory.
const (
	CaptureBSD     = "auth.log"
	CaptureRFC3339 = "auth-rfc3339.log"
	CaptureExport  = "journal.export"
	CaptureJSON    = "journal.json"
)

// CaptureTo syncs and copies both rsyslog files and the journal (as
// `journalctl -o export` and `-o json`) into dir.
func (l *Logs) CaptureTo(dir string) error {
	if err := l.Sync(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for src, dst := range map[string]string{l.BSDFile: CaptureBSD, l.RFC3339File: CaptureRFC3339} {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			return err
		}
	}
	if err := l.Export("export", filepath.Join(dir, CaptureExport)); err != nil {
		return err
	}
	if err := l.Export("json", filepath.Join(dir, CaptureJSON)); err != nil {
		return err
	}
	// journald drops lines it cannot forward; then the rsyslog files and
	// the journal disagree and the capture is useless for comparisons.
	out, err := exec.Command("journalctl", "--directory", l.JournalDir, "--no-pager", "-o", "cat", "-t", "systemd-journald").Output()
	if err != nil {
		return fmt.Errorf("journalctl: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "Forwarding to syslog missed") {
			return fmt.Errorf("journald: %s: the rsyslog files lack lines the journal has", line)
		}
	}
	return nil
}

// killStaleJournald stops a journald recorded in labPIDFile: one a crashed
// earlier lab run left behind (the lab lock is held, so no live run owns it).
func killStaleJournald(tb TB) {
	b, err := os.ReadFile(labPIDFile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || procComm(pid) != "systemd-journal" {
		os.Remove(labPIDFile)
		return
	}
	tb.Logf("lab: stopping journald pid %d left by an earlier lab run", pid)
	p, _ := os.FindProcess(pid)
	p.Kill()
	waitFor(5*time.Second, func() bool { return procComm(pid) != "systemd-journal" })
	os.Remove(labPIDFile)
}

// isSystemdInit reports whether PID 1's executable is systemd.
func isSystemdInit() bool {
	exe, _ := os.Readlink("/proc/1/exe")
	return strings.Contains(exe, "systemd")
}

// checkDevLogFree fails when /dev/log is a socket some other syslog daemon
// is listening on; a stale socket or our own symlink is fine.
func checkDevLogFree() error {
	fi, err := os.Lstat(devLog)
	if err != nil {
		return nil
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		if t, _ := os.Readlink(devLog); t == journalDevLog {
			return nil
		}
	}
	if c, err := net.Dial("unixgram", devLog); err == nil {
		c.Close()
		return fmt.Errorf("%s is owned by a running syslog daemon; refusing to replace it", devLog)
	}
	return nil
}

func machineID() (string, error) {
	b, err := os.ReadFile("/etc/machine-id")
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(string(b))
	if len(id) != 32 {
		return "", fmt.Errorf("/etc/machine-id is malformed (%q)", id)
	}
	return id, nil
}

func isSocket(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// readTail returns the last 2 KB of a file, for error messages.
func readTail(p string) string {
	b, _ := os.ReadFile(p)
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	return strings.TrimSpace(string(b))
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// tempDir makes a fresh directory for one lab component and removes it when
// tb's test ends. Paths stay short (sshd and unix sockets dislike long ones).
func tempDir(tb TB, name string) string {
	tb.Helper()
	d, err := os.MkdirTemp("", "sshwhy-lab-"+name+"-")
	if err != nil {
		tb.Fatalf("lab: %v", err)
	}
	os.Chmod(d, 0o755)
	tb.Cleanup(func() { os.RemoveAll(d) })
	return d
}

const dgramQlenPath = "/proc/sys/net/unix/max_dgram_qlen"

// raiseDgramQueue sets net.unix.max_dgram_qlen to at least n until tb's
// test ends.
func raiseDgramQueue(tb TB, n int) {
	tb.Helper()
	b, err := os.ReadFile(dgramQlenPath)
	if err != nil {
		tb.Fatalf("lab: %v", err)
	}
	old := strings.TrimSpace(string(b))
	if cur, err := strconv.Atoi(old); err == nil && cur >= n {
		return
	}
	if err := os.WriteFile(dgramQlenPath, []byte(strconv.Itoa(n)), 0o644); err != nil {
		tb.Fatalf("lab: raise %s like systemd does at boot: %v", dgramQlenPath, err)
	}
	tb.Cleanup(func() { os.WriteFile(dgramQlenPath, []byte(old), 0o644) })
}
