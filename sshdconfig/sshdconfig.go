// Package sshdconfig reads the settings sshd runs with, so advice can quote
// them ("ClientAliveInterval is 0: ...") and the classifier can take the
// server's LoginGraceTime.
//
// The best source is `sshd -T`, which prints the effective configuration
// (lowercase keyword, value) after sshd itself has applied its Includes,
// defaults and normalisation; it needs root (sshd reads the host keys).
// Otherwise the configuration file is read the way sshd reads it: keywords
// case-insensitive, `Keyword value` or `Keyword=value`, comments, double
// quotes, Include with globs (relative paths are in /etc/ssh), Match blocks
// (recorded; the effective global value of a keyword is the first one
// outside any Match), first value wins except for the keywords that
// accumulate (HostKey, Port, AllowUsers...), and OpenSSH's defaults for the
// keywords the file does not set, per version where they changed.
//
// Keys are lowercase, as sshd -T prints them. Time values are normalised
// to seconds ("2m" → "120"), as sshd -T prints them, so both sources give
// the same values.
package sshdconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Default paths.
const (
	DefaultSSHD = "/usr/sbin/sshd"
	DefaultFile = "/etc/ssh/sshd_config"
	// ConfigDir is where Include finds relative paths.
	ConfigDir = "/etc/ssh"
)

// ErrNoConfig is wrapped when neither sshd -T nor the file could be read.
var ErrNoConfig = errors.New("no sshd configuration readable")

// Where a Config came from.
const (
	FromSSHD     = "sshd -T"
	FromFile     = "file"
	FromDefaults = "defaults"
)

// Config is a server's effective settings.
type Config struct {
	// Version is OpenSSH's version, e.g. "9.2" ("" when unknown).
	Version string
	// From is FromSSHD, FromFile or FromDefaults.
	From string
	// Files lists the files read, in order (FromFile).
	Files []string
	// Matches are the Match blocks, in order (FromFile; sshd -T prints
	// only the global settings).
	Matches []*Match
	// Notes are problems met while reading that did not stop it (an
	// unreadable Include, a line that is not `keyword value`).
	Notes []string

	values  map[string][]string
	dflt    map[string]bool
	origins map[string]string // key → "file:line"
}

// Match is one Match block of a configuration file.
type Match struct {
	Criteria string              // the text after "Match"
	File     string              // where it starts
	Line     int                 //
	Settings map[string][]string // lowercase keyword → values, as written (times normalised)
}

// Options tell Load where to look. The zero value reads this machine's
// sshd.
type Options struct {
	SSHD string // sshd binary; default DefaultSSHD
	File string // configuration file; default DefaultFile
	// NoExec skips `sshd -T` and reads the file.
	NoExec bool
}

// Load returns the effective settings: from `sshd -T -f FILE` when sshd
// runs it (as root), else from the file, else OpenSSH's defaults for the
// installed version (From == FromDefaults) with ErrNoConfig.
func Load(ctx context.Context, opt Options) (*Config, error) {
	if opt.SSHD == "" {
		opt.SSHD = DefaultSSHD
	}
	if opt.File == "" {
		opt.File = DefaultFile
	}
	version := Version(ctx, opt.SSHD)
	var tErr error
	if !opt.NoExec {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, opt.SSHD, "-T", "-f", opt.File)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err == nil {
			c, err := ParseT(out, version)
			if err == nil {
				return c, nil
			}
			tErr = err
		} else {
			tErr = fmt.Errorf("%s -T: %v: %s", opt.SSHD, err, firstLine(stderr.String()))
		}
	}
	c, err := ReadFile(opt.File, version)
	if err == nil {
		if tErr != nil {
			c.Notes = append([]string{"sshd -T failed, read the file instead: " + tErr.Error()}, c.Notes...)
		}
		return c, nil
	}
	d := Defaults(version)
	if tErr != nil {
		d.Notes = append(d.Notes, tErr.Error())
	}
	d.Notes = append(d.Notes, err.Error())
	return d, fmt.Errorf("%w: %v", ErrNoConfig, err)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

var versionRE = regexp.MustCompile(`OpenSSH_(\d+)\.(\d+)`)

// Version asks sshd for its version ("9.2"); "" when it cannot tell.
// `sshd -V` exists from OpenSSH 9.2 on (older ones print the version in
// their usage message, which an unknown flag also shows).
func Version(ctx context.Context, sshd string) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	for _, flag := range []string{"-V", "-?"} {
		out, _ := exec.CommandContext(ctx, sshd, flag).CombinedOutput()
		if m := versionRE.FindSubmatch(out); m != nil {
			return string(m[1]) + "." + string(m[2])
		}
	}
	return ""
}

// ParseT reads the output of `sshd -T`: one "keyword value" per line,
// keywords lowercase, a keyword that accumulates on several lines.
func ParseT(out []byte, version string) (*Config, error) {
	c := newConfig(FromSSHD, version)
	for n, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		if key != strings.ToLower(key) || strings.ContainsAny(key, "=\t") {
			return nil, fmt.Errorf("sshd -T line %d is not `keyword value`: %q", n+1, line)
		}
		c.values[key] = append(c.values[key], normalise(key, strings.TrimSpace(val)))
		c.origins[key] = FromSSHD
	}
	if len(c.values) == 0 {
		return nil, errors.New("sshd -T printed nothing")
	}
	c.addDefaults() // keywords an older sshd -T does not print
	return c, nil
}

// Defaults is a Config holding only OpenSSH's defaults for version.
func Defaults(version string) *Config {
	c := newConfig(FromDefaults, version)
	c.addDefaults()
	return c
}

func newConfig(from, version string) *Config {
	return &Config{From: from, Version: version, values: map[string][]string{},
		dflt: map[string]bool{}, origins: map[string]string{}}
}

// Setting returns the effective value of keyword key (any case): its
// values joined by a space. ok is false when sshd has no such setting.
func (c *Config) Setting(key string) (string, bool) {
	if c == nil {
		return "", false
	}
	v, ok := c.values[strings.ToLower(key)]
	return strings.Join(v, " "), ok
}

// Values returns every value of key (several for keywords that accumulate,
// like HostKey or ListenAddress).
func (c *Config) Values(key string) []string {
	if c == nil {
		return nil
	}
	return c.values[strings.ToLower(key)]
}

// IsDefault reports whether key's value is OpenSSH's default rather than
// set in the configuration. sshd -T does not say, so with it IsDefault is
// only true for keywords it did not print.
func (c *Config) IsDefault(key string) bool { return c != nil && c.dflt[strings.ToLower(key)] }

// Origin says where key was set: "FILE:LINE", "sshd -T" or "default".
func (c *Config) Origin(key string) string {
	if c == nil {
		return ""
	}
	if c.dflt[strings.ToLower(key)] {
		return "default"
	}
	return c.origins[strings.ToLower(key)]
}

// Int returns key as an integer; ok is false when it is unset or not one.
func (c *Config) Int(key string) (int, bool) {
	v, ok := c.Setting(key)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// Duration returns a time-valued key (LoginGraceTime, ClientAliveInterval,
// UnusedConnectionTimeout) as a duration; "none" is 0.
func (c *Config) Duration(key string) (time.Duration, bool) {
	v, ok := c.Setting(key)
	if !ok {
		return 0, false
	}
	if v == "none" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// Keys lists the keywords with a value, sorted.
func (c *Config) Keys() []string {
	if c == nil {
		return nil
	}
	keys := make([]string, 0, len(c.values))
	for k := range c.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// AtLeast reports whether the version is known and at least major.minor.
func (c *Config) AtLeast(major, minor int) bool {
	return c != nil && versionAtLeast(c.Version, major, minor)
}

func versionAtLeast(v string, major, minor int) bool {
	a, b, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return x > major || x == major && y >= minor
}

// timeKeys are the keywords whose values are sshd TIME FORMATS.
var timeKeys = map[string]bool{"logingracetime": true, "clientaliveinterval": true, "unusedconnectiontimeout": true}

// normalise makes a file value look like sshd -T's: times in seconds,
// yes/no lower case, the LogLevel upper case, PermitRootLogin's alias
// without-password as prohibit-password, a lone MaxStartups N as N:30:N.
func normalise(key, val string) string {
	switch {
	case timeKeys[key]:
		if s, ok := ParseTime(val); ok {
			return strconv.Itoa(s)
		}
		return strings.ToLower(val)
	case key == "loglevel":
		return strings.ToUpper(val)
	case key == "maxstartups" && !strings.Contains(val, ":"):
		return val + ":30:" + val // sshd's reading of a lone "start"
	case key == "permitrootlogin":
		if v := strings.ToLower(val); v == "without-password" {
			return "prohibit-password"
		}
		return strings.ToLower(val)
	}
	switch l := strings.ToLower(val); l {
	case "yes", "no", "none", "any":
		return l
	}
	return val
}

// ParseTime reads an sshd_config time value: a sequence of numbers with
// an optional unit each (s, m, h, d, w; none means seconds), e.g. "90",
// "2m", "1h30m". It returns seconds.
func ParseTime(s string) (int, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, false
	}
	total, n, digits := 0, 0, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= '0' && ch <= '9' {
			n = n*10 + int(ch-'0')
			digits = true
			if n > 1<<30 {
				return 0, false
			}
			continue
		}
		if !digits {
			return 0, false
		}
		mult := map[byte]int{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}[ch]
		if mult == 0 {
			return 0, false
		}
		total += n * mult
		n, digits = 0, false
	}
	if digits {
		total += n
	}
	return total, true
}

// Defaults of the keywords the advice uses, per OpenSSH version: the
// first row whose version the server has is used (rows of one key are
// newest first). Keywords a version does not know have no row for it.
var defaults = []struct {
	key, value string
	since      string // "" for every version sshwhy meets
}{
	{"loglevel", "INFO", ""},
	{"logingracetime", "120", ""},
	{"clientaliveinterval", "0", ""},
	{"clientalivecountmax", "3", ""},
	{"tcpkeepalive", "yes", ""},
	{"maxstartups", "10:30:100", ""},
	{"maxauthtries", "6", ""},
	{"maxsessions", "10", ""},
	{"permitrootlogin", "prohibit-password", "7.0"},
	{"permitrootlogin", "yes", ""},
	{"passwordauthentication", "yes", ""},
	{"pubkeyauthentication", "yes", ""},
	{"kbdinteractiveauthentication", "yes", ""},
	{"usepam", "no", ""},
	{"usedns", "no", "6.8"},
	{"usedns", "yes", ""},
	{"unusedconnectiontimeout", "none", "9.2"},
	{"channeltimeout", "none", "9.2"},
	{"persourcemaxstartups", "none", "8.5"},
	{"persourcenetblocksize", "32:128", "8.5"},
	// 9.8 turned penalties on by default; its exact default list is in
	// sshd_config(5) of the installed version and sshd -T prints it.
	{"persourcepenalties", "yes", "9.8"},
}

// addDefaults fills in the defaults of the keywords without a value.
func (c *Config) addDefaults() {
	done := map[string]bool{}
	for _, d := range defaults {
		if done[d.key] {
			continue
		}
		if d.since != "" {
			maj, min, _ := strings.Cut(d.since, ".")
			x, _ := strconv.Atoi(maj)
			y, _ := strconv.Atoi(min)
			if c.Version != "" && !versionAtLeast(c.Version, x, y) {
				continue
			}
			if c.Version == "" && d.key != "permitrootlogin" && d.key != "usedns" {
				continue // a keyword the (unknown) version may not have
			}
		}
		done[d.key] = true
		if _, ok := c.values[d.key]; !ok {
			c.values[d.key] = []string{d.value}
			c.dflt[d.key] = true
		}
	}
}

var (
	systemOnce sync.Once
	system     *Config
	systemErr  error
)

// System returns this machine's settings (Load with the zero Options),
// read once per process.
func System() (*Config, error) {
	systemOnce.Do(func() { system, systemErr = Load(context.Background(), Options{}) })
	return system, systemErr
}

// DefaultLoginGraceTime is OpenSSH's default LoginGraceTime.
const DefaultLoginGraceTime = 120 * time.Second

// LoginGraceTime is the default for --login-grace-time: this machine's
// sshd LoginGraceTime (System), or OpenSSH's default when no configuration
// is readable. from says which ("sshd -T", a file name, or "OpenSSH
// default"). LoginGraceTime 0 (no limit) is returned as 0.
//
// It runs sshd (or reads files) on first use: call it when the flag was
// not given, not while defining flags, so `--help` does not run sshd.
func LoginGraceTime() (d time.Duration, from string) {
	c, _ := System()
	if v, ok := c.Duration("logingracetime"); ok && !c.IsDefault("logingracetime") {
		if c.From == FromSSHD {
			return v, FromSSHD
		}
		return v, c.Origin("logingracetime")
	}
	return DefaultLoginGraceTime, "OpenSSH default"
}
