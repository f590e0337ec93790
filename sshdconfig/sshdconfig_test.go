package sshdconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/internal/lab"
)

// compared are the keywords the advice reads; for these the file reader
// must agree with sshd -T.
var compared = []string{
	"loglevel", "logingracetime", "clientaliveinterval", "clientalivecountmax", "tcpkeepalive",
	"maxstartups", "maxauthtries", "maxsessions", "permitrootlogin", "passwordauthentication",
	"pubkeyauthentication", "kbdinteractiveauthentication", "usepam", "usedns",
	"unusedconnectiontimeout", "persourcemaxstartups", "persourcenetblocksize",
}

func TestReadFileIncludeMatchComments(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("testdata", "include"))
	c, err := readFile(filepath.Join(dir, "sshd_config"), dir, "9.2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key, want, origin string
	}{
		{"LogLevel", "INFO", "sshd_config.d/10-first.conf:2"}, // the Include comes first: first value wins
		{"LoginGraceTime", "90", "sshd_config:5"},             // 1m30s; the Match all value is not global
		{"ClientAliveInterval", "30", "sshd_config:6"},        // Keyword=value
		{"ClientAliveCountMax", "2", "sshd_config:7"},         // Keyword = value
		{"PasswordAuthentication", "no", "sshd_config:8"},     // trailing comment dropped
		{"MaxStartups", "10:30:60", "sshd_config:9"},
		{"Port", "22 2222", "sshd_config:10"}, // accumulates
		{"PermitRootLogin", "prohibit-password", "sshd_config:12"},
		{"UseDNS", "no", "sshd_config:13"}, // quoted
		{"TCPKeepAlive", "no", "sshd_config.d/10-first.conf:3"},
		{"MaxAuthTries", "4", "sshd_config.d/20-second.conf:3"}, // a Match block ends with its file
		{"MaxSessions", "10", "default"},
		{"UnusedConnectionTimeout", "none", "default"}, // 9.2 knows it
	} {
		got, ok := c.Setting(tc.key)
		if !ok || got != tc.want {
			t.Errorf("%s = %q (%v), want %q", tc.key, got, ok, tc.want)
		}
		if o := strings.TrimPrefix(c.Origin(tc.key), dir+"/"); o != tc.origin {
			t.Errorf("%s set at %q, want %q", tc.key, o, tc.origin)
		}
	}
	if c.IsDefault("LogLevel") || !c.IsDefault("MaxSessions") {
		t.Errorf("IsDefault: LogLevel %v MaxSessions %v", c.IsDefault("LogLevel"), c.IsDefault("MaxSessions"))
	}
	type match struct {
		criteria string
		settings map[string][]string
	}
	var got []match
	for _, m := range c.Matches {
		got = append(got, match{m.Criteria, m.Settings})
	}
	want := []match{
		{"Address 10.0.0.0/8", map[string][]string{"maxauthtries": {"2"}}},
		{"User backup", map[string][]string{"clientaliveinterval": {"0"}, "passwordauthentication": {"yes"}}},
		{"all", map[string][]string{"logingracetime": {"10"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("matches:\n got %v\nwant %v", got, want)
	}
	var files []string
	for _, f := range c.Files {
		files = append(files, strings.TrimPrefix(f, dir+"/"))
	}
	if w := []string{"sshd_config", "sshd_config.d/10-first.conf", "sshd_config.d/20-second.conf"}; !reflect.DeepEqual(files, w) {
		t.Errorf("files read %v, want %v (README is not *.conf)", files, w)
	}
	if v, _ := c.Duration("LoginGraceTime"); v != 90*time.Second {
		t.Errorf("Duration(LoginGraceTime) = %v", v)
	}
}

func TestDefaultsPerVersion(t *testing.T) {
	for _, tc := range []struct {
		version, key, want string
		ok                 bool
	}{
		{"9.2", "unusedconnectiontimeout", "none", true},
		{"9.1", "unusedconnectiontimeout", "", false}, // added in 9.2
		{"6.6", "permitrootlogin", "yes", true},
		{"7.4", "permitrootlogin", "prohibit-password", true},
		{"6.6", "usedns", "yes", true},
		{"9.8", "persourcepenalties", "yes", true},
		{"9.2", "persourcepenalties", "", false},
		{"", "loglevel", "INFO", true},
		{"", "unusedconnectiontimeout", "", false}, // unknown version: not assumed
	} {
		got, ok := Defaults(tc.version).Setting(tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("OpenSSH %q %s = %q %v, want %q %v", tc.version, tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"120", 120, true}, {"2m", 120, true}, {"1h30m", 5400, true}, {"1w", 604800, true},
		{"10S", 10, true}, {"0", 0, true}, {"", 0, false}, {"m", 0, false}, {"5x", 0, false},
		{"none", 0, false}, {"99999999999999", 0, false},
	} {
		got, ok := ParseTime(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseTime(%q) = %d %v, want %d %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSplitLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"   # comment", nil, false},
		{"Port 22", []string{"Port", "22"}, false},
		{"Port=22", []string{"Port", "22"}, false},
		{"Port = 22", []string{"Port", "22"}, false},
		{"Port =22", []string{"Port", "22"}, false},
		{"\tAllowUsers a \"b c\" d # e", []string{"AllowUsers", "a", "b c", "d"}, false},
		{"Banner \"/etc/issue", nil, true},
		{"Subsystem sftp internal-sftp -l INFO\r", []string{"Subsystem", "sftp", "internal-sftp", "-l", "INFO"}, false},
	} {
		got, err := splitLine(tc.in)
		if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitLine(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseTRejectsOtherOutput(t *testing.T) {
	for _, in := range []string{"", "\n\n", "LogLevel INFO\n", "Bad configuration option: x\n"} {
		if _, err := ParseT([]byte(in), ""); err == nil {
			t.Errorf("ParseT(%q) accepted it", in)
		}
	}
}

// TestFileAgreesWithSSHD reads the testdata configurations both ways: with
// the file reader and with the real `sshd -T -f` of this machine's sshd.
// For every keyword the advice uses they must agree, defaults included
// (which checks the defaults table against the installed OpenSSH).
func TestFileAgreesWithSSHD(t *testing.T) {
	requireSSHD(t)
	for _, name := range []string{"include", "plain"} {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			src, _ := filepath.Abs(filepath.Join("testdata", name))
			// sshd resolves relative Includes in /etc/ssh: make them absolute.
			copyTree(t, src, tmp, func(b []byte) []byte {
				return []byte(strings.ReplaceAll(string(b), "Include sshd_config.d/", "Include "+tmp+"/sshd_config.d/"))
			})
			path := filepath.Join(tmp, "sshd_config")
			fromFile, err := ReadFile(path, Version(context.Background(), DefaultSSHD))
			if err != nil {
				t.Fatal(err)
			}
			fromT, err := Load(context.Background(), Options{File: path})
			if err != nil {
				t.Fatal(err)
			}
			if fromT.From != FromSSHD {
				t.Fatalf("Load used %s, not sshd -T: %v", fromT.From, fromT.Notes)
			}
			for _, key := range compared {
				a, aok := fromFile.Setting(key)
				b, bok := fromT.Setting(key)
				if a != b || aok != bok {
					t.Errorf("%s: file reader %q (%v), sshd -T %q (%v)", key, a, aok, b, bok)
				}
			}
		})
	}
}

// TestLabSSHD reads the configuration of the sshd the end-to-end test
// runs (internal/lab) through sshd -T and checks the values the lab set.
func TestLabSSHD(t *testing.T) {
	requireSSHD(t)
	lab.Lock(t)
	users := lab.CreateUsers(t)
	s := lab.StartSSHD(t, users, lab.SSHDConfig{LogLevel: "VERBOSE", LoginGraceTime: 25 * time.Second})
	path := filepath.Join(s.Dir, "sshd_config")
	c, err := Load(context.Background(), Options{File: path})
	if err != nil {
		t.Fatal(err)
	}
	if c.From != FromSSHD || c.Version == "" {
		t.Fatalf("From %q version %q, want sshd -T with a version; notes %v", c.From, c.Version, c.Notes)
	}
	for key, want := range map[string]string{
		"loglevel": "VERBOSE", "logingracetime": "25", "clientaliveinterval": "1",
		"clientalivecountmax": "2", "maxauthtries": "3", "maxstartups": "100:30:100",
		"unusedconnectiontimeout": "3", "usedns": "no", "permitrootlogin": "prohibit-password",
		"port": strconv.Itoa(s.Port),
	} {
		if got, _ := c.Setting(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if d, _ := c.Duration("LoginGraceTime"); d != 25*time.Second {
		t.Errorf("LoginGraceTime %v", d)
	}
	f, err := ReadFile(path, c.Version)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range compared {
		a, _ := f.Setting(key)
		b, _ := c.Setting(key)
		if a != b {
			t.Errorf("%s: file reader %q, sshd -T %q", key, a, b)
		}
	}
}

func TestLoadFallsBack(t *testing.T) {
	abs, _ := filepath.Abs(filepath.Join("testdata", "plain", "sshd_config"))
	c, err := Load(context.Background(), Options{SSHD: "/nonexistent/sshd", File: abs})
	if err != nil || c.From != FromFile || len(c.Notes) == 0 {
		t.Fatalf("without sshd: %v from %s notes %v; want the file and a note", err, c.From, c.Notes)
	}
	c, err = Load(context.Background(), Options{SSHD: "/nonexistent/sshd", File: "/nonexistent/sshd_config"})
	if !errors.Is(err, ErrNoConfig) || c == nil || c.From != FromDefaults {
		t.Fatalf("nothing readable: %v %+v", err, c)
	}
	if v, _ := c.Setting("LoginGraceTime"); v != "120" {
		t.Errorf("defaults: LoginGraceTime %q", v)
	}
}

func requireSSHD(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(DefaultSSHD); err != nil {
		t.Fatalf("needs %s (make deps-test installs openssh-server): %v", DefaultSSHD, err)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("needs root: sshd -T reads the host keys")
	}
}

func copyTree(t *testing.T, src, dst string, edit func([]byte) []byte) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, edit(b), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
