package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sshwhy/sshwhy/agent"
	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
	"github.com/sshwhy/sshwhy/internal/escape"
	"github.com/sshwhy/sshwhy/report"
	"github.com/sshwhy/sshwhy/sshdconfig"
	"github.com/sshwhy/sshwhy/unmatched"
)

type reportFlags struct {
	day, format, out, dataDir string
	days, top                 int
	hosts                     []string
	from                      bool
	sshdConfig                string
	noServer, explainConfig   bool
	openTimeout               time.Duration
	remote                    *remoteFlags
	socket                    string
	socketSet, dataSet        bool
}

func newReportCmd() *cobra.Command {
	var fl reportFlags
	var opt *pipelineOptions
	cmd := &cobra.Command{
		Use:   "report [flags] [--from FILE|-...]",
		Short: "The daily read: what ended SSH connections, what changed, what to fix",
		Long: `Report summarises a day (or --days N from --day on) of connection ends:
per cause with the change against the days before and the week's average,
the top source networks, addresses, users and hosts of each cause, an hourly
chart, the sessions, logins from addresses never seen before, connections
still open, the sshd lines no rule knows, and findings ranked by how much
they matter, each with its evidence and a remedy that quotes this server's
sshd settings (sshd -T as root, else /etc/ssh/sshd_config and its Includes).

It reads the index ("sshwhy index", --data), with --from the log files
given (or --journal) without an index, or with --remote the fleet's events
in VictoriaLogs (docs/fleet.md): every host's, with a per-host breakdown,
and advice from OpenSSH's defaults unless --sshd-config names a file.
Formats: text (80 columns, for mail), markdown, json (docs/report.md) and
html (one self-contained file: no script, nothing loaded). --explain-config shows the sshd settings and
what they mean for the causes, and nothing else.`,
		Example: `  sshwhy report                               # yesterday, from the index
  sshwhy report --day today --format html --out /var/www/ssh.html
  sshwhy report --days 7 --day 2026-11-23 --format markdown
  sshwhy report --from /var/log/auth.log /var/log/auth.log.1
  sshwhy report --format text | mail -s "ssh report" root
  sshwhy report --explain-config
  sshwhy report --remote victorialogs=http://logs:9428 --days 7 --format html --out fleet.html`,
		RunE: func(cmd *cobra.Command, args []string) error {
			fl.socketSet, fl.dataSet = cmd.Flags().Changed("socket"), cmd.Flags().Changed("data")
			return runReport(cmd, args, &fl, opt)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.day, "day", "yesterday", "first day of the report: yesterday, today or YYYY-MM-DD (in --tz)")
	f.IntVar(&fl.days, "days", 1, "days the report covers, from --day on")
	f.StringArrayVar(&fl.hosts, "host", nil, "only this host (repeatable)")
	f.StringVarP(&fl.format, "format", "o", "text", "output: text, markdown, json or html")
	f.StringVar(&fl.out, "out", "", "write the report to `FILE` instead of stdout")
	f.StringVar(&fl.dataDir, "data", "", "data `DIR` of the index (default /var/lib/sshwhy as root, else $XDG_DATA_HOME/sshwhy or ~/.local/share/sshwhy)")
	f.BoolVar(&fl.from, "from", false, "read the log files given as arguments (or --journal) instead of the index")
	f.IntVar(&fl.top, "top", 5, "length of each top list")
	f.StringVar(&fl.sshdConfig, "sshd-config", sshdconfig.DefaultFile, "sshd configuration `FILE` for the advice")
	f.BoolVar(&fl.noServer, "no-server-config", false, "give advice without this machine's sshd settings (the logs come from elsewhere)")
	f.BoolVar(&fl.explainConfig, "explain-config", false, "show the sshd settings and what they mean for the causes, and nothing else")
	f.DurationVar(&fl.openTimeout, "open-timeout", time.Second, "how long to wait for a day being written by sshwhy index")
	f.StringVar(&fl.socket, "socket", agent.DefaultSocket, "read through the agent listening on this unix socket `PATH` when one runs (- never); without --socket, an explicit --data reads that directory itself")
	opt = addPipelineFlags(cmd)
	fl.remote = addRemoteFlags(cmd) // fleet.go
	return cmd
}

func runReport(cmd *cobra.Command, args []string, fl *reportFlags, opt *pipelineOptions) error {
	switch {
	case fl.days < 1 || fl.days > 366:
		return usageError{fmt.Errorf("--days must be 1 to 366, not %d", fl.days)}
	case fl.top < 1:
		return usageError{fmt.Errorf("--top must be 1 or more, not %d", fl.top)}
	case len(args) > 0 && !fl.from:
		return usageError{errors.New("log files given without --from (the report reads the index unless --from is given)")}
	case fl.from && len(args) == 0 && !opt.journal && opt.journalDir == "":
		return usageError{errors.New("--from needs log files, - for stdin, or --journal")}
	case fl.remote.target != "" && (fl.from || fl.dataDir != "" || fl.socketSet):
		return usageError{errors.New("--remote reads the fleet's events: it does not combine with --from, --data or --socket")}
	}
	if !fl.explainConfig {
		if err := checkReportFormat(fl.format); err != nil {
			return err
		}
	}
	loc, err := opt.location()
	if err != nil {
		return err
	}
	now := time.Now().In(loc)
	day, err := parseReportDay(fl.day, now)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	var cfg *sshdconfig.Config
	// The fleet's servers are not this one: their advice uses OpenSSH's
	// defaults unless a configuration is named.
	fleetDefaults := fl.remote.target != "" && !cmd.Flags().Changed("sshd-config")
	if !fl.noServer && !fleetDefaults {
		// Without a readable configuration the advice uses OpenSSH's
		// defaults for the installed version, and says so.
		cfg, _ = sshdconfig.Load(ctx, sshdconfig.Options{File: fl.sshdConfig})
	}
	if fl.explainConfig {
		return explainConfig(cmd.OutOrStdout(), cfg, fl.format)
	}
	ropt := report.Options{Day: day, Days: fl.days, Loc: loc, Now: now, Hosts: fl.hosts, Top: fl.top, Settings: cfg}
	var src report.Source
	remote, err := openRemote(fl.remote) // fleet.go
	if err != nil {
		return err
	}
	switch {
	case remote != nil:
		src = remote
		ropt.Source = "victorialogs " + strings.TrimPrefix(fl.remote.target, "victorialogs=")
	case fl.from:
		mem, rec, err := reportFromLogs(ctx, args, opt)
		if err != nil {
			return err
		}
		src = mem
		var parts []string
		if opt.journal || opt.journalDir != "" {
			parts = append(parts, "journal")
		}
		if len(args) > 0 {
			parts = append(parts, "logs "+strings.Join(args, ", "))
		}
		ropt.Source = strings.Join(parts, "; ")
		ropt.Unmatched = func(since, until time.Time) (unmatched.Summary, error) { return rec.Summary(since, until), nil }
	default:
		if fl.dataDir == "" {
			fl.dataDir = index.DefaultDir()
		}
		if c, err := agent.Dial(fl.socket); fl.socket != "-" && (fl.socketSet || !fl.dataSet) && err == nil {
			// A running agent holds today's shard: read through it.
			src = agentSource{c}
			ropt.Source = "agent " + fl.socket
		} else if fl.socketSet && fl.socket != "-" {
			return err
		} else {
			r, err := index.OpenReader(fl.dataDir, index.ReaderOptions{OpenTimeout: fl.openTimeout})
			if err != nil {
				return err
			}
			defer r.Close()
			src = indexSource{r, fl.dataDir}
			ropt.Source = "index " + fl.dataDir
		}
		dir := fl.dataDir
		ropt.Unmatched = func(since, until time.Time) (unmatched.Summary, error) { return unmatched.Read(dir, since, until) }
	}
	var buf bytes.Buffer
	if err := report.Write(ctx, src, ropt, fl.format, &buf); err != nil {
		if errors.Is(err, index.ErrBadQuery) || errors.Is(err, report.ErrOptions) {
			return usageError{err}
		}
		return err
	}
	if fl.out == "" {
		_, err := cmd.OutOrStdout().Write(buf.Bytes())
		return err
	}
	return os.WriteFile(fl.out, buf.Bytes(), 0o644)
}

func checkReportFormat(format string) error {
	for _, f := range report.Formats {
		if f == format {
			return nil
		}
	}
	return usageError{fmt.Errorf("--format must be one of %s, not %q", strings.Join(report.Formats, ", "), format)}
}

// parseReportDay reads --day: yesterday, today or YYYY-MM-DD in now's zone.
func parseReportDay(s string, now time.Time) (time.Time, error) {
	switch s {
	case "", "yesterday":
		return now.AddDate(0, 0, -1), nil
	case "today":
		return now, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, now.Location())
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("--day must be yesterday, today or YYYY-MM-DD, not %q", s)}
	}
	return t, nil
}

// indexSource is the index with the connections still open: those the
// checkpoint of the last sshwhy index holds.
type indexSource struct {
	*index.Reader
	dir string
}

func (s indexSource) Open(ctx context.Context) ([]*classify.Event, error) {
	return checkpointOpen(s.dir)
}

// agentSource is a running agent: its index and its open connections.
type agentSource struct{ *agent.Client }

func (s agentSource) Open(ctx context.Context) ([]*classify.Event, error) { return s.Client.Open(ctx) }

// reportFromLogs classifies the inputs into memory, recording the lines
// no rule knows.
func reportFromLogs(ctx context.Context, args []string, opt *pipelineOptions) (*report.Memory, *unmatched.Recorder, error) {
	rec := unmatched.NewRecorder()
	opt.record = rec.Add
	opt.open = true
	var events, open []*classify.Event
	_, err := classifyInputs(ctx, args, opt, func(e *classify.Event) error {
		if e.Open {
			open = append(open, e)
		} else {
			events = append(events, e)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return report.NewMemory(events, open), rec, nil
}

// explainConfig shows the settings the advice reads and what they mean.
func explainConfig(w io.Writer, cfg *sshdconfig.Config, format string) error {
	if cfg == nil {
		return usageError{errors.New("--explain-config and --no-server-config contradict each other")}
	}
	grace, _ := cfg.Duration("LoginGraceTime")
	from := cfg.Origin("LoginGraceTime")
	type advice struct {
		Cause  cause.Cause `json:"cause"`
		Advice string      `json:"advice"`
	}
	var adv []advice
	for _, c := range cause.All() {
		if a := c.Advice(cfg, cause.Facts{Confidence: "inferred"}); a != "" {
			adv = append(adv, advice{c, a})
		}
	}
	var logLevel string
	if lv, _ := cfg.Setting("LogLevel"); lv == "INFO" || lv == "ERROR" || lv == "FATAL" || lv == "QUIET" {
		f, _ := cause.Finding("loglevel_hides")
		logLevel = f.RenderTitle(cfg, cause.Facts{}) + ". " + f.RenderRemedy(cfg, cause.Facts{})
	}
	keys := cfg.Keys()
	settings := map[string]string{}
	for _, k := range keys {
		v, _ := cfg.Setting(k)
		settings[k] = v
	}
	if format == report.FormatJSON {
		var matches []string
		for _, m := range cfg.Matches {
			matches = append(matches, m.Criteria)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{
			"from": cfg.From, "version": cfg.Version, "files": cfg.Files, "matches": matches, "notes": cfg.Notes,
			"settings": settings, "login_grace_time_s": grace.Seconds(), "login_grace_time_from": from,
			"loglevel_finding": logLevel, "advice": adv,
		})
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "sshd settings from %s", cfg.From)
	if cfg.Version != "" {
		fmt.Fprintf(bw, ", OpenSSH %s", cfg.Version)
	}
	fmt.Fprintln(bw)
	for _, f := range cfg.Files {
		fmt.Fprintf(bw, "  file: %s\n", escape.Terminal(f))
	}
	for _, m := range cfg.Matches {
		fmt.Fprintf(bw, "  Match %s (%s:%d; not applied below)\n", escape.Terminal(m.Criteria), escape.Terminal(filepath.Base(m.File)), m.Line)
	}
	for _, n := range cfg.Notes {
		fmt.Fprintf(bw, "  note: %s\n", escape.Terminal(n))
	}
	fmt.Fprintln(bw, "\nSettings the advice reads:")
	for _, k := range []string{"loglevel", "logingracetime", "clientaliveinterval", "clientalivecountmax", "tcpkeepalive",
		"maxstartups", "persourcemaxstartups", "persourcepenalties", "maxauthtries", "passwordauthentication",
		"permitrootlogin", "usedns", "unusedconnectiontimeout", "channeltimeout"} {
		if v, ok := cfg.Setting(k); ok {
			fmt.Fprintf(bw, "  %-26s %s  (%s)\n", k, escape.Terminal(v), escape.Terminal(cfg.Origin(k)))
		}
	}
	fmt.Fprintf(bw, "\n--login-grace-time defaults to %s (%s).\n", grace, from)
	if logLevel != "" {
		fmt.Fprintf(bw, "\n%s\n", logLevel)
	}
	fmt.Fprintln(bw, "\nWhat the settings mean for each cause:")
	for _, a := range adv {
		fmt.Fprintf(bw, "  %s: %s\n", a.Cause, a.Advice)
	}
	return bw.Flush()
}
