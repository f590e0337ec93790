package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/nxadm/tail"
)

// FollowOptions configures Follow.
type FollowOptions struct {
	// MaxLine is the longest line kept; see Options.MaxLine.
	MaxLine int
	// Loc is the time zone of BSD syslog timestamps. Nil means time.Local.
	Loc *time.Location
	// ID and Offset resume after a line read earlier (its Line.File and
	// Line.Offset): the file must still be at path (for a file rotated
	// away since, read it first with Plan and Open, then follow path from
	// 0). A zero ID starts at Offset of the file at path now, or at its
	// end with AtEnd.
	ID     FileID
	Offset int64
	AtEnd  bool
	// Warn, when set, is told about lines that could not be read (a file
	// removed before its end was read).
	Warn func(msg string)
	// Poll is how often the file is checked for growth and rotation;
	// default 250ms.
	Poll time.Duration
}

// Follower reads a log file as it grows, like `tail -F`, across rotation,
// without losing or repeating a line. Lines are read with
// github.com/nxadm/tail; which file a line belongs to and where it ends is
// decided here:
//
//   - Every batch of lines tail hands over is checked against the file at
//     path (same inode, same first bytes) before it is returned. When the
//     path now names another file (logrotate's create: renamed, new file)
//     or the file was truncated (copytruncate), the lines tail read since
//     the last good check are dropped, the old file is found among the
//     path's rotated siblings by its identity (Plan) and read to its end
//     from the last line returned, then the new file from its start.
//   - Only complete lines (ending in "\n") are returned; a line longer than
//     MaxLine is cut and marked Truncated.
//
// Lines have Source set to the path, File to the identity of the file read
// and Offset to the byte offset just after the line in it, so a checkpoint
// of (File, Offset) resumes exactly (FollowOptions.ID and Offset).
//
// Known limitations of nxadm/tail v1.4.11 this design lives with: it reads
// a long line whole into memory before it is cut; its file watcher calls
// os.Exit when stat fails with an error other than "not found" (a crash:
// a supervisor restarts the process, which resumes from its checkpoint).
type Follower struct {
	path   string
	opt    FollowOptions
	parser Parser
	refAt  time.Time // when parser.Ref was last set

	mu     sync.Mutex // guards closed and cur.t against Close
	closed bool
	done   chan struct{}

	cur    *generation // the file at path being tailed
	queue  []*tail.Line
	ending bool    // cur is no longer at path: return the queue, then rotate
	drain  []Input // rotated files still to read, in order
	rd     *File   // the file of drain[0] being read
	rdID   FileID

	lastOff int64 // offset and tail line number of the last tail line,
	lastNum int   // to recognise the rest of an over-long line
}

// generation is one file followed at path.
type generation struct {
	id     *FileID // replaced, never changed: Lines point to it
	prefix []byte  // its first bytes (up to FingerprintLen), to recognise it
	t      *tail.Tail
	off    int64 // offset after the last line returned
}

// Follow starts following path. The file must exist. Call Close to stop.
func Follow(path string, opt FollowOptions) (*Follower, error) {
	if opt.MaxLine <= 0 {
		opt.MaxLine = DefaultMaxLine
	}
	if opt.Loc == nil {
		opt.Loc = time.Local
	}
	if opt.Poll <= 0 {
		opt.Poll = 250 * time.Millisecond
	}
	if opt.Warn == nil {
		opt.Warn = func(string) {}
	}
	f := &Follower{path: path, opt: opt, done: make(chan struct{}), lastOff: -1}
	id, prefix, size, err := f.identify()
	if err != nil {
		return nil, err
	}
	off := opt.Offset
	switch {
	case opt.ID.FP != "" && !samePrefix(opt.ID, prefix):
		return nil, fmt.Errorf("ingest: %s: %w", path, ErrNotSameFile)
	case opt.ID.FP == "" && opt.AtEnd:
		off = size
	}
	if off > size || off < 0 {
		opt.Warn(fmt.Sprintf("%s: shorter (%d bytes) than the offset to resume at (%d): reading it from its start", path, size, off))
		off = 0
	}
	if err := f.start(id, prefix, off); err != nil {
		return nil, err
	}
	return f, nil
}

// ErrNotSameFile is wrapped by Follow's error when the file at the path is
// not the one FollowOptions.ID names.
var ErrNotSameFile = errors.New("not the file the offset belongs to")

// samePrefix reports whether the file whose first bytes are prefix starts
// like the file identified by id.
func samePrefix(id FileID, prefix []byte) bool {
	if len(prefix) < id.FPLen {
		return false
	}
	return fingerprint(prefix[:id.FPLen]) == id.FP
}

// identify reads the identity, first bytes and size of the file at path.
func (f *Follower) identify() (FileID, []byte, int64, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return FileID{}, nil, 0, fmt.Errorf("ingest: %w", err)
	}
	defer fh.Close()
	id, err := identify(fh, f.path)
	if err != nil {
		return id, nil, 0, err
	}
	if id.Compressed {
		return id, nil, 0, fmt.Errorf("ingest: %s: a compressed file cannot be followed", f.path)
	}
	prefix := make([]byte, id.FPLen)
	if _, err := fh.ReadAt(prefix, 0); err != nil && !errors.Is(err, io.EOF) {
		return id, nil, 0, fmt.Errorf("ingest: %s: %w", f.path, err)
	}
	fi, err := fh.Stat()
	if err != nil {
		return id, nil, 0, fmt.Errorf("ingest: %w", err)
	}
	return id, prefix, fi.Size(), nil
}

// start tails the file at path (identified as id) from off.
func (f *Follower) start(id FileID, prefix []byte, off int64) error {
	t, err := tail.TailFile(f.path, tail.Config{
		Location:      &tail.SeekInfo{Offset: off, Whence: io.SeekStart},
		ReOpen:        false, // rotation is handled here
		MustExist:     true,
		Poll:          true, // nxadm/tail's inotify watcher misses writes after a reopen
		Follow:        true,
		MaxLineSize:   f.opt.MaxLine + 1, // a chunk this long means the line was cut
		CompleteLines: true,
		Logger:        tail.DiscardingLogger,
	})
	if err != nil {
		return fmt.Errorf("ingest: following %s: %w", f.path, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		t.Stop()
		return nil
	}
	f.cur = &generation{id: &id, prefix: prefix, t: t, off: off}
	f.lastOff = -1
	return nil
}

// check reports whether the file at path is still the current
// generation, read as far as it was.
func (f *Follower) check() (bool, error) {
	g := f.cur
	fh, err := os.Open(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("ingest: %w", err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return false, fmt.Errorf("ingest: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || uint64(st.Dev) != g.id.Dev || st.Ino != g.id.Ino || fi.Size() < g.off {
		return false, nil
	}
	n := len(g.prefix)
	if n < FingerprintLen && fi.Size() > int64(n) {
		n = int(min(fi.Size(), FingerprintLen)) // it grew: learn more of its first bytes
	}
	head := make([]byte, n)
	if _, err := fh.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("ingest: %s: %w", f.path, err)
	}
	if !bytes.HasPrefix(head, g.prefix) {
		return false, nil
	}
	if len(head) > len(g.prefix) {
		// Recognise it by more of its content from now on.
		id := *g.id
		id.FP, id.FPLen = fingerprint(head), len(head)
		g.prefix, g.id = head, &id
	}
	return true, nil
}

// rotated moves on from the current generation, which is no longer at
// path: the rest of its content is read from where it was found (Plan),
// then the file now at path from its start.
func (f *Follower) rotated() error {
	g := f.cur
	g.t.Stop()
	f.setCur(nil)
	f.queue, f.ending = f.queue[:0], false
	ins, warnings, err := Plan([]string{f.path}, []Position{{Path: f.path, ID: *g.id, Offset: g.off}})
	for _, w := range warnings {
		f.opt.Warn(w)
	}
	if err != nil {
		return err
	}
	// What was rotated away is read first; the file at path (the last
	// input, when it exists already) is followed by restart.
	if n := len(ins); n > 0 && ins[n-1].Path == f.path {
		ins = ins[:n-1]
	}
	f.drain = ins
	return nil
}

// Next waits for the next line and reads it into l. It returns io.EOF
// once Close was called, and an error naming the path when the file cannot
// be read.
func (f *Follower) Next(l *Line) error {
	var err error
	*l, err = f.next()
	return err
}

func (f *Follower) next() (Line, error) {
	for {
		select {
		case <-f.done:
			return Line{}, io.EOF
		default:
		}
		if len(f.drain) > 0 || f.rd != nil {
			l, ok, err := f.nextDrained()
			if err != nil || ok {
				return l, err
			}
			continue
		}
		if f.cur == nil {
			if err := f.restart(); err != nil {
				return Line{}, err
			}
			continue
		}
		if len(f.queue) > 0 {
			tl := f.queue[0]
			f.queue = f.queue[1:]
			if l, ok := f.line(tl); ok {
				return l, nil
			}
			continue
		}
		if f.ending {
			if err := f.rotated(); err != nil {
				return Line{}, err
			}
			continue
		}
		if err := f.fill(); err != nil {
			return Line{}, err
		}
	}
}

// fill waits for lines from tail (or a poll interval), then checks that
// the file at path is still the one they came from.
func (f *Follower) fill() error {
	timer := time.NewTimer(f.opt.Poll)
	defer timer.Stop()
	stopped := false
	lines := f.cur.t.Lines
	select {
	case <-f.done:
		return nil
	case tl, ok := <-lines:
		if !ok {
			stopped = true
			break
		}
		f.queue = append(f.queue, tl)
	more:
		for len(f.queue) < 1024 {
			select {
			case tl, ok := <-lines:
				if !ok {
					stopped = true
					break more
				}
				f.queue = append(f.queue, tl)
			default:
				break more
			}
		}
	case <-timer.C:
	}
	for _, tl := range f.queue {
		if tl.Err != nil {
			return fmt.Errorf("ingest: following %s: %w", f.path, tl.Err)
		}
	}
	ok, err := f.check()
	if err != nil {
		return err
	}
	if !ok {
		// The file at path is another one now, or was truncated. The lines
		// tail read from the old one come first, in increasing offsets:
		// once truncated, tail reopens the file and offsets start again.
		// Keep those; the rest of the old file is read from where they end.
		last := f.cur.off
		for i, tl := range f.queue {
			if tl.SeekInfo.Offset < last {
				f.queue = f.queue[:i]
				break
			}
			last = tl.SeekInfo.Offset
		}
		f.ending = true
		return nil
	}
	if stopped && len(f.queue) == 0 {
		// tail gave up on a file that is still there: start it again.
		if err := f.cur.t.Err(); err != nil && err != tail.ErrStop {
			return fmt.Errorf("ingest: following %s: %w", f.path, err)
		}
		g := f.cur
		g.t.Stop()
		f.setCur(nil)
		return f.start(*g.id, g.prefix, g.off)
	}
	return nil
}

// setCur replaces the current generation (under the lock Close takes).
func (f *Follower) setCur(g *generation) {
	f.mu.Lock()
	f.cur = g
	f.mu.Unlock()
}

// restart follows the file now at path from its start, waiting for it to
// appear.
func (f *Follower) restart() error {
	for {
		id, prefix, _, err := f.identify()
		if err == nil {
			return f.start(id, prefix, 0)
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		select {
		case <-f.done:
			return nil
		case <-time.After(f.opt.Poll):
		}
	}
}

// nextDrained returns the next line of the rotated files being finished.
func (f *Follower) nextDrained() (Line, bool, error) {
	if f.rd == nil {
		in := f.drain[0]
		rd, err := Open(in.Path, Options{MaxLine: f.opt.MaxLine, Loc: f.opt.Loc, Offset: in.Offset})
		if errors.Is(err, ErrShorter) {
			// A copy (copytruncate) made before the lines already read
			// from the original: nothing in it is new.
			f.drain = f.drain[1:]
			return Line{}, false, nil
		}
		if err != nil {
			f.opt.Warn(fmt.Sprintf("%s: rotated to %s, which could not be read: %v", f.path, in.Path, err))
			f.drain = f.drain[1:]
			return Line{}, false, nil
		}
		f.rd, f.rdID = rd, rd.ID()
	}
	var l Line
	err := f.rd.Next(&l)
	if err == io.EOF {
		f.rd.Close()
		f.rd = nil
		f.drain = f.drain[1:]
		return Line{}, false, nil
	}
	if err != nil {
		return Line{}, false, err
	}
	l.Source = f.path
	l.File = &f.rdID
	return l, true, nil
}

// line turns a tail line into a Line; false for the rest of a cut line
// and for blank lines.
func (f *Follower) line(tl *tail.Line) (Line, bool) {
	off, num := tl.SeekInfo.Offset, tl.Num
	rest := off == f.lastOff && num == f.lastNum+1 // tail split an over-long line
	f.lastOff, f.lastNum = off, num
	f.cur.off = off
	if rest {
		return Line{}, false
	}
	text := tl.Text
	truncated := len(text) > f.opt.MaxLine
	if truncated {
		text = text[:f.opt.MaxLine]
	} else if n := len(text); n > 0 && text[n-1] == '\r' {
		text = text[:n-1]
	}
	if text == "" && !truncated {
		return Line{}, false
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
	l.File = f.cur.id
	return l, true
}

// Close stops following. A Next waiting in another goroutine returns
// io.EOF.
func (f *Follower) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	close(f.done)
	if f.cur != nil {
		if err := f.cur.t.Stop(); err != nil && err != tail.ErrStop {
			return fmt.Errorf("ingest: following %s: %w", f.path, err)
		}
	}
	return nil
}
