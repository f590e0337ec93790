package victorialogs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// ErrSpoolInUse is returned when another process holds the spool.
var ErrSpoolInUse = errors.New("spool is in use")

// The spool is a directory of segment files holding rows (JSON lines)
// in the order they were written, and a checkpoint, the read offset: the
// position up to which VictoriaLogs has acknowledged them.
//
//	DIR/lock                    flock'd by the one process using the spool
//	DIR/00000000000000000007.jsonl   segments, numbered; the highest is being written
//	DIR/offset                  "SEQ OFFSET": everything before it was acknowledged
//
// A process never appends to a segment it did not create: after a
// restart it starts a new one, so a line cut by a crash stays at the end
// of a sealed segment, where the reader skips it. Rows become visible to
// the reader when written to the file (every FlushInterval or Flush);
// Flush also syncs them to disk.
type spool struct {
	dir     string
	max     int64 // bound on unacknowledged bytes
	segSize int64
	lock    *os.File

	mu      sync.Mutex
	sealed  []segment // complete segments, oldest first (including the one being read)
	wseq    uint64    // segment being written
	wf      *os.File
	wsize   int64  // bytes of wseq written to the file
	buf     []byte // rows not yet written to the file
	rseq    uint64 // checkpoint: segment and offset of the first unacknowledged byte
	roff    int64
	cseq    uint64 // read cursor: where next reads (at or after the checkpoint)
	coff    int64
	pending int64 // unacknowledged bytes (written or buffered)
	torn    int64 // bytes of cut lines skipped at the end of sealed segments
	notify  chan struct{}
}

type segment struct {
	seq  uint64
	size int64
}

const (
	segSuffix     = ".jsonl"
	offsetName    = "offset"
	defaultSegLen = 16 << 20
	writeChunk    = 256 << 10 // buffered rows are written out at this size
)

func segName(seq uint64) string { return fmt.Sprintf("%020d%s", seq, segSuffix) }

// openSpool opens (creating) the spool in dir.
func openSpool(dir string, max, segSize int64) (*spool, error) {
	if segSize <= 0 {
		segSize = defaultSegLen
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	lf, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lf.Close()
		return nil, fmt.Errorf("%w: %s is used by another sshwhy process", ErrSpoolInUse, dir)
	}
	s := &spool{dir: dir, max: max, segSize: segSize, lock: lf, notify: make(chan struct{}, 1)}
	if err := s.load(); err != nil {
		lf.Close()
		return nil, err
	}
	return s, nil
}

// load reads the checkpoint and the segments, and starts a new segment.
func (s *spool) load() error {
	b, err := os.ReadFile(filepath.Join(s.dir, offsetName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		f := strings.Fields(string(b))
		var perr error
		if len(f) == 2 {
			s.rseq, perr = strconv.ParseUint(f[0], 10, 64)
			if perr == nil {
				s.roff, perr = strconv.ParseInt(f[1], 10, 64)
			}
		}
		if len(f) != 2 || perr != nil || s.roff < 0 {
			return fmt.Errorf("spool checkpoint %s is damaged: %q", filepath.Join(s.dir, offsetName), b)
		}
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var segs []segment
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, segSuffix) {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
		if err != nil {
			continue
		}
		if seq < s.rseq {
			// Acknowledged; the process stopped before removing it.
			_ = os.Remove(filepath.Join(s.dir, name))
			continue
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		segs = append(segs, segment{seq, info.Size()})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].seq < segs[j].seq })
	if len(segs) > 0 && segs[0].seq != s.rseq {
		s.rseq, s.roff = segs[0].seq, 0
	}
	if len(segs) > 0 && s.roff > segs[0].size {
		s.roff = segs[0].size
	}
	s.sealed = segs
	s.wseq = s.rseq
	if len(segs) > 0 {
		s.wseq = segs[len(segs)-1].seq + 1
	}
	for _, sg := range segs {
		s.pending += sg.size
	}
	s.pending -= s.roff
	s.cseq, s.coff = s.rseq, s.roff
	return s.openSegment()
}

func (s *spool) openSegment() error {
	f, err := os.OpenFile(filepath.Join(s.dir, segName(s.wseq)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	s.wf, s.wsize = f, 0
	return syncDir(s.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// add appends one row; false when it would take the unacknowledged bytes
// past the bound (the row is not added).
func (s *spool) add(row []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.max > 0 && s.pending+int64(len(row)) > s.max {
		return false, nil
	}
	s.buf = append(s.buf, row...)
	s.pending += int64(len(row))
	if len(s.buf) >= writeChunk {
		if err := s.writeOutLocked(); err != nil {
			return true, err
		}
	}
	if s.wsize >= s.segSize {
		return true, s.rollLocked()
	}
	return true, nil
}

// writeOut hands the buffered rows to the file (no sync) and wakes the
// reader.
func (s *spool) writeOut() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeOutLocked()
}

func (s *spool) writeOutLocked() error {
	if len(s.buf) == 0 || s.wf == nil {
		return nil
	}
	n, err := s.wf.Write(s.buf)
	s.wsize += int64(n)
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	if err != nil {
		return fmt.Errorf("spool %s: %w", s.dir, err)
	}
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return nil
}

// sync writes the buffered rows and syncs the segment to disk.
func (s *spool) sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writeOutLocked(); err != nil {
		return err
	}
	if s.wf == nil {
		return nil
	}
	return s.wf.Sync()
}

func (s *spool) rollLocked() error {
	if err := s.writeOutLocked(); err != nil {
		return err
	}
	if err := s.wf.Sync(); err != nil {
		return err
	}
	if err := s.wf.Close(); err != nil {
		return err
	}
	s.sealed = append(s.sealed, segment{s.wseq, s.wsize})
	s.wseq++
	return s.openSegment()
}

// next returns the rows from the read cursor on, up to max bytes of
// whole rows, and moves the cursor past them. A batch is within one
// segment; acknowledge batches with ack in the order next returned them.
// A batch may hold no rows but still move the cursor (the end of a
// segment, or a row cut by a crash there): acknowledge it too. ok is false
// when there is nothing to read now.
func (s *spool) next(max int) (data []byte, seq uint64, end int64, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq, off := s.cseq, s.coff
	isSealed := seq < s.wseq
	var limit int64
	if isSealed {
		limit = -1
		for _, sg := range s.sealed {
			if sg.seq == seq {
				limit = sg.size
			}
		}
		if limit < 0 {
			// Removed already (acknowledged): go on with the next one.
			s.cseq, s.coff = seq+1, 0
			return nil, seq, 0, true, nil
		}
	} else {
		limit = s.wsize
	}
	if isSealed && off >= limit {
		s.cseq, s.coff = seq+1, 0
		return nil, seq, limit, true, nil
	}
	if off >= limit {
		return nil, seq, off, false, nil
	}
	n := limit - off
	if n > int64(max) {
		n = int64(max)
	}
	f, err := os.Open(filepath.Join(s.dir, segName(seq)))
	if err != nil {
		return nil, seq, off, false, err
	}
	buf := make([]byte, n)
	k, err := f.ReadAt(buf, off)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, seq, off, false, err
	}
	buf = buf[:k]
	cut := bytes.LastIndexByte(buf, '\n')
	if cut < 0 {
		if isSealed && off+int64(k) >= limit {
			// The end of a segment cut by a crash: no row to send.
			s.torn += int64(k)
			s.cseq, s.coff = seq+1, 0
			return nil, seq, limit, true, nil
		}
		return nil, seq, off, false, nil // a row is still being written
	}
	s.coff = off + int64(cut+1)
	return buf[:cut+1], seq, s.coff, true, nil
}

// ack records that everything up to (seq, end) was acknowledged; a
// segment acknowledged to its end is removed.
func (s *spool) ack(seq uint64, end int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq < s.rseq {
		return nil // the end of a segment already removed
	}
	if seq != s.rseq || end < s.roff {
		return fmt.Errorf("spool: acknowledgement (%d, %d) out of order (at %d, %d)", seq, end, s.rseq, s.roff)
	}
	s.pending -= end - s.roff
	return s.advanceLocked(seq, end)
}

func (s *spool) advanceLocked(seq uint64, end int64) error {
	s.roff = end
	done := len(s.sealed) > 0 && s.sealed[0].seq == seq && end >= s.sealed[0].size
	if done {
		s.rseq, s.roff = seq+1, 0
	}
	if err := s.writeCheckpointLocked(); err != nil {
		return err
	}
	if done {
		s.sealed = s.sealed[1:]
		if err := os.Remove(filepath.Join(s.dir, segName(seq))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (s *spool) writeCheckpointLocked() error {
	tmp := filepath.Join(s.dir, offsetName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%d %d\n", s.rseq, s.roff)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.dir, offsetName))
}

// unacked is the number of bytes written and not yet acknowledged.
func (s *spool) unacked() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

// close syncs and closes the segment being written and releases the lock.
// An empty segment is removed.
func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wf == nil {
		return nil
	}
	err := s.writeOutLocked()
	if serr := s.wf.Sync(); err == nil {
		err = serr
	}
	if cerr := s.wf.Close(); err == nil {
		err = cerr
	}
	if s.wsize == 0 && err == nil {
		_ = os.Remove(filepath.Join(s.dir, segName(s.wseq)))
	}
	s.wf = nil
	s.lock.Close()
	return err
}
