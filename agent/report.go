package agent

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/internal/escape"
	"github.com/sshwhy/sshwhy/report"
	"github.com/sshwhy/sshwhy/sshdconfig"
	"github.com/sshwhy/sshwhy/unmatched"
)

// reportStateName remembers, in the data directory, the first day of the
// last scheduled report, so a restart neither repeats nor skips one.
const reportStateName = "report-last"

// reporter makes the scheduled report ([report] in the configuration).
type reporter struct {
	a      *Agent
	sched  report.Schedule
	search Searcher
	last   time.Time // first day of the last report made
	busy   bool      // a report is being made
	done   chan error
}

func (a *Agent) newReporter(search Searcher) *reporter {
	if a.cfg.Report == nil {
		return nil
	}
	r := &reporter{a: a, sched: *a.cfg.Report, search: search, done: make(chan error, 1)}
	if b, err := os.ReadFile(filepath.Join(a.cfg.Data, reportStateName)); err == nil {
		r.last, _ = time.ParseInLocation(time.DateOnly, strings.TrimSpace(string(b)), time.Local)
	} else if !errors.Is(err, fs.ErrNotExist) {
		a.log.Warn("reading the last report's day", "err", err)
	}
	return r
}

// tick starts the report when it is due (at most one at a time, beside
// the loop: making it reads the index, it does not feed the pipeline).
func (r *reporter) tick(ctx context.Context, now time.Time) {
	if r == nil {
		return
	}
	select {
	case err := <-r.done:
		r.busy = false
		if err != nil {
			r.a.metrics.errors.WithLabelValues("report").Inc()
			r.a.log.Error("the scheduled report failed", "err", err)
		}
	default:
	}
	if r.busy {
		return
	}
	day, due := r.sched.Due(now, r.last)
	if !due {
		return
	}
	r.busy, r.last = true, day
	go func() { r.done <- r.make(ctx, day, now) }()
}

// make builds, delivers and records the report of day.
func (r *reporter) make(ctx context.Context, day, now time.Time) error {
	a := r.a
	settings, _ := sshdconfig.System()
	dir := a.cfg.Data
	opt := report.Options{Day: day, Days: r.sched.Days, Loc: time.Local, Now: now, Settings: settings,
		Source: "agent, index " + escape.Terminal(dir),
		Unmatched: func(since, until time.Time) (unmatched.Summary, error) {
			return unmatched.Read(dir, since, until)
		}}
	var buf bytes.Buffer
	if err := report.Write(ctx, reportSource{r.search, a}, opt, r.sched.Format, &buf); err != nil {
		return err
	}
	if err := r.sched.Deliver(ctx, day, buf.Bytes()); err != nil {
		return err
	}
	a.log.Info("made the scheduled report", "day", day.Format(time.DateOnly), "bytes", buf.Len())
	return os.WriteFile(filepath.Join(dir, reportStateName), []byte(day.Format(time.DateOnly)+"\n"), 0o640)
}

// reportSource is the agent's index and its open connections.
type reportSource struct {
	Searcher
	a *Agent
}

func (s reportSource) Open(ctx context.Context) ([]*classify.Event, error) {
	return s.a.OpenConnections(ctx)
}
