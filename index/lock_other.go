//go:build !unix

package index

import (
	"os"
	"path/filepath"
	"time"
)

// dirLock is a no-op where flock is missing: one writer is the user's
// responsibility there (bolt's own lock still guards each shard).
type dirLock struct{}

func lockDir(dir string, timeout time.Duration) (*dirLock, error) {
	_ = os.WriteFile(filepath.Join(dir, lockName), nil, 0o640)
	return &dirLock{}, nil
}

func lockHolder(dir string) string { return "" }

func writerActive(dir string) bool { return false }

func (l *dirLock) unlock() error { return nil }
