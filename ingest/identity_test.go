package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIdentifyAndContinues(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "auth.log")
	first := strings.Repeat("Nov 23 10:00:00 vm sshd[1]: Connection closed by 192.0.2.1 port 4000 [preauth]\n", 20)
	if err := os.WriteFile(live, []byte(first[:300]), 0o644); err != nil {
		t.Fatal(err)
	}
	small, err := Identify(live)
	if err != nil {
		t.Fatal(err)
	}
	if small.FPLen != 300 || small.Ino == 0 || small.Compressed {
		t.Fatalf("identity of a 300-byte file: %+v", small)
	}
	// The file grows: it still continues the small identity.
	if err := os.WriteFile(live, []byte(first), 0o644); err != nil {
		t.Fatal(err)
	}
	grown, err := Identify(live)
	if err != nil {
		t.Fatal(err)
	}
	if grown.FPLen != FingerprintLen || grown.FP == small.FP {
		t.Fatalf("identity after growing: %+v", grown)
	}
	for _, tc := range []struct {
		name string
		old  FileID
		path string
		data []byte // written to path first when set
		gz   bool
		want bool
	}{
		{"grown file", small, live, nil, false, true},
		{"same size", grown, live, nil, false, true},
		{"renamed", grown, filepath.Join(dir, "auth.log.1"), []byte(first), false, true},
		{"compressed copy", grown, filepath.Join(dir, "auth.log.2.gz"), []byte(first), true, true},
		{"compressed copy of the small one", small, filepath.Join(dir, "auth.log.3.gz"), []byte(first), true, true},
		{"truncated and rewritten", grown, filepath.Join(dir, "other"), []byte("Nov 24 00:00:01 vm sshd[2]: something new\n"), false, false},
		{"shorter than what was read", grown, filepath.Join(dir, "short"), []byte(first[:100]), false, false},
		{"no fingerprint", FileID{}, live, nil, false, false},
	} {
		if tc.data != nil {
			if tc.gz {
				writeGzip(t, tc.path, tc.data)
			} else if err := os.WriteFile(tc.path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := Continues(tc.old, tc.path)
		if err != nil || got != tc.want {
			t.Errorf("%s: Continues = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	gz, err := Identify(filepath.Join(dir, "auth.log.2.gz"))
	if err != nil || !gz.Compressed || gz.FP != grown.FP {
		t.Errorf("identity of the compressed copy: %+v, %v (want the fingerprint of its content)", gz, err)
	}
	if _, err := Identify(dir); err == nil {
		t.Error("Identify of a directory succeeded")
	}
}

func TestOpenAtOffset(t *testing.T) {
	dir := t.TempDir()
	text := "Nov 23 10:00:00 vm sshd[1]: one\nNov 23 10:00:01 vm sshd[1]: two\nNov 23 10:00:02 vm sshd[1]: three\n"
	plain := filepath.Join(dir, "auth.log")
	if err := os.WriteFile(plain, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(dir, "auth.log.1.gz")
	writeGzip(t, gz, []byte(text))
	for _, path := range []string{plain, gz} {
		all := readAll(t, mustOpen(t, path, Options{}))
		if len(all) != 3 {
			t.Fatalf("%s: %d lines", path, len(all))
		}
		rest := readAll(t, mustOpen(t, path, Options{Offset: all[0].Offset}))
		if len(rest) != 2 || rest[0].Message != "two" || rest[1].Offset != all[2].Offset {
			t.Errorf("%s from byte %d: %v", path, all[0].Offset, summaries(rest))
		}
		if end := readAll(t, mustOpen(t, path, Options{Offset: all[2].Offset})); len(end) != 0 {
			t.Errorf("%s from its end: %v", path, summaries(end))
		}
	}
	if _, err := Open(plain, Options{Offset: int64(len(text)) + 1}); err == nil || !strings.Contains(err.Error(), "shorter") {
		t.Errorf("resuming past the end: %v", err)
	}
	if _, err := Open(gz, Options{Offset: int64(len(text)) + 1}); err == nil {
		t.Error("resuming a compressed file past its end succeeded")
	}
	if _, err := Open("-", Options{Offset: 5, Stdin: strings.NewReader(text)}); err == nil {
		t.Error("stdin at an offset succeeded")
	}
	f := mustOpen(t, plain, Options{})
	if id := f.ID(); id.FPLen != len(text) || id.Ino == 0 {
		t.Errorf("File.ID = %+v", id)
	}
}

func TestSiblings(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"auth.log", "auth.log.1", "auth.log.2.gz", "auth.log.10.gz", "auth.logger", "syslog.1", "auth.log-20261120"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Siblings(filepath.Join(dir, ".", "auth.log"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, filepath.Base(p))
	}
	if want := "auth.log.10.gz auth.log.2.gz auth.log.1 auth.log-20261120"; strings.Join(names, " ") != want {
		t.Errorf("Siblings = %v, want %s", names, want)
	}
}

func mustOpen(t *testing.T, path string, opt Options) *File {
	t.Helper()
	f, err := Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
