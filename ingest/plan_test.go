package ingest

import (
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lines returns n distinct syslog lines starting at minute m.
func lines(m, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "Nov 23 10:%02d:%02d vm sshd[%d]: Connection closed by 192.0.2.1 port %d [preauth]\n", m, i%60, 100+i, 4000+i)
	}
	return b.String()
}

// read records that path was read to its end, as a run would.
func read(t *testing.T, cp *[]Position, path string) {
	t.Helper()
	id, err := Identify(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	*cp = append(*cp, Position{Path: path, ID: id, Offset: fi.Size()})
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func gzipFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	z := gzip.NewWriter(f)
	z.Write(b)
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.Remove(from)
}

func planString(ins []Input) string {
	var s []string
	for _, in := range ins {
		s = append(s, fmt.Sprintf("%s@%d:%s", filepath.Base(in.Path), in.Offset, in.Why))
	}
	return strings.Join(s, " ")
}

func TestPlan(t *testing.T) {
	first := lines(0, 30) // > FingerprintLen
	n := int64(len(first))
	for _, tc := range []struct {
		name string
		// setup writes auth.log (and more), records what a first run read,
		// and changes the files as rotation would.
		setup    func(t *testing.T, dir string, cp *[]Position)
		args     []string
		want     string
		warnings int
	}{
		{"new file", func(t *testing.T, dir string, cp *[]Position) {
			writeFile(t, dir+"/auth.log", first)
		}, []string{"auth.log"}, "auth.log@0:new", 0},
		{"grown since", func(t *testing.T, dir string, cp *[]Position) {
			writeFile(t, dir+"/auth.log", first)
			read(t, cp, dir+"/auth.log")
			appendTo(t, dir+"/auth.log", lines(1, 3))
		}, []string{"auth.log"}, fmt.Sprintf("auth.log@%d:resumed", n), 0},
		{"short file grown past its fingerprint", func(t *testing.T, dir string, cp *[]Position) {
			writeFile(t, dir+"/auth.log", lines(0, 2))
			read(t, cp, dir+"/auth.log")
			appendTo(t, dir+"/auth.log", lines(1, 30))
		}, []string{"auth.log"}, fmt.Sprintf("auth.log@%d:resumed", len(lines(0, 2))), 0},
		{"renamed (logrotate create)", func(t *testing.T, dir string, cp *[]Position) {
			writeFile(t, dir+"/auth.log", first)
			read(t, cp, dir+"/auth.log")
			appendTo(t, dir+"/auth.log", lines(1, 3)) // written after the run, before rotation
			os.Rename(dir+"/auth.log", dir+"/auth.log.1")
			writeFile(t, dir+"/auth.log", lines(2, 5))
		}, []string{"auth.log"}, fmt.Sprintf("auth.log.1@%d:rotated auth.log@0:new", n), 0},
		{"rotated twice, compressed", func(t *testing.T, dir string, cp *[]Position) {
			writeFile(t, dir+"/auth.log", first)
			read(t, cp, dir+"/auth.log")
			os.Rename(dir+"/auth.log", dir+"/auth.log.1")
			writeFile(t, dir+"/auth.log", lines(2, 40))
			gzipFile(t, dir+"/auth.log.1", dir+"/auth.log.2.gz")
			os.Rename(dir+"/auth.log", dir+"/auth.log.1")
			writeFile(t, dir+"/auth.log", lines(3, 5))
		}, []string{"auth.log"}, fmt.Sprintf("auth.log.2.gz@%d:rotated auth.log.1@0:rotated auth.log@0:new", n), 0},
		{"copytruncate", func(t *testing.T, dir string, cp *[]Position) {
			writeFile(t, dir+"/auth.log", first)
			read(t, cp, dir+"/auth.log")
			appendTo(t, dir+"/auth.log", lines(1, 3))
			b, _ := os.ReadFile(dir + "/auth.log")
			writeFile(t, dir+"/auth.log.1", string(b))
			os.Truncate(dir+"/auth.log", 0)
			appendTo(t, dir+"/auth.log", lines(2, 4))
		}, []string{"auth.log"}, fmt.Sprintf("auth.log.1@%d:rotated auth.log@0:new", n), 0},
		{"both named, the rotated one read before", func(t *testing.T, dir string, cp *[]Position) {
			writeFile(t, dir+"/auth.log.1", first)
			read(t, cp, dir+"/auth.log.1")
			writeFile(t, dir+"/auth.log", lines(2, 5))
		}, []string{"auth.log", "auth.log.1"}, fmt.Sprintf("auth.log.1@%d:resumed auth.log@0:new", n), 0},
		{"the old file is gone", func(t *testing.T, dir string, cp *[]Position) {
			writeFile(t, dir+"/auth.log", first)
			read(t, cp, dir+"/auth.log")
			os.Remove(dir + "/auth.log")
			writeFile(t, dir+"/auth.log", lines(5, 40))
		}, []string{"auth.log"}, "auth.log@0:new", 1},
		{"the same content under another name", func(t *testing.T, dir string, cp *[]Position) {
			writeFile(t, dir+"/a.log", first)
			read(t, cp, dir+"/a.log")
			writeFile(t, dir+"/copy.log", first)
		}, []string{"copy.log"}, fmt.Sprintf("copy.log@%d:resumed", n), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cp := &[]Position{}
			tc.setup(t, dir, cp)
			var args []string
			for _, a := range tc.args {
				args = append(args, filepath.Join(dir, a))
			}
			ins, warnings, err := Plan(args, *cp)
			if err != nil {
				t.Fatal(err)
			}
			if got := planString(ins); got != tc.want {
				t.Errorf("plan %s, want %s", got, tc.want)
			}
			if len(warnings) != tc.warnings {
				t.Errorf("warnings %q, want %d", warnings, tc.warnings)
			}
		})
	}
}
