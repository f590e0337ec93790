package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sshwhy/sshwhy/cause"

	"github.com/spf13/cobra"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/internal/escape"
	"github.com/sshwhy/sshwhy/rules"
)

// pipelineOptions are the flags shared by every command that reads logs.
type pipelineOptions struct {
	rulesDirs  []string
	grace      time.Duration
	tz         string
	journal    bool
	journalDir string
	maxLine    int
	program    string    // program name for lines without a log header
	stdin      io.Reader // what "-" reads; nil means os.Stdin
	unmatched  io.Writer // set by commands that show unmatched lines
	open       bool      // also pass the connections still open at the end to the sink (Event.Open)
}

func addPipelineFlags(cmd *cobra.Command) *pipelineOptions {
	o := &pipelineOptions{}
	f := cmd.Flags()
	f.StringArrayVar(&o.rulesDirs, "rules", nil, "directory of extra or overriding rule files (*.yaml); repeatable")
	f.DurationVar(&o.grace, "login-grace-time", 120*time.Second, "the server's LoginGraceTime: unauthenticated connections silent this long were cut by sshd")
	f.StringVar(&o.tz, "tz", "", "time zone of BSD syslog timestamps (default: the local zone)")
	f.BoolVar(&o.journal, "journal", false, "read sshd's entries from the local systemd journal")
	f.StringVar(&o.journalDir, "journal-dir", "", "read sshd's entries from the journal files in `DIR`")
	f.IntVar(&o.maxLine, "max-line", ingest.DefaultMaxLine, "longest line kept, in bytes; longer lines are cut and counted")
	f.StringVar(&o.program, "program", "", "treat lines without a log header as messages of `NAME` (sshd for bare messages, ssh for `ssh -E` logs)")
	return o
}

// pipelineStats is what a run of the pipeline saw.
type pipelineStats struct {
	classify.Stats
	Inputs  int
	Open    int // connections still open at the end of the input
	Elapsed time.Duration
}

// loadRules loads the embedded rules plus the --rules directories.
func (o *pipelineOptions) loadRules() (*rules.Set, error) {
	return rules.Load(o.rulesDirs...)
}

func (o *pipelineOptions) location() (*time.Location, error) {
	if o.tz == "" {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(o.tz)
	if err != nil {
		return nil, usageError{fmt.Errorf("--tz: %w", err)}
	}
	return loc, nil
}

// openInputs opens every input before any is read, so an unreadable file
// stops the run with an error naming it before output starts.
func (o *pipelineOptions) openInputs(paths []string) ([]ingest.Reader, func(), error) {
	loc, err := o.location()
	if err != nil {
		return nil, nil, err
	}
	var readers []ingest.Reader
	var closers []io.Closer
	closeAll := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	if o.journal || o.journalDir != "" {
		j, err := ingest.OpenJournal(ingest.JournalOptions{Dir: o.journalDir, Loc: loc, MaxLine: o.maxLine})
		if err != nil {
			return nil, nil, err
		}
		readers = append(readers, j)
		closers = append(closers, j)
	}
	for _, p := range ingest.SortRotated(paths) {
		f, err := ingest.Open(p, ingest.Options{MaxLine: o.maxLine, Loc: loc, Stdin: o.stdin})
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		readers = append(readers, f)
		closers = append(closers, f)
	}
	if len(readers) == 0 {
		return nil, nil, usageError{errors.New("no input: name log files, - for stdin, or --journal")}
	}
	return readers, closeAll, nil
}

// classifyInputs reads the inputs (paths, "-" for stdin; rotated and .gz
// files handled), classifies them as one stream and calls sink for every
// event in order.
func classifyInputs(ctx context.Context, paths []string, o *pipelineOptions, sink func(*classify.Event) error) (pipelineStats, error) {
	start := time.Now()
	var st pipelineStats
	rs, err := o.loadRules()
	if err != nil {
		return st, err
	}
	readers, closeAll, err := o.openInputs(paths)
	if err != nil {
		return st, err
	}
	defer closeAll()
	st.Inputs = len(readers)

	var sinkErr error
	mopt := classify.Options{LoginGraceTime: o.grace}
	if o.unmatched != nil {
		w := o.unmatched
		mopt.Unmatched = func(l *ingest.Line) {
			fmt.Fprintf(w, "unmatched: %s\n", escape.Terminal(l.Raw))
		}
	}
	m, err := classify.New(rs, mopt, func(ev *classify.Event) {
		if sinkErr == nil {
			sinkErr = sink(ev)
		}
	})
	if err != nil {
		return st, err
	}
	for _, r := range readers {
		for n := 0; ; n++ {
			if n&1023 == 0 && ctx.Err() != nil {
				return st, ctx.Err()
			}
			l, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return st, err
			}
			if l.Program == "" && o.program != "" {
				l.Program = o.program
			}
			m.Feed(&l)
			if sinkErr != nil {
				return st, sinkErr
			}
		}
	}
	m.Flush()
	for ev := range m.OpenEvents() {
		st.Open++
		if o.open && sinkErr == nil {
			sinkErr = sink(ev)
		}
	}
	st.Stats = m.Stats()
	st.Elapsed = time.Since(start)
	return st, sinkErr
}

// summary renders the counters for people, on stderr.
func (st pipelineStats) summary(showUnmatchedHint bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "sshwhy: %d lines from %d input(s) in %s: %d events", st.Lines, st.Inputs, st.Elapsed.Round(time.Millisecond), st.Events)
	if len(st.ByCause) > 0 {
		b.WriteString(" (")
		first := true
		for _, c := range cause.All() {
			if n := st.ByCause[c]; n > 0 {
				if !first {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%s %d", c, n)
				first = false
			}
		}
		b.WriteString(")")
	}
	if st.Open > 0 {
		fmt.Fprintf(&b, ", %d still open", st.Open)
	}
	if st.Unjoined > 0 {
		fmt.Fprintf(&b, ", %d endings not joined to their session", st.Unjoined)
	}
	fmt.Fprintf(&b, "; %d sshd/ssh lines matched, %d unmatched", st.Matched, st.Unmatched)
	if st.Unmatched > 0 && showUnmatchedHint {
		b.WriteString(" (--unmatched shows them)")
	}
	fmt.Fprintf(&b, ", %d lines of other programs", st.Other)
	if st.Unparsed > 0 {
		fmt.Fprintf(&b, ", %d lines without a log header", st.Unparsed)
	}
	if st.Truncated > 0 {
		fmt.Fprintf(&b, ", %d lines cut at --max-line", st.Truncated)
	}
	b.WriteString("\n")
	return b.String()
}
