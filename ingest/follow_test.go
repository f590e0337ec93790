package ingest

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nextWithin returns f.Next, failing the test if no line arrives in a
// generous time (a hang guard, not a speed check).
func nextWithin(t *testing.T, f *Follower) Line {
	t.Helper()
	type result struct {
		l   Line
		err error
	}
	c := make(chan result, 1)
	go func() {
		l, err := f.Next()
		c <- result{l, err}
	}()
	select {
	case r := <-c:
		if r.err != nil {
			t.Fatalf("Next: %v", r.err)
		}
		checkLine(t, r.l)
		return r.l
	case <-time.After(20 * time.Second):
		f.Close()
		t.Fatal("no line arrived")
		return Line{}
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func size(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestFollow appends to, rotates and truncates a real file while it is
// followed, and resumes from a saved offset.
func TestFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.log")
	opt := FollowOptions{Loc: time.UTC}
	appendFile(t, path, "Jun  1 12:00:00 vm sshd[1]: one\nJun  1 12:00:01 vm sshd[1]: two\n")

	f, err := Follow(path, 0, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	expect := func(msg string, off int64) Line {
		t.Helper()
		l := nextWithin(t, f)
		if l.Message != msg || l.Offset != off || l.Source != path || l.Program != "sshd" {
			t.Fatalf("got %q at %d from %s, want %q at %d", l.Message, l.Offset, l.Source, msg, off)
		}
		return l
	}
	expect("one", 32)
	expect("two", size(t, path))

	// A line written in two parts is returned once complete.
	appendFile(t, path, "Jun  1 12:00:02 vm sshd[1]: thr")
	appendFile(t, path, "ee\n")
	expect("three", size(t, path))

	// Rotation: rename, then a new file appears.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "Jun  1 12:00:03 vm sshd[2]: four\n")
	expect("four", size(t, path))
	appendFile(t, path, "Jun  1 12:00:04 vm sshd[2]: five\n")
	last := expect("five", size(t, path))

	// Resume from the saved offset.
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Next(); err != io.EOF {
		t.Fatalf("Next after Close: %v, want io.EOF", err)
	}
	appendFile(t, path, "Jun  1 12:00:05 vm sshd[2]: six\n")
	f, err = Follow(path, last.Offset, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	expect("six", size(t, path))

	// copytruncate-style rotation: the file shrinks and is written again
	// (to less than it had, else no watcher can tell).
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "Jun  1 12:00:06 vm sshd[3]: seven\n")
	expect("seven", size(t, path))
}

func TestFollowLongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	long := "vm sshd[1]: " + strings.Repeat("x", 100)
	appendFile(t, path, long+"\n"+"vm sshd[2]: short\r\n")
	f, err := Follow(path, 0, FollowOptions{MaxLine: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := nextWithin(t, f)
	if l.Raw != long[:20] || !l.Truncated || l.Offset != int64(len(long)+1) {
		t.Errorf("long line: %+v", l)
	}
	l = nextWithin(t, f)
	if l.Raw != "vm sshd[2]: short" || l.Truncated || l.PID != 2 || l.Offset != size(t, path) {
		t.Errorf("line after it: %+v", l)
	}
}

func TestFollowOffsetBeyondEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendFile(t, path, "vm sshd[1]: from the start\n")
	f, err := Follow(path, 1<<20, FollowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if l := nextWithin(t, f); l.Message != "from the start" {
		t.Errorf("got %+v", l)
	}
}

func TestFollowErrors(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "missing.log"), dir} {
		f, err := Follow(path, 0, FollowOptions{})
		if err == nil {
			f.Close()
			t.Errorf("Follow(%s) succeeded", path)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name %s", err, path)
		}
	}
}

// TestFollowCloseUnblocks checks that Close ends a waiting Next.
func TestFollowCloseUnblocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendFile(t, path, "")
	f, err := Follow(path, 0, FollowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.Next()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != io.EOF {
			t.Errorf("Next = %v, want io.EOF", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Next still waits after Close")
	}
}
