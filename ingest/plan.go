package ingest

import (
	"errors"
	"fmt"
	"os"
	"slices"
)

// Position is how far a file was read: the name it was read under, its
// identity and the offset reached.
type Position struct {
	Path   string `json:"path"`
	ID     FileID `json:"id"`
	Offset int64  `json:"offset"`
}

// Input is one file to read, from where.
type Input struct {
	Path   string
	Offset int64 // bytes already read by an earlier run
	ID     FileID
	// Replaces is the identity of the known position this file continues.
	Replaces *FileID
	// Why says how the file was chosen, for people: "new", "resumed", or
	// "rotated" (the file an earlier run was reading, found under a new
	// name).
	Why string
}

// Plan decides what to read of paths ("-" is stdin) given what earlier
// runs read (known), in the order to read it:
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
// A path that does not exist is an error, unless an earlier run read a
// file under it: then only what was rotated away is planned. The paths are
// taken in SortRotated order. Warnings say what could
// not be found (lines lost to rotation while nothing was reading).
func Plan(paths []string, known []Position) (inputs []Input, warnings []string, err error) {
	used := map[int]bool{} // checkpoint entries already matched
	planned := map[string]bool{}
	sorted := SortRotated(paths)
	for _, p := range sorted {
		planned[p] = true
	}
	// match finds the unused entry path continues; prefer one on the
	// same inode.
	match := func(path string, id FileID) (int, error) {
		best := -1
		for i, f := range known {
			if used[i] {
				continue
			}
			ok, err := Continues(f.ID, path)
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
			inputs = append(inputs, Input{Path: p, Why: "new"})
			continue
		}
		id, err := Identify(p)
		missing := errors.Is(err, os.ErrNotExist) && slices.ContainsFunc(known, func(f Position) bool { return f.Path == p })
		if err != nil && !missing {
			return nil, nil, err
		}
		i := -1
		if !missing {
			if i, err = match(p, id); err != nil {
				return nil, nil, err
			}
		}
		if i >= 0 {
			used[i] = true
			old := known[i].ID
			inputs = append(inputs, Input{Path: p, Offset: known[i].Offset, ID: id, Replaces: &old, Why: "resumed"})
			continue
		}
		// A new file under this name: was another one read under it?
		for i, f := range known {
			if used[i] || f.Path != p {
				continue
			}
			used[i] = true
			sibs, err := Siblings(p)
			if err != nil {
				return nil, nil, err
			}
			found := -1
			for k, s := range sibs {
				if ok, err := Continues(f.ID, s); err == nil && ok {
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
				sid, err := Identify(s)
				if err != nil {
					return nil, nil, err
				}
				in := Input{Path: s, ID: sid, Why: "rotated"}
				if k == 0 {
					old := f.ID
					in.Offset, in.Replaces = f.Offset, &old
				} else if j, err := match(s, sid); err == nil && j >= 0 {
					used[j] = true // read by an earlier run under another name
					old := known[j].ID
					in.Offset, in.Replaces = known[j].Offset, &old
				}
				inputs = append(inputs, in)
			}
		}
		if !missing { // a path renamed away and not created again yet has nothing more
			inputs = append(inputs, Input{Path: p, ID: id, Why: "new"})
		}
	}
	return inputs, warnings, nil
}
