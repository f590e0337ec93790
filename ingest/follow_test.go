package ingest

import (
	"compress/gzip"
	"fmt"
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
		l, err := next(f)
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

	f, err := Follow(path, opt)
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
	if _, err := next(f); err != io.EOF {
		t.Fatalf("Next after Close: %v, want io.EOF", err)
	}
	appendFile(t, path, "Jun  1 12:00:05 vm sshd[2]: six\n")
	opt.ID, opt.Offset = *last.File, last.Offset
	f, err = Follow(path, opt)
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
	f, err := Follow(path, FollowOptions{MaxLine: 20})
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
	f, err := Follow(path, FollowOptions{Offset: 1 << 20})
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
		f, err := Follow(path, FollowOptions{})
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
	f, err := Follow(path, FollowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := next(f)
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

// TestFollowRotationStress writes numbered lines as fast as it can while
// the file is rotated every few hundred lines, alternately by rename
// (logrotate create) and by copy-then-truncate (copytruncate, done between
// two writes, as logrotate does it under the writer's lock), and older
// generations are compressed. Every line must be read exactly once, in
// order.
func TestFollowRotationStress(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.log")
	appendFile(t, path, "")
	f, err := Follow(path, FollowOptions{Poll: 5 * time.Millisecond, Loc: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const total = 6000
	werr := make(chan error, 1)
	go func() {
		werr <- func() error {
			w, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			gen := 0
			for i := 0; i < total; i++ {
				if _, err := fmt.Fprintf(w, "Jun  1 12:00:00 vm sshd[%d]: line %d\n", 1+i%30000, i); err != nil {
					return err
				}
				if i%400 != 399 {
					if i%7 == 0 {
						time.Sleep(time.Millisecond / 4)
					}
					continue
				}
				gen++
				// Older generations move down and get compressed.
				os.Remove(path + ".3.gz")
				os.Rename(path+".2.gz", path+".3.gz")
				if _, err := os.Stat(path + ".1"); err == nil {
					if err := gzipTo(path+".1", path+".2.gz"); err != nil {
						return err
					}
				}
				if gen%2 == 1 { // create
					w.Close()
					if err := os.Rename(path, path+".1"); err != nil {
						return err
					}
					if w, err = os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644); err != nil {
						return err
					}
				} else { // copytruncate
					b, err := os.ReadFile(path)
					if err != nil {
						return err
					}
					if err := os.WriteFile(path+".1", b, 0o644); err != nil {
						return err
					}
					if err := w.Truncate(0); err != nil {
						return err
					}
				}
			}
			return w.Close()
		}()
	}()
	next := 0
	deadline := time.After(60 * time.Second)
	got := make(chan Line)
	errc := make(chan error, 1)
	go func() {
		for {
			var l Line
			err := f.Next(&l)
			if err != nil {
				errc <- err
				return
			}
			got <- l
		}
	}()
	for next < total {
		select {
		case l := <-got:
			var n int
			if _, err := fmt.Sscanf(l.Message, "line %d", &n); err != nil {
				t.Fatalf("line %q", l.Raw)
			}
			if n != next {
				t.Fatalf("read line %d, want %d (every line once, in order)", n, next)
			}
			if l.File == nil || l.Offset <= 0 {
				t.Fatalf("line %d: position %v %d", n, l.File, l.Offset)
			}
			next++
		case err := <-errc:
			t.Fatalf("Next: %v after %d lines", err, next)
		case err := <-werr:
			if err != nil {
				t.Fatalf("writer: %v", err)
			}
			werr = nil
		case <-deadline:
			t.Fatalf("read %d of %d lines in 60s", next, total)
		}
	}
	select {
	case l := <-got:
		t.Fatalf("a line more than written: %q", l.Raw)
	case <-time.After(100 * time.Millisecond):
	}
}

func gzipTo(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	z := gzip.NewWriter(out)
	if _, err := z.Write(b); err != nil {
		return err
	}
	if err := z.Close(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Remove(from)
}
