package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sshwhy/sshwhy/agent"
	"github.com/sshwhy/sshwhy/index"
)

func newAgentCmd() *cobra.Command {
	var (
		configPath string
		fl         agent.Config
		grace      time.Duration
		commit     time.Duration
		retain     string
	)
	cmd := &cobra.Command{
		Use:   "agent [flags]",
		Short: "Follow sshd's logs live, keep the index current, serve searches and metrics",
		Long: `Agent is sshwhy as a service: it follows sshd's entries in the systemd
journal and/or log files as they are written, classifies every connection as
it ends, and keeps the index in the data directory current (an event is
searchable about half a second after its last line). Nothing is lost or
counted twice across restarts, log rotation (create or copytruncate, also
while the agent is stopped) and crashes: the checkpoint (file identities and
offsets, the journal cursor, the connections still open) is saved only after
the events it covers are in the index.

With no source flags and no sources in the configuration, the agent follows
the system journal when it can read it, else /var/log/auth.log or
/var/log/secure. The first start begins at the end of each source
(--from-start reads everything there is); later starts resume exactly.

Settings come from the configuration file (` + agent.DefaultConfigPath + `, TOML,
the same names as the flags with _ for -); flags override it. SIGHUP reloads
the configuration; SIGTERM commits and stops.

The API (read-only) listens on a unix socket (--socket, mode 0660, group adm)
and, with --listen, on a loopback TCP address:
  GET /v1/events?since=24h&cause=client_timeout&ip=203.0.113.0/24&q=...
  GET /v1/counts?by=cause&since=7d
  GET /v1/open      GET /healthz      GET /metrics (Prometheus)
"sshwhy search" uses the socket when an agent runs.

With --ship (ship = [...] in the configuration) the events also go to
VictoriaLogs, through a bounded spool under the data directory that
survives restarts and outages of the engine (docs/fleet.md); /metrics
shows what was shipped, retried, spooled and dropped per server.

Under systemd (Type=notify) it reports READY, STOPPING and WATCHDOG.`,
		Example: `  sshwhy agent                               # the journal, else /var/log/auth.log
  sshwhy agent --file /var/log/auth.log --listen 127.0.0.1:9911
  sshwhy agent --config /etc/sshwhy/sshwhy.toml --from-start`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			load := func() (agent.Config, error) {
				cfg, err := agent.LoadConfig(configPath, !cmd.Flags().Changed("config"))
				if err != nil {
					return cfg, usageError{err}
				}
				overrideConfig(&cfg, fl, cmd.Flags(), grace, commit)
				if cmd.Flags().Changed("retain") {
					d, err := index.ParseAge(retain)
					if err != nil {
						return cfg, usageError{fmt.Errorf("--retain: %w", err)}
					}
					cfg.Retain.Duration = d
				}
				if cfg.Data == "" {
					cfg.Data = os.Getenv("STATE_DIRECTORY") // systemd's StateDirectory=
				}
				if cfg.Data == "" {
					cfg.Data = index.DefaultDir()
				}
				if _, _, err := agentShip(cfg).check(); err != nil { // fleet.go
					return cfg, err
				}
				return agent.Sources(cfg)
			}
			return runAgent(cmd.Context(), load)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", agent.DefaultConfigPath, "configuration `FILE` (TOML)")
	f.BoolVar(&fl.Journal, "journal", false, "follow the local systemd journal (sshd, sshd-session, sshd-auth; the ssh and sshd units)")
	f.StringVar(&fl.JournalDir, "journal-dir", "", "follow the journal files in `DIR` instead")
	f.StringArrayVar(&fl.Files, "file", nil, "follow this log `FILE` (absolute path; repeatable)")
	f.StringVar(&fl.Data, "data", "", "data `DIR` (default $STATE_DIRECTORY under systemd, /var/lib/sshwhy as root, else $XDG_DATA_HOME/sshwhy)")
	f.StringVar(&fl.Socket, "socket", agent.DefaultSocket, "unix socket `PATH` of the API (- for none)")
	f.StringVar(&fl.Listen, "listen", "", "also serve the API on this loopback `ADDR` (e.g. 127.0.0.1:9911)")
	f.BoolVar(&fl.FromStart, "from-start", false, "on the first start, read the sources from their beginning (rotated files too) instead of their end")
	f.StringArrayVar(&fl.Rules, "rules", nil, "directory of extra or overriding rule files (*.yaml); repeatable")
	f.DurationVar(&grace, "login-grace-time", 120*time.Second, "the server's LoginGraceTime")
	f.StringVar(&fl.TZ, "tz", "", "time zone of BSD syslog timestamps (default: the local zone)")
	f.DurationVar(&commit, "commit-interval", 500*time.Millisecond, "how often the index and checkpoint are brought up to date")
	f.StringVar(&retain, "retain", "", "keep this much history (e.g. 90d): day shards older than that are removed when a day ends")
	f.StringVar(&fl.LogLevel, "log-level", "", "debug, info (default), warn or error")
	addAgentShipFlags(cmd, &fl) // fleet.go
	return cmd
}

// overrideConfig sets in cfg what the command line changed.
func overrideConfig(cfg *agent.Config, fl agent.Config, fs *pflag.FlagSet, grace, commit time.Duration) {
	set := fs.Changed
	sources := set("journal") || set("journal-dir") || set("file")
	if sources { // sources on the command line replace the configured ones
		cfg.Journal, cfg.JournalDir, cfg.Files = fl.Journal, fl.JournalDir, fl.Files
	}
	if set("data") {
		cfg.Data = fl.Data
	}
	if set("socket") || cfg.Socket == "" {
		cfg.Socket = fl.Socket
	}
	if set("listen") {
		cfg.Listen = fl.Listen
	}
	if set("from-start") {
		cfg.FromStart = fl.FromStart
	}
	if set("rules") {
		cfg.Rules = fl.Rules
	}
	if set("login-grace-time") {
		cfg.LoginGraceTime.Duration = grace
	}
	if set("tz") {
		cfg.TZ = fl.TZ
	}
	if set("commit-interval") {
		cfg.Commit.Duration = commit
	}
	if set("log-level") {
		cfg.LogLevel = fl.LogLevel
	}
	overrideShip(cfg, fl, set) // fleet.go
}

// runAgent runs the agent until SIGTERM or SIGINT, reloading the
// configuration (load) on SIGHUP.
func runAgent(ctx context.Context, load func() (agent.Config, error)) error {
	if ctx == nil {
		ctx = context.Background()
	}
	defer tuneGC(agentGC)()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	notify := func(state string) { daemon.SdNotify(false, state) }
	cfg, err := load()
	if err != nil {
		return err
	}
	for {
		log := newLogger(cfg.LogLevel)
		sh, err := openAgentShip(cfg, log) // fleet.go
		if err != nil {
			return err
		}
		a, err := agent.New(cfg, agent.Options{Log: log, Notify: notify, Sinks: sh.agentSinks()})
		if err != nil {
			sh.close()
			return usageError{err}
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			err := a.Run(runCtx)
			sh.close() // closed by Run's pipeline, unless it failed before
			done <- err
		}()
	wait:
		for {
			select {
			case err := <-done:
				cancel()
				return err
			case <-hup:
				notify("RELOADING=1")
				next, err := load()
				if err != nil {
					log.Error("reloading the configuration failed; going on with the one in use", "err", err)
					notify("READY=1")
					continue
				}
				log.Info("reloading the configuration")
				cancel()
				if err := <-done; err != nil {
					return err
				}
				cfg = next
				break wait
			}
		}
	}
}

// newLogger logs to stderr: plain lines under systemd (the journal adds
// the time), with the time otherwise.
func newLogger(level string) *slog.Logger {
	var lv slog.Level
	switch level {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	}
	opt := &slog.HandlerOptions{Level: lv}
	if os.Getenv("JOURNAL_STREAM") != "" {
		opt.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opt))
}
