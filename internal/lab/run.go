package lab

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Result is one lab run: the captured logs and the connections that made
// them.
type Result struct {
	LogLevel       string
	LoginGraceTime time.Duration
	// Dir holds the capture files (CaptureBSD, CaptureRFC3339, CaptureExport,
	// CaptureJSON) and PortsFile.
	Dir string
	// JournalDir is the live journal directory; it exists until the test
	// that called Run ends.
	JournalDir string
	Conns      []Conn
	// Err reports scenarios that did not behave (the capture is still made).
	Err error
}

// PortsFile is the JSON list of Conns a run writes beside its capture.
const PortsFile = "ports.json"

// RunConfig selects what Run does.
type RunConfig struct {
	LogLevel string // sshd LogLevel: INFO (default) or VERBOSE
	// Out is the capture directory; a temporary one when empty.
	Out string
	// Only, when set, keeps the scenarios whose name it matches.
	Only *regexp.Regexp
	// Before, when set, is called once the log daemons run and before the
	// first scenario: a test starts what follows the logs live there.
	Before func(l *Logs)
}

// Run starts the logs, two sshds (the main one at cfg.LogLevel, and one
// with MaxStartups 1), runs the scenarios and captures the logs. Everything
// it started stops when tb's test ends.
func Run(tb TB, rc RunConfig) *Result {
	tb.Helper()
	logLevel, outDir := rc.LogLevel, rc.Out
	logs := StartLogs(tb)
	users := CreateUsers(tb)
	cfg := SSHDConfig{LogLevel: strings.ToUpper(logLevel)}
	main := StartSSHD(tb, users, cfg)
	tcfg := cfg
	tcfg.MaxStartups = "1"
	throttle := StartSSHD(tb, users, tcfg)
	env := NewEnv(tb, main, throttle, users)
	if err := logs.Sync(); err != nil {
		tb.Fatalf("lab: %v", err)
	}
	if rc.Before != nil {
		rc.Before(logs)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var scenarios []Scenario
	for _, s := range Scenarios() {
		if rc.Only == nil || rc.Only.MatchString(s.Name) {
			scenarios = append(scenarios, s)
		}
	}
	conns, runErr := RunScenarios(ctx, env, scenarios)

	if outDir == "" {
		outDir = tempDir(tb, "capture")
	}
	if err := logs.CaptureTo(outDir); err != nil {
		tb.Fatalf("lab: capture: %v", err)
	}
	b, err := json.MarshalIndent(conns, "", "  ")
	if err != nil {
		tb.Fatalf("lab: %v", err)
	}
	if err := os.WriteFile(filepath.Join(outDir, PortsFile), append(b, '\n'), 0o644); err != nil {
		tb.Fatalf("lab: %v", err)
	}
	return &Result{
		LogLevel:       cfg.LogLevel,
		LoginGraceTime: main.Config.LoginGraceTime,
		Dir:            outDir,
		JournalDir:     logs.JournalDir,
		Conns:          conns,
		Err:            runErr,
	}
}
