package pipeline

import (
	"fmt"

	"github.com/sshwhy/sshwhy/checkpoint"
	"github.com/sshwhy/sshwhy/ingest"
)

// FileInput is one file to read, from where.
type FileInput struct {
	Path   string
	Offset int64 // bytes already read by an earlier run
	ID     ingest.FileID
	// Replaces is the checkpoint entry this file continues.
	Replaces *ingest.FileID
	// Why says how the file was chosen, for people: "new", "resumed", or
	// "rotated" (the file an earlier run was reading, found under a new
	// name).
	Why string
}

// Position returns the position that records this input's offsets.
func (in FileInput) Position() *FilePosition {
	return &FilePosition{Path: in.Path, ID: in.ID, Offset: in.Offset, Replaces: in.Replaces}
}

// Plan decides what to read of paths ("-" is stdin) given what earlier
// runs read (cp), in the order to read it:
//
//   - a file the checkpoint knows (same content, by fingerprint: renamed,
//     compressed or grown since) resumes at its offset;
//   - when a path names a new file but an earlier run was reading another
//     file under that name (logrotate renamed it, or copied and truncated
//     it), that file is found among the path's rotated siblings by its
//     identity and read first from where the run stopped, then the
//     siblings rotated after it, then the path from its start;
//   - anything else is read whole.
//
// The paths are taken in ingest.SortRotated order. Warnings say what could
// not be found (lines lost to rotation while nothing was reading).
func Plan(paths []string, cp *checkpoint.Checkpoint) (inputs []FileInput, warnings []string, err error) {
	used := map[int]bool{} // checkpoint entries already matched
	planned := map[string]bool{}
	sorted := ingest.SortRotated(paths)
	for _, p := range sorted {
		planned[p] = true
	}
	// match finds the unused entry path continues; prefer one on the
	// same inode.
	match := func(path string, id ingest.FileID) (int, error) {
		best := -1
		for i, f := range cp.Files {
			if used[i] {
				continue
			}
			ok, err := ingest.Continues(f.ID, path)
			if err != nil {
				return -1, err
			}
			if ok && (best < 0 || f.ID.Dev == id.Dev && f.ID.Ino == id.Ino) {
				best = i
			}
		}
		return best, nil
	}
	for _, p := range sorted {
		if p == "-" {
			inputs = append(inputs, FileInput{Path: p, Why: "new"})
			continue
		}
		id, err := ingest.Identify(p)
		if err != nil {
			return nil, nil, err
		}
		i, err := match(p, id)
		if err != nil {
			return nil, nil, err
		}
		if i >= 0 {
			used[i] = true
			old := cp.Files[i].ID
			inputs = append(inputs, FileInput{Path: p, Offset: cp.Files[i].Offset, ID: id, Replaces: &old, Why: "resumed"})
			continue
		}
		// A new file under this name: was another one read under it?
		for i, f := range cp.Files {
			if used[i] || f.Path != p {
				continue
			}
			used[i] = true
			sibs, err := ingest.Siblings(p)
			if err != nil {
				return nil, nil, err
			}
			found := -1
			for k, s := range sibs {
				if ok, err := ingest.Continues(f.ID, s); err == nil && ok {
					found = k
				}
			}
			if found < 0 {
				warnings = append(warnings, fmt.Sprintf(
					"%s: the file read there last time (%s, up to byte %d) is gone; lines written to it after that were not read",
					p, f.ID, f.Offset))
				continue
			}
			// The old file, then those rotated after it, oldest first.
			for k, s := range sibs[found:] {
				if planned[s] {
					continue
				}
				planned[s] = true
				sid, err := ingest.Identify(s)
				if err != nil {
					return nil, nil, err
				}
				in := FileInput{Path: s, ID: sid, Why: "rotated"}
				if k == 0 {
					old := f.ID
					in.Offset, in.Replaces = f.Offset, &old
				} else if j, err := match(s, sid); err == nil && j >= 0 {
					used[j] = true // read by an earlier run under another name
					old := cp.Files[j].ID
					in.Offset, in.Replaces = cp.Files[j].Offset, &old
				}
				inputs = append(inputs, in)
			}
		}
		inputs = append(inputs, FileInput{Path: p, ID: id, Why: "new"})
	}
	return inputs, warnings, nil
}
