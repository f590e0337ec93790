package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Env is what scenarios act on: the servers, the accounts and a scratch
// directory for client files.
type Env struct {
	SSHD     *SSHD // the main server
	Throttle *SSHD // a second server with MaxStartups 1
	Users    *Users
	Dir      string

	knownHosts      string // the right host key under alias hostAlias
	wrongKnownHosts string // another key under the same alias
	askpassWrong    string // prints a wrong password
	askpassPark     string // touches $SSHWHY_MARKER and sleeps: a client parked at the prompt
}

// hostAlias names the server in known_hosts whatever relay port the client
// dials.
const hostAlias = "sshwhy-lab"

// NewEnv prepares client-side files for the servers.
func NewEnv(tb TB, main, throttle *SSHD, users *Users) *Env {
	tb.Helper()
	requireBinary(tb, "ssh", "openssh-client")
	requireBinary(tb, "sshpass", "sshpass")
	e := &Env{SSHD: main, Throttle: throttle, Users: users, Dir: tempDir(tb, "client")}
	e.knownHosts = filepath.Join(e.Dir, "known_hosts")
	e.wrongKnownHosts = filepath.Join(e.Dir, "known_hosts.wrong")
	other := filepath.Join(e.Dir, "other_host_key")
	genKey(tb, other, "ed25519")
	otherPub, err := os.ReadFile(other + ".pub")
	if err != nil {
		tb.Fatalf("lab: %v", err)
	}
	f := strings.Fields(string(otherPub))
	e.askpassWrong = filepath.Join(e.Dir, "askpass-wrong")
	e.askpassPark = filepath.Join(e.Dir, "askpass-park")
	files := map[string]string{
		e.knownHosts:      hostAlias + " " + main.HostKeyPub + "\n",
		e.wrongKnownHosts: hostAlias + " " + f[0] + " " + f[1] + "\n",
		e.askpassWrong:    "#!/bin/sh\necho wrong-password\n",
		// ssh runs askpass in a new session, out of reach of the process
		// group kill: the script ends when its parent ssh does.
		e.askpassPark: "#!/bin/sh\n: > \"$SSHWHY_MARKER\"\nwhile kill -0 $PPID 2>/dev/null; do sleep 0.2; done\n",
	}
	for p, s := range files {
		if err := os.WriteFile(p, []byte(s), 0o755); err != nil {
			tb.Fatalf("lab: %v", err)
		}
	}
	return e
}

// Conn is one TCP connection a scenario made: sshd logs it as
// "127.0.0.1 port Port".
type Conn struct {
	Scenario   string `json:"scenario"`
	Role       string `json:"role,omitempty"` // which of a scenario's connections, when it makes several
	ServerPort int    `json:"server_port"`
	Port       int    `json:"src_port"`
	Client     string `json:"client,omitempty"` // what the client saw, for humans
}

// Key is "scenario" or "scenario/role".
func (c Conn) Key() string {
	if c.Role == "" {
		return c.Scenario
	}
	return c.Scenario + "/" + c.Role
}

// Scenario is one way for a connection to end.
type Scenario struct {
	Name string
	// Stage orders scenarios: all of stage 0 ends before stage 1 starts,
	// and so on; scenarios of one stage run concurrently.
	Stage int
	Doc   string
	Run   func(ctx context.Context, e *Env) ([]Conn, error)
}

// Scenarios returns every scenario. Stage 0 logs in successfully first, so
// later pre-auth closes from 127.0.0.1 come from a known client (the
// host-key inference of causes.md needs that); stage 2 logs in again after
// every grace timeout has expired, so the log goes on past them.
func Scenarios() []Scenario {
	return []Scenario{
		{"logout_password", 0, "password login, command `true`, normal exit", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.sshSimple(ctx, RelayOptions{}, e.passwordLogin(UserOK, e.Users.Password), "true")
		}},
		{"logout_key", 0, "public-key login, command `true`, normal exit", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.sshSimple(ctx, RelayOptions{}, e.keyLogin(UserOK, e.Users.Key), "true")
		}},
		{"wrong_password", 1, "one wrong password (NumberOfPasswordPrompts=1), client gives up", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.sshSimple(ctx, RelayOptions{}, e.passwordLogin(UserOK, "wrong-password"), "true")
		}},
		{"maxtries_password", 1, "wrong passwords via SSH_ASKPASS until MaxAuthTries", func(ctx context.Context, e *Env) ([]Conn, error) {
			a := e.askpassLogin(UserOK, e.askpassWrong, "")
			a.args = append(a.args, "-o", "NumberOfPasswordPrompts=10")
			return e.sshSimple(ctx, RelayOptions{}, a, "true")
		}},
		{"maxtries_key", 1, "four unauthorised keys, MaxAuthTries 3", func(ctx context.Context, e *Env) ([]Conn, error) {
			l := e.keyLogin(UserOK, e.Users.OtherKeys...)
			return e.sshSimple(ctx, RelayOptions{}, l, "true")
		}},
		{"invalid_user", 1, "password login as a user that does not exist", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.sshSimple(ctx, RelayOptions{}, e.passwordLogin(UserInvalid, e.Users.Password), "true")
		}},
		{"rejected_key", 1, "one key that is not in authorized_keys, no password", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.sshSimple(ctx, RelayOptions{}, e.keyLogin(UserOK, e.Users.OtherKeys[0]), "true")
		}},
		{"not_allowed", 1, "the right password of an existing user not in AllowUsers", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.sshSimple(ctx, RelayOptions{}, e.passwordLogin(UserDenied, e.Users.Password), "true")
		}},
		{"grace_silent", 1, "TCP connect, read the server banner, send nothing until LoginGraceTime", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.rawUntilClosed(ctx, "")
		}},
		{"grace_banner", 1, "send an SSH banner, then nothing until LoginGraceTime", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.rawUntilClosed(ctx, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n")
		}},
		{"grace_prompt", 1, "ssh parked at the password prompt until LoginGraceTime", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.parkedAtPrompt(ctx, false)
		}},
		{"client_alive", 1, "key login, `sleep`, then SIGSTOP the ssh client: ClientAlive timeout", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.sessionThen(ctx, UserOK, func(r *Relay, c *client) error {
				if err := c.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
					return err
				}
				return waitDone(ctx, r.ServerClosed(), "sshd to drop the stopped client")
			})
		}},
		{"hostkey_changed", 1, "client with a different key in known_hosts, StrictHostKeyChecking yes", func(ctx context.Context, e *Env) ([]Conn, error) {
			l := e.keyLogin(UserOK, e.Users.Key)
			l.knownHosts = e.wrongKnownHosts
			return e.sshSimple(ctx, RelayOptions{}, l, "true")
		}},
		{"nego_hostkey", 1, "client offers only ssh-rsa host keys, server has ed25519", func(ctx context.Context, e *Env) ([]Conn, error) {
			l := e.keyLogin(UserOK, e.Users.Key)
			l.args = append(l.args, "-o", "HostKeyAlgorithms=ssh-rsa")
			return e.sshSimple(ctx, RelayOptions{}, l, "true")
		}},
		{"nego_cipher", 1, "client offers only aes256-cbc, server allows chacha20/aes-ctr/aes-gcm", func(ctx context.Context, e *Env) ([]Conn, error) {
			l := e.keyLogin(UserOK, e.Users.Key)
			l.args = append(l.args, "-c", "aes256-cbc")
			return e.sshSimple(ctx, RelayOptions{}, l, "true")
		}},
		{"probe_close", 1, "TCP connect, read the banner, close (FIN)", func(ctx context.Context, e *Env) ([]Conn, error) {
			c, port, err := Dial(ctx, e.SSHD.Addr)
			if err != nil {
				return nil, err
			}
			banner, _ := readLine(c, 5*time.Second)
			c.Close()
			return []Conn{{ServerPort: e.SSHD.Port, Port: port, Client: "read " + strconv.Quote(banner) + ", closed"}}, nil
		}},
		{"probe_rst", 1, "TCP connect, close with SO_LINGER 0 (RST) before the banner exchange", func(ctx context.Context, e *Env) ([]Conn, error) {
			c, port, err := Dial(ctx, e.SSHD.Addr)
			if err != nil {
				return nil, err
			}
			time.Sleep(300 * time.Millisecond)
			c.SetLinger(0)
			c.Close()
			return []Conn{{ServerPort: e.SSHD.Port, Port: port, Client: "reset"}}, nil
		}},
		{"http", 1, "an HTTP request sent to the ssh port", func(ctx context.Context, e *Env) ([]Conn, error) {
			c, port, err := Dial(ctx, e.SSHD.Addr)
			if err != nil {
				return nil, err
			}
			defer c.Close()
			c.Write([]byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: sshwhy-lab\r\n\r\n"))
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			reply, _ := io.ReadAll(c)
			return []Conn{{ServerPort: e.SSHD.Port, Port: port, Client: "got " + strconv.Quote(string(reply))}}, nil
		}},
		{"rst_preauth", 1, "ssh at the password prompt, then the relay resets both sides", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.parkedAtPrompt(ctx, true)
		}},
		{"rst_postauth", 1, "key login, `sleep`, then the relay resets both sides", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.sessionThen(ctx, UserOK, func(r *Relay, c *client) error {
				r.Reset()
				return nil
			})
		}},
		{"corrupt_preauth", 1, "relay flips a byte of the first encrypted packet (chacha20-poly1305)", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.sshCorrupt(ctx, RelayOptions{CorruptAfter: 5}, e.keyLogin(UserOK, e.Users.Key))
		}},
		{"corrupt_mac", 1, "relay flips a byte of the first encrypted packet (aes128-ctr + hmac-sha2-256)", func(ctx context.Context, e *Env) ([]Conn, error) {
			l := e.keyLogin(UserOK, e.Users.Key)
			l.args = append(l.args, "-c", "aes128-ctr", "-m", "hmac-sha2-256")
			return e.sshCorrupt(ctx, RelayOptions{CorruptAfter: 5}, l)
		}},
		{"corrupt_postauth", 1, "key login streaming 2 MiB; relay flips a byte 256 KiB into the encrypted stream", func(ctx context.Context, e *Env) ([]Conn, error) {
			l := e.keyLogin(UserOK, e.Users.Key)
			l.stdin = bytes.NewReader(make([]byte, 2<<20))
			return e.sshCorrupt(ctx, RelayOptions{CorruptAfter: 256 << 10}, l, "cat >/dev/null")
		}},
		{"maxstartups", 1, "MaxStartups 1 server: one connection holds the slot, the next is dropped", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.maxStartups(ctx)
		}},
		{"idle_unused", 1, "key login with ssh -N (no channel): UnusedConnectionTimeout closes it", func(ctx context.Context, e *Env) ([]Conn, error) {
			l := e.keyLogin(UserOK, e.Users.Key)
			l.args = append(l.args, "-N")
			return e.sshSimple(ctx, RelayOptions{}, l)
		}},
		{"logout_root", 1, "root key login, command `true`, normal exit (no post-auth child in 9.2)", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.sshSimple(ctx, RelayOptions{}, e.keyLogin("root", e.Users.Key), "true")
		}},
		{"session_killed", 1, "key login, `sleep`, then SIGTERM the session's sshd (as at shutdown)", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.sessionThen(ctx, UserOK, e.killSession)
		}},
		{"root_killed", 1, "root key login, `sleep`, then SIGTERM the session's sshd (as at shutdown)", func(ctx context.Context, e *Env) ([]Conn, error) {
			return e.sessionThen(ctx, "root", e.killSession)
		}},
		{"late_logout", 2, "key login after every other scenario ended (the log goes on past the grace timeouts)", func(ctx context.Context, e *Env) ([]Conn, error) {
			// Stage 1 ends when the grace connections are cut, LoginGraceTime
			// after they were logged; wait a little more so that even at
			// one-second (BSD) precision the log clearly goes on past it.
			select {
			case <-time.After(2 * time.Second):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return e.sshSimple(ctx, RelayOptions{}, e.keyLogin(UserOK, e.Users.Key), "true")
		}},
	}
}

// RunScenarios runs the scenarios stage by stage, each stage concurrently,
// and returns every connection made, sorted by scenario. A scenario that
// fails is reported in the error; the others still run.
func RunScenarios(ctx context.Context, e *Env, scenarios []Scenario) ([]Conn, error) {
	stages := map[int][]Scenario{}
	var order []int
	for _, s := range scenarios {
		if _, ok := stages[s.Stage]; !ok {
			order = append(order, s.Stage)
		}
		stages[s.Stage] = append(stages[s.Stage], s)
	}
	sort.Ints(order)
	var (
		mu    sync.Mutex
		conns []Conn
		errs  []error
	)
	for _, st := range order {
		var wg sync.WaitGroup
		for _, s := range stages[st] {
			wg.Add(1)
			go func(s Scenario) {
				defer wg.Done()
				sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
				defer cancel()
				cs, err := s.Run(sctx, e)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("scenario %s: %w", s.Name, err))
				}
				for _, c := range cs {
					c.Scenario = s.Name
					conns = append(conns, c)
				}
			}(s)
		}
		wg.Wait()
	}
	sort.Slice(conns, func(i, j int) bool { return conns[i].Key() < conns[j].Key() })
	seen := map[int]string{}
	for _, c := range conns {
		if c.Port == 0 {
			errs = append(errs, fmt.Errorf("scenario %s: no source port recorded", c.Key()))
		} else if prev, ok := seen[c.Port]; ok {
			errs = append(errs, fmt.Errorf("source port %d used by %s and %s", c.Port, prev, c.Key()))
		}
		seen[c.Port] = c.Key()
	}
	return conns, errors.Join(errs...)
}

// login describes an ssh client invocation.
type login struct {
	user       string
	pre        []string // command before ssh (sshpass)
	args       []string // extra ssh options
	env        []string
	knownHosts string
	stdin      io.Reader
}

func (e *Env) keyLogin(user string, keys ...string) login {
	l := login{user: user, args: []string{"-o", "BatchMode=yes", "-o", "PasswordAuthentication=no"}}
	for _, k := range keys {
		l.args = append(l.args, "-i", k)
	}
	return l
}

func (e *Env) passwordLogin(user, password string) login {
	return login{
		user: user,
		pre:  []string{"sshpass", "-p", password},
		args: []string{"-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1"},
	}
}

func (e *Env) askpassLogin(user, askpass, marker string) login {
	return login{
		user: user,
		args: []string{"-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password"},
		env:  []string{"SSH_ASKPASS=" + askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0", "SSHWHY_MARKER=" + marker},
	}
}

// client is a running ssh (maybe under sshpass) in its own process group.
type client struct {
	cmd    *exec.Cmd
	stdout *readyWriter
	stderr *bytes.Buffer // written by exec's copier; read only after waited
	waited chan struct{} // closed when the process has exited
}

// readyWriter collects stdout and closes ready when a line "ready" arrives.
type readyWriter struct {
	mu    sync.Mutex
	buf   []byte
	ready chan struct{}
	once  sync.Once
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if bytes.Contains(w.buf, []byte("ready\n")) {
		w.once.Do(func() { close(w.ready) })
	}
	return len(p), nil
}

func (e *Env) startSSH(ctx context.Context, port int, l login, remote ...string) (*client, error) {
	kh := l.knownHosts
	if kh == "" {
		kh = e.knownHosts
	}
	argv := append([]string{}, l.pre...)
	argv = append(argv, "ssh", "-F", "/dev/null", "-T",
		"-p", strconv.Itoa(port), "-l", l.user,
		"-o", "HostKeyAlias="+hostAlias,
		"-o", "UserKnownHostsFile="+kh,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "IdentityAgent=none",
		"-o", "IdentitiesOnly=yes",
		"-o", "ConnectTimeout=30")
	argv = append(argv, l.args...)
	argv = append(argv, "127.0.0.1")
	argv = append(argv, remote...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), l.env...)
	cmd.Stdin = l.stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c := &client{cmd: cmd, stderr: new(bytes.Buffer), waited: make(chan struct{}),
		stdout: &readyWriter{ready: make(chan struct{})}}
	cmd.Stderr = c.stderr
	cmd.Stdout = c.stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		cmd.Wait() // the exit status is in cmd.ProcessState
		close(c.waited)
	}()
	go func() {
		select {
		case <-ctx.Done():
			c.kill()
		case <-c.waited:
		}
	}()
	return c, nil
}

// kill SIGKILLs the client's process group (ssh, sshpass, askpass, even
// when stopped).
func (c *client) kill() {
	syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
}

// wait waits for the client to exit and returns its stderr summary.
func (c *client) wait(ctx context.Context) (string, error) {
	select {
	case <-c.waited:
	case <-ctx.Done():
		c.kill()
		<-c.waited
		return c.summary(), fmt.Errorf("client did not exit: %w", ctx.Err())
	}
	return c.summary(), nil
}

// summary is the client's exit status and stderr, one line. Call it only
// after the client exited.
func (c *client) summary() string {
	var b strings.Builder
	if c.cmd.ProcessState != nil {
		fmt.Fprintf(&b, "exit %d", c.cmd.ProcessState.ExitCode())
	}
	for _, l := range strings.Split(strings.TrimSpace(c.stderr.String()), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "@") {
			b.WriteString("; " + l)
		}
	}
	return b.String()
}

// sshSimple runs ssh through a relay and waits for both to finish.
func (e *Env) sshSimple(ctx context.Context, opts RelayOptions, l login, remote ...string) ([]Conn, error) {
	r, err := NewRelay(e.SSHD.Addr, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	c, err := e.startSSH(ctx, r.Port(), l, remote...)
	if err != nil {
		return nil, err
	}
	sum, err := c.wait(ctx)
	port, perr := r.SourcePort(ctx)
	if err == nil {
		err = perr
	}
	if err == nil {
		err = waitDone(ctx, r.Done(), "the relayed connection to end")
	}
	return []Conn{{ServerPort: e.SSHD.Port, Port: port, Client: sum}}, err
}

// sshCorrupt is sshSimple that checks the relay did flip its byte.
func (e *Env) sshCorrupt(ctx context.Context, opts RelayOptions, l login, remote ...string) ([]Conn, error) {
	r, err := NewRelay(e.SSHD.Addr, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if len(remote) == 0 {
		remote = []string{"true"}
	}
	c, err := e.startSSH(ctx, r.Port(), l, remote...)
	if err != nil {
		return nil, err
	}
	sum, err := c.wait(ctx)
	port, _ := r.SourcePort(ctx)
	if err == nil && !r.Corrupted() {
		err = errors.New("the relay never corrupted the stream")
	}
	return []Conn{{ServerPort: e.SSHD.Port, Port: port, Client: sum}}, err
}

// sessionThen logs in with the key, runs a long command, waits for its
// output, then calls act (with the relay and client) and tears down.
func (e *Env) sessionThen(ctx context.Context, user string, act func(*Relay, *client) error) ([]Conn, error) {
	r, err := NewRelay(e.SSHD.Addr, RelayOptions{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// The remote command ends with its sshd: sshd does not kill a
	// command of a session without a pty, so a plain sleep would outlive it.
	c, err := e.startSSH(ctx, r.Port(), e.keyLogin(user, e.Users.Key),
		"echo ready; while kill -0 $PPID 2>/dev/null; do sleep 0.5; done")
	if err != nil {
		return nil, err
	}
	defer c.kill()
	port, err := r.SourcePort(ctx)
	if err != nil {
		return nil, err
	}
	conn := Conn{ServerPort: e.SSHD.Port, Port: port}
	select {
	case <-c.stdout.ready:
	case <-c.waited:
		conn.Client = c.summary()
		return []Conn{conn}, fmt.Errorf("session did not start (%s)", conn.Client)
	case <-ctx.Done():
		c.kill()
		<-c.waited
		conn.Client = c.summary()
		return []Conn{conn}, fmt.Errorf("session did not start: %w (%s)", ctx.Err(), conn.Client)
	}
	err = act(r, c)
	c.kill()
	<-c.waited
	conn.Client = c.summary()
	return []Conn{conn}, err
}

// parkedAtPrompt runs ssh with an askpass that never answers. With reset,
// the relay resets the connection once the prompt is up; otherwise it waits
// for sshd's LoginGraceTime.
func (e *Env) parkedAtPrompt(ctx context.Context, reset bool) ([]Conn, error) {
	r, err := NewRelay(e.SSHD.Addr, RelayOptions{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	marker := filepath.Join(e.Dir, "prompt-"+randomHex(4))
	c, err := e.startSSH(ctx, r.Port(), e.askpassLogin(UserOK, e.askpassPark, marker), "true")
	if err != nil {
		return nil, err
	}
	defer c.kill()
	port, err := r.SourcePort(ctx)
	if err != nil {
		return nil, err
	}
	conn := Conn{ServerPort: e.SSHD.Port, Port: port}
	if !waitFor(30*time.Second, func() bool { _, err := os.Stat(marker); return err == nil }) {
		c.kill()
		<-c.waited
		conn.Client = c.summary()
		return []Conn{conn}, fmt.Errorf("ssh never asked for the password (%s)", conn.Client)
	}
	if reset {
		r.Reset()
	} else if err := waitDone(ctx, r.ServerClosed(), "sshd's LoginGraceTime"); err != nil {
		return []Conn{conn}, err
	}
	c.kill()
	<-c.waited
	conn.Client = c.summary()
	return []Conn{conn}, nil
}

// rawUntilClosed connects, optionally sends a banner, and reads until the
// server closes (LoginGraceTime).
func (e *Env) rawUntilClosed(ctx context.Context, send string) ([]Conn, error) {
	c, port, err := Dial(ctx, e.SSHD.Addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if send != "" {
		c.Write([]byte(send))
	}
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(e.SSHD.Config.LoginGraceTime + 20*time.Second))
	n, err := io.Copy(io.Discard, c)
	conn := Conn{ServerPort: e.SSHD.Port, Port: port,
		Client: fmt.Sprintf("server closed after %.1fs (%d bytes read)", time.Since(start).Seconds(), n)}
	if err != nil {
		return []Conn{conn}, fmt.Errorf("waiting for the server to close: %w", err)
	}
	return []Conn{conn}, nil
}

// maxStartups holds the throttled server's only startup slot with one
// connection and makes a second, which the listener drops.
func (e *Env) maxStartups(ctx context.Context) ([]Conn, error) {
	holder, hport, err := Dial(ctx, e.Throttle.Addr)
	if err != nil {
		return nil, err
	}
	defer holder.Close()
	banner, err := readLine(holder, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("holder: %w", err)
	}
	dropped, dport, err := Dial(ctx, e.Throttle.Addr)
	if err != nil {
		return nil, err
	}
	dropped.SetReadDeadline(time.Now().Add(10 * time.Second))
	reply, err := io.ReadAll(dropped)
	dropped.Close()
	conns := []Conn{
		{Role: "holder", ServerPort: e.Throttle.Port, Port: hport, Client: "read " + strconv.Quote(banner) + ", closed after the drop"},
		{Role: "dropped", ServerPort: e.Throttle.Port, Port: dport, Client: "got " + strconv.Quote(string(reply))},
	}
	if err != nil {
		return conns, fmt.Errorf("dropped connection: %w", err)
	}
	if !strings.Contains(string(reply), "MaxStartups") {
		return conns, fmt.Errorf("second connection was not dropped: got %q", reply)
	}
	return conns, nil
}

func readLine(c net.Conn, timeout time.Duration) (string, error) {
	c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})
	var b []byte
	one := make([]byte, 1)
	for len(b) < 512 {
		if _, err := c.Read(one); err != nil {
			return string(b), err
		}
		if one[0] == '\n' {
			break
		}
		b = append(b, one[0])
	}
	return strings.TrimRight(string(b), "\r"), nil
}

func waitDone(ctx context.Context, done <-chan struct{}, what string) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
	}
}

// killSession sends SIGTERM to the sshd process running the relayed
// session and waits for sshd to close the connection.
func (e *Env) killSession(r *Relay, c *client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	port, err := r.SourcePort(ctx)
	if err != nil {
		return err
	}
	pids, err := sessionProcs(e.SSHD, port)
	if err != nil {
		return err
	}
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGTERM)
	}
	return waitDone(ctx, r.ServerClosed(), "sshd to end the killed session")
}

// sessionProcs finds the post-auth sshd process (title "sshd: USER@notty")
// serving the connection from 127.0.0.1:port, through the socket inode in
// /proc/net/tcp and the processes' file descriptors.
func sessionProcs(srv *SSHD, port int) ([]int, error) {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return nil, err
	}
	local := fmt.Sprintf("0100007F:%04X", srv.Port)
	remote := fmt.Sprintf("0100007F:%04X", port)
	inode := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 9 && f[1] == local && f[2] == remote {
			inode = f[9]
		}
	}
	if inode == "" {
		return nil, fmt.Errorf("no server socket for port %d", port)
	}
	target := "socket:[" + inode + "]"
	var pids []int
	for _, p := range descendants(srv.d.cmd.Process.Pid) {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline")
		if !strings.HasSuffix(strings.TrimRight(string(cmdline), "\x00 "), "@notty") {
			continue
		}
		fds, _ := os.ReadDir("/proc/" + strconv.Itoa(p) + "/fd")
		for _, fd := range fds {
			if l, _ := os.Readlink("/proc/" + strconv.Itoa(p) + "/fd/" + fd.Name()); l == target {
				pids = append(pids, p)
				break
			}
		}
	}
	if len(pids) == 0 {
		return nil, fmt.Errorf("no session process holds the socket of port %d", port)
	}
	return pids, nil
}
