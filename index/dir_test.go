package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/classify"
)

func TestForeignDirectory(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string // in the error of both OpenWriter and OpenReader
	}{
		{"files but no manifest", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "passwd"), "root:x:0:0")
		}, "is not an sshwhy data directory (it has files but no sshwhy-index.json)"},
		{"garbage manifest", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, manifestName), "\x00\x01garbage")
		}, "sshwhy-index.json is damaged"},
		{"other format", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, manifestName), `{"format":"elasticsearch","version":1}`)
		}, `names format "elasticsearch"`},
		{"newer version", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, manifestName), `{"format":"sshwhy-index","version":99}`)
		}, "written by a newer sshwhy (format version 99"},
		{"version zero", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, manifestName), `{"format":"sshwhy-index"}`)
		}, "damaged: format version 0"},
		{"other doc-value chunks", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, manifestName), `{"format":"sshwhy-index","version":1,"dv_chunk":1024}`)
		}, "written with doc-value chunks of 1024 documents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			if _, err := OpenWriter(dir, WriterOptions{}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("OpenWriter: %v, want %q", err, tt.want)
			}
			if _, err := OpenReader(dir, ReaderOptions{}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("OpenReader: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDataDirStates(t *testing.T) {
	base := t.TempDir()
	missing := filepath.Join(base, "missing")
	if _, err := OpenReader(missing, ReaderOptions{}); !errors.Is(err, ErrNoIndex) {
		t.Errorf("reader on a missing directory: %v", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a reader created the data directory")
	}
	empty := filepath.Join(base, "empty")
	os.Mkdir(empty, 0o755)
	if _, err := OpenReader(empty, ReaderOptions{}); !errors.Is(err, ErrNoIndex) {
		t.Errorf("reader on an empty directory: %v", err)
	}
	w, err := OpenWriter(empty, WriterOptions{})
	if err != nil {
		t.Fatalf("writer on an empty directory: %v", err)
	}
	w.Close()
	file := filepath.Join(base, "file")
	write(t, file, "x")
	if _, err := OpenWriter(file, WriterOptions{}); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("writer on a file: %v", err)
	}
	// A fresh index with no events yet is searchable and empty.
	r, err := OpenReader(empty, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if res, err := r.Search(context.Background(), Query{}, SearchOptions{}, func(*classify.Event) error { return nil }); err != nil || res.Total != 0 {
		t.Errorf("search of an empty index: %+v %v", res, err)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedShard damages one shard in different ways: searches that
// need it fail with an error naming it; nothing panics.
func TestDamagedShard(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, shard string)
		why    string // the reason the message gives
	}{
		{"meta garbage", func(t *testing.T, shard string) {
			write(t, filepath.Join(shard, "index_meta.json"), "{not json")
		}, "index_meta.json is damaged"},
		{"meta empty", func(t *testing.T, shard string) {
			write(t, filepath.Join(shard, "index_meta.json"), "")
		}, "index_meta.json is damaged"},
		{"meta missing", func(t *testing.T, shard string) {
			os.Remove(filepath.Join(shard, "index_meta.json"))
		}, "index_meta.json is missing"},
		{"bolt garbage", func(t *testing.T, shard string) {
			write(t, filepath.Join(shard, "store", "root.bolt"), strings.Repeat("\xde\xad\xbe\xef", 4096))
		}, "store/root.bolt is not a valid database"},
		{"bolt truncated", func(t *testing.T, shard string) {
			os.Truncate(filepath.Join(shard, "store", "root.bolt"), 100)
		}, "store/root.bolt is not a valid database"},
		{"bolt empty", func(t *testing.T, shard string) {
			os.Truncate(filepath.Join(shard, "store", "root.bolt"), 0)
		}, "store/root.bolt is empty"},
		{"bolt missing", func(t *testing.T, shard string) {
			os.Remove(filepath.Join(shard, "store", "root.bolt"))
		}, "store/root.bolt is missing"},
		{"segments garbage", func(t *testing.T, shard string) {
			zaps, _ := filepath.Glob(filepath.Join(shard, "store", "*.zap"))
			if len(zaps) == 0 {
				t.Fatal("no segment files")
			}
			for _, z := range zaps {
				st, _ := os.Stat(z)
				write(t, z, strings.Repeat("\x07", int(st.Size())))
			}
		}, "a segment file is missing or damaged"},
		{"segments truncated", func(t *testing.T, shard string) {
			zaps, _ := filepath.Glob(filepath.Join(shard, "store", "*.zap"))
			for _, z := range zaps {
				os.Truncate(z, 10)
			}
		}, "a segment file is missing or damaged"},
		{"segments missing", func(t *testing.T, shard string) {
			zaps, _ := filepath.Glob(filepath.Join(shard, "store", "*.zap"))
			for _, z := range zaps {
				os.Remove(z)
			}
		}, "a segment file is missing or damaged (bleve: failed to load segment: error opening bolt segment: open store/"},
		{"store is a file", func(t *testing.T, shard string) {
			os.RemoveAll(filepath.Join(shard, "store"))
			write(t, filepath.Join(shard, "store"), "x")
		}, "its store is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := writeFixture(t)
			tt.damage(t, filepath.Join(dir, "events-2026-11-22.bleve"))
			r := openReader(t, dir)
			_, err := ids(t, r, Query{}, SearchOptions{})
			if err == nil || !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "shard events-2026-11-22.bleve is damaged: "+tt.why) ||
				!strings.Contains(err.Error(), "; move it out of "+dir+" to go on without it") ||
				strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "mapping") {
				t.Errorf("search over a damaged shard: %v\nwant the reason %q, on one line", err, tt.why)
			}
			// The other shards still answer.
			got, err := ids(t, r, Query{Until: mustTime(t, "2026-11-21T23:59:59.999Z")}, SearchOptions{})
			if err != nil || strings.Join(got, "") != "ab" {
				t.Errorf("search around the damaged shard: %v %v", got, err)
			}
			// The writer refuses it too, with the same message.
			r.Close()
			w, err := OpenWriter(dir, WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			err = w.Add(fixture(t)[3])
			if err == nil {
				err = w.Flush()
			}
			if err == nil || !strings.Contains(err.Error(), "events-2026-11-22.bleve is damaged") {
				t.Errorf("writing into a damaged shard: %v", err)
			}
			w.Close()
		})
	}
}

// TestDamagedShardQuiet: what bleve logs about a damaged shard (scorch
// writes to the standard logger) never reaches stderr; the error says it.
// The search runs in a child process (this test binary again) whose
// stderr is checked.
func TestDamagedShardQuiet(t *testing.T) {
	if dir := os.Getenv("SSHWHY_TEST_DAMAGED_DIR"); dir != "" {
		r, err := OpenReader(dir, ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Search(context.Background(), Query{}, SearchOptions{}, func(*classify.Event) error { return nil })
		fmt.Println("ERROR:", err)
		return
	}
	dir, _ := writeFixture(t)
	zaps, _ := filepath.Glob(filepath.Join(dir, "events-2026-11-22.bleve", "store", "*.zap"))
	for _, z := range zaps {
		os.Remove(z)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDamagedShardQuiet$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SSHWHY_TEST_DAMAGED_DIR="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "ERROR: shard events-2026-11-22.bleve is damaged: a segment file is missing or damaged (bleve: failed to load segment") {
		t.Errorf("child's answer:\n%s", stdout.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("bleve wrote to stderr:\n%s", stderr.String())
	}
}

func TestSecondWriterIsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	w, err := OpenWriter(dir, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenWriter(dir, WriterOptions{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second writer: %v, want ErrInUse", err)
	}
	for _, want := range []string{"index is in use", dir, fmt.Sprintf("(pid %d)", os.Getpid()), "only one writer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = OpenWriter(dir, WriterOptions{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("writer after the first closed: %v", err)
	}
	w.Close()
}

// TestReadWhileWriting: a shard the writer holds open is refused after the
// reader's timeout; the shards it closed are searchable.
func TestReadWhileWriting(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	w, err := OpenWriter(dir, WriterOptions{MaxOpenShards: 1, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, e := range fixture(t) { // the last shard (2026-11-23) stays open
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReader(dir, ReaderOptions{OpenTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := ids(t, r, Query{Until: mustTime(t, "2026-11-22T23:00:00Z")}, SearchOptions{})
	if err != nil || strings.Join(got, "") != "abcd" {
		t.Errorf("closed shards: %v %v", got, err)
	}
	_, err = ids(t, r, Query{}, SearchOptions{})
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "events-2026-11-23.bleve is open for writing") {
		t.Errorf("open shard: %v", err)
	}
}

// TestErrorNamesEscaped: file and directory names in errors are escaped
// for the terminal (a data directory may be named anything).
func TestErrorNamesEscaped(t *testing.T) {
	base := filepath.Join(t.TempDir(), "evil\x1b]0;owned\x07")
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		if strings.ContainsAny(err.Error(), "\x1b\x07") || !strings.Contains(err.Error(), `evil\x1b]0;owned\a`) {
			t.Errorf("%s: %q", what, err)
		}
	}
	_, err := OpenReader(base, ReaderOptions{})
	check("missing", err)
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(base, "stray"), "x")
	_, err = OpenReader(base, ReaderOptions{})
	check("foreign", err)
	os.Remove(filepath.Join(base, "stray"))
	if _, err := Write(base, fixture(t)); err != nil {
		t.Fatal(err)
	}
	os.Truncate(filepath.Join(base, "events-2026-11-22.bleve", "store", "root.bolt"), 0)
	r := openReader(t, base)
	_, err = ids(t, r, Query{}, SearchOptions{})
	check("damaged", err)
	// An error of the file system names the path: under a file, no
	// directory can be made.
	file := base + "-file"
	write(t, file, "x")
	_, err = OpenWriter(filepath.Join(file, "data"), WriterOptions{})
	check("mkdir", err)
}
