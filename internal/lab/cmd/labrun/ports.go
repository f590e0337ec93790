package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sshwhy/sshwhy/internal/lab"
)

var (
	pidRe   = regexp.MustCompile(`^\S+ +\d+ [\d:]+ \S+ sshd\[(\d+)\]: `)
	childRe = regexp.MustCompile(`User child is on pid (\d+)`)
)

// writePortsMD writes DIR/PORTS.md: for each connection, its source port,
// what the client saw, and the BSD auth.log lines that belong to it (lines
// naming the port, plus every line of the same sshd pids).
func writePortsMD(res *lab.Result) error {
	lines, err := readLines(filepath.Join(res.Dir, lab.CaptureBSD))
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## LogLevel %s (LoginGraceTime %s, MaxAuthTries 3, ClientAliveInterval 1, ClientAliveCountMax 2)\n\n", res.LogLevel, res.LoginGraceTime)
	if res.Err != nil {
		fmt.Fprintf(&b, "Scenario problems:\n\n```\n%v\n```\n\n", res.Err)
	}
	b.WriteString("| scenario | src port | last line logged for the port |\n|---|---|---|\n")
	for _, c := range res.Conns {
		last := "(nothing logged)"
		for _, l := range linesFor(lines, c.Port) {
			if strings.Contains(l, strconv.Itoa(c.Port)) {
				last = l
			}
		}
		if m := pidRe.FindStringIndex(last); m != nil {
			last = last[m[1]:]
		}
		fmt.Fprintf(&b, "| %s | %d | `%s` |\n", c.Key(), c.Port, strings.ReplaceAll(last, "|", "\\|"))
	}
	b.WriteString("\n")
	for _, c := range res.Conns {
		fmt.Fprintf(&b, "### %s: src port %d → sshd port %d\n\nclient: %s\n\n```\n", c.Key(), c.Port, c.ServerPort, c.Client)
		found := linesFor(lines, c.Port)
		if len(found) == 0 {
			b.WriteString("(nothing logged)\n")
		}
		for _, l := range found {
			b.WriteString(l + "\n")
		}
		b.WriteString("```\n\n")
	}
	return os.WriteFile(filepath.Join(res.Dir, "PORTS.md"), []byte(b.String()), 0o644)
}

func linesFor(lines []string, port int) []string {
	p := strconv.Itoa(port)
	portRe := regexp.MustCompile(`(port ` + p + `\b|\]:` + p + `\b)`)
	pids := map[string]bool{}
	for _, l := range lines {
		if !portRe.MatchString(l) || strings.Contains(l, "drop connection") {
			continue
		}
		if m := pidRe.FindStringSubmatch(l); m != nil {
			pids[m[1]] = true
		}
	}
	for _, l := range lines {
		if m := pidRe.FindStringSubmatch(l); m != nil && pids[m[1]] {
			if c := childRe.FindStringSubmatch(l); c != nil {
				pids[c[1]] = true
			}
		}
	}
	var out []string
	for _, l := range lines {
		m := pidRe.FindStringSubmatch(l)
		if portRe.MatchString(l) || (m != nil && pids[m[1]]) {
			out = append(out, l)
		}
	}
	return out
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out, sc.Err()
}
