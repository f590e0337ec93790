package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/checkpoint"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/internal/loggen"
	"github.com/sshwhy/sshwhy/rules"
)

// drainFiles classifies paths in one pipeline, serial or parallel, and
// returns the events (JSON, in order, open ones last), the stats and the
// checkpoint's positions and state.
func drainFiles(t *testing.T, parallel bool, paths ...string) (events []string, st Stats, cp []byte) {
	t.Helper()
	rs, err := rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Rules: rs, Parallel: parallel, Sinks: []Sink{SinkFunc(func(ev *classify.Event) error {
		events = append(events, string(classify.AppendJSON(nil, ev)))
		return nil
	})}})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		f, err := ingest.Open(path, ingest.Options{Loc: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		pos := &FilePosition{Path: path, ID: f.ID()}
		if err := p.Drain(context.Background(), f, pos); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := p.End(); err != nil {
		t.Fatal(err)
	}
	for ev := range p.Machine().OpenEvents() {
		events = append(events, string(classify.AppendJSON(nil, ev)))
	}
	c := p.Checkpoint()
	c.Saved = time.Time{}
	for i := range c.Files {
		c.Files[i].Seen = time.Time{}
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	st = p.Stats()
	st.Elapsed = 0
	return events, st, b
}

// A parallel Drain gives the events of a serial one, in the same order,
// with the same counters, positions and classifier state: on a log of
// several hosts with connections still open, and over two files.
func TestParallelSameAsSerial(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, mod := range []func(*loggen.Config){
		func(c *loggen.Config) { c.Hosts, c.Modern, c.Open = 3, 0.2, 50 },
		func(c *loggen.Config) { c.Seed, c.Dense, c.Start = 2, true, c.Start.Add(72*time.Hour) },
	} {
		cfg := loggen.DefaultConfig()
		cfg.Lines, cfg.Rate = 30000, 5
		mod(&cfg)
		var b bytes.Buffer
		if _, err := loggen.Generate(&b, nil, cfg); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "auth.log."+string(rune('a'+i)))
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	wantEv, wantSt, wantCP := drainFiles(t, false, paths...)
	gotEv, gotSt, gotCP := drainFiles(t, true, paths...)
	if len(wantEv) < 5000 {
		t.Fatalf("only %d events", len(wantEv))
	}
	if !slices.Equal(gotEv, wantEv) {
		for i := range min(len(gotEv), len(wantEv)) {
			if gotEv[i] != wantEv[i] {
				t.Fatalf("event %d of %d/%d differs:\n got %s\nwant %s", i, len(gotEv), len(wantEv), gotEv[i], wantEv[i])
			}
		}
		t.Fatalf("%d events, want %d", len(gotEv), len(wantEv))
	}
	if gotSt.Lines != wantSt.Lines || gotSt.Events != wantSt.Events || gotSt.Matched != wantSt.Matched || gotSt.Other != wantSt.Other {
		t.Errorf("stats %+v, want %+v", gotSt, wantSt)
	}
	if !bytes.Equal(gotCP, wantCP) {
		i := 0
		for i < min(len(gotCP), len(wantCP)) && gotCP[i] == wantCP[i] {
			i++
		}
		t.Errorf("checkpoints differ at byte %d:\n got %.300s\nwant %.300s", i, gotCP[max(0, i-100):], wantCP[max(0, i-100):])
	}
	var cp checkpoint.Checkpoint
	if err := json.Unmarshal(gotCP, &cp); err != nil || len(cp.Files) != 2 || cp.State == nil || len(cp.State.Conns) == 0 {
		t.Errorf("checkpoint: %v, %+v", err, cp.Files)
	}
}

// A sink's error stops a parallel Drain and is returned, also by End.
func TestParallelSinkError(t *testing.T) {
	rs, err := rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg := loggen.DefaultConfig()
	cfg.Lines = 20000
	var b bytes.Buffer
	if _, err := loggen.Generate(&b, nil, cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "auth.log")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	full := errors.New("disk full")
	n := 0
	p, err := New(Config{Rules: rs, Parallel: true, Sinks: []Sink{SinkFunc(func(*classify.Event) error {
		if n++; n == 100 {
			return full
		}
		return nil
	})}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := ingest.Open(path, ingest.Options{Loc: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := p.Drain(context.Background(), f, nil); !errors.Is(err, full) {
		t.Fatalf("Drain: %v, want %v", err, full)
	}
	if n != 100 {
		t.Errorf("the sink got %d events, want 100 (none after its error)", n)
	}
	if err := p.End(); !errors.Is(err, full) {
		t.Errorf("End: %v", err)
	}
}
