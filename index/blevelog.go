package index

import (
	"bytes"
	"log"
	"os"
	"strings"
	"sync"
)

// scorch, bleve's index implementation, reports some problems through the
// standard library's default logger (log.Printf), not through bleve.SetLog:
// a shard whose newest segment files are missing or damaged logs "unable
// to load snapshot, ..., continuing" and silently opens an older
// snapshot. On a terminal that line would appear beside sshwhy's own
// message, and a daemon's stderr would fill with them.
//
// So when the default logger still writes to stderr (no program set it
// up), package index takes its output at init and keeps the last lines;
// the errors about a damaged shard quote what bleve said about it. A
// program that routes the log package itself (log.SetOutput,
// slog.SetDefault) after init receives bleve's lines instead.
func init() {
	if log.Writer() == os.Stderr {
		log.SetOutput(&bleveLog)
	}
}

// bleveLog keeps the last lines written to the default logger.
var bleveLog logTail

type logTail struct {
	mu    sync.Mutex
	lines []string
}

const logTailLines = 64

// Write implements io.Writer for the log package (one call per line).
func (l *logTail) Write(p []byte) (int, error) {
	line := string(bytes.TrimRight(p, "\n"))
	l.mu.Lock()
	if len(l.lines) >= logTailLines {
		l.lines = append(l.lines[:0], l.lines[1:]...)
	}
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	return len(p), nil
}

// about returns the last line that mentions path, without the log's
// timestamp, or "".
func (l *logTail) about(path string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.lines) - 1; i >= 0; i-- {
		if line := l.lines[i]; strings.Contains(line, path) {
			// "2026/12/01 19:36:55 unable to load snapshot, ..."
			if f := strings.SplitN(line, " ", 3); len(f) == 3 && strings.Count(f[0], "/") == 2 {
				line = f[2]
			}
			return line
		}
	}
	return ""
}
