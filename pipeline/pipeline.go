// Package pipeline owns sshwhy's one loop: sources of log lines in,
// classify.Machine in the middle, sinks of connection events out.
//
//	Source (files, journal, stdin) → Machine → Sink (table, JSON, index, fleet)
//
// Every command is a way of wiring it: `classify` drains its inputs into a
// writer, `index` drains them into the index and saves a checkpoint, the
// agent follows its sources live and commits about every second.
//
// Commit is the order that makes results exact: the sinks flush first
// (the events are durable), then the checkpoint (positions, cursor, open
// connections) is saved. A crash before the checkpoint replays what it
// covers; replayed events have the same ids and overwrite themselves.
package pipeline

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/sshwhy/sshwhy/checkpoint"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/rules"
)

// Source yields log lines: Next reads the next one into l and returns
// io.EOF at the end of a finite input. ingest.File and ingest.Journal are
// Sources.
type Source interface {
	Next(l *ingest.Line) error
	Close() error
}

// Sink receives connection events in the order they end.
type Sink interface {
	// Write takes one event. The event and its slices must not be kept
	// past the call unless copied (the table writer and the index copy
	// what they keep).
	Write(*classify.Event) error
	// Flush makes every event written so far durable (on disk, or
	// written out); a checkpoint is saved only after it returns.
	Flush() error
	Close() error
}

// SinkFunc adapts a function to a Sink with nothing to flush or close.
type SinkFunc func(*classify.Event) error

func (f SinkFunc) Write(e *classify.Event) error { return f(e) }
func (f SinkFunc) Flush() error                  { return nil }
func (f SinkFunc) Close() error                  { return nil }

// Config wires a Pipeline. Rules is required.
type Config struct {
	Rules    *rules.Set
	Classify classify.Options
	// Program is the program name given to lines without a log header
	// ("" leaves them unparsed).
	Program string
	Sinks   []Sink
	// Unmatched, when set, receives a copy of every line of sshd (or ssh)
	// that no rule matched.
	Unmatched func(*ingest.Line)
	// Parallel makes Drain read and match lines, classify them and write
	// the events to the sinks on three goroutines, for a machine with
	// several cores (parallel.go). The events and their order are the
	// same; the sinks and Unmatched are called from one goroutine at a
	// time, not the caller's. Classify.ReuseEvents is then off. Feed and
	// Advance are not affected.
	Parallel bool
}

// Pipeline is the loop. It is not safe for concurrent use: one goroutine
// feeds it.
type Pipeline struct {
	cfg       Config
	m         *classify.Machine
	sinkErr   error
	collect   func(*classify.Event)  // while a parallel Drain runs: where events go
	cp        *checkpoint.Checkpoint // positions, kept current as lines are fed
	start     time.Time
	inputs    int
	positions []Position // of the sources read, saved into cp at Checkpoint
}

// New returns a Pipeline with a fresh classifier and an empty checkpoint.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Rules == nil {
		return nil, errors.New("pipeline: no rules")
	}
	p := &Pipeline{cfg: cfg, cp: &checkpoint.Checkpoint{Version: checkpoint.Version}, start: time.Now()}
	mopt := cfg.Classify
	mopt.Unmatched = cfg.Unmatched
	if cfg.Parallel {
		mopt.ReuseEvents = false // events go to another goroutine
	}
	m, err := classify.New(cfg.Rules, mopt, p.emit)
	if err != nil {
		return nil, err
	}
	p.m = m
	return p, nil
}

func (p *Pipeline) emit(ev *classify.Event) {
	if p.collect != nil {
		p.collect(ev)
		return
	}
	if p.sinkErr != nil {
		return
	}
	for _, s := range p.cfg.Sinks {
		if err := s.Write(ev); err != nil {
			p.sinkErr = err
			return
		}
	}
}

// Restore continues from cp: the classifier's state and the positions.
// The Pipeline keeps cp and updates it as it reads.
func (p *Pipeline) Restore(cp *checkpoint.Checkpoint) {
	if cp.Journals == nil {
		cp.Journals = map[string]string{}
	}
	p.cp = cp
	if cp.State != nil {
		p.m.Restore(*cp.State)
	}
}

// Checkpoint returns the positions and the classifier's state now. The
// returned value is the Pipeline's own: save it, don't change it.
func (p *Pipeline) Checkpoint() *checkpoint.Checkpoint {
	now := time.Now()
	for _, pos := range p.positions {
		pos.Save(p.cp, now)
	}
	st := p.m.State()
	p.cp.State = &st
	p.cp.Saved = now
	return p.cp
}

// Machine is the classifier, for what the Pipeline does not wrap (open
// connections, stats).
func (p *Pipeline) Machine() *classify.Machine { return p.m }

// Feed classifies one line. It returns the first error a sink returned.
func (p *Pipeline) Feed(l *ingest.Line) error {
	if l.Program == "" && p.cfg.Program != "" {
		l.Program = p.cfg.Program
	}
	p.m.Feed(l)
	return p.sinkErr
}

// Advance moves the classifier's clock to now (the wall clock of a live
// source that is idle), ending what the time proves over.
func (p *Pipeline) Advance(now time.Time) error {
	p.m.Advance(now)
	return p.sinkErr
}

// Track adds a position to save with every checkpoint (Drain does it for
// the sources it reads).
func (p *Pipeline) Track(pos Position) { p.positions = append(p.positions, pos) }

// Drain reads src to its end. Each line's position is recorded under
// pos (nil: not recorded, for stdin). ctx is checked every 1024 lines.
func (p *Pipeline) Drain(ctx context.Context, src Source, pos Position) error {
	p.inputs++
	if pos != nil {
		p.Track(pos)
	}
	if p.cfg.Parallel {
		return p.drainParallel(ctx, src, pos)
	}
	// One Line for the whole input: Position.Record takes its address,
	// which would otherwise move every line to the heap.
	l := new(ingest.Line)
	for n := 0; ; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		err := src.Next(l)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := p.Feed(l); err != nil {
			return err
		}
		if pos != nil {
			pos.Record(l)
		}
	}
}

// End ends the input: the classifier ends what the log's time proves over;
// connections still open stay open (in the checkpoint, and for
// Machine's open connections).
func (p *Pipeline) End() error {
	p.m.Flush()
	return p.sinkErr
}

// Flush flushes every sink.
func (p *Pipeline) Flush() error {
	if p.sinkErr != nil {
		return p.sinkErr
	}
	for _, s := range p.cfg.Sinks {
		if err := s.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// Commit makes the events durable (Flush) and then saves the checkpoint
// to path ("" saves nothing).
func (p *Pipeline) Commit(path string) error {
	if err := p.Flush(); err != nil {
		return err
	}
	if path == "" {
		return nil
	}
	return checkpoint.Save(path, p.Checkpoint())
}

// Close closes every sink.
func (p *Pipeline) Close() error {
	var errs []error
	for _, s := range p.cfg.Sinks {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// Stats is what a run saw.
type Stats struct {
	classify.Stats
	Inputs  int
	Elapsed time.Duration
}

// Stats returns the counters so far.
func (p *Pipeline) Stats() Stats {
	return Stats{Stats: p.m.Stats(), Inputs: p.inputs, Elapsed: time.Since(p.start)}
}

// Position follows where a source is as its lines are fed, and writes
// it into the checkpoint when one is taken.
type Position interface {
	Record(l *ingest.Line)
	Save(cp *checkpoint.Checkpoint, now time.Time)
}

// FilePosition is the offset of a file, recorded under its identity.
type FilePosition struct {
	Path   string
	ID     ingest.FileID
	Offset int64
	// Replaces is the identity of the entry this file continues, removed
	// when this one is saved (its fingerprint covered fewer bytes).
	Replaces *ingest.FileID
}

// PositionOf returns the position that records in's offsets.
func PositionOf(in ingest.Input) *FilePosition {
	return &FilePosition{Path: in.Path, ID: in.ID, Offset: in.Offset, Replaces: in.Replaces}
}

// Record notes that the file was read up to the end of l (a followed
// path moves on to the next file after a rotation: l.File says which).
func (f *FilePosition) Record(l *ingest.Line) {
	f.Offset = l.Offset
	if l.File != nil && *l.File != f.ID {
		f.ID = *l.File
	}
}

// Save writes the offset into cp, in place of the entry saved before.
func (f *FilePosition) Save(cp *checkpoint.Checkpoint, now time.Time) {
	if f.Replaces != nil && *f.Replaces != f.ID {
		cp.Remove(*f.Replaces)
	}
	cp.Put(f.Path, f.ID, f.Offset, now)
	id := f.ID
	f.Replaces = &id
}

// JournalPosition is a journal's cursor under its name.
type JournalPosition struct {
	Name   string
	Cursor string
}

// Record notes l's cursor.
func (j *JournalPosition) Record(l *ingest.Line) {
	if l.Cursor != "" {
		j.Cursor = l.Cursor
	}
}

// Save writes the cursor into cp.
func (j *JournalPosition) Save(cp *checkpoint.Checkpoint, now time.Time) {
	if j.Cursor == "" {
		return
	}
	if cp.Journals == nil {
		cp.Journals = map[string]string{}
	}
	cp.Journals[j.Name] = j.Cursor
}
