package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sshwhy/sshwhy/checkpoint"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/internal/escape"
	"github.com/sshwhy/sshwhy/pipeline"
	"github.com/sshwhy/sshwhy/unmatched"
)

func newIndexCmd() *cobra.Command {
	var (
		dataDir   string
		retain    string
		progress  bool
		opt       *pipelineOptions
		wopt      index.WriterOptions
		fromStart bool
		ship      *shipFlags
	)
	cmd := &cobra.Command{
		Use:   "index [flags] [FILE|-]...",
		Short: "Classify logs and store the events for sshwhy search",
		Long: `Index classifies sshd logs like "sshwhy classify" (files, rotated and .gz
archives, "-" for stdin, --journal) and stores the events under the data
directory, one bleve index per UTC day, for "sshwhy search".

Runs continue where the last one stopped. The data directory keeps a
checkpoint (checkpoint.json): for every file read, its identity (device,
inode and a fingerprint of its first bytes) and the offset read, the
journal's cursor, and the connections still open. The next run reads only
what is new; a file that was rotated since (auth.log → auth.log.1 →
auth.log.2.gz, or copied and truncated) is found among its siblings by its
identity and finished first; connections that were open go on. So
"sshwhy index auth.log.1" today and "sshwhy index auth.log" tomorrow give
the same events as one run over both. Connections still open at the end
are not events yet: "sshwhy search --open" shows them.

Indexing is idempotent: an event's id is derived from its host, pid, source
port and start, so reading the same logs again (--from-start, or a run
interrupted before its checkpoint) replaces events instead of adding them.

When the input is done, each day shard written is merged into a single
segment, which takes 25-50% off later search times (--no-compact
skips this).

Only one process may write to a data directory; a second one fails with
"index is in use" after --lock-timeout. A summary goes to stderr, with a
progress line while indexing when stderr is a terminal.`,
		Example: `  sshwhy index /var/log/auth.log*
  sshwhy index --retain 90d --data /srv/sshwhy /var/log/auth.log /var/log/auth.log.*.gz
  journalctl -u ssh -o export | sshwhy index -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dataDir == "" {
				dataDir = index.DefaultDir()
			}
			var keep time.Duration
			if retain != "" {
				var err error
				if keep, err = index.ParseAge(retain); err != nil {
					return usageError{fmt.Errorf("--retain: %w", err)}
				}
			}
			if !cmd.Flags().Changed("progress") {
				progress = isTerminal(cmd.ErrOrStderr())
			}
			return runIndex(cmd, args, opt, dataDir, keep, progress, fromStart, wopt, ship)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data", "", "data `DIR` (default /var/lib/sshwhy as root, else $XDG_DATA_HOME/sshwhy or ~/.local/share/sshwhy)")
	f.StringVar(&retain, "retain", "", "keep this much history (e.g. 90d): remove older day shards and skip older events")
	f.BoolVar(&progress, "progress", false, "show progress on stderr (default: when stderr is a terminal)")
	f.DurationVar(&wopt.LockTimeout, "lock-timeout", 2*time.Second, "how long to wait for another writer to finish before giving up")
	f.IntVar(&wopt.BatchSize, "batch", index.DefaultBatchSize, "events per index batch")
	f.BoolVar(&fromStart, "from-start", false, "ignore the checkpoint: read every input from its start with a fresh classifier (events already indexed are replaced, not added)")
	f.BoolVar(&wopt.NoCompact, "no-compact", false, "do not merge each day shard written into one segment at the end (faster indexing, slower searches)")
	opt = addPipelineFlags(cmd)
	ship = addShipFlags(cmd)
	return cmd
}

func runIndex(cmd *cobra.Command, args []string, opt *pipelineOptions, dataDir string, keep time.Duration, progress, fromStart bool, wopt index.WriterOptions, ship *shipFlags) error {
	opt.stdin = cmd.InOrStdin()
	if len(args) == 0 && !opt.journal && opt.journalDir == "" {
		if f, ok := cmd.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return usageError{errors.New("no input: name log files, - for stdin, or --journal")}
		}
		args = []string{"-"}
	}
	now := time.Now()
	if keep > 0 {
		wopt.NotBefore = now.Add(-keep)
	}
	ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt, syscall.SIGTERM)
	defer stop()

	start := time.Now()
	w, err := index.OpenWriter(dataDir, wopt)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	sh, err := ship.open(dataDir, warnLogger(stderr), wopt.NotBefore) // fleet.go
	if err != nil {
		_ = w.Close()
		return err
	}
	defer sh.close()
	var bar *progressbar.ProgressBar
	if progress {
		bar = newIndexBar(stderr)
	}
	n := 0
	sinks := append([]pipeline.Sink{indexSink{w: w, added: func() {
		n++
		if bar != nil && n&255 == 0 {
			_ = bar.Set(n)
		}
	}}}, sh.pipelineSinks()...)
	// The sshd lines no rule knows, per day, for the report.
	rec := unmatched.NewRecorder()
	opt.record = rec.Add
	sinks = append(sinks, rec.Sink(dataDir))
	st, err := indexInputs(ctx, args, opt, filepath.Join(dataDir, checkpointName), fromStart, stderr, sinks...)
	var removed []index.Shard
	if err == nil && keep > 0 {
		removed, err = w.Retain(now.Add(-keep))
	}
	cerr := w.Close()
	if bar != nil {
		_ = bar.Set(n)
		_ = bar.Finish()
		_ = bar.Clear()
	}
	if err == nil {
		err = cerr
	}
	ws := w.Stats()
	elapsed := time.Since(start)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted: %d events indexed into %s before stopping (run again to finish: indexing is idempotent)", ws.Added, dataDir)
		}
		return err
	}
	fmt.Fprint(stderr, summary(st, false))
	fmt.Fprint(stderr, indexSummary(dataDir, ws, removed, elapsed, keep))
	return sh.finish(ctx, stderr)
}

// checkpointName is the checkpoint's file in the data directory.
const checkpointName = "checkpoint.json"

// indexInputs reads the inputs into sink, continuing from the checkpoint
// at cpPath (unless fromStart), and saves the checkpoint after each input
// once flush made what it covers durable.
func indexInputs(ctx context.Context, args []string, opt *pipelineOptions, cpPath string, fromStart bool, stderr io.Writer,
	sinks ...pipeline.Sink) (pipelineStats, error) {
	cp := &checkpoint.Checkpoint{}
	if !fromStart {
		var err error
		if cp, err = checkpoint.Load(cpPath); err != nil {
			return pipelineStats{}, err
		}
	}
	plan, warnings, err := ingest.Plan(args, cp.Positions())
	if err != nil {
		return pipelineStats{}, err
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "sshwhy: warning:", escape.Terminal(w))
	}
	for _, in := range plan {
		switch {
		case in.Why == "rotated":
			fmt.Fprintf(stderr, "sshwhy: %s: rotated since the last run; reading it from byte %d first\n", escape.Terminal(in.Path), in.Offset)
		case in.Offset > 0:
			fmt.Fprintf(stderr, "sshwhy: %s: continuing at byte %d, where an earlier run stopped (--from-start reads it again)\n", escape.Terminal(in.Path), in.Offset)
		}
	}
	p, err := opt.newPipeline(sinks...)
	if err != nil {
		return pipelineStats{}, err
	}
	// Stdin cannot be positioned: a run that reads it starts afresh.
	stdin := slices.ContainsFunc(plan, func(in ingest.Input) bool { return in.Path == "-" })
	if !stdin {
		p.Restore(cp)
	}
	ins, closeAll, err := opt.openInputs(plan, cp)
	if err != nil {
		return pipelineStats{}, err
	}
	defer closeAll()
	stats := func() pipelineStats {
		st := pipelineStats{Stats: p.Stats(), Open: p.Machine().OpenCount()}
		st.Inputs = len(ins)
		return st
	}
	for _, in := range ins {
		if err := p.Drain(ctx, in.src, in.pos); err != nil {
			return stats(), err
		}
		if err := p.Commit(cpPath); err != nil {
			return stats(), err
		}
	}
	if err := p.End(); err != nil {
		return stats(), err
	}
	err = p.Commit(cpPath)
	return stats(), err
}

// indexSink writes events into an index.Writer; closing the writer
// (which compacts) is left to the command.
type indexSink struct {
	w     *index.Writer
	added func()
}

func (s indexSink) Write(ev *classify.Event) error {
	if ev.Open {
		return nil // open connections live in the checkpoint until they end
	}
	s.added()
	return s.w.Add(ev)
}
func (s indexSink) Flush() error { return s.w.Flush() }
func (s indexSink) Close() error { return nil }

// indexSummary is the index part of the summary.
func indexSummary(dir string, ws index.WriterStats, removed []index.Shard, elapsed time.Duration, keep time.Duration) string {
	var b strings.Builder
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(ws.Added) / s
	}
	fmt.Fprintf(&b, "sshwhy: indexed %d events into %d day shard(s) of %s in %s (%.0f events/s)",
		ws.Added, ws.Shards, dir, elapsed.Round(time.Millisecond), rate)
	if ws.Compacted > 0 {
		fmt.Fprintf(&b, "; compacting %d shard(s) took %s", ws.Compacted, ws.CompactTime.Round(time.Millisecond))
	}
	if ws.CompactSkipped > 0 {
		fmt.Fprintf(&b, "; %d shard(s) open in a search were left uncompacted", ws.CompactSkipped)
	}
	if ws.NoTime > 0 {
		fmt.Fprintf(&b, "; %d events without a usable time were not indexed (input without timestamps?)", ws.NoTime)
	}
	if ws.Skipped > 0 {
		fmt.Fprintf(&b, "; skipped %d events older than --retain %s", ws.Skipped, keep)
	}
	if len(removed) > 0 {
		names := make([]string, len(removed))
		for i, s := range removed {
			names[i] = s.Day.Format("2006-01-02")
		}
		fmt.Fprintf(&b, "; removed %d day shard(s) past --retain: %s", len(removed), strings.Join(names, ", "))
	}
	b.WriteString("\n")
	return b.String()
}

func newIndexBar(w io.Writer) *progressbar.ProgressBar {
	return progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("indexing"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionClearOnFinish(),
	)
}

// cmdContext is the command's context, or Background when run without one.
func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
