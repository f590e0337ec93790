// Package agent is sshwhy's daemon: it follows sshd's logs live (the
// journal and log files), keeps the index current, and serves searches,
// counts and Prometheus metrics on a local socket.
//
// It wires the same pipeline as the one-shot commands, followed instead of
// drained: sources (journal, followed files) → classify.Machine → sinks
// (the index; a fleet sink), committed about twice a second: the sinks
// flush, then the checkpoint (positions, cursor, open connections) is
// saved, so a crash replays at most what the last commit did not cover,
// and replayed events overwrite themselves.
package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/sshwhy/sshwhy/report"
)

// DefaultConfigPath is where the agent looks for its configuration.
const DefaultConfigPath = "/etc/sshwhy/sshwhy.toml"

// DefaultSocket is the agent's unix socket.
const DefaultSocket = "/run/sshwhy/sshwhy.sock"

// Config is the agent's configuration: /etc/sshwhy/sshwhy.toml, then the
// command line over it. The zero value follows the system journal when it
// is readable, else /var/log/auth.log or /var/log/secure.
type Config struct {
	// Sources. With none given, the defaults apply (see Sources).
	Journal    bool     `toml:"journal"`     // the local systemd journal
	JournalDir string   `toml:"journal_dir"` // journal files of a directory instead
	Files      []string `toml:"files"`       // log files to follow

	Data   string `toml:"data"`   // data directory (index, checkpoint)
	Socket string `toml:"socket"` // unix socket of the API; "-" for none
	// SocketGroup owns the socket (mode 0660); default "adm" when it exists.
	SocketGroup string `toml:"socket_group"`
	Listen      string `toml:"listen"` // also serve the API on this loopback TCP address

	Rules          []string `toml:"rules"`            // directories of extra rule files
	LoginGraceTime Duration `toml:"login_grace_time"` // the server's LoginGraceTime
	TZ             string   `toml:"tz"`               // zone of BSD syslog timestamps
	MaxLine        int      `toml:"max_line"`
	// Commit is how often the index and the checkpoint are brought up to
	// date (default 500ms): an event is searchable at most about this long
	// after its last line was read.
	Commit Duration `toml:"commit_interval"`
	// Slack is how far behind the wall clock the classifier's clock is
	// moved when every source is idle (default 5s): a line that journald
	// or syslog delivers this late still finds its connection.
	Slack Duration `toml:"clock_slack"`
	// Retain removes day shards older than this (0: keep everything).
	Retain Duration `toml:"retain"`
	// FromStart reads every source from its start on the first run
	// (instead of from its end); later runs resume from the checkpoint.
	FromStart bool   `toml:"from_start"`
	LogLevel  string `toml:"log_level"` // debug, info, warn, error

	// Ship lists the VictoriaLogs servers the events also go to
	// ("victorialogs=http://HOST:9428"), through a spool per server under
	// the data directory; the sinks are opened by the caller and handed
	// to the agent in Options.Sinks.
	Ship         []string `toml:"ship"`
	ShipAuthFile string   `toml:"ship_auth_file"` // credentials file (user=/password= or token=)
	ShipCA       string   `toml:"ship_ca"`        // CA certificates (PEM) for https
	SpoolMax     string   `toml:"spool_max"`      // most bytes spooled per server ("1GiB")
	ShipCompress bool     `toml:"ship_compress"`  // zstd batches

	// Report, when set ([report] table), makes the daily report on a
	// schedule: see report.Schedule. Off by default.
	Report *report.Schedule `toml:"report"`

	path string // the file it was read from
}

// Duration is a time.Duration written as "500ms", "2m", "90d" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText reads a Go duration, with "d" for days.
func (d *Duration) UnmarshalText(b []byte) error {
	s := string(b)
	if strings.HasSuffix(s, "d") {
		var n float64
		if _, err := fmt.Sscanf(strings.TrimSuffix(s, "d"), "%g", &n); err != nil || n < 0 {
			return fmt.Errorf("bad duration %q", s)
		}
		d.Duration = time.Duration(n * float64(24*time.Hour))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", s)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as Go does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// LoadConfig reads the TOML file at path. A missing file is an empty
// configuration when missingOK (the default path), else an error.
// Unknown keys are errors: a typo must not be silently ignored.
func LoadConfig(path string, missingOK bool) (Config, error) {
	var c Config
	md, err := toml.DecodeFile(path, &c)
	if errors.Is(err, os.ErrNotExist) && missingOK {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return Config{}, fmt.Errorf("config %s: unknown setting(s) %s", path, strings.Join(keys, ", "))
	}
	if c.Report != nil {
		if err := c.Report.Validate(); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	c.path = path
	return c, nil
}

// Path is the file the configuration was read from ("" if none).
func (c *Config) Path() string { return c.path }

// withDefaults fills in what the configuration leaves open.
func (c Config) withDefaults() Config {
	if c.Socket == "" {
		c.Socket = DefaultSocket
	}
	if c.Commit.Duration <= 0 {
		c.Commit.Duration = 500 * time.Millisecond
	}
	if c.Slack.Duration <= 0 {
		c.Slack.Duration = 5 * time.Second
	}
	if c.LoginGraceTime.Duration <= 0 {
		c.LoginGraceTime.Duration = 120 * time.Second
	}
	return c
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	for _, f := range c.Files {
		if !filepath.IsAbs(f) {
			return fmt.Errorf("files: %q is not an absolute path", f)
		}
	}
	if c.Journal && c.JournalDir != "" {
		return errors.New("journal and journal_dir: choose one")
	}
	if c.Data == "" {
		return errors.New("no data directory")
	}
	if c.MaxLine < 0 {
		return fmt.Errorf("max_line must be positive, not %d", c.MaxLine)
	}
	switch c.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level must be debug, info, warn or error, not %q", c.LogLevel)
	}
	return nil
}
