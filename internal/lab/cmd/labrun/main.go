// Command labrun runs the sshwhy lab scenarios against a real sshd, journald
// and rsyslog and saves what they logged, so captures can be regenerated:
//
//	go run ./internal/lab/cmd/labrun -out /work/lab-out
//
// writes, for each LogLevel, OUT/<level>/{auth.log, auth-rfc3339.log,
// journal.export, journal.json, ports.json} and OUT/<level>/PORTS.md (each
// scenario's source port and the lines logged for it). Run as root on a
// machine without systemd as PID 1.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sshwhy/sshwhy/internal/lab"
)

func main() {
	out := flag.String("out", "lab-out", "output directory")
	levels := flag.String("levels", "info,verbose", "comma-separated sshd LogLevels to run")
	run := flag.String("run", "", "regexp: run only the scenarios whose name matches")
	flag.Parse()
	var only *regexp.Regexp
	if *run != "" {
		var err error
		if only, err = regexp.Compile(*run); err != nil {
			fmt.Fprintln(os.Stderr, "labrun: -run:", err)
			os.Exit(2)
		}
	}
	status := 0
	var summary strings.Builder
	summary.WriteString(portsHeader)
	for _, lv := range strings.Split(*levels, ",") {
		lv = strings.TrimSpace(lv)
		dir := filepath.Join(*out, strings.ToLower(lv))
		if err := runLevel(lv, dir, only); err != nil {
			fmt.Fprintln(os.Stderr, "labrun:", err)
			status = 1
		}
		b, err := os.ReadFile(filepath.Join(dir, "PORTS.md"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "labrun:", err)
			status = 1
			continue
		}
		summary.Write(b)
	}
	if err := os.WriteFile(filepath.Join(*out, "PORTS.md"), []byte(summary.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "labrun:", err)
		status = 1
	}
	os.Exit(status)
}

const portsHeader = `# sshwhy lab captures: scenario → source port → what sshd logged

Written by ` + "`go run ./internal/lab/cmd/labrun`" + `. Each LogLevel directory holds
auth.log (rsyslog RSYSLOG_TraditionalFileFormat), auth-rfc3339.log
(RSYSLOG_FileFormat), journal.export (journalctl -o export), journal.json
(journalctl -o json) and ports.json (the connections below). Every
connection comes from 127.0.0.1; the source port identifies it. The lines
under each scenario are the BSD auth.log lines naming the port plus every
line of the same sshd pids (PAM session lines, the post-auth child).

`

func runLevel(level, dir string, only *regexp.Regexp) (err error) {
	tb := &runner{}
	defer func() {
		tb.cleanup()
		if r := recover(); r != nil {
			if f, ok := r.(fatal); ok {
				err = f
				return
			}
			panic(r)
		}
	}()
	os.RemoveAll(dir)
	res := lab.Run(tb, lab.RunConfig{LogLevel: level, Out: dir, Only: only})
	if err := writePortsMD(res); err != nil {
		return err
	}
	fmt.Printf("%s: %d connections captured in %s\n", level, len(res.Conns), dir)
	return res.Err
}

// runner is a lab.TB for a command: Fatalf unwinds to runLevel, which runs
// the cleanups.
type runner struct{ cleanups []func() }

type fatal struct{ error }

func (r *runner) Helper()                           {}
func (r *runner) Logf(format string, args ...any)   { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (r *runner) Fatalf(format string, args ...any) { panic(fatal{fmt.Errorf(format, args...)}) }
func (r *runner) Cleanup(f func())                  { r.cleanups = append(r.cleanups, f) }

func (r *runner) cleanup() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
}
