//go:build unix

package index

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// dirLock is the writer lock of a data directory: an flock on
// DIR/writer.lock, released when the process exits, whatever the way.
type dirLock struct{ f *os.File }

// lockDir takes the writer lock, retrying until timeout. A lock held by
// another process gives an error wrapping ErrInUse naming that process.
func lockDir(dir string, timeout time.Duration) (*dirLock, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, pathError(err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", quote(path), err)
		}
		if time.Now().After(deadline) {
			holder := lockHolder(dir)
			f.Close()
			return nil, fmt.Errorf("%w: %s is being written by another sshwhy process%s (waited %v); only one writer at a time", ErrInUse, quote(dir), holder, timeout)
		}
		time.Sleep(25 * time.Millisecond)
	}
	// The pid is informational (for the error above); the flock is the lock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

// lockHolder describes the process named in the lock file, e.g. " (pid 42)".
func lockHolder(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, lockName))
	if err != nil {
		return ""
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil || pid <= 0 {
		return ""
	}
	return fmt.Sprintf(" (pid %d)", pid)
}

func (l *dirLock) unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing releases the flock
	l.f = nil
	return err
}

// writerActive reports whether a writer holds dir's writer lock now.
func writerActive(dir string) bool {
	f, err := os.Open(filepath.Join(dir, lockName))
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
