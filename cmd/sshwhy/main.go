// Command sshwhy tells why SSH connections ended, from sshd logs.
//
// This package only wires: flags and output live here, the work is done by
// ingest, rules, classify and index.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/sshwhy/sshwhy/internal/escape"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		// File names and values in errors can be anyone's: escaped, line
		// by line (a joined error has several).
		lines := strings.Split(err.Error(), "\n")
		for i, l := range lines {
			lines[i] = escape.Terminal(l)
		}
		fmt.Fprintln(os.Stderr, "sshwhy:", strings.Join(lines, "\n"))
		os.Exit(exitCode(err))
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "sshwhy",
		Short:         "Tell why SSH connections ended, from sshd logs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newClassifyCmd(), newRulesCmd(), newIndexCmd(), newSearchCmd(), newReportCmd(), newAgentCmd())
	// One convention for the command line: every usage error exits 2,
	// whether the flag is unknown, its value malformed or out of range.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return checkFlags(cmd.Flags()) }
	for _, c := range root.Commands() {
		if c.Args == nil {
			c.Args = cobra.ArbitraryArgs
		}
		args := c.Args
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	return root
}

// Flags that must be more than 0, and flags that must not be negative.
var (
	positiveFlags    = []string{"max-line", "batch", "login-grace-time", "lock-timeout", "open-timeout", "commit-interval", "days", "top"}
	nonNegativeFlags = []string{"limit"}
)

// checkFlags rejects values no command can use: a zero or negative length,
// count or duration.
func checkFlags(fs *pflag.FlagSet) error {
	for _, names := range []struct {
		list []string
		zero bool // zero allowed
	}{{positiveFlags, false}, {nonNegativeFlags, true}} {
		for _, name := range names.list {
			f := fs.Lookup(name)
			if f == nil || !f.Changed {
				continue
			}
			v := f.Value.String()
			neg := strings.HasPrefix(v, "-")
			zero := v == "0" || v == "0s"
			if neg || zero && !names.zero {
				want := "more than 0"
				if names.zero {
					want = "0 or more"
				}
				return usageError{fmt.Errorf("--%s must be %s, not %s", name, want, v)}
			}
		}
	}
	return nil
}

// exitCode maps an error to the process exit status (documented in the
// README): 2 for usage errors (unknown flag or command, a bad value, a
// malformed query),
// the error's own ExitCode when it has one (rules test: 3 for unmatched
// lines), 1 for everything else.
func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command ") {
		return 2
	}
	var c interface{ ExitCode() int }
	if errors.As(err, &c) {
		return c.ExitCode()
	}
	return 1
}

// usageError marks an error in the command line (bad flag value, bad query).
type usageError struct{ error }
