package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/internal/escape"
	"github.com/sshwhy/sshwhy/rules"
)

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List the message rules, or test them on a log file",
	}
	cmd.AddCommand(newRulesListCmd(), newRulesTestCmd())
	return cmd
}

func newRulesListCmd() *cobra.Command {
	var dirs []string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the rules in priority order",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := rules.Load(dirs...)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPROGRAMS\tCAUSE\tENDS\tACTION\tLEVEL\tVERSIONS\tMATCH")
			for _, r := range rs.Rules {
				c := string(r.Cause)
				if r.CausePreauth != "" {
					c += " (preauth: " + string(r.CausePreauth) + ")"
				}
				if r.Weak {
					c += " weak"
				}
				ends := "-"
				if r.Ends {
					ends = "yes"
				} else if r.Closed {
					ends = "closed"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, strings.Join(r.Programs, ","), orDash(c), ends,
					r.Action, orDash(r.Level), orDash(r.Versions), escape.Terminal(r.Match))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringArrayVar(&dirs, "rules", nil, "directory of extra or overriding rule files (*.yaml); repeatable")
	return cmd
}

func newRulesTestCmd() *cobra.Command {
	var dirs []string
	var all bool
	cmd := &cobra.Command{
		Use:   "test [flags] FILE|-",
		Short: "Show, per line, the rule that fired; list the lines no rule matched",
		Long: `Test reads a log file and prints every sshd/ssh line with the id of the rule
that matched it, or UNMATCHED. Lines of other programs are skipped unless --all.

Exit status, so it can gate a new rules directory in CI:
  0  every sshd/ssh line matched a rule
  1  an error: the file cannot be read, or a rule file is invalid
  2  a usage error (bad flags or arguments)
  3  some line matched no rule`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := rules.Load(dirs...)
			if err != nil {
				return err
			}
			f, err := ingest.Open(args[0], ingest.Options{})
			if err != nil {
				return err
			}
			defer f.Close()
			unmatched, err := testRules(cmd.OutOrStdout(), f, rs, all)
			if err != nil {
				return err
			}
			if unmatched > 0 {
				return errUnmatched{unmatched}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&dirs, "rules", nil, "directory of extra or overriding rule files (*.yaml); repeatable")
	cmd.Flags().BoolVar(&all, "all", false, "also print lines of programs without rules")
	return cmd
}

// errUnmatched is `rules test`'s outcome when some line matched no rule:
// exit status 3, apart from errors (1) and usage errors (2).
type errUnmatched struct{ n int }

func (e errUnmatched) Error() string { return fmt.Sprintf("%d line(s) matched no rule", e.n) }

// ExitCode is the process exit status for this outcome.
func (errUnmatched) ExitCode() int { return 3 }

// testRules prints "RULE<TAB>LINE" for each line and returns how many sshd
// lines matched no rule.
func testRules(w io.Writer, r ingest.Reader, rs *rules.Set, all bool) (int, error) {
	out := bufio.NewWriter(w)
	defer out.Flush()
	var m rules.Match
	var n, matched, unmatched int
	for {
		var l ingest.Line
		err := r.Next(&l)
		if err == io.EOF {
			break
		}
		if err != nil {
			return unmatched, err
		}
		n++
		id := "-"
		switch {
		case !rs.Programs(l.Program):
			if !all {
				continue
			}
		case rs.Match(l.Program, l.Message, &m):
			id = m.Rule.ID
			matched++
		default:
			id = "UNMATCHED"
			unmatched++
		}
		fmt.Fprintf(out, "%-32s %s\n", id, escape.Terminal(l.Raw))
	}
	fmt.Fprintf(out, "# %d lines: %d matched, %d unmatched\n", n, matched, unmatched)
	return unmatched, nil
}
