package victorialogs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func rows(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf(`{"n":%d,"pad":"%s"}`+"\n", i, strings.Repeat("x", 40)))
	}
	return out
}

// readAll takes everything the spool holds, acknowledging batch by batch.
func readAll(t *testing.T, s *spool, batch int) string {
	t.Helper()
	var got strings.Builder
	for {
		data, seq, end, ok, err := s.next(batch)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return got.String()
		}
		got.Write(data)
		if err := s.ack(seq, end); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSpoolOrderAndRestart: rows come out in order, across segment
// files; acknowledged segments are removed; a restart resumes at the
// checkpoint, neither losing nor repeating rows; a second process on the
// same spool is refused.
func TestSpoolOrderAndRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 1<<20, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openSpool(dir, 1<<20, 1024); !errors.Is(err, ErrSpoolInUse) {
		t.Errorf("second open: %v", err)
	}
	all := rows(0, 200)
	for _, r := range all[:120] {
		s.add([]byte(r))
		if err := s.writeOut(); err != nil { // small segments: roll often
			t.Fatal(err)
		}
	}
	// Read and acknowledge about half.
	var got strings.Builder
	for got.Len() < len(strings.Join(all[:60], "")) {
		data, seq, end, ok, err := s.next(500)
		if err != nil || !ok {
			t.Fatalf("next: %v %q", err, data)
		}
		got.Write(data)
		s.ack(seq, end)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err := s.sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	// A new process: the rest of the first 120, then new rows.
	s2, err := openSpool(dir, 1<<20, 1024)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.close()
	for _, r := range all[120:] {
		s2.add([]byte(r))
	}
	s2.sync()
	got.WriteString(readAll(t, s2, 700))
	if got.String() != strings.Join(all, "") {
		t.Errorf("rows out of the spool differ from rows in:\n%s", got.String())
	}
	if s2.unacked() != 0 {
		t.Errorf("unacked %d after reading all", s2.unacked())
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if len(segs) < 2 || len(left) > 1 {
		t.Errorf("%d segments while writing, %d left after acknowledging all (want only the one being written)", len(segs), len(left))
	}
}

// TestSpoolTornTail: a row cut by a crash at the end of a segment is
// skipped and counted; the rows before it and after the restart are kept.
func TestSpoolTornTail(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 1<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := rows(0, 4)
	for _, x := range r[:2] {
		s.add([]byte(x))
	}
	s.sync()
	// The crash: half a row written, the process gone (the lock is
	// dropped with it).
	s.wf.Write([]byte(r[2][:10]))
	s.wf.Close()
	s.lock.Close()
	s2, err := openSpool(dir, 1<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.close()
	s2.add([]byte(r[3]))
	s2.sync()
	if got := readAll(t, s2, 1<<20); got != r[0]+r[1]+r[3] {
		t.Errorf("got %q", got)
	}
	if s2.torn != 10 || s2.unacked() != 0 {
		t.Errorf("torn %d, unacked %d", s2.torn, s2.unacked())
	}
}

// TestSpoolCheckpoint: a damaged checkpoint is an error naming the file;
// one past the end of its segment is clamped (a machine crash kept the
// checkpoint but lost the segment's tail, which had been shipped).
func TestSpoolCheckpoint(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, offsetName), []byte("garbage"), 0o640)
	if _, err := openSpool(dir, 1<<20, 0); err == nil || !strings.Contains(err.Error(), "checkpoint") {
		t.Errorf("damaged checkpoint: %v", err)
	}
	os.WriteFile(filepath.Join(dir, segName(3)), []byte(rows(0, 2)[0]+rows(0, 2)[1]), 0o640)
	os.WriteFile(filepath.Join(dir, offsetName), []byte("3 100000\n"), 0o640)
	s, err := openSpool(dir, 1<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if got := readAll(t, s, 1<<20); got != "" || s.unacked() != 0 {
		t.Errorf("after clamping: %q, unacked %d", got, s.unacked())
	}
}
