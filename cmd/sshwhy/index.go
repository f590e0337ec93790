package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
)

func newIndexCmd() *cobra.Command {
	var (
		dataDir  string
		retain   string
		progress bool
		opt      *pipelineOptions
		wopt     index.WriterOptions
		ship     *shipFlags
	)
	cmd := &cobra.Command{
		Use:   "index [flags] [FILE|-]...",
		Short: "Classify logs and store the events for sshwhy search",
		Long: `Index classifies sshd logs like "sshwhy classify" (files, rotated and .gz
archives, "-" for stdin, --journal) and stores the events under the data
directory, one bleve index per UTC day, for "sshwhy search".

Indexing is idempotent: an event's id is derived from its host, pid, source
port and start, so indexing the same logs again replaces events instead of
adding them, and an interrupted backfill can simply be run again.

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
			return runIndex(cmd, args, opt, dataDir, keep, progress, wopt, ship)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data", "", "data `DIR` (default /var/lib/sshwhy as root, else $XDG_DATA_HOME/sshwhy or ~/.local/share/sshwhy)")
	f.StringVar(&retain, "retain", "", "keep this much history (e.g. 90d): remove older day shards and skip older events")
	f.BoolVar(&progress, "progress", false, "show progress on stderr (default: when stderr is a terminal)")
	f.DurationVar(&wopt.LockTimeout, "lock-timeout", 2*time.Second, "how long to wait for another writer to finish before giving up")
	f.IntVar(&wopt.BatchSize, "batch", 0, "events per index batch (default 4000)")
	f.BoolVar(&wopt.NoCompact, "no-compact", false, "do not merge each day shard written into one segment at the end (faster indexing, slower searches)")
	opt = addPipelineFlags(cmd)
	ship = addShipFlags(cmd)
	return cmd
}

func runIndex(cmd *cobra.Command, args []string, opt *pipelineOptions, dataDir string, keep time.Duration, progress bool, wopt index.WriterOptions, ship *shipFlags) error {
	tuneIndexGC()
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
	sh, err := ship.open(dataDir, stderr) // fleet.go
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
	st, err := classifyInputs(ctx, args, opt, func(ev *classify.Event) error {
		n++
		if bar != nil && n&255 == 0 {
			_ = bar.Set(n)
		}
		if err := w.Add(ev); err != nil {
			return err
		}
		return sh.write(ev)
	})
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
	fmt.Fprint(stderr, st.summary(false))
	fmt.Fprint(stderr, indexSummary(dataDir, ws, removed, elapsed, keep))
	return sh.finish(ctx, stderr)
}

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

// tuneIndexGC: bleve allocates a lot of short-lived garbage per document;
// a larger GOGC cuts indexing CPU by about 15%, under a soft memory limit.
// The GOGC and GOMEMLIMIT environment variables still win.
func tuneIndexGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}

// cmdContext is the command's context, or Background when run without one.
func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
