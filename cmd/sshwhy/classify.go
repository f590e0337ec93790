package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/internal/escape"
)

func newClassifyCmd() *cobra.Command {
	var format string
	var showUnmatched bool
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
			return runClassify(cmd, args, opt, format, showUnmatched)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "o", "table", "output format: table or json (one JSON object per line)")
	cmd.Flags().BoolVar(&showUnmatched, "unmatched", false, "print the sshd lines no rule matched to stderr")
	opt = addPipelineFlags(cmd)
	return cmd
}

func runClassify(cmd *cobra.Command, args []string, opt *pipelineOptions, format string, showUnmatched bool) error {
	tuneGC()
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
	switch format {
	case "json":
		buf := make([]byte, 0, 4096)
		sink = func(ev *classify.Event) error {
			buf = classify.AppendJSON(buf[:0], ev)
			buf = append(buf, '\n')
			_, err := out.Write(buf)
			return err
		}
	default:
		table = newTableWriter(out, isTerminal(cmd.OutOrStdout()))
		sink = table.write
	}
	st, err := classifyInputs(cmd.Context(), args, opt, sink)
	if table != nil {
		table.flush()
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

// tuneGC trades memory the classifier does not need for speed: its live
// heap is only the open connections, so the collector may let garbage grow
// to 10x that, under a soft limit that keeps RSS flat. The GOGC and
// GOMEMLIMIT environment variables still win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(1000)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(160 << 20)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
}

// tableWriter prints events as aligned columns for people. Every
// attacker-written value is escaped; colour only on a terminal.
type tableWriter struct {
	tw     *tabwriter.Writer
	colour bool
	n      int
}

func newTableWriter(w io.Writer, colour bool) *tableWriter {
	t := &tableWriter{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0), colour: colour}
	fmt.Fprintln(t.tw, "END\tHOST\tSOURCE\tUSER\tCAUSE\tCONFIDENCE\tPHASE\tDURATION\tDETAIL")
	return t
}

func (t *tableWriter) write(ev *classify.Event) error {
	t.n++
	cause, conf := string(ev.Cause), string(ev.Confidence)
	switch {
	case ev.Open:
		cause, conf = "open", "-"
	case t.colour:
		cause = ev.Cause.ANSI()
	}
	end := "-"
	if !ev.End.IsZero() {
		end = ev.End.Format("2006-01-02 15:04:05")
	}
	_, err := fmt.Fprintf(t.tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
		end, orDash(escape.Terminal(ev.Host)), orDash(escape.Terminal(hostPort(ev.SrcIP, ev.SrcPort))),
		orDash(escape.Terminal(ev.User)), cause, conf, ev.Phase,
		(time.Duration(ev.DurationS * float64(time.Second))).Round(time.Second), escape.Terminal(ev.Detail))
	if err == nil && t.n%256 == 0 {
		err = t.tw.Flush() // keep memory flat and output streaming
	}
	return err
}

func (t *tableWriter) flush() { t.tw.Flush() }

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
