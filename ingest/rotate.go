package ingest

import (
	"cmp"
	"io"
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

// Multi reads several inputs one after another, each with Open. Lines keep
// their own Source and Offset.
type Multi struct {
	paths []string
	opt   Options
	cur   *File
}

// OpenAll returns a Multi reading paths in SortRotated order, so that
// rotated logs are read oldest first. Files are opened only when reached.
func OpenAll(paths []string, opt Options) *Multi {
	return &Multi{paths: SortRotated(paths), opt: opt}
}

// Next returns the next Line, or io.EOF after the last input. When a file
// cannot be opened or read, Next returns that error (it names the path);
// calling Next again continues with the next file.
func (m *Multi) Next() (Line, error) {
	for {
		if m.cur == nil {
			if len(m.paths) == 0 {
				return Line{}, io.EOF
			}
			p := m.paths[0]
			m.paths = m.paths[1:]
			f, err := Open(p, m.opt)
			if err != nil {
				return Line{}, err
			}
			m.cur = f
		}
		l, err := m.cur.Next()
		if err == nil {
			return l, nil
		}
		m.cur.Close()
		m.cur = nil
		if err != io.EOF {
			return Line{}, err
		}
	}
}

// Close closes the file being read.
func (m *Multi) Close() error {
	m.paths = nil
	if m.cur == nil {
		return nil
	}
	err := m.cur.Close()
	m.cur = nil
	return err
}
