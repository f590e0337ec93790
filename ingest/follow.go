package ingest

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/nxadm/tail"
)

// FollowOptions configures Follow.
type FollowOptions struct {
	// MaxLine is the longest line kept; see Options.MaxLine.
	MaxLine int
	// Loc is the time zone of BSD syslog timestamps. Nil means time.Local.
	Loc *time.Location
}

// Follower reads a log file as it grows, like `tail -F`: when the file is
// renamed or removed and created again (log rotation) or truncated, it
// continues with the new file from its start. It is built on
// github.com/nxadm/tail.
//
// Lines have Source set to the path and Offset to the byte offset just
// after the line in the file being read at that time, so that
// Follow(path, l.Offset, ...) resumes after l. Only complete lines (ending
// in "\n") are returned.
type Follower struct {
	path    string
	opt     FollowOptions
	t       *tail.Tail
	parser  Parser
	refAt   time.Time // when parser.Ref was last set
	closed  atomic.Bool
	lastOff int64 // offset and tail line number of the last line read,
	lastNum int   // to recognise the rest of an over-long line
}

// Follow starts following path from byte offset from (0: the beginning).
// An offset beyond the end of the file (the file was truncated or replaced
// since the offset was saved) starts at the beginning. The file must
// exist. Call Close to stop.
//
// The file is watched by polling its size every 250 ms: nxadm/tail's
// inotify watcher (v1.4.11) misses data written between reaching the end
// of a newly opened file and installing the watch, which leaves lines
// waiting until the next write. Known limitation of nxadm/tail: a line
// longer than MaxLine is cut as usual, but tail reads it whole into memory
// first.
func Follow(path string, from int64, opt FollowOptions) (*Follower, error) {
	if opt.MaxLine <= 0 {
		opt.MaxLine = DefaultMaxLine
	}
	if opt.Loc == nil {
		opt.Loc = time.Local
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("ingest: %s: is a directory", path)
	}
	if from < 0 || from > fi.Size() {
		from = 0
	}
	t, err := tail.TailFile(path, tail.Config{
		Location:      &tail.SeekInfo{Offset: from, Whence: io.SeekStart},
		ReOpen:        true,
		MustExist:     true,
		Poll:          true, // see above
		Follow:        true,
		MaxLineSize:   opt.MaxLine + 1, // a chunk this long means the line was cut
		CompleteLines: true,
		Logger:        tail.DiscardingLogger,
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: following %s: %w", path, err)
	}
	return &Follower{path: path, opt: opt, t: t, parser: Parser{Loc: opt.Loc}, lastOff: -1}, nil
}

// Next waits for the next line. It returns io.EOF once Close was called,
// and an error naming the path if nxadm/tail gave up (for instance when the
// file vanished between being opened and being watched); the caller may
// then call Follow again with the last Offset.
func (f *Follower) Next() (Line, error) {
	for {
		tl, ok := <-f.t.Lines
		if !ok {
			if err := f.t.Err(); err != nil && err != tail.ErrStop && !f.closed.Load() {
				return Line{}, fmt.Errorf("ingest: following %s: %w", f.path, err)
			}
			return Line{}, io.EOF
		}
		if tl.Err != nil {
			return Line{}, fmt.Errorf("ingest: following %s: %w", f.path, tl.Err)
		}
		off, num := tl.SeekInfo.Offset, tl.Num
		rest := off == f.lastOff && num == f.lastNum+1 // tail split an over-long line
		f.lastOff, f.lastNum = off, num
		text := tl.Text
		if rest {
			continue
		}
		truncated := len(text) > f.opt.MaxLine
		if truncated {
			text = text[:f.opt.MaxLine]
		} else if n := len(text); n > 0 && text[n-1] == '\r' {
			text = text[:n-1]
		}
		if text == "" && !truncated {
			continue
		}
		// Lines are live: year inference follows the clock, not a fixed Ref.
		if now := time.Now(); now.Sub(f.refAt) > time.Minute {
			f.parser = Parser{Ref: now, Loc: f.opt.Loc}
			f.refAt = now
		}
		l := f.parser.Parse(text)
		l.Truncated = truncated
		l.Source = f.path
		l.Offset = off
		return l, nil
	}
}

// Close stops following. A Next waiting in another goroutine returns
// io.EOF.
func (f *Follower) Close() error {
	if f.closed.Swap(true) {
		return nil
	}
	if err := f.t.Stop(); err != nil && err != tail.ErrStop {
		return fmt.Errorf("ingest: following %s: %w", f.path, err)
	}
	return nil
}
