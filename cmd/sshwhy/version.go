package main

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/sshwhy/sshwhy/ingest"
)

// Set by packaged builds (make build, make package):
//
//	go build -ldflags "-X main.version=1.2.0 -X main.commit=0123abc" ./cmd/sshwhy
//
// Otherwise they come from the build info: the module version for
// `go install github.com/sshwhy/sshwhy/cmd/sshwhy@VERSION`, the VCS
// revision for a build in a git checkout.
var (
	version string
	commit  string
)

// openSSHRange is the OpenSSH versions whose messages the rules were checked
// against: from the source of every release from V_5_3_P1 on (docs/openssh-legacy.md),
// to V_10_5_P1; the README says the same.
const openSSHRange = "5.3 to 10.5"

// buildInfo is what `sshwhy version` prints.
type buildInfo struct {
	Version  string // "1.2.0", "v1.2.0", or "devel"
	Commit   string // VCS revision, "" when unknown
	Modified bool   // built from a work tree with changes
	Go       string // runtime.Version()
	Platform string // GOOS/GOARCH
	Journal  bool   // journald support built in (cgo)
}

// pseudoCommit finds the revision in a Go pseudo-version
// (v0.0.0-20260523101112-0123456789ab).
var pseudoCommit = regexp.MustCompile(`-(?:0\.)?\d{14}-([0-9a-f]{12})(?:\+incompatible)?$`)

// readBuildInfo combines the -ldflags values, the Go build info and the
// build's features.
func readBuildInfo() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return newBuildInfo(version, commit, bi)
}

// newBuildInfo prefers the -ldflags values (ver, rev) to what the Go build
// info says (bi may be nil): the module version, the VCS revision, or the
// revision in a pseudo-version.
func newBuildInfo(ver, rev string, bi *debug.BuildInfo) buildInfo {
	b := buildInfo{Version: ver, Commit: rev, Go: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, Journal: ingest.JournalSupported}
	if bi != nil {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Commit == "":
				b.Commit = s.Value
			case s.Key == "vcs.modified" && rev == "":
				b.Modified = s.Value == "true"
			}
		}
		if b.Commit == "" {
			if m := pseudoCommit.FindStringSubmatch(bi.Main.Version); m != nil {
				b.Commit = m[1]
			}
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	return b
}

// String is the build info as `sshwhy --version` prints it.
func (b buildInfo) String() string {
	c := b.Commit
	if c == "" {
		c = "unknown"
	}
	if b.Modified {
		c += " (modified)"
	}
	j := "built in (cgo; libsystemd is loaded at run time)"
	if !b.Journal {
		j = "not built in (built without cgo): --journal and --journal-dir fail; " +
			"journalctl -o export | sshwhy classify - still works"
	}
	return fmt.Sprintf("sshwhy %s\ncommit:   %s\ngo:       %s %s\nopenssh:  %s (sshd, sshd-session, sshd-auth)\njournald: %s\n",
		b.Version, c, b.Go, b.Platform, openSSHRange, j)
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version, OpenSSH range and journald support",
		Long: `Version prints what sshwhy --version prints: the version and commit it was
built from, the Go version and platform, the OpenSSH versions whose messages
it knows, and whether journald support is built in (it needs cgo: a build
with CGO_ENABLED=0 reads files and journalctl's export stream, not the
journal itself).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), readBuildInfo())
			return err
		},
	}
}
