package ingest

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// SortRotated orders paths so that the rotated generations of a log come
// oldest first and the live file last:
//
//	auth.log.4.gz auth.log.3.gz auth.log.2.gz auth.log.1 auth.log
//	secure-20240101 secure-20240108.gz secure
//
// Siblings are paths in the same directory with the same base name once a
// ".gz"/".bz2" extension and a ".N" or "-YYYYMMDD" suffix are removed. Each
// group of siblings takes the place of its first member; all other paths
// keep their relative order. The input is not modified.
func SortRotated(paths []string) []string {
	type item struct {
		path  string
		group int // index of the group's first member
		age   int // larger is newer within a group
	}
	firstOf := map[string]int{}
	items := make([]item, len(paths))
	for i, p := range paths {
		stem, age := rotation(p)
		g, ok := firstOf[stem]
		if !ok {
			g = i
			firstOf[stem] = i
		}
		items[i] = item{p, g, age}
	}
	slices.SortStableFunc(items, func(a, b item) int {
		return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.age, b.age))
	})
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.path
	}
	return out
}

// Ages of rotated files: numbered generations ".N" count down from
// numbered, dated ones "-YYYYMMDD" (which logrotate uses instead) count up
// to live.
const (
	numbered = 0
	live     = 1 << 62
)

// rotation returns the sibling group of path and its age rank.
func rotation(path string) (stem string, age int) {
	if path == "-" {
		return "\x00stdin", live
	}
	dir, base := filepath.Split(path)
	for _, ext := range []string{".gz", ".bz2"} {
		base = strings.TrimSuffix(base, ext)
	}
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		if n, err := strconv.Atoi(base[i+1:]); err == nil && n >= 0 && allDigits(base[i+1:]) {
			return dir + base[:i], numbered - n
		}
	}
	if i := strings.LastIndexByte(base, '-'); i > 0 && len(base)-i-1 >= 8 && len(base)-i-1 <= 14 && allDigits(base[i+1:]) {
		n, _ := strconv.Atoi(base[i+1:])
		return dir + base[:i], 1 + n // after numbered ones, before live
	}
	return dir + base, live
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return len(s) > 0
}

// Siblings returns the rotated generations of the log at path that exist
// beside it (auth.log.1, auth.log.2.gz, secure-20240101, ...), oldest
// first, without path itself.
func Siblings(path string) ([]string, error) {
	path = filepath.Clean(path)
	stem, _ := rotation(path)
	dir := filepath.Dir(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	var out []string
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if p == path || !e.Type().IsRegular() {
			continue
		}
		if s, _ := rotation(p); s == stem {
			out = append(out, p)
		}
	}
	return SortRotated(out), nil
}
