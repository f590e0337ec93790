package sshdconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// accumulate lists the keywords whose every occurrence counts (sshd
// appends them) rather than the first one.
var accumulate = map[string]bool{
	"hostkey": true, "hostcertificate": true, "listenaddress": true, "port": true,
	"acceptenv": true, "allowusers": true, "denyusers": true, "allowgroups": true,
	"denygroups": true, "subsystem": true, "setenv": true,
}

// maxIncludeDepth is sshd's own limit (READCONF_MAX_DEPTH).
const maxIncludeDepth = 16

// ReadFile reads an sshd_config file and what it includes, as sshd would
// without a connection to match against: the settings outside Match
// blocks are the global ones; Match blocks are recorded in c.Matches.
// Keywords the files do not set get OpenSSH's defaults for version.
func ReadFile(path, version string) (*Config, error) {
	return readFile(path, ConfigDir, version)
}

// readFile is ReadFile with relative Include paths resolved in dir.
func readFile(path, dir, version string) (*Config, error) {
	c := newConfig(FromFile, version)
	r := &fileReader{c: c, dir: dir}
	if err := r.read(path, 0, nil); err != nil {
		return nil, err
	}
	c.addDefaults()
	return c, nil
}

type fileReader struct {
	c   *Config
	dir string // where relative Include paths are
}

// read reads one file. match is the Match block the file is included
// from (nil at top level): a Match line inside a file opens a block that
// ends at the end of that file, as in sshd (servconf.c restores the
// including file's state after an Include).
func (r *fileReader) read(path string, depth int, match *Match) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: Include nested deeper than %d", path, maxIncludeDepth)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	r.c.Files = append(r.c.Files, path)
	cur := match
	for n, line := range strings.Split(string(b), "\n") {
		words, err := splitLine(line)
		where := fmt.Sprintf("%s:%d", path, n+1)
		if err != nil {
			r.c.Notes = append(r.c.Notes, where+": "+err.Error())
			continue
		}
		if len(words) == 0 {
			continue
		}
		key := strings.ToLower(words[0])
		args := words[1:]
		switch key {
		case "match":
			cur = &Match{Criteria: strings.Join(args, " "), File: path, Line: n + 1, Settings: map[string][]string{}}
			r.c.Matches = append(r.c.Matches, cur)
			continue
		case "include":
			for _, pattern := range args {
				if err := r.include(pattern, depth, cur); err != nil {
					r.c.Notes = append(r.c.Notes, where+": Include "+pattern+": "+err.Error())
				}
			}
			continue
		}
		if len(args) == 0 {
			r.c.Notes = append(r.c.Notes, where+": "+words[0]+" has no value")
			continue
		}
		val := normalise(key, strings.Join(args, " "))
		if cur != nil {
			cur.Settings[key] = append(cur.Settings[key], val)
			continue
		}
		if _, set := r.c.values[key]; set && !accumulate[key] {
			continue // the first value wins
		}
		r.c.values[key] = append(r.c.values[key], val)
		if _, ok := r.c.origins[key]; !ok {
			r.c.origins[key] = where
		}
	}
	return nil
}

// include reads the files a pattern names, in lexical order (glob(3) as
// sshd uses it); a pattern matching nothing is not an error.
func (r *fileReader) include(pattern string, depth int, match *Match) error {
	if strings.HasPrefix(pattern, "~") {
		return fmt.Errorf("a ~ path is not allowed in sshd_config")
	}
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(r.dir, pattern)
	}
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return err
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := r.read(p, depth+1, match); err != nil {
			return err
		}
	}
	return nil
}

// splitLine splits a configuration line into words as sshd does: blanks
// separate words, the first may end with '=' (or be followed by one),
// double quotes group, a word starting with '#' starts a comment.
func splitLine(line string) ([]string, error) {
	var words []string
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
			i++
		}
		if i >= len(line) || line[i] == '#' {
			return words, nil
		}
		if len(words) == 1 && line[i] == '=' {
			i++ // "Keyword = value"
			continue
		}
		if line[i] == '"' {
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unterminated quote")
			}
			words = append(words, line[i+1:i+1+j])
			i += j + 2
			continue
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' && line[j] != '\r' && line[j] != '"' {
			if len(words) == 0 && line[j] == '=' {
				break
			}
			j++
		}
		words = append(words, line[i:j])
		i = j
		if len(words) == 1 && i < len(line) && line[i] == '=' {
			i++
		}
	}
}
