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
		Use:   "sshwhy",
		Short: "Tell why SSH connections ended, from sshd logs",
		Long: `sshwhy reads sshd's log lines (files, archives, stdin or the systemd
journal), stitches them together per connection and tells for each
connection end its cause (client_timeout, auth_failure, host_key_mismatch,
packet_corruption, ...), who, from where, how long it lasted and the
evidence lines.

One-shot: classify prints the events, index stores them, search finds them
again, report writes the daily read. As a service, agent follows the logs
live and serves searches and Prometheus metrics (the sshwhy package installs
it as sshwhy.service).

Files: /etc/sshwhy/sshwhy.toml (the agent's configuration), /var/lib/sshwhy
(the index and the agent's checkpoint), /run/sshwhy/sshwhy.sock (the agent's
API).

Exit status: 0 on success, 2 for a usage error (a bad flag, date or query),
3 from "sshwhy rules test" when lines are unmatched, 1 for any other error.`,
		Version:       readBuildInfo().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}")
	root.AddCommand(newClassifyCmd(), newRulesCmd(), newIndexCmd(), newSearchCmd(), newReportCmd(), newAgentCmd(),
		newVersionCmd(), newManCmd())
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return checkFlags(cmd.Flags()) }
	usageErrors(root)
	return root
}

// usageErrors makes cobra's own errors in the command line (unknown flags
// and commands, bad flag values, wrong numbers of arguments) usage errors:
// one convention for the command line, every usage error exits 2, for c
// and every command below it. A command that only groups others
// (sshwhy, sshwhy rules) shows its help when called alone.
func usageErrors(c *cobra.Command) {
	if !c.HasParent() {
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	}
	if c.HasSubCommands() && !c.Runnable() {
		c.Args = unknownCommand
		c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	} else if args := c.Args; args != nil {
		c.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageErrors(sub)
	}
}

// unknownCommand refuses arguments to a command that only groups others,
// suggesting the nearest of them as cobra does.
func unknownCommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's own default
	}
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += " (did you mean " + strings.Join(s, " or ") + "?)"
	}
	return usageError{errors.New(msg)}
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
