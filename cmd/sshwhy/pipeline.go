package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/checkpoint"
	"github.com/sshwhy/sshwhy/pipeline"
	"github.com/sshwhy/sshwhy/sshdconfig"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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
	// record, when set, is given every unmatched line (the index and the
	// report keep them per day: package unmatched).
	record func(*ingest.Line)
	// explain, when set, adds remedies to the output (--explain).
	explain  *explainer
	flags    *pflag.FlagSet
	open     bool // also pass the connections still open at the end to the sink (Event.Open)
	parallel bool // pipeline.Config.Parallel
	reuse    bool // the sink keeps no event: classify.Options.ReuseEvents
}

func addPipelineFlags(cmd *cobra.Command) *pipelineOptions {
	o := &pipelineOptions{flags: cmd.Flags()}
	f := cmd.Flags()
	f.StringArrayVar(&o.rulesDirs, "rules", nil, "directory of extra or overriding rule files (*.yaml); repeatable")
	f.DurationVar(&o.grace, "login-grace-time", sshdconfig.DefaultLoginGraceTime, "the server's LoginGraceTime: unauthenticated connections silent this long were cut by sshd (default: this machine's sshd setting, else 120s)")
	f.StringVar(&o.tz, "tz", "", "time zone of BSD syslog timestamps (default: the local zone)")
	f.BoolVar(&o.journal, "journal", false, "read sshd's entries from the local systemd journal")
	f.StringVar(&o.journalDir, "journal-dir", "", "read sshd's entries from the journal files in `DIR`")
	f.IntVar(&o.maxLine, "max-line", ingest.DefaultMaxLine, "longest line kept, in bytes; longer lines are cut and counted")
	f.StringVar(&o.program, "program", "", "treat lines without a log header as messages of `NAME` (sshd for bare messages, ssh for `ssh -E` logs)")
	return o
}

// pipelineStats is what a run of the pipeline saw.
type pipelineStats struct {
	pipeline.Stats
	Open int // connections still open at the end of the input
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

// loginGraceTime is --login-grace-time, or this machine's sshd setting
// when the flag is not given.
func (o *pipelineOptions) loginGraceTime() time.Duration {
	if o.flags != nil && o.flags.Changed("login-grace-time") {
		return o.grace
	}
	d, _ := sshdconfig.LoginGraceTime()
	if d == 0 {
		return noGraceLimit
	}
	return d
}

// noGraceLimit stands for LoginGraceTime 0 (no limit): sshd never cuts an
// unauthenticated connection, so no silence proves one over.
const noGraceLimit = 100 * 365 * 24 * time.Hour

// newPipeline builds the pipeline the flags describe, writing to sinks.
func (o *pipelineOptions) newPipeline(sinks ...pipeline.Sink) (*pipeline.Pipeline, error) {
	rs, err := o.loadRules()
	if err != nil {
		return nil, err
	}
	cfg := pipeline.Config{
		Rules:    rs,
		Classify: classify.Options{LoginGraceTime: o.loginGraceTime(), ReuseEvents: o.reuse},
		Program:  o.program,
		Sinks:    sinks,
		Parallel: o.parallel,
	}
	if w, record := o.unmatched, o.record; w != nil || record != nil {
		cfg.Unmatched = func(l *ingest.Line) {
			if w != nil {
				fmt.Fprintf(w, "unmatched: %s\n", escape.Terminal(l.Raw))
			}
			if record != nil {
				record(l)
			}
		}
	}
	return pipeline.New(cfg)
}

// input is one opened source and where its position is recorded.
type input struct {
	src pipeline.Source
	pos pipeline.Position
}

// openInputs opens the journal (when asked) and the files, each from
// where plan says, before any is read, so an unreadable file stops the run
// with an error naming it before output starts. cp supplies the journal
// cursor (nil: from the start).
func (o *pipelineOptions) openInputs(plan []ingest.Input, cp *checkpoint.Checkpoint) ([]input, func(), error) {
	loc, err := o.location()
	if err != nil {
		return nil, nil, err
	}
	var ins []input
	closeAll := func() {
		for _, in := range ins {
			in.src.Close()
		}
	}
	if o.journal || o.journalDir != "" {
		name := "journal"
		if o.journalDir != "" {
			name = "journal:" + o.journalDir
		}
		jpos := &pipeline.JournalPosition{Name: name}
		if cp != nil {
			jpos.Cursor = cp.Journals[name]
		}
		j, err := ingest.OpenJournal(ingest.JournalOptions{Dir: o.journalDir, Loc: loc, MaxLine: o.maxLine, Cursor: jpos.Cursor})
		if err != nil {
			return nil, nil, err
		}
		ins = append(ins, input{j, jpos})
	}
	for _, p := range plan {
		f, err := ingest.Open(p.Path, ingest.Options{MaxLine: o.maxLine, Loc: loc, Stdin: o.stdin, Offset: p.Offset})
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		in := input{src: f}
		if p.Path != "-" {
			pos := pipeline.PositionOf(p)
			pos.ID = f.ID() // as opened: the file may have grown since it was planned
			in.pos = pos
		}
		ins = append(ins, in)
	}
	if len(ins) == 0 {
		return nil, nil, usageError{errors.New("no input: name log files, - for stdin, or --journal")}
	}
	return ins, closeAll, nil
}

// wholeFiles plans to read every path from its start.
func wholeFiles(paths []string) []ingest.Input {
	var plan []ingest.Input
	for _, p := range ingest.SortRotated(paths) {
		plan = append(plan, ingest.Input{Path: p, Why: "new"})
	}
	return plan
}

// drain reads every input into p, in order.
func drain(ctx context.Context, p *pipeline.Pipeline, ins []input) error {
	for _, in := range ins {
		if err := p.Drain(ctx, in.src, in.pos); err != nil {
			return err
		}
	}
	return p.End()
}

// classifyInputs reads the inputs (paths, "-" for stdin; rotated and .gz
// files handled), classifies them as one stream and calls sink for every
// event in order.
func classifyInputs(ctx context.Context, paths []string, o *pipelineOptions, sink func(*classify.Event) error) (pipelineStats, error) {
	p, err := o.newPipeline(pipeline.SinkFunc(sink))
	if err != nil {
		return pipelineStats{}, err
	}
	ins, closeAll, err := o.openInputs(wholeFiles(paths), nil)
	if err != nil {
		return pipelineStats{}, err
	}
	defer closeAll()
	err = drain(ctx, p, ins)
	st := pipelineStats{Stats: p.Stats()}
	st.Inputs = len(ins)
	if err != nil {
		return st, err
	}
	for ev := range p.Machine().OpenEvents() {
		st.Open++
		if o.open {
			if err := sink(ev); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// summary renders the counters for people, on stderr.
func summary(st pipelineStats, showUnmatchedHint bool) string {
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
