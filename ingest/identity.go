package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// FingerprintLen is how many bytes of a file's (decompressed) content its
// fingerprint covers, at most.
const FingerprintLen = 1024

// FileID identifies a log file across renames, compression and
// copytruncate. Device and inode alone are not enough (an inode is reused
// after a delete, and a compressed copy has another one); a fingerprint of
// the first bytes alone fails for a file shorter than it. A FileID keeps
// both, and two FileIDs are compared with Same.
type FileID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
	// FP is the SHA-256 of the first FPLen bytes of the decompressed
	// content (FPLen < FingerprintLen when the file was shorter).
	FP    string `json:"fp"`
	FPLen int    `json:"fp_len"`
	// Compressed is set for a gzip or bzip2 file: its offsets count
	// decompressed bytes.
	Compressed bool `json:"compressed,omitempty"`
}

func (id FileID) String() string {
	fp := id.FP
	if len(fp) > 12 {
		fp = fp[:12]
	}
	return fmt.Sprintf("dev %d inode %d, %d bytes fingerprinted %s", id.Dev, id.Ino, id.FPLen, fp)
}

// Identify reads the identity of the file at path: its device and inode,
// and the fingerprint of its first bytes (decompressed for .gz/.bz2).
func Identify(path string) (FileID, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileID{}, fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	return identify(f, path)
}

func identify(f *os.File, path string) (FileID, error) {
	var id FileID
	fi, err := f.Stat()
	if err != nil {
		return id, fmt.Errorf("ingest: %w", err)
	}
	if fi.IsDir() {
		return id, fmt.Errorf("ingest: %s: is a directory", path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.Dev, id.Ino = uint64(st.Dev), st.Ino
	}
	head := make([]byte, FingerprintLen)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return id, fmt.Errorf("ingest: %s: %w", path, err)
	}
	head = head[:n]
	if compressed(head) {
		id.Compressed = true
		r, err := decompress(io.NewSectionReader(f, 0, fi.Size()))
		if err != nil {
			return id, fmt.Errorf("ingest: %s: %w", path, err)
		}
		head = make([]byte, FingerprintLen)
		n, err := io.ReadFull(r, head)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return id, fmt.Errorf("ingest: %s: %w", path, err)
		}
		head = head[:n]
	}
	id.FPLen = len(head)
	id.FP = fingerprint(head)
	return id, nil
}

// minFingerprint is the fewest bytes a fingerprint recognises a file by
// without its inode.
const minFingerprint = 64

// prefixHash is the fingerprint of the first n bytes of f ("" when it is
// shorter).
func prefixHash(f *os.File, n int) string {
	head := make([]byte, n)
	if _, err := f.ReadAt(head, 0); err != nil {
		return ""
	}
	return fingerprint(head)
}

func fingerprint(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func compressed(head []byte) bool {
	return bytes.HasPrefix(head, gzipMagic) ||
		bytes.HasPrefix(head, bzip2Magic) && len(head) >= 4 && '1' <= head[3] && head[3] <= '9'
}

// Continues reports whether the file now identified by cur holds the
// content that was identified as old: it starts with the same bytes. A
// file that grew since keeps its identity; one truncated and rewritten
// (copytruncate), or another file under the old name, does not. The
// fingerprint of cur over old.FPLen bytes is read from path when their
// lengths differ.
func Continues(old FileID, path string) (bool, error) {
	if old.FP == "" {
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	cur, err := identify(f, path)
	if err != nil {
		return false, err
	}
	if old.FPLen < minFingerprint {
		// Too few bytes to tell files apart by content (an empty file
		// starts every file): only the same inode continues it.
		return cur.Dev == old.Dev && cur.Ino == old.Ino && !cur.Compressed && cur.FPLen >= old.FPLen &&
			(cur.FPLen == old.FPLen && cur.FP == old.FP || cur.FPLen > old.FPLen && prefixHash(f, old.FPLen) == old.FP), nil
	}
	if cur.FPLen < old.FPLen {
		return false, nil // shorter than the content already read: not it
	}
	if cur.FPLen == old.FPLen {
		return cur.FP == old.FP, nil
	}
	// The file grew past the old fingerprint: compare its first FPLen bytes.
	if !cur.Compressed {
		return prefixHash(f, old.FPLen) == old.FP, nil
	}
	var r io.Reader = io.NewSectionReader(f, 0, 1<<62)
	if cur.Compressed {
		if r, err = decompress(r); err != nil {
			return false, fmt.Errorf("ingest: %s: %w", path, err)
		}
	}
	head := make([]byte, old.FPLen)
	if _, err := io.ReadFull(r, head); err != nil {
		return false, nil
	}
	return fingerprint(head) == old.FP, nil
}
