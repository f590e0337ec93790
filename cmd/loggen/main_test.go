package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWritesLogAndTruthAndScores(t *testing.T) {
	dir := t.TempDir()
	logPath, truthPath := filepath.Join(dir, "auth.log"), filepath.Join(dir, "truth.jsonl")
	var stderr bytes.Buffer
	if err := run([]string{"-n", "500", "-format", "rfc3339", "-modern", "0.2", "-o", logPath, "-truth", truthPath}, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(log, []byte("\n")); n != 500 {
		t.Fatalf("%d lines, want 500", n)
	}
	if !strings.Contains(stderr.String(), "500 lines") {
		t.Errorf("summary: %q", stderr.String())
	}
	// Scoring the truth against itself (as events) is perfect.
	var out bytes.Buffer
	if err := run([]string{"-score", truthPath, "-truth", truthPath}, &out, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "(100.0% of truth, 100.0% of matched)") {
		t.Errorf("self-score not perfect:\n%s", out.String())
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-format", "xml"},
		{"-start", "yesterday"},
		{"-score", "x.jsonl"},
		{"-hosts", "0"},
		{"extra"},
	} {
		if err := run(args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
