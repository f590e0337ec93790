package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/sshwhy/sshwhy/ingest"
)

func TestNewBuildInfo(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name             string
		ver, rev         string // -ldflags
		bi               *debug.BuildInfo
		wantVer, wantRev string
		wantModified     bool
	}{
		{"no build info", "", "", nil, "devel", "", false},
		{"go build in a checkout", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123abcd", "true")}, "devel", "0123abcd", true},
		{"go build without VCS", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel", "", false},
		{"go install @v1.2.0", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, "v1.2.0", "", false},
		{"go install @commit", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260523101112-0123456789ab"}}, "v0.0.0-20260523101112-0123456789ab", "0123456789ab", false},
		{"go install @commit after a tag", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.1-0.20260523101112-0123456789ab"}}, "v1.2.1-0.20260523101112-0123456789ab", "0123456789ab", false},
		{"packaged", "1.2.0", "fedcba9", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123abcd", "true")}, "1.2.0", "fedcba9", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuildInfo(tt.ver, tt.rev, tt.bi)
			if b.Version != tt.wantVer || b.Commit != tt.wantRev || b.Modified != tt.wantModified {
				t.Errorf("got version %q commit %q modified %v, want %q %q %v", b.Version, b.Commit, b.Modified, tt.wantVer, tt.wantRev, tt.wantModified)
			}
			if b.Go != runtime.Version() || b.Journal != ingest.JournalSupported {
				t.Errorf("go %q journal %v, want %q %v", b.Go, b.Journal, runtime.Version(), ingest.JournalSupported)
			}
		})
	}
}

// TestVersion runs `sshwhy --version` and `sshwhy version`: the same text,
// with the Go version, the OpenSSH range and whether this build reads the
// journal (run with CGO_ENABLED=0 too: make check-nocgo).
func TestVersion(t *testing.T) {
	flag, _, err := runCmd(t, "", "--version")
	if err != nil {
		t.Fatal(err)
	}
	sub, _, err := runCmd(t, "", "version")
	if err != nil {
		t.Fatal(err)
	}
	if flag != sub {
		t.Errorf("--version and version differ:\n%s\n%s", flag, sub)
	}
	journal := "journald: built in (cgo"
	if !ingest.JournalSupported {
		journal = "journald: not built in (built without cgo)"
	}
	for _, want := range []string{"sshwhy ", "\ncommit:   ", "\ngo:       " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		"\nopenssh:  " + openSSHRange + " ", "\n" + journal} {
		if !strings.Contains(flag, want) {
			t.Errorf("--version does not say %q:\n%s", want, flag)
		}
	}
	if _, _, err := runCmd(t, "", "version", "extra"); err == nil {
		t.Error("version with an argument succeeded")
	}
}
