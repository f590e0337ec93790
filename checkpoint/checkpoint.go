// Package checkpoint keeps where sshwhy stopped reading: per input file
// its identity and the offset read, the journal cursor, and the
// classifier's open connections. `sshwhy index` and the agent save one
// after the events it covers are durable, and the next run continues from
// it: what it read is not read again, and connections that were open go on.
//
// A Checkpoint is a plain value; Load and Save move it to and from a file,
// atomically (a temporary file, fsync, rename, fsync of the directory), so
// a crash leaves either the old checkpoint or the new one.
package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/ingest"
)

// Version is the format version Save writes; Load refuses newer ones.
const Version = 1

// Checkpoint is where reading stopped.
type Checkpoint struct {
	Version int       `json:"version"`
	Saved   time.Time `json:"saved"`
	// Files are the files read, by identity: a file keeps its entry when it
	// is renamed or compressed by log rotation.
	Files []File `json:"files,omitempty"`
	// Journals are journal cursors by journal name ("journal" for the
	// local one, "journal:DIR" for a directory).
	Journals map[string]string `json:"journals,omitempty"`
	// State is the classifier's memory: open connections, recently ended
	// ones, known clients. Nil when nothing was classified yet.
	State *classify.State `json:"state,omitempty"`
}

// File is one file read: the name it was read under last time, its
// identity and the offset read (reading continues there).
type File struct {
	ingest.Position
	Seen time.Time `json:"seen"` // when it was last read (entries unseen for long are dropped)
}

// Positions lists the files read, for ingest.Plan.
func (c *Checkpoint) Positions() []ingest.Position {
	out := make([]ingest.Position, len(c.Files))
	for i, f := range c.Files {
		out[i] = f.Position
	}
	return out
}

// Load reads the checkpoint at path. A missing file is an empty
// checkpoint, not an error.
func Load(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Checkpoint{Version: Version}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("checkpoint %s is damaged (%v): move it away to read everything again", path, err)
	}
	if c.Version > Version {
		return nil, fmt.Errorf("checkpoint %s was written by a newer sshwhy (version %d, this one knows %d)", path, c.Version, Version)
	}
	return &c, nil
}

// Save writes c to path atomically.
func Save(path string, c *Checkpoint) error {
	c.Version = Version
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return WriteFile(path, b, 0o640)
}

// WriteFile writes data to path atomically: into a temporary file in the
// same directory, synced, renamed over path, and the directory synced.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("checkpoint: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("checkpoint: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("checkpoint: sync %s: %w", dir, err)
	}
	return nil
}

// Put records that the file id (read under path) has been read up to
// offset, replacing the entry of the same identity.
func (c *Checkpoint) Put(path string, id ingest.FileID, offset int64, now time.Time) {
	f := File{Position: ingest.Position{Path: path, ID: id, Offset: offset}, Seen: now}
	for i := range c.Files {
		if c.Files[i].ID == id {
			c.Files[i] = f
			return
		}
	}
	c.Files = append(c.Files, f)
}

// Remove drops the entry of the file id, if any: a file's entry is
// replaced by a newer identity of the same content once it is read again
// (its fingerprint covers more bytes once it grew).
func (c *Checkpoint) Remove(id ingest.FileID) {
	keep := c.Files[:0]
	for _, f := range c.Files {
		if f.ID != id {
			keep = append(keep, f)
		}
	}
	c.Files = keep
}

// Prune drops the entries of files not read since before.
func (c *Checkpoint) Prune(before time.Time) {
	keep := c.Files[:0]
	for _, f := range c.Files {
		if !f.Seen.Before(before) {
			keep = append(keep, f)
		}
	}
	c.Files = keep
}
