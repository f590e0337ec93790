// Command loggen writes a large, realistic sshd auth.log (Debian 12,
// OpenSSH 9.2) and optionally the ground truth of every connection, for
// benchmarks and accuracy measurements of sshwhy.
//
//	loggen -n 10000000 -o auth.log -truth truth.jsonl
//	sshwhy classify --format json auth.log | loggen -score - -truth truth.jsonl
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sshwhy/sshwhy/internal/loggen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loggen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	def := loggen.DefaultConfig()
	fs := flag.NewFlagSet("loggen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		lines  = fs.Int("n", def.Lines, "number of lines to write")
		seed   = fs.Uint64("seed", def.Seed, "random seed (same seed, same output)")
		format = fs.String("format", "bsd", "timestamp format: bsd (Mmm dd HH:MM:SS) or rfc3339 (microseconds)")
		start  = fs.String("start", def.Start.Format(time.RFC3339), "time of the first line (RFC 3339)")
		hosts  = fs.Int("hosts", def.Hosts, "Debian 12 (OpenSSH 9.2) hosts; every second one has AllowUsers")
		modern = fs.Float64("modern", def.Modern, "share of connections sent to an extra OpenSSH 10.0 host (sshd-session), 0..1")
		pidMax = fs.Int("pid-max", def.PIDMax, "pids wrap at this value")
		rate   = fs.Float64("rate", def.Rate, "mean bot connections per second")
		noise  = fs.Float64("noise", def.Noise, "share of non-sshd lines (CRON, sudo, systemd-logind)")
		users  = fs.Int("users", def.Users, "real users per host")
		open   = fs.Int("open", 0, "long-lived sessions that stay open, logged in during the day before -start on host bastion1: 2 lines each before the -n lines")
		dense  = fs.Bool("dense", false, "event-dense bots: one password per brute-force connection, probes, old clients (with -noise 0 -users 0, a connection ends every 4-5 lines)")
		ossh   = fs.String("openssh", "9.2", "OpenSSH of the Debian hosts: 9.2 (Debian 12) or 6.6 (Ubuntu 14.04: no ports in endings, rsyslog's repeated-message lines)")
		out    = fs.String("o", "-", "output file (- for stdout)")
		truth  = fs.String("truth", "", "write the ground truth (JSON lines, one per connection) to this file; with -score, read it")
		score  = fs.String("score", "", "instead of generating, compare this file of sshwhy events (JSON lines) with -truth")
		quiet  = fs.Bool("q", false, "do not print the summary on stderr")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *score != "" {
		if *truth == "" {
			return fmt.Errorf("-score needs -truth")
		}
		return scoreFiles(*truth, *score, stdout)
	}

	cfg := def
	cfg.Lines, cfg.Seed, cfg.Hosts, cfg.Modern = *lines, *seed, *hosts, *modern
	cfg.PIDMax, cfg.Rate, cfg.Noise, cfg.Users, cfg.OpenSSH, cfg.Open, cfg.Dense = *pidMax, *rate, *noise, *users, *ossh, *open, *dense
	var err error
	if cfg.Format, err = loggen.ParseFormat(*format); err != nil {
		return err
	}
	if cfg.Start, err = time.Parse(time.RFC3339, *start); err != nil {
		return fmt.Errorf("-start: %v", err)
	}

	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	var tw io.Writer
	if *truth != "" {
		f, err := os.Create(*truth)
		if err != nil {
			return err
		}
		defer f.Close()
		tw = f
	}
	began := time.Now()
	st, err := loggen.Generate(w, tw, cfg)
	if err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && f != os.Stdout {
		if err := f.Close(); err != nil {
			return err
		}
	}
	if !*quiet {
		fmt.Fprintf(stderr, "loggen: %d lines (%d sshd), %d connections, %s .. %s, in %.1fs\n",
			st.Lines, st.SSHDLines, st.Connections, st.First.Format(time.RFC3339), st.Last.Format(time.RFC3339), time.Since(began).Seconds())
	}
	return nil
}

func scoreFiles(truthPath, eventsPath string, w io.Writer) error {
	tf, err := os.Open(truthPath)
	if err != nil {
		return err
	}
	defer tf.Close()
	var events io.Reader = os.Stdin
	if eventsPath != "-" {
		ef, err := os.Open(eventsPath)
		if err != nil {
			return err
		}
		defer ef.Close()
		events = ef
	}
	rep, err := loggen.Score(tf, events)
	if err != nil {
		return err
	}
	return rep.Write(w)
}
