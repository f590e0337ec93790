package lab

import (
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

const sshdBin = "/usr/sbin/sshd"

// Test accounts. Their passwords are random per run (see Users), so an
// account a crashed run leaves behind cannot be logged into.
const (
	// UserOK may log in with its password or its key.
	UserOK = "sshwhy-ok"
	// UserDenied exists but is not listed in AllowUsers.
	UserDenied = "sshwhy-denied"
	// UserInvalid does not exist.
	UserInvalid = "sshwhy-nosuch"
)

// userComment marks accounts the lab created, so it only ever deletes those.
const userComment = "sshwhy lab test user"

// Users are the lab's accounts and credentials for one run.
type Users struct {
	Password    string   // password of UserOK and UserDenied
	Key         string   // private key authorised for UserOK
	OtherKeys   []string // private keys authorised for nobody
	AuthKeysDir string   // AuthorizedKeysFile directory (%u files)
}

// CreateUsers adds UserOK and UserDenied (useradd) with a random password
// (chpasswd), makes key pairs and deletes the accounts when tb's test ends.
// Needs the lab lock (StartLogs takes it).
func CreateUsers(tb TB) *Users {
	tb.Helper()
	requireRoot(tb)
	requireBinary(tb, "useradd", "passwd")
	requireBinary(tb, "chpasswd", "passwd")
	requireBinary(tb, "ssh-keygen", "openssh-client")
	dir := tempDir(tb, "users")
	u := &Users{Password: "pw-" + randomHex(12), AuthKeysDir: filepath.Join(dir, "authorized_keys")}
	if err := os.MkdirAll(u.AuthKeysDir, 0o755); err != nil {
		tb.Fatalf("lab: %v", err)
	}
	for _, name := range []string{UserOK, UserDenied} {
		if out, err := exec.Command("getent", "passwd", name).Output(); err == nil {
			if !strings.Contains(string(out), userComment) {
				tb.Fatalf("lab: account %s exists and was not made by the lab; refusing to use it", name)
			}
		} else if out, err := exec.Command("useradd", "--create-home", "--shell", "/bin/sh", "--comment", userComment, name).CombinedOutput(); err != nil {
			tb.Fatalf("lab: useradd %s: %v: %s", name, err, out)
		}
		name := name
		tb.Cleanup(func() { deleteUser(tb, name) })
		cmd := exec.Command("chpasswd")
		cmd.Stdin = strings.NewReader(name + ":" + u.Password + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("lab: chpasswd %s: %v: %s", name, err, out)
		}
	}
	u.Key = filepath.Join(dir, "id_ok")
	genKey(tb, u.Key, "ed25519")
	for i := 0; i < 4; i++ {
		k := filepath.Join(dir, "id_other"+strconv.Itoa(i))
		genKey(tb, k, "ed25519")
		u.OtherKeys = append(u.OtherKeys, k)
	}
	pub, err := os.ReadFile(u.Key + ".pub")
	if err != nil {
		tb.Fatalf("lab: %v", err)
	}
	// The same key may log in as root (PermitRootLogin prohibit-password):
	// ≤ 9.7 runs root sessions without a post-auth child, a path of its own.
	for _, name := range []string{UserOK, "root"} {
		if err := os.WriteFile(filepath.Join(u.AuthKeysDir, name), pub, 0o644); err != nil {
			tb.Fatalf("lab: %v", err)
		}
	}
	return u
}

func genKey(tb TB, path, typ string) {
	tb.Helper()
	if out, err := exec.Command("ssh-keygen", "-q", "-t", typ, "-N", "", "-C", "sshwhy-lab", "-f", path).CombinedOutput(); err != nil {
		tb.Fatalf("lab: ssh-keygen: %v: %s", err, out)
	}
}

// SSHDConfig holds the knobs of one sshd. Zero values get the defaults
// noted on each field.
type SSHDConfig struct {
	LogLevel            string        // INFO (default) or VERBOSE
	LoginGraceTime      time.Duration // default 20s: three PAM-delayed password failures take ~10s, more under load
	MaxAuthTries        int           // default 3
	MaxStartups         string        // default "100" (scenarios run concurrently)
	ClientAliveInterval int           // seconds, default 1
	ClientAliveCountMax int           // default 2
	// UnusedConnectionTimeout closes sessions without channels; seconds,
	// default 3.
	UnusedConnectionTimeout int
}

// DefaultLoginGraceTime is the lab sshd's LoginGraceTime.
const DefaultLoginGraceTime = 20 * time.Second

func (c *SSHDConfig) defaults() {
	if c.LogLevel == "" {
		c.LogLevel = "INFO"
	}
	if c.LoginGraceTime == 0 {
		c.LoginGraceTime = DefaultLoginGraceTime
	}
	if c.MaxAuthTries == 0 {
		c.MaxAuthTries = 3
	}
	if c.MaxStartups == "" {
		c.MaxStartups = "100"
	}
	if c.ClientAliveInterval == 0 {
		c.ClientAliveInterval = 1
	}
	if c.ClientAliveCountMax == 0 {
		c.ClientAliveCountMax = 2
	}
	if c.UnusedConnectionTimeout == 0 {
		c.UnusedConnectionTimeout = 3
	}
}

// SSHD is a running sshd listening on 127.0.0.1:Port.
type SSHD struct {
	Port int
	Addr string // "127.0.0.1:Port"
	// HostKeyPub is the server's public host key line ("ssh-ed25519 AAAA…").
	HostKeyPub string
	Config     SSHDConfig
	Dir        string

	d *daemon
}

// StartSSHD starts Debian's sshd in the foreground (-D) with a private
// config, an ed25519-only host key, UsePAM yes and AllowUsers UserOK root
// (root by key only). It
// logs through syslog, so start Logs first. It stops when tb's test ends.
func StartSSHD(tb TB, users *Users, cfg SSHDConfig) *SSHD {
	tb.Helper()
	requireRoot(tb)
	requireBinary(tb, sshdBin, "openssh-server")
	cfg.defaults()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // privilege separation directory
		tb.Fatalf("lab: %v", err)
	}
	s := &SSHD{Config: cfg, Dir: tempDir(tb, "sshd")}
	hostKey := filepath.Join(s.Dir, "ssh_host_ed25519_key")
	genKey(tb, hostKey, "ed25519")
	pub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		tb.Fatalf("lab: %v", err)
	}
	f := strings.Fields(string(pub))
	s.HostKeyPub = f[0] + " " + f[1]

	var lastErr string
	for attempt := 0; attempt < 5; attempt++ {
		s.Port = freePort(tb)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
		conf := fmt.Sprintf(`# sshwhy lab sshd
Port %d
ListenAddress 127.0.0.1
AddressFamily inet
HostKey %s
HostKeyAlgorithms ssh-ed25519
Ciphers chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com
PidFile %s
SyslogFacility AUTH
LogLevel %s
UsePAM yes
KbdInteractiveAuthentication no
PasswordAuthentication yes
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AuthorizedKeysFile %s/%%u
StrictModes no
AllowUsers %s root
MaxAuthTries %d
LoginGraceTime %d
ClientAliveInterval %d
ClientAliveCountMax %d
MaxStartups %s
UnusedConnectionTimeout %d
UseDNS no
PrintMotd no
`, s.Port, hostKey, filepath.Join(s.Dir, "sshd.pid"), cfg.LogLevel, users.AuthKeysDir, UserOK,
			cfg.MaxAuthTries, int(cfg.LoginGraceTime/time.Second), cfg.ClientAliveInterval,
			cfg.ClientAliveCountMax, cfg.MaxStartups, cfg.UnusedConnectionTimeout)
		confPath := filepath.Join(s.Dir, "sshd_config")
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			tb.Fatalf("lab: %v", err)
		}
		if out, err := exec.Command(sshdBin, "-t", "-f", confPath).CombinedOutput(); err != nil {
			tb.Fatalf("lab: sshd -t rejects the lab config: %v: %s", err, out)
		}
		out := filepath.Join(s.Dir, "sshd.out")
		s.d, err = startDaemon("sshd", out, sshdBin, "-D", "-f", confPath)
		if err != nil {
			tb.Fatalf("lab: %v", err)
		}
		up := waitFor(10*time.Second, func() bool {
			if !s.d.running() {
				return true
			}
			return listening(s.Port) // not a test connection: that would log a probe
		})
		if up && s.d.running() {
			tb.Cleanup(s.d.stop)
			return s
		}
		s.d.stop()
		lastErr = readTail(out)
	}
	tb.Fatalf("lab: sshd did not start: %s", lastErr)
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(tb TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("lab: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// listening reports whether a socket listens on 127.0.0.1:port, from
// /proc/net/tcp (state 0A = LISTEN).
func listening(port int) bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	want := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == want && f[3] == "0A" {
			return true
		}
	}
	return false
}

// deleteUser ends the account's remaining processes (by pid) and removes
// the account and its home.
func deleteUser(tb TB, name string) {
	out, err := exec.Command("id", "-u", name).Output()
	if err != nil {
		return
	}
	uid := strings.TrimSpace(string(out))
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + e.Name() + "/status")
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" && f[1] == uid {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	var last []byte
	for i := 0; i < 10; i++ {
		if last, err = exec.Command("userdel", "--remove", name).CombinedOutput(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.Logf("lab: userdel %s: %v: %s", name, err, last)
}
