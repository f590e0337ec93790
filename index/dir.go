package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// FormatVersion is the version of the data directory layout and mapping
// this package writes. A directory with a higher version is refused.
const FormatVersion = 1

const (
	manifestName = "sshwhy-index.json"
	formatName   = "sshwhy-index"
	lockName     = "writer.lock"
	shardPrefix  = "events-"
	shardSuffix  = ".bleve"
	dayLayout    = "2006-01-02"
	trashPrefix  = ".trash-"
)

// ErrInUse is wrapped by the errors returned when another process holds the
// index (or one of its shards) for writing.
var ErrInUse = errors.New("index is in use")

// ErrNoIndex is wrapped by the error a reader gets for a data directory that
// does not exist yet.
var ErrNoIndex = errors.New("no index")

// DefaultDir is the data directory used when none is given:
// /var/lib/sshwhy for root, $XDG_DATA_HOME/sshwhy or ~/.local/share/sshwhy
// for everyone else.
func DefaultDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/sshwhy"
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "sshwhy")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "sshwhy")
	}
	return filepath.Join(os.TempDir(), "sshwhy-"+fmt.Sprint(os.Geteuid()))
}

// manifest is the content of DIR/sshwhy-index.json.
type manifest struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Shards  string    `json:"shards"`
	DVChunk int       `json:"dv_chunk"` // see zapchunk.go
	Created time.Time `json:"created"`
}

// checkDir verifies that dir is an sshwhy data directory. With create, a
// missing or empty directory is initialised; anything else without a
// manifest is refused so sshwhy never writes into a foreign directory.
func checkDir(dir string, create bool) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !create {
			return fmt.Errorf("%w at %s (run `sshwhy index` first, or give --data)", ErrNoIndex, quote(dir))
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return pathError(err)
		}
		return writeManifest(dir)
	case err != nil:
		return pathError(err)
	case !st.IsDir():
		return fmt.Errorf("data directory %s is not a directory", quote(dir))
	}
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		ents, rerr := os.ReadDir(dir)
		if rerr != nil {
			return pathError(rerr)
		}
		if len(ents) == 0 {
			if !create {
				return fmt.Errorf("%w at %s: the directory is empty (run `sshwhy index` first)", ErrNoIndex, quote(dir))
			}
			return writeManifest(dir)
		}
		return fmt.Errorf("%s is not an sshwhy data directory (it has files but no %s); refusing to use it", quote(dir), manifestName)
	}
	if err != nil {
		return pathError(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s is damaged: %v", quote(filepath.Join(dir, manifestName)), err)
	}
	if m.Format != formatName {
		return fmt.Errorf("%s is not an sshwhy data directory: %s names format %q", quote(dir), manifestName, m.Format)
	}
	if m.Version > FormatVersion {
		return fmt.Errorf("%s was written by a newer sshwhy (format version %d; this one knows up to %d)", quote(dir), m.Version, FormatVersion)
	}
	if m.Version < 1 {
		return fmt.Errorf("%s is damaged: format version %d", quote(filepath.Join(dir, manifestName)), m.Version)
	}
	if m.DVChunk != dvChunk {
		return fmt.Errorf("%s was written with doc-value chunks of %d documents, this sshwhy reads %d: move it away and index the logs again", quote(dir), m.DVChunk, dvChunk)
	}
	return nil
}

func writeManifest(dir string) error {
	b, err := json.MarshalIndent(manifest{
		Format:  formatName,
		Version: FormatVersion,
		Shards:  "day",
		DVChunk: dvChunk,
		Created: time.Now().UTC().Truncate(time.Second),
	}, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+manifestName+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o640); err != nil {
		return pathError(err)
	}
	return pathError(os.Rename(tmp, filepath.Join(dir, manifestName)))
}

// Shard is one day's bleve index in a data directory.
type Shard struct {
	Day  time.Time // UTC midnight of the day; events with End in [Day, Day+24h)
	Path string
}

// Name is the shard's directory name, e.g. "events-2026-11-23.bleve".
func (s Shard) Name() string { return filepath.Base(s.Path) }

// shardName is the directory name of the shard holding events that ended at t.
func shardName(t time.Time) string {
	return shardPrefix + t.UTC().Format(dayLayout) + shardSuffix
}

// dayOf is UTC midnight of t's day.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// parseShardName returns the day of a shard directory name, or false for
// anything that is not one.
func parseShardName(name string) (time.Time, bool) {
	if !strings.HasPrefix(name, shardPrefix) || !strings.HasSuffix(name, shardSuffix) {
		return time.Time{}, false
	}
	day := name[len(shardPrefix) : len(name)-len(shardSuffix)]
	t, err := time.Parse(dayLayout, day)
	if err != nil || t.Format(dayLayout) != day {
		return time.Time{}, false
	}
	return t, true
}

// Shards lists the day shards of the data directory dir, oldest first.
// Entries that are not shards are ignored.
func Shards(dir string) ([]Shard, error) {
	if err := checkDir(dir, false); err != nil {
		return nil, err
	}
	return listShards(dir)
}

func listShards(dir string) ([]Shard, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, pathError(err)
	}
	var out []Shard
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if day, ok := parseShardName(e.Name()); ok {
			out = append(out, Shard{Day: day, Path: filepath.Join(dir, e.Name())})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day.Before(out[j].Day) })
	return out, nil
}

// removeShard deletes a shard directory: it is renamed first, so a crash
// half-way never leaves a half-deleted shard that looks valid.
func removeShard(s Shard) error {
	trash := filepath.Join(filepath.Dir(s.Path), trashPrefix+s.Name())
	if err := os.Rename(s.Path, trash); err != nil {
		return pathError(err)
	}
	return pathError(os.RemoveAll(trash))
}

// removeTrash finishes removals a crash interrupted.
func removeTrash(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), trashPrefix+shardPrefix) {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}
