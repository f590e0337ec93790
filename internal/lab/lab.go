// Package lab starts real log daemons and a real sshd on this machine, drives
// real ssh clients against it and captures what the daemons wrote. It exists
// for end-to-end tests and for regenerating captures (see cmd/labrun).
//
// Everything here needs root on a machine where systemd is NOT PID 1 (a
// container or a CI VM): the lab runs its own systemd-journald, which owns the
// global paths /run/systemd/journal and /dev/log. Users of those globals are
// serialised across processes with a flock (Lock), so `go test ./...` may run
// several packages that use the lab at once.
//
// The pieces:
//
//	StartLogs   systemd-journald (volatile storage, ForwardToSyslog=yes) with
//	            /dev/log pointing at it, and rsyslog reading journald's
//	            forward socket and writing auth,authpriv in BSD and RFC 3339
//	            format — the Debian 12 arrangement.
//	StartSSHD   /usr/sbin/sshd -D with a private config, host key and users.
//	Relay       a TCP relay that dials sshd from a known source port and can
//	            reset or corrupt the connection.
//	Scenarios   the connection endings the e2e test expects to classify.
//	Run         all of the above for one LogLevel, captured into a directory.
package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// TB is the part of testing.TB the lab needs. Fatalf must only be called
// from the goroutine that owns the TB; the lab's worker goroutines return
// errors instead.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// LockPath is the file whose flock serialises users of the global journald
// paths across processes.
const LockPath = "/run/lock/sshwhy-lab.lock"

// Lock takes the lab lock, waiting for other holders, and releases it when
// tb's test ends. Call it before touching /run/systemd/journal or /dev/log.
func Lock(tb TB) {
	tb.Helper()
	requireRoot(tb)
	if err := os.MkdirAll(filepath.Dir(LockPath), 0o755); err != nil {
		tb.Fatalf("lab: %v", err)
	}
	f, err := os.OpenFile(LockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		tb.Fatalf("lab: open lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		tb.Logf("lab: waiting for %s (another test binary uses the lab)", LockPath)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			tb.Fatalf("lab: flock %s: %v", LockPath, err)
		}
	}
	tb.Cleanup(func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}

func requireRoot(tb TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Fatalf("lab: must run as root (it starts systemd-journald, rsyslogd and sshd and creates users)")
	}
}

// requireBinary fails tb when path is not an executable file, naming the
// Debian package that provides it.
func requireBinary(tb TB, path, pkg string) {
	tb.Helper()
	if _, err := exec.LookPath(path); err != nil {
		tb.Fatalf("lab: %s not found (%v): install the Debian package %q (apt-get install %s)", path, err, pkg, pkg)
	}
}

// daemon is a process the lab started and stops at cleanup.
type daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // exit status, valid after done is closed
}

// startDaemon starts argv in its own process group with stdout and stderr
// appended to logPath. The daemon dies with the lab process (Pdeathsig).
func startDaemon(name, logPath string, argv ...string) (*daemon, error) {
	out, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		out.Close()
		close(d.done)
	}()
	return d, nil
}

// running reports whether the daemon has not exited yet.
func (d *daemon) running() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM to the daemon and every process it forked (found by
// walking /proc, since sshd's per-connection children call setsid), waits,
// then SIGKILLs what is left.
func (d *daemon) stop() {
	if !d.running() {
		return
	}
	kids := descendants(d.cmd.Process.Pid)
	d.cmd.Process.Signal(syscall.SIGTERM)
	for _, p := range kids {
		syscall.Kill(p, syscall.SIGTERM)
	}
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
	for _, p := range kids {
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// descendants lists the pids below pid in the process tree.
func descendants(pid int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := ppid(p); ok {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// ppid reads the parent pid from /proc/PID/stat.
func ppid(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name is in parentheses and may contain spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	p, err := strconv.Atoi(f[1])
	return p, err == nil
}

// procComm returns /proc/PID/comm without the newline.
func procComm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

// pidsNamed lists running processes whose comm is name (comm is cut to 15
// bytes by the kernel).
func pidsNamed(name string) []int {
	if len(name) > 15 {
		name = name[:15]
	}
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if procComm(p) == name {
			out = append(out, p)
		}
	}
	return out
}

// waitFor polls cond every 20ms until it returns true or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// errTimeout is returned by helpers that gave up waiting.
var errTimeout = errors.New("timed out")
