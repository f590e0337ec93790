package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/rivo/uniseg"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/internal/escape"
)

func newClassifyCmd() *cobra.Command {
	var format string
	var showUnmatched, explain bool
	var opt *pipelineOptions
	cmd := &cobra.Command{
		Use:   "classify [flags] [FILE|-]...",
		Short: "Print one event per ended SSH connection, with its cause",
		Long: `Classify reads sshd logs (syslog files in BSD, RFC 3339 or RFC 5424 format,
rotated and .gz archives, journalctl -o export/json streams, stdin as "-", or
the journal with --journal) and prints one event per connection end: why it
ended, who, from where, and the evidence lines. Connections still open when
the input ends come last, marked open (CAUSE "open" in the table, "open":true
and no cause in JSON), with the id they will have when they end.

A summary goes to stderr, including the count of sshd lines no rule matched.`,
		Example: `  sshwhy classify /var/log/auth.log*
  journalctl -u ssh -o export | sshwhy classify --format json -
  sshwhy classify --journal --unmatched`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageError{fmt.Errorf("--format must be table or json, not %q", format)}
			}
			if showUnmatched {
				opt.unmatched = cmd.ErrOrStderr()
			}
			opt.open = true
			if explain {
				opt.explain = &explainer{}
			}
			// Both sinks copy what they keep; the cores beyond the first
			// read and match, and write, beside the classifier.
			opt.reuse, opt.parallel = true, runtime.GOMAXPROCS(0) > 1
			return runClassify(cmd, args, opt, format, showUnmatched)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "o", "table", "output format: table or json (one JSON object per line)")
	cmd.Flags().BoolVar(&showUnmatched, "unmatched", false, "print the sshd lines no rule matched to stderr")
	cmd.Flags().BoolVar(&explain, "explain", false, "add what to do about each ending (\"remedy\" in JSON, a line under each row in the table), quoting this machine's sshd settings")
	opt = addPipelineFlags(cmd)
	return cmd
}

func runClassify(cmd *cobra.Command, args []string, opt *pipelineOptions, format string, showUnmatched bool) error {
	defer tuneGC(classifyGC)()
	opt.stdin = cmd.InOrStdin()
	if len(args) == 0 && !opt.journal && opt.journalDir == "" {
		if f, ok := cmd.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return usageError{fmt.Errorf("no input: name log files, - for stdin, or --journal")}
		}
		args = []string{"-"}
	}
	out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	var sink func(*classify.Event) error
	var table *tableWriter
	flushJSON := func() error { return nil }
	switch format {
	case "json":
		// Events are encoded into buf and written 64 KiB at a time, past
		// out's buffer (which is empty then), so the output is not copied
		// once more.
		buf := make([]byte, 0, 80<<10)
		var enc classify.Encoder
		sink = func(ev *classify.Event) error {
			buf = appendEvent(buf, ev, opt.explain, &enc)
			buf = append(buf, '\n')
			if len(buf) < 64<<10 {
				return nil
			}
			_, err := out.Write(buf)
			buf = buf[:0]
			return err
		}
		flushJSON = func() error {
			_, err := out.Write(buf)
			return err
		}
	default:
		table = newTableWriter(out, isTerminal(cmd.OutOrStdout()))
		table.explain = opt.explain
		sink = table.write
	}
	st, err := classifyInputs(cmd.Context(), args, opt, sink)
	if table != nil && (err == nil || table.n > 0) { // no empty table before an error
		if ferr := table.flush(); err == nil {
			err = ferr
		}
	}
	if ferr := flushJSON(); err == nil {
		err = ferr
	}
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	fmt.Fprint(cmd.ErrOrStderr(), summary(st, !showUnmatched))
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
}

// tableWriter prints events as aligned columns for people. Every
// attacker-written value is escaped; colour only on a terminal.
type tableWriter struct {
	w      io.Writer
	colour bool
	rows   [][]string // buffered until flush, to align the columns
	causes []cause.Cause
	header bool // written
	n      int  // rows written
	// explain, when set, adds each row's remedy on a line of its own.
	explain  *explainer
	remedies []string
}

// The table's columns; the widths of attacker-written columns are capped
// (a 10,000-character user name must not pad every row), the last column
// (DETAIL) is not padded.
var tableHeader = []string{"END", "HOST", "SOURCE", "USER", "CAUSE", "CONFIDENCE", "PHASE", "DURATION", "DETAIL"}

var tableMax = []int{19, 32, 47, 32, 19, 10, 8, 12, 0}

const causeColumn = 4

func newTableWriter(w io.Writer, colour bool) *tableWriter {
	return &tableWriter{w: w, colour: colour}
}

func (t *tableWriter) write(ev *classify.Event) error {
	c, conf := string(ev.Cause), string(ev.Confidence)
	if ev.Open {
		c, conf = "open", "-"
	}
	end := "-"
	if !ev.End.IsZero() {
		end = ev.End.Format("2006-01-02 15:04:05")
	}
	src := hostPort(ev.SrcIP, ev.SrcPort)
	if src == "" {
		src = ev.Remote
	}
	dur := (time.Duration(ev.DurationS * float64(time.Second))).Round(time.Second).String()
	if ev.StartUnknown {
		dur = "-"
	}
	t.rows = append(t.rows, []string{end, orDash(escape.Terminal(ev.Host)), orDash(escape.Terminal(src)),
		orDash(escape.Terminal(ev.User)), c, orDash(conf), orDash(string(ev.Phase)), dur, escape.Terminal(ev.Detail)})
	t.causes = append(t.causes, ev.Cause)
	if t.explain != nil {
		t.remedies = append(t.remedies, escape.Terminal(t.explain.remedy(ev)))
	}
	t.n++
	if len(t.rows) >= 256 {
		return t.flush() // keep memory flat and output streaming
	}
	return nil
}

// flush writes the buffered rows, aligned, the header before the first.
func (t *tableWriter) flush() error {
	rows, lead := t.rows, 0
	if !t.header {
		rows, lead = append([][]string{tableHeader}, rows...), 1
		t.header = true
	}
	width := make([]int, len(tableHeader))
	for _, r := range rows {
		for i, cell := range r {
			width[i] = max(width[i], uniseg.StringWidth(cell))
		}
	}
	for i, m := range tableMax {
		if m > 0 {
			width[i] = min(width[i], m)
		}
	}
	var b strings.Builder
	for k, r := range rows {
		b.Reset()
		for i, cell := range r {
			last := i == len(r)-1
			cell = clip(cell, width[i], last)
			pad := width[i] - uniseg.StringWidth(cell)
			if i == causeColumn && k >= lead && t.colour && cell != "open" {
				cell = t.causes[k-lead].ANSI() // coloured after measuring: escapes take no room
			}
			b.WriteString(cell)
			if !last {
				b.WriteString(strings.Repeat(" ", pad+2))
			}
		}
		b.WriteByte('\n')
		if k >= lead && t.explain != nil && t.remedies[k-lead] != "" {
			b.WriteString("    → " + t.remedies[k-lead] + "\n")
		}
		if _, err := io.WriteString(t.w, b.String()); err != nil {
			return err
		}
	}
	t.rows, t.causes, t.remedies = t.rows[:0], t.causes[:0], t.remedies[:0]
	return nil
}

// clip cuts s to width columns, ending in "…" when cut; the last column
// is cut only when very long.
func clip(s string, width int, last bool) string {
	if last {
		width = 512
	}
	if width <= 0 || uniseg.StringWidth(s) <= width {
		return s
	}
	var b strings.Builder
	w := 0
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		cw := g.Width()
		if w+cw > width-1 {
			break
		}
		b.WriteString(g.Str())
		w += cw
	}
	return b.String() + "…"
}

func hostPort(ip string, port int) string {
	if ip == "" {
		return ""
	}
	if port == 0 {
		return ip
	}
	return net.JoinHostPort(ip, strconv.Itoa(port))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
