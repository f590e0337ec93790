package index

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/blevesearch/bleve/v2"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/sshwhy/sshwhy/internal/escape"
)

// ErrDamaged is matched (errors.Is) by the errors about a shard whose
// files cannot be read.
var ErrDamaged = errors.New("shard is damaged")

type damageError struct{ msg string }

func (e *damageError) Error() string        { return e.msg }
func (e *damageError) Is(target error) bool { return target == ErrDamaged }

// reason is a sentence on what is wrong with a shard, from sshwhy's own
// checks.
type reason string

func (r reason) Error() string { return string(r) }

// quote makes a file or directory name safe in a message: names come
// from the command line and the file system, and may hold anything.
func quote(path string) string { return escape.Terminal(path) }

// pathError escapes the file names in an error from package os.
func pathError(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return &fs.PathError{Op: pe.Op, Path: quote(pe.Path), Err: pe.Err}
	case errors.As(err, &le):
		return &os.LinkError{Op: le.Op, Old: quote(le.Old), New: quote(le.New), Err: le.Err}
	}
	return err
}

// checkFiles looks at the bolt store of an existing shard before bleve
// opens it: bleve would turn an empty root.bolt into a fresh, empty store
// when opening for writing, and report "error parsing mapping JSON" when
// reading.
func checkFiles(path string) error {
	if _, err := os.Stat(filepath.Join(path, "index_meta.json")); err != nil {
		return nil // not created yet, or bleve says what is missing
	}
	st, err := os.Stat(filepath.Join(path, "store"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return reason("its store directory is missing")
	case err != nil:
		return reason(fmt.Sprintf("its store directory cannot be read: %v", pathError(err)))
	case !st.IsDir():
		return reason("its store is not a directory")
	}
	st, err = os.Stat(filepath.Join(path, "store", "root.bolt"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return reason("store/root.bolt is missing")
	case err != nil:
		return reason(fmt.Sprintf("store/root.bolt cannot be read: %v", pathError(err)))
	case st.Size() == 0:
		return reason("store/root.bolt is empty")
	}
	return nil
}

// shardOpenError explains why the shard at path did not open: in use by
// a writer, or damaged (one sentence saying what is wrong and what to do).
func shardOpenError(path string, err error) error {
	name, dir := filepath.Base(path), filepath.Dir(path)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("%w: shard %s is open for writing by another process%s; try again when it is done",
			ErrInUse, quote(name), lockHolder(dir))
	}
	return &damageError{fmt.Sprintf("shard %s is damaged: %s; move it out of %s to go on without it, and index that day's logs again",
		quote(name), damageReason(path, err), quote(dir))}
}

func damageReason(path string, err error) string {
	var r reason
	var why string
	switch {
	case errors.As(err, &r):
		why = string(r)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch),
		errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrInvalidMapping):
		why = "store/root.bolt is not a valid database (truncated or overwritten)"
	case errors.Is(err, bleve.ErrorIndexMetaCorrupt):
		why = "index_meta.json is damaged"
	case errors.Is(err, bleve.ErrorIndexMetaMissing):
		why = "index_meta.json is missing"
	case strings.Contains(err.Error(), "error parsing mapping JSON"):
		// scorch could load no snapshot but the empty first one, which
		// has no mapping: the segment files are missing or damaged.
		why = "a segment file is missing or damaged"
	}
	// What bleve logged about the shard: it names the segment file.
	if line := bleveLog.about(path); line != "" {
		line = strings.TrimPrefix(line, "unable to load snapshot, ")
		line = strings.TrimSuffix(line, ", continuing")
		line = strings.ReplaceAll(line, path+string(filepath.Separator), "")
		if why == "" {
			why = "a segment file is missing or damaged"
		}
		why += " (bleve: " + quote(cut(line, 200)) + ")"
	}
	if why == "" {
		why = quote(cut(firstLine(err.Error()), 200))
	}
	return why
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
