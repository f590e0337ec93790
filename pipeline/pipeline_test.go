package pipeline

import (
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/checkpoint"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/rules"
)

// probes returns one probe connection per port: a line each.
func probes(day int, ports ...int) string {
	var b strings.Builder
	for i, p := range ports {
		fmt.Fprintf(&b, "2026-11-%02dT10:00:%02d.000000+00:00 vm sshd[%d]: Connection closed by 192.0.2.1 port %d [preauth]\n", day, i, p, p)
	}
	return b.String()
}

// run reads paths into a fresh pipeline that continues from the
// checkpoint at cpPath, and returns the source ports of the events.
func run(t *testing.T, cpPath string, paths ...string) []string {
	t.Helper()
	rs, err := rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	p, err := New(Config{Rules: rs, Sinks: []Sink{SinkFunc(func(ev *classify.Event) error {
		got = append(got, fmt.Sprint(ev.SrcPort))
		return nil
	})}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := checkpoint.Load(cpPath)
	if err != nil {
		t.Fatal(err)
	}
	plan, _, err := ingest.Plan(paths, cp.Positions())
	if err != nil {
		t.Fatal(err)
	}
	p.Restore(cp)
	for _, in := range plan {
		f, err := ingest.Open(in.Path, ingest.Options{Offset: in.Offset, Loc: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		pos := PositionOf(in)
		pos.ID = f.ID()
		if err := p.Drain(context.Background(), f, pos); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := p.End(); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(cpPath); err != nil {
		t.Fatal(err)
	}
	return got
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func gzipFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	z := gzip.NewWriter(f)
	z.Write(b)
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.Remove(from)
}

func TestRunsContinue(t *testing.T) {
	dir := t.TempDir()
	cpPath := filepath.Join(dir, "checkpoint.json")
	live := filepath.Join(dir, "auth.log")
	write(t, live+".2", probes(20, 1001, 1002))
	gzipFile(t, live+".2", live+".2.gz")
	write(t, live+".1", probes(21, 1003))
	write(t, live, probes(22, 1004, 1005))
	// Named in any order, rotated generations are read oldest first.
	if got := strings.Join(run(t, cpPath, live, live+".1", live+".2.gz"), " "); got != "1001 1002 1003 1004 1005" {
		t.Errorf("first run: %s", got)
	}
	if got := run(t, cpPath, live, live+".1", live+".2.gz"); len(got) != 0 {
		t.Errorf("second run over the same files: %v", got)
	}
	appendTo(t, live, probes(22, 1006))
	if got := strings.Join(run(t, cpPath, live), " "); got != "1006" {
		t.Errorf("after an append: %s", got)
	}
	// logrotate: auth.log (with one more line nobody read) becomes auth.log.1.
	appendTo(t, live, probes(22, 1007))
	if err := os.Rename(live, live+".1"); err != nil {
		t.Fatal(err)
	}
	write(t, live, probes(23, 1008))
	if got := strings.Join(run(t, cpPath, live), " "); got != "1007 1008" {
		t.Errorf("after rotation: %s", got)
	}
}
