package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sshwhy/sshwhy/checkpoint"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/internal/escape"
	"github.com/sshwhy/sshwhy/pipeline"
	"github.com/sshwhy/sshwhy/rules"
	"github.com/sshwhy/sshwhy/unmatched"
)

// CheckpointName is the checkpoint's file in the data directory, shared
// with `sshwhy index`.
const CheckpointName = "checkpoint.json"

// Options are what the agent needs beyond its Config.
type Options struct {
	Log *slog.Logger // nil: discard
	// Notify is told the service state for systemd (sd_notify lines such
	// as "READY=1"); nil: nobody listens.
	Notify func(state string)
	// Sinks are written to besides the index (a fleet sink): they flush
	// before every checkpoint and close when the agent stops. A sink that
	// is a prometheus.Collector exports its metrics from the agent's
	// registry (/metrics).
	Sinks []pipeline.Sink
}

// Agent is one run of the daemon: New, then Run until its context ends.
type Agent struct {
	cfg     Config
	opt     Options
	log     *slog.Logger
	metrics *metrics
	rules   *rules.Set

	openReq chan chan []*classify.Event // served by the loop: the machine is single-threaded

	mu     sync.Mutex // guards status and addr
	status Status
	addr   string
}

// Status is what /healthz reports.
type Status struct {
	Started    time.Time          `json:"started"`
	LastCommit time.Time          `json:"last_commit,omitempty"`
	Sources    map[string]SrcStat `json:"sources"`
	Open       int                `json:"open_connections"`
	Events     int64              `json:"events"`
	Error      string             `json:"error,omitempty"` // the last commit error, until a commit succeeds
}

// SrcStat is one source's progress.
type SrcStat struct {
	Lines    int64     `json:"lines"`
	LastLine time.Time `json:"last_line,omitempty"` // log time of the last line read
}

// New checks cfg and loads the rules. Nothing is opened yet.
func New(cfg Config, opt Options) (*Agent, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	rs, err := rules.Load(cfg.Rules...)
	if err != nil {
		return nil, err
	}
	m := newMetrics()
	for _, s := range opt.Sinks {
		if c, ok := s.(prometheus.Collector); ok {
			if err := m.reg.Register(c); err != nil {
				return nil, fmt.Errorf("metrics of a sink: %w", err)
			}
		}
	}
	return &Agent{cfg: cfg, opt: opt, log: opt.Log, metrics: m, rules: rs,
		openReq: make(chan chan []*classify.Event)}, nil
}

func (a *Agent) notify(state string) {
	if a.opt.Notify != nil {
		a.opt.Notify(state)
	}
}

// Run follows the sources until ctx ends, then commits and returns nil;
// or returns the error that stopped it (the index could not be written).
func (a *Agent) Run(ctx context.Context) (err error) {
	w, err := index.OpenWriter(a.cfg.Data, index.WriterOptions{LockTimeout: time.Second, Daemon: true})
	if err != nil {
		if errors.Is(err, index.ErrInUse) {
			return fmt.Errorf("%w (is another sshwhy agent running on %s?)", err, escape.Terminal(a.cfg.Data))
		}
		return err
	}
	defer func() {
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}()
	cpPath := filepath.Join(a.cfg.Data, CheckpointName)
	cp, err := checkpoint.Load(cpPath)
	if err != nil {
		return err
	}
	count := a.metrics.unmatched
	rec := unmatched.NewRecorder() // the sshd lines no rule knows, per day, for the report
	sinks := append([]pipeline.Sink{indexSink{w}, a.metrics.sink()}, a.opt.Sinks...)
	sinks = append(sinks, rec.Sink(a.cfg.Data))
	p, err := pipeline.New(pipeline.Config{
		Rules:    a.rules,
		Classify: classify.Options{LoginGraceTime: a.cfg.LoginGraceTime.Duration},
		Sinks:    sinks,
		Unmatched: func(l *ingest.Line) {
			count.Inc()
			rec.Add(l)
		},
	})
	if err != nil {
		return err
	}
	defer p.Close()
	p.Restore(cp)
	srcs, err := a.sources(cp)
	if err != nil {
		return err
	}
	if len(srcs) == 0 {
		return errors.New("no source to follow")
	}

	a.mu.Lock()
	a.status = Status{Started: time.Now(), Sources: map[string]SrcStat{}}
	a.mu.Unlock()
	search := w.Reader() // searches through the writer's shards, concurrently with writing
	srv, err := a.serve(search)
	if err != nil {
		return err
	}
	defer srv.close()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	ch := make(chan item, 1024)
	var wg sync.WaitGroup
	for i, s := range srcs {
		p.Track(s.pos)
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.run(runCtx, s, ch, i)
		}()
	}
	defer wg.Wait()
	defer stop()
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = escape.Terminal(s.name)
	}
	a.log.Info("following", "sources", names, "data", escape.Terminal(a.cfg.Data))
	a.notify("READY=1\nSTATUS=following " + fmt.Sprint(names))

	loop := &loop{a: a, p: p, w: w, srcs: srcs, cpPath: cpPath, last: time.Now(), report: a.newReporter(search)}
	return loop.run(ctx, ch)
}

// loop is the agent's one goroutine that feeds the pipeline.
type loop struct {
	a      *Agent
	p      *pipeline.Pipeline
	w      *index.Writer
	srcs   []*source
	cpPath string
	dirty  bool      // lines fed since the last commit
	last   time.Time // wall time of the last line fed
	events int64     // events emitted at the last commit
	day    time.Time // UTC day of the last commit
	report *reporter // nil without a schedule
}

func (l *loop) run(ctx context.Context, ch <-chan item) error {
	a := l.a
	tick := time.NewTicker(a.cfg.Commit.Duration)
	defer tick.Stop()
	lines := make([]int64, len(l.srcs))
	lastTime := make([]time.Time, len(l.srcs))
	for {
		select {
		case it := <-ch:
			ln := it.line
			if err := l.p.Feed(&ln); err != nil {
				return l.fail(err)
			}
			s := l.srcs[it.src]
			s.pos.Record(&ln)
			lines[it.src]++
			a.metrics.lines.WithLabelValues(s.name).Inc()
			if !ln.Time.IsZero() {
				lastTime[it.src] = ln.Time
				a.metrics.lag.WithLabelValues(s.name).Set(time.Since(ln.Time).Seconds())
			}
			l.dirty, l.last = true, time.Now()
		case <-tick.C:
			now := time.Now()
			if now.Sub(l.last) >= a.cfg.Commit.Duration {
				// Every source is idle: the wall clock ends what time
				// proves over (grace timeouts, silent endings).
				if err := l.p.Advance(now.Add(-a.cfg.Slack.Duration)); err != nil {
					return l.fail(err)
				}
			}
			if err := l.commit(now); err != nil {
				return l.fail(err)
			}
			a.mu.Lock()
			for i, s := range l.srcs {
				a.status.Sources[s.name] = SrcStat{Lines: lines[i], LastLine: lastTime[i]}
			}
			a.mu.Unlock()
			l.report.tick(ctx, now)
			a.notify("WATCHDOG=1")
		case reply := <-a.openReq:
			reply <- slices.Collect(l.p.Machine().OpenEvents())
		case <-ctx.Done():
			a.notify("STOPPING=1")
			err := l.commit(time.Now())
			if err == nil {
				a.log.Info("stopped; checkpoint saved", "open_connections", l.p.Machine().OpenCount())
			}
			return err
		}
	}
}

// commit makes the events durable and saves the checkpoint, when
// anything changed since the last commit.
func (l *loop) commit(now time.Time) error {
	a := l.a
	st := l.p.Stats()
	if !l.dirty && st.Events == l.events {
		return nil
	}
	start := time.Now()
	if err := l.p.Commit(l.cpPath); err != nil {
		a.metrics.errors.WithLabelValues("commit").Inc()
		a.mu.Lock()
		a.status.Error = err.Error()
		a.mu.Unlock()
		return err
	}
	a.metrics.batch.Observe(time.Since(start).Seconds())
	a.metrics.commitTS.Set(float64(now.Unix()))
	open := l.p.Machine().OpenCount()
	a.metrics.open.Set(float64(open))
	l.dirty, l.events = false, st.Events
	a.mu.Lock()
	a.status.LastCommit, a.status.Open, a.status.Events, a.status.Error = now, open, st.Events, ""
	a.mu.Unlock()
	if day := now.UTC().Truncate(24 * time.Hour); !day.Equal(l.day) {
		if !l.day.IsZero() {
			l.dayOver(l.day)
		}
		l.day = day
	}
	return nil
}

// dayOver runs when a UTC day ends: retention.
func (l *loop) dayOver(day time.Time) {
	a := l.a
	if a.cfg.Retain.Duration > 0 {
		removed, err := l.w.Retain(time.Now().Add(-a.cfg.Retain.Duration))
		if err != nil {
			a.log.Error("retention", "err", err)
		}
		for _, s := range removed {
			a.log.Info("removed a day shard past retention", "day", s.Day.Format("2006-01-02"))
		}
	}
}

func (l *loop) fail(err error) error {
	l.a.log.Error("stopping", "err", err)
	return err
}

// OpenConnections returns the connections the agent follows now, as
// events with Open set.
func (a *Agent) OpenConnections(ctx context.Context) ([]*classify.Event, error) {
	reply := make(chan []*classify.Event, 1)
	select {
	case a.openReq <- reply:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case evs := <-reply:
		return evs, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Status reports the agent's progress.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.status
	s.Sources = make(map[string]SrcStat, len(a.status.Sources))
	for k, v := range a.status.Sources {
		s.Sources[k] = v
	}
	return s
}

// indexSink writes events into the index.
type indexSink struct{ w *index.Writer }

func (s indexSink) Write(e *classify.Event) error {
	if e.Open {
		return nil // open connections live in the checkpoint until they end
	}
	return s.w.Add(e)
}
func (s indexSink) Flush() error { return s.w.Flush() }
func (s indexSink) Close() error { return nil }
