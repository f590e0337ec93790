package ingest

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSortRotated(t *testing.T) {
	tests := []struct{ in, want string }{
		{"auth.log auth.log.1 auth.log.2.gz auth.log.3.gz auth.log.4.gz",
			"auth.log.4.gz auth.log.3.gz auth.log.2.gz auth.log.1 auth.log"},
		{"auth.log.1 auth.log.10.gz auth.log.2.gz auth.log",
			"auth.log.10.gz auth.log.2.gz auth.log.1 auth.log"},
		{"secure secure-20240108.gz secure-20240101",
			"secure-20240101 secure-20240108.gz secure"},
		// other paths keep their order; each group takes its first member's place
		{"syslog auth.log /x/auth.log.1 auth.log.1 kern.log auth.log.2.gz -",
			"syslog auth.log.2.gz auth.log.1 auth.log /x/auth.log.1 kern.log -"},
		{"b.log a.log c.log", "b.log a.log c.log"},
		{"/var/log/auth.log /var/log/auth.log.1", "/var/log/auth.log.1 /var/log/auth.log"},
		{"messages.bz2 messages.1.bz2", "messages.1.bz2 messages.bz2"},
		{"app-2024.log app-1.log", "app-2024.log app-1.log"}, // no rotation suffix
		{"", ""},
	}
	for _, tt := range tests {
		in := strings.Fields(tt.in)
		orig := strings.Join(in, " ")
		got := strings.Join(SortRotated(in), " ")
		if got != tt.want {
			t.Errorf("SortRotated(%s)\n got %s\nwant %s", tt.in, got, tt.want)
		}
		if strings.Join(in, " ") != orig {
			t.Errorf("SortRotated modified its input")
		}
	}
}

func TestOpenAll(t *testing.T) {
	dir := t.TempDir()
	line := func(day int, msg string) string {
		return time.Date(2023, 6, day, 12, 0, 0, 0, time.UTC).Format(time.Stamp) + " vm sshd[1]: " + msg + "\n"
	}
	writeGzip(t, filepath.Join(dir, "auth.log.3.gz"), []byte(line(1, "three")))
	writeGzip(t, filepath.Join(dir, "auth.log.2.gz"), []byte(line(2, "two")))
	if err := os.WriteFile(filepath.Join(dir, "auth.log.1"), []byte(line(3, "one")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "auth.log"), []byte(line(4, "live")+line(4, "live2")), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "auth.log.0") // sorts between .1 and the live file
	var paths []string
	for _, n := range []string{"auth.log", "auth.log.1", "auth.log.2.gz", "auth.log.3.gz"} {
		paths = append(paths, filepath.Join(dir, n))
	}
	paths = append(paths, missing)

	m := OpenAll(paths, june2023)
	defer m.Close()
	var got []string
	var errs []error
	for {
		l, err := m.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		checkLine(t, l)
		got = append(got, filepath.Base(l.Source)+":"+l.Message)
	}
	want := "auth.log.3.gz:three auth.log.2.gz:two auth.log.1:one auth.log:live auth.log:live2"
	if strings.Join(got, " ") != want {
		t.Errorf("read %v\nwant %s", got, want)
	}
	if len(errs) != 1 || !errors.Is(errs[0], fs.ErrNotExist) || !strings.Contains(errs[0].Error(), missing) {
		t.Errorf("errors %v, want one naming %s", errs, missing)
	}
}
