package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/sshwhy/sshwhy/checkpoint"
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/internal/escape"
	"github.com/sshwhy/sshwhy/pipeline"
)

// item is a line and the source it came from.
type item struct {
	src  int
	line ingest.Line
}

// source is one followed input: the journal, or a log file.
type source struct {
	name string            // "journal", "journal:DIR" or the file's path
	pos  pipeline.Position // where it is, saved with every checkpoint
	// step reads the source into out from where it last got to, until ctx
	// ends (nil) or it fails (the error); step is called again after a
	// pause to retry.
	step func(ctx context.Context, out chan<- item, idx int) error
}

// run reads s into out until ctx ends, retrying after errors with a
// growing pause (1s to 30s).
func (a *Agent) run(ctx context.Context, s *source, out chan<- item, idx int) {
	pause := time.Second
	for {
		err := s.step(ctx, out, idx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("stopped unexpectedly")
		}
		a.metrics.errors.WithLabelValues("source").Inc()
		a.log.Error("reading a source failed; retrying", "source", escape.Terminal(s.name), "err", err, "in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 30*time.Second)
	}
}

// Sources resolves the sources of a configuration with none given: the
// system journal when it is readable and holds sshd entries or any
// entries at all, else /var/log/auth.log (Debian) or /var/log/secure (RHEL).
func Sources(c Config) (Config, error) {
	if c.Journal || c.JournalDir != "" || len(c.Files) > 0 {
		return c, nil
	}
	if j, err := ingest.OpenJournal(ingest.JournalOptions{}); err == nil {
		j.Close()
		c.Journal = true
		return c, nil
	}
	for _, p := range []string{"/var/log/auth.log", "/var/log/secure"} {
		if f, err := os.Open(p); err == nil {
			f.Close()
			c.Files = []string{p}
			return c, nil
		}
	}
	return c, errors.New("no source: the journal is not readable and neither /var/log/auth.log nor /var/log/secure exists; name one (--journal, --file)")
}

// sources builds the configured sources, each from where the checkpoint
// says it stopped (or its end on a first start, its start with FromStart).
func (a *Agent) sources(cp *checkpoint.Checkpoint) ([]*source, error) {
	loc := time.Local
	if a.cfg.TZ != "" {
		l, err := time.LoadLocation(a.cfg.TZ)
		if err != nil {
			return nil, fmt.Errorf("tz: %w", err)
		}
		loc = l
	}
	var out []*source
	if (a.cfg.Journal || a.cfg.JournalDir != "") && !ingest.JournalSupported {
		return nil, ingest.ErrJournalUnsupported
	}
	if a.cfg.Journal || a.cfg.JournalDir != "" {
		name := "journal"
		if a.cfg.JournalDir != "" {
			name = "journal:" + a.cfg.JournalDir
		}
		cursor := cp.Journals[name]
		jpos := &pipeline.JournalPosition{Name: name, Cursor: cursor}
		opt := ingest.JournalOptions{Dir: a.cfg.JournalDir, Cursor: cursor, Follow: true, Loc: loc, MaxLine: a.cfg.MaxLine,
			AtEnd: cursor == "" && !a.cfg.FromStart, Warn: a.warner(name)}
		// A first start begins at the end as it is now, before the agent
		// says it is ready: nothing written after that is skipped.
		var first *ingest.Journal
		if opt.AtEnd {
			j, err := ingest.OpenJournal(opt)
			if err != nil {
				return nil, err
			}
			first = j
		}
		out = append(out, &source{name: name, pos: jpos, step: func(ctx context.Context, ch chan<- item, idx int) error {
			j := first
			first = nil
			if j == nil {
				var err error
				if j, err = ingest.OpenJournal(opt); err != nil {
					return err
				}
			}
			return pump(ctx, j, ch, idx, func(l *ingest.Line) {
				// A retry continues after the last entry read.
				opt.Cursor, opt.AtEnd = l.Cursor, false
			})
		}})
	}
	for _, path := range a.cfg.Files {
		s, err := a.fileSource(path, cp, loc)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// fileSource follows path: first what was rotated away since the last
// run (found by identity), then the file at path from where the last run
// stopped.
func (a *Agent) fileSource(path string, cp *checkpoint.Checkpoint, loc *time.Location) (*source, error) {
	known := cp.Positions()
	var first []ingest.Input
	var follow ingest.FollowOptions
	follow.Loc, follow.MaxLine, follow.Warn = loc, a.cfg.MaxLine, a.warner(path)
	pos := &pipeline.FilePosition{Path: path}
	for _, k := range known {
		if k.Path == path {
			id := k.ID
			pos.ID, pos.Offset, pos.Replaces = k.ID, k.Offset, &id
		}
	}
	switch {
	case pos.Replaces != nil:
		plan, warnings, err := ingest.Plan([]string{path}, known)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		for _, w := range warnings {
			a.log.Warn(w, "source", escape.Terminal(path))
		}
		if n := len(plan); n > 0 && plan[n-1].Path == path {
			live := plan[n-1]
			follow.ID, follow.Offset = live.ID, live.Offset
			plan = plan[:n-1]
		}
		first = plan
	case a.cfg.FromStart:
		sibs, err := ingest.Siblings(path)
		if err != nil {
			return nil, err
		}
		for _, s := range sibs {
			first = append(first, ingest.Input{Path: s, Why: "new"})
		}
	default:
		// A first start begins at the end as it is now, before the agent
		// says it is ready: nothing written after that is skipped.
		// A file not there yet is read from its start when it appears.
		id, err := ingest.Identify(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if err == nil {
			fi, err := os.Stat(path)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			follow.ID, follow.Offset = id, fi.Size()
		}
	}
	for _, in := range first {
		a.log.Info("reading a rotated file first", "source", escape.Terminal(path), "file", escape.Terminal(in.Path), "from", in.Offset)
	}
	return &source{name: path, pos: pos, step: func(ctx context.Context, ch chan<- item, idx int) error {
		for len(first) > 0 {
			in := &first[0]
			f, err := ingest.Open(in.Path, ingest.Options{Offset: in.Offset, Loc: loc, MaxLine: a.cfg.MaxLine})
			if errors.Is(err, os.ErrNotExist) {
				a.log.Warn("a rotated file is gone before it was read to its end", "source", escape.Terminal(path),
					"file", escape.Terminal(in.Path), "from", in.Offset)
				first = first[1:]
				continue
			}
			if err != nil {
				return err
			}
			err = pump(ctx, f, ch, idx, func(l *ingest.Line) { l.Source, in.Offset = path, l.Offset })
			f.Close()
			if err != nil || ctx.Err() != nil {
				return err
			}
			first = first[1:]
		}
		fl, err := ingest.Follow(path, follow)
		if errors.Is(err, ingest.ErrNotSameFile) {
			// Rotated since the last line read: find it again by identity.
			plan, warnings, perr := ingest.Plan([]string{path}, []ingest.Position{{Path: path, ID: follow.ID, Offset: follow.Offset}})
			if perr != nil {
				return perr
			}
			for _, w := range warnings {
				a.log.Warn(escape.Terminal(w), "source", escape.Terminal(path))
			}
			if n := len(plan); n > 0 && plan[n-1].Path == path {
				plan = plan[:n-1]
			}
			first, follow = plan, ingest.FollowOptions{Loc: loc, MaxLine: a.cfg.MaxLine, Warn: a.warner(path)}
			return fmt.Errorf("%s was rotated while starting to follow it", path)
		}
		if err != nil {
			return err // not there (rotated away, not created again yet): retried
		}
		defer fl.Close()
		return pump(ctx, fl, ch, idx, func(l *ingest.Line) {
			// A retry continues after the last line read.
			follow.ID, follow.Offset, follow.AtEnd = *l.File, l.Offset, false
		})
	}}, nil
}

// reader is what pump reads.
type reader interface {
	Next(l *ingest.Line) error
	Close() error
}

// pump sends r's lines to out until ctx ends (then it closes r, which
// ends a waiting Next) or r fails; seen is called with each line first.
func pump(ctx context.Context, r reader, out chan<- item, idx int, seen func(*ingest.Line)) error {
	stop := context.AfterFunc(ctx, func() { r.Close() })
	defer stop()
	for {
		var l ingest.Line
		err := r.Next(&l)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		seen(&l)
		select {
		case out <- item{idx, l}:
		case <-ctx.Done():
			return nil
		}
	}
}

// warner logs what a source says about lines it could not read.
func (a *Agent) warner(source string) func(string) {
	return func(msg string) {
		a.log.Warn(escape.Terminal(msg), slog.String("source", escape.Terminal(source)))
	}
}
