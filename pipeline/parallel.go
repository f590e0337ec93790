package pipeline

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/ingest"
)

// A parallel Drain (Config.Parallel) runs the loop as three stages, each
// on its goroutine, handing batches of lines and of events down bounded
// channels:
//
//	read and match (the caller's goroutine) → classify → sinks
//
// Matching needs no state (classify.Matcher), so it runs beside the
// Machine; the Machine sees the lines in their order and emits the same
// events in the same order, which the sinks receive in that order. Drain
// returns when every line read has been classified and its events
// written, so a checkpoint taken after it covers them.

// batchLines is the lines of a batch: large enough that handing a batch
// over costs little per line, small enough to stay in a core's cache.
const batchLines = 256

// lineBatch is lines read and matched, for the classifier.
type lineBatch struct {
	lines   [batchLines]ingest.Line
	matched [batchLines]classify.Matched
	n       int
}

func (p *Pipeline) drainParallel(ctx context.Context, src Source, pos Position) error {
	const inFlight = 8
	free := make(chan *lineBatch, inFlight)
	for i := 0; i < inFlight; i++ {
		free <- new(lineBatch)
	}
	full := make(chan *lineBatch, inFlight)
	out := make(chan []*classify.Event, inFlight)
	var failed atomic.Bool // a sink failed: stop reading

	// The classifier.
	var evs []*classify.Event
	p.collect = func(ev *classify.Event) { evs = append(evs, ev) }
	go func() {
		defer close(out)
		for b := range full {
			for i := 0; i < b.n; i++ {
				p.m.FeedMatched(&b.lines[i], &b.matched[i])
			}
			if len(evs) > 0 {
				out <- evs
				evs = make([]*classify.Event, 0, cap(evs))
			}
			free <- b
		}
	}()
	// The sinks.
	written := make(chan error, 1)
	go func() {
		var err error
		for batch := range out {
			for _, ev := range batch {
				if err == nil {
					err = p.write(ev)
				}
			}
			if err != nil {
				failed.Store(true)
			}
		}
		written <- err
	}()

	err := p.readMatched(ctx, src, pos, free, full, &failed)
	close(full)
	werr := <-written // after the classifier is done: out is closed
	p.collect = nil
	if werr != nil {
		p.sinkErr = werr
		return werr
	}
	return err
}

// readMatched reads src in batches, matched, into full.
func (p *Pipeline) readMatched(ctx context.Context, src Source, pos Position, free, full chan *lineBatch, failed *atomic.Bool) error {
	mr := classify.NewMatcher(p.cfg.Rules)
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if failed.Load() {
			return nil // the sink's error is returned
		}
		b := <-free
		b.n = 0
		var err error
		for b.n < batchLines {
			l := &b.lines[b.n]
			if err = src.Next(l); err != nil {
				break
			}
			if l.Program == "" && p.cfg.Program != "" {
				l.Program = p.cfg.Program
			}
			mr.Match(l, &b.matched[b.n])
			if pos != nil {
				pos.Record(l)
			}
			b.n++
		}
		full <- b
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// write gives ev to every sink.
func (p *Pipeline) write(ev *classify.Event) error {
	for _, s := range p.cfg.Sinks {
		if err := s.Write(ev); err != nil {
			return err
		}
	}
	return nil
}
