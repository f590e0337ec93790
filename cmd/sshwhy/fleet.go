package main

// Fleet wiring: `sshwhy index --ship victorialogs=URL` and
// `sshwhy search --remote victorialogs=URL` (package victorialogs does
// the work).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sshwhy/sshwhy/agent"
	"github.com/sshwhy/sshwhy/index"
	"github.com/sshwhy/sshwhy/pipeline"
	"github.com/sshwhy/sshwhy/victorialogs"
)

// parseTarget reads ENGINE=URL; victorialogs is the only engine.
func parseTarget(flag, s string) (string, error) {
	kind, u, ok := strings.Cut(s, "=")
	if !ok || kind != "victorialogs" || u == "" {
		return "", usageError{fmt.Errorf("%s: want victorialogs=http://HOST:9428, not %q", flag, s)}
	}
	return u, nil
}

func clientError(flag string, err error) error {
	if errors.Is(err, victorialogs.ErrConfig) {
		return usageError{fmt.Errorf("%s: %w", flag, err)}
	}
	return fmt.Errorf("%s: %w", flag, err)
}

// remoteFlags are search's and report's flags for the fleet.
type remoteFlags struct {
	target   string
	logsql   string
	authFile string
	ca       string
}

func addRemoteFlags(cmd *cobra.Command) *remoteFlags {
	r := &remoteFlags{}
	f := cmd.Flags()
	f.StringVar(&r.target, "remote", "", "read the fleet's events in VictoriaLogs instead of the local index: victorialogs=http://HOST:9428")
	f.StringVar(&r.logsql, "logsql", "", "with --remote: also match this LogsQL filter (for what QUERY cannot say exactly, e.g. free text: 'lines:i(\"too many\")')")
	f.StringVar(&r.authFile, "remote-auth-file", "", "with --remote: credentials `FILE` (user=/password= or token= lines; mode 0600)")
	f.StringVar(&r.ca, "ca", "", "with an https --remote: CA certificates `FILE` (PEM) instead of the system roots")
	return r
}

// openRemote opens the fleet store --remote names (nil when none).
func openRemote(r *remoteFlags) (*victorialogs.Store, error) {
	if r == nil || r.target == "" {
		if r != nil && (r.logsql != "" || r.authFile != "" || r.ca != "") {
			return nil, usageError{errors.New("--logsql, --remote-auth-file and --ca need --remote")}
		}
		return nil, nil
	}
	u, err := parseTarget("--remote", r.target)
	if err != nil {
		return nil, err
	}
	c, err := victorialogs.NewClient(u, victorialogs.ClientOptions{AuthFile: r.authFile, CAFile: r.ca})
	if err != nil {
		return nil, clientError("--remote", err)
	}
	return victorialogs.NewStore(c).WithLogsQL(r.logsql), nil
}

// shipFlags are the fleet flags of index, and the agent's ship settings
// (agent.Config: its flags and configuration keys of the same names).
type shipFlags struct {
	targets  []string
	authFile string
	ca       string
	spoolMax string
	wait     time.Duration
	compress bool
}

func addShipFlags(cmd *cobra.Command) *shipFlags {
	s := &shipFlags{}
	shipFlagVars(cmd, &s.targets, &s.authFile, &s.ca, &s.spoolMax, &s.compress)
	cmd.Flags().DurationVar(&s.wait, "ship-wait", time.Minute, "at the end, how long to wait for VictoriaLogs to take what is spooled (the rest stays spooled for the next run)")
	return s
}

// shipFlagVars adds the ship flags index and agent share, into the
// variables given.
func shipFlagVars(cmd *cobra.Command, targets *[]string, authFile, ca, spoolMax *string, compress *bool) {
	f := cmd.Flags()
	f.StringArrayVar(targets, "ship", nil, "also ship the events to VictoriaLogs: victorialogs=http://HOST:9428 (repeatable), through a spool under the data directory")
	f.StringVar(authFile, "ship-auth-file", "", "credentials `FILE` for --ship (user=/password= or token= lines; mode 0600)")
	f.StringVar(ca, "ship-ca", "", "with an https --ship: CA certificates `FILE` (PEM) instead of the system roots")
	f.StringVar(spoolMax, "spool-max", "1GiB", "most bytes waiting in each --ship spool; events past it are dropped, counted and logged")
	f.BoolVar(compress, "ship-compress", false, "compress --ship batches (zstd): several times fewer bytes on the wire for some CPU on both ends; for slow links")
}

// agentShipWait is how long a stopping agent waits for VictoriaLogs to
// take what is spooled (the next start sends the rest).
const agentShipWait = 2 * time.Second

// agentShip is the agent's ship settings (flags over its configuration).
func agentShip(cfg agent.Config) *shipFlags {
	s := &shipFlags{targets: cfg.Ship, authFile: cfg.ShipAuthFile, ca: cfg.ShipCA, spoolMax: cfg.SpoolMax,
		compress: cfg.ShipCompress, wait: agentShipWait}
	if s.spoolMax == "" {
		s.spoolMax = "1GiB"
	}
	return s
}

// openAgentShip opens the agent's sinks (nil without ship targets). The
// index initialises the data directory first: it refuses one that holds
// files (the spools) but no index manifest.
func openAgentShip(cfg agent.Config, log *slog.Logger) (*shippers, error) {
	s := agentShip(cfg)
	if len(s.targets) == 0 {
		return nil, nil
	}
	w, err := index.OpenWriter(cfg.Data, index.WriterOptions{LockTimeout: time.Second, NoCompact: true})
	if err != nil {
		if errors.Is(err, index.ErrInUse) {
			return nil, fmt.Errorf("%w (is another sshwhy agent running on %s?)", err, cfg.Data)
		}
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return s.open(cfg.Data, log, time.Time{})
}

// addAgentShipFlags adds the agent's ship flags, into cfg (the same
// names as index's, and as the configuration's keys with _ for -).
func addAgentShipFlags(cmd *cobra.Command, cfg *agent.Config) {
	shipFlagVars(cmd, &cfg.Ship, &cfg.ShipAuthFile, &cfg.ShipCA, &cfg.SpoolMax, &cfg.ShipCompress)
}

// overrideShip sets in cfg the ship settings the command line changed.
func overrideShip(cfg *agent.Config, fl agent.Config, set func(string) bool) {
	if set("ship") {
		cfg.Ship = fl.Ship
	}
	if set("ship-auth-file") {
		cfg.ShipAuthFile = fl.ShipAuthFile
	}
	if set("ship-ca") {
		cfg.ShipCA = fl.ShipCA
	}
	if set("spool-max") {
		cfg.SpoolMax = fl.SpoolMax
	}
	if set("ship-compress") {
		cfg.ShipCompress = fl.ShipCompress
	}
}

// warnLogger logs warnings and errors (the sinks' drops, retries) to w.
func warnLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// shipTarget is one checked --ship target.
type shipTarget struct {
	url    string
	client *victorialogs.Client
}

// check reads the flags (no sink is opened): the targets, their
// clients (credentials and CA files are read) and --spool-max.
func (s *shipFlags) check() ([]shipTarget, int64, error) {
	if len(s.targets) == 0 {
		if s.authFile != "" || s.ca != "" {
			return nil, 0, usageError{errors.New("--ship-auth-file and --ship-ca need --ship")}
		}
		return nil, 0, nil
	}
	max, err := parseBytes(s.spoolMax)
	if err != nil {
		return nil, 0, usageError{fmt.Errorf("--spool-max: %w", err)}
	}
	var ts []shipTarget
	for _, t := range s.targets {
		u, err := parseTarget("--ship", t)
		if err != nil {
			return nil, 0, err
		}
		c, err := victorialogs.NewClient(u, victorialogs.ClientOptions{AuthFile: s.authFile, CAFile: s.ca})
		if err != nil {
			return nil, 0, clientError("--ship", err)
		}
		ts = append(ts, shipTarget{c.URL(), c})
	}
	return ts, max, nil
}

// shippers are the open sinks of one run.
type shippers struct {
	sinks []*victorialogs.Sink
	urls  []string
	wait  time.Duration
	log   *slog.Logger
}

// open opens a sink per --ship target under dataDir (nil when none);
// events that ended before notBefore are not shipped (--retain).
func (s *shipFlags) open(dataDir string, log *slog.Logger, notBefore time.Time) (*shippers, error) {
	ts, max, err := s.check()
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	sh := &shippers{wait: s.wait, log: log}
	for _, t := range ts {
		sink, err := victorialogs.NewSink(t.client, victorialogs.SpoolDir(dataDir, t.url),
			victorialogs.SinkOptions{SpoolMax: max, Compress: s.compress, Logger: log, NotBefore: notBefore})
		if err != nil {
			sh.close()
			return nil, err
		}
		sh.sinks = append(sh.sinks, sink)
		sh.urls = append(sh.urls, t.url)
	}
	return sh, nil
}

// pipelineSinks are the sinks for the pipeline: it writes every event to
// each, and flushes them (the spools) before it saves a checkpoint.
// Closing is left to finish, which drains first.
func (sh *shippers) pipelineSinks() []pipeline.Sink {
	if sh == nil {
		return nil
	}
	out := make([]pipeline.Sink, len(sh.sinks))
	for i, s := range sh.sinks {
		out[i] = keepOpen{s}
	}
	return out
}

// keepOpen leaves closing to shippers.finish, which drains first.
type keepOpen struct{ *victorialogs.Sink }

func (keepOpen) Close() error { return nil }

// agentSinks are the sinks for the agent: its pipeline flushes them
// before every checkpoint and closes them when it stops, which waits up
// to the shippers' wait for VictoriaLogs to take what is spooled (the
// rest is sent by the next start). Each is a prometheus.Collector of its
// Stats, which the agent exports.
func (sh *shippers) agentSinks() []pipeline.Sink {
	if sh == nil {
		return nil
	}
	out := make([]pipeline.Sink, len(sh.sinks))
	for i, s := range sh.sinks {
		out[i] = drainOnClose{s, sh.wait, sh.log}
	}
	return out
}

// drainOnClose drains briefly before it closes.
type drainOnClose struct {
	*victorialogs.Sink
	wait time.Duration
	log  *slog.Logger
}

func (d drainOnClose) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), d.wait)
	defer cancel()
	if err := d.Drain(ctx); err != nil {
		if st := d.Stats(); st.SpooledBytes > 0 {
			d.log.Warn("stopping with events spooled for VictoriaLogs; the next start sends them", "spooled_bytes", st.SpooledBytes, "err", err)
		}
	}
	return d.Sink.Close()
}

// finish syncs the spools, waits up to --ship-wait for the engines, closes
// the sinks and says what each took.
func (sh *shippers) finish(ctx context.Context, stderr io.Writer) error {
	if sh == nil {
		return nil
	}
	var first error
	for _, s := range sh.sinks {
		if err := s.Flush(); err != nil && first == nil {
			first = err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, sh.wait)
	defer cancel()
	for i, s := range sh.sinks {
		derr := s.Drain(wctx)
		st := s.Stats()
		fmt.Fprintf(stderr, "sshwhy: shipped %d events to %s", st.Shipped, sh.urls[i])
		if st.SpooledBytes > 0 {
			fmt.Fprintf(stderr, "; %d bytes stay spooled (%v), sent by the next run with --ship", st.SpooledBytes, derr)
		}
		if st.Dropped > 0 {
			fmt.Fprintf(stderr, "; DROPPED %d events: the spool was full (--spool-max)", st.Dropped)
		}
		if st.Cut > 0 {
			fmt.Fprintf(stderr, "; %d events lost evidence lines to fit VictoriaLogs' line limit", st.Cut)
		}
		if st.NoTime > 0 {
			fmt.Fprintf(stderr, "; %d events without a time were not shipped", st.NoTime)
		}
		if st.Skipped > 0 {
			fmt.Fprintf(stderr, "; %d events older than --retain were not shipped", st.Skipped)
		}
		fmt.Fprintln(stderr)
	}
	if err := sh.close(); err != nil && first == nil {
		first = err
	}
	return first
}

func (sh *shippers) close() error {
	if sh == nil {
		return nil
	}
	var first error
	for _, s := range sh.sinks {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// parseBytes reads a size: a number with an optional KiB, MiB, GiB (or
// KB, MB, GB) suffix.
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}} {
		if strings.HasSuffix(t, u.suf) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suf)), u.m
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(t, "%d", &n); err != nil || fmt.Sprint(n) != t || n <= 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 1GiB, 500MiB)", s)
	}
	return n * mult, nil
}
