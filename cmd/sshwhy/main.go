// Command sshwhy tells why SSH connections ended, from sshd logs.
//
// This package only wires: flags and output live here, the work is done by
// ingest, rules, classify and index.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "sshwhy:", err)
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
	return root
}

// exitCode maps an error to the process exit status: 2 for usage errors,
// the error's own ExitCode when it has one (rules test: 3 for unmatched
// lines), 1 for everything else.
func exitCode(err error) int {
	if _, ok := err.(usageError); ok {
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
