package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// summary renders the fields of a Line that tests compare.
func summary(l Line) string {
	t := "-"
	if !l.Time.IsZero() {
		t = l.Time.UTC().Format(time.RFC3339Nano)
	}
	s := fmt.Sprintf("%s|%s|%d|%s|%s|%d|%q", l.Format, t, l.Prec, l.Host, l.Program, l.PID, l.Message)
	if l.Cursor != "" {
		s += "|" + l.Cursor
	}
	if l.Truncated {
		s += "|truncated"
	}
	return s
}

// readAll reads r to the end, checking each Line.
func readAll(t *testing.T, r Reader) []Line {
	t.Helper()
	var lines []Line
	for {
		l, err := next(r)
		if err == io.EOF {
			return lines
		}
		if err != nil {
			t.Fatalf("Next after %d lines: %v", len(lines), err)
		}
		checkLine(t, l)
		lines = append(lines, l)
	}
}

func summaries(lines []Line) []string {
	s := make([]string, len(lines))
	for i, l := range lines {
		s[i] = summary(l)
	}
	return s
}

func sameLines(t *testing.T, got []Line, want []string) {
	t.Helper()
	g := summaries(got)
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("got lines\n\t%s\nwant\n\t%s", strings.Join(g, "\n\t"), strings.Join(want, "\n\t"))
	}
}

var (
	june2023 = Options{Loc: time.UTC, Ref: time.Date(2023, 6, 20, 0, 0, 0, 0, time.UTC)}
	authLog  = []string{
		`bsd|2023-06-01T12:00:00Z|0|web1|sshd|1201|"Accepted publickey for alice from 192.0.2.10 port 50022 ssh2: ED25519 SHA256:AAAA"`,
		`bsd|2023-06-01T12:00:00Z|0|web1|sshd|1201|"pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)"`,
		`bsd|2023-06-01T12:05:09Z|0|web1|sshd|1201|"session closed for user alice"`,
		`bsd|2023-06-01T12:05:09Z|0|web1|sshd|1201|"Received disconnect from 192.0.2.10 port 50022:11: disconnected by user"`,
		`bsd|2023-06-10T08:00:01Z|0|web1|sshd-session|2000|"Invalid user Jun  1 12:00:00 web1 sshd[1]: Accepted password for root from 192.0.2.66 port 1"`,
		`bsd|2023-06-10T08:00:02Z|0|web1|CRON|2001|"pam_unix(cron:session): session closed for user root"`,
		`bsd|2023-06-10T08:00:03Z|0|web1||0|"-- MARK --"`,
		`unknown|-|-1|||0|"this line has no header"`,
		`bsd|2023-06-10T09:00:00Z|0|web1|sshd|7|"windows line ending"`,
		`bsd|2023-06-10T09:00:01Z|0|web1|sshd|7|"last line without newline"`,
	}
)

func TestOpen(t *testing.T) {
	tests := []struct {
		path string
		want []string
	}{
		{"testdata/auth.log", authLog},
		{"testdata/rsyslog.log", []string{
			`rfc3339|2024-03-05T09:11:12.345678Z|6|db2|sshd|880|"Connection closed by authenticating user root 198.51.100.7 port 40000 [preauth]"`,
			`rfc3339|2024-03-05T09:11:13Z|0|db2|sshd-session|881|"Disconnected from user bob 198.51.100.8 port 40001"`,
			`rfc3339|2024-03-05T09:11:14Z|0|db2|sshd|882|"Timeout before authentication for connection from 198.51.100.9 to 203.0.113.1, pid = 883"`,
			`rfc3339|2024-03-05T09:11:15.1Z|1|db2|sshd-auth|884|"x"`,
			`rfc5424|2024-03-05T09:11:16.000001Z|6|db2|sshd|885|"Server listening on 0.0.0.0 port 22."`,
		}},
		{"testdata/rsyslog.log.bz2", nil}, // same as rsyslog.log, checked below
		{"testdata/journal.json", []string{
			`json|2024-03-05T09:11:12.345678Z|6|db2|sshd|880|"Accepted publickey for bob from 198.51.100.8 port 40001 ssh2"|s=1;i=1`,
			`json|2024-03-05T09:11:13Z|6|db2|sshd-session|881|"Invalid user \xff\xfe"|s=1;i=2`,
			`json|2024-03-05T09:11:14Z|6|db2|sshd|882|""|s=1;i=3`,
			`json|-|-1|db2|sshd|0|"no time, bad pid"|s=1;i=4`,
			`unknown|-|-1|||0|"{\"truncated json"`,
			`unknown|-|-1|||0|"{\"not\":\"a journal record\"}"`,
		}},
		{"testdata/journal.export", []string{
			`export|2024-03-05T09:11:12.345678Z|6|db2|sshd|880|"Accepted publickey for bob from 198.51.100.8 port 40001 ssh2"|s=abc;i=10`,
			`export|2024-03-05T09:11:13Z|6|db2|sshd-session|881|"Invalid user \xff\xfe\nsecond line from 198.51.100.9"|s=abc;i=11`,
			`export|2024-03-05T09:11:14Z|6|db2|sshd|0|"comm fallback, no pid"|s=abc;i=12`,
		}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			f, err := Open(tt.path, june2023)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			lines := readAll(t, f)
			want := tt.want
			if want == nil {
				want = tests[1].want
			}
			sameLines(t, lines, want)
			for _, l := range lines {
				if l.Source != tt.path {
					t.Errorf("Source = %q, want %q", l.Source, tt.path)
				}
			}
			if strings.HasSuffix(tt.path, ".bz2") {
				return
			}
			data, err := os.ReadFile(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(lines); n > 0 && lines[n-1].Offset != int64(len(data)) {
				t.Errorf("last Offset = %d, want the file size %d", lines[n-1].Offset, len(data))
			}
		})
	}
}

// TestOpenRaw checks Raw of text lines (as read) and journal records
// (rendered like syslog).
func TestOpenRaw(t *testing.T) {
	tests := []struct {
		path string
		want []string
	}{
		{"testdata/auth.log", []string{
			"Jun  1 12:00:00 web1 sshd[1201]: Accepted publickey for alice from 192.0.2.10 port 50022 ssh2: ED25519 SHA256:AAAA",
		}},
		{"testdata/journal.export", []string{
			"2024-03-05T09:11:12.345678Z db2 sshd[880]: Accepted publickey for bob from 198.51.100.8 port 40001 ssh2",
			"2024-03-05T09:11:13.000000Z db2 sshd-session[881]: Invalid user \xff\xfe\nsecond line from 198.51.100.9",
			"2024-03-05T09:11:14.000000Z db2 sshd: comm fallback, no pid",
		}},
		{"testdata/journal.json", []string{
			"2024-03-05T09:11:12.345678Z db2 sshd[880]: Accepted publickey for bob from 198.51.100.8 port 40001 ssh2",
			"2024-03-05T09:11:13.000000Z db2 sshd-session[881]: Invalid user \xff\xfe",
			"2024-03-05T09:11:14.000000Z db2 sshd[882]: ",
			"db2 sshd: no time, bad pid",
		}},
	}
	for _, tt := range tests {
		f, err := Open(tt.path, june2023)
		if err != nil {
			t.Fatal(err)
		}
		lines := readAll(t, f)
		f.Close()
		for i, want := range tt.want {
			if i >= len(lines) || lines[i].Raw != want {
				t.Errorf("%s line %d: Raw = %q, want %q", tt.path, i, lines[min(i, len(lines)-1)].Raw, want)
			}
		}
	}
}

// writeGzip writes data gzip-compressed to path.
func writeGzip(t *testing.T, path string, data []byte) {
	t.Helper()
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Write(data)
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenGzip(t *testing.T) {
	data, err := os.ReadFile("testdata/auth.log")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Open("testdata/auth.log", june2023)
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, plain)
	dir := t.TempDir()
	// Recognised by content, whatever the name.
	for _, name := range []string{"auth.log.2.gz", "auth.log.2"} {
		path := filepath.Join(dir, name)
		writeGzip(t, path, data)
		f, err := Open(path, june2023)
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, f)
		f.Close()
		sameLines(t, got, summaries(want))
		for i := range got {
			if i < len(want) && got[i].Offset != want[i].Offset {
				t.Errorf("%s line %d: Offset %d, want %d (decompressed)", name, i, got[i].Offset, want[i].Offset)
			}
		}
	}
}

// TestRollover reads a file spanning New Year with its modification time
// (the Ref) in January.
func TestRollover(t *testing.T) {
	data, err := os.ReadFile("testdata/rollover.log")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "auth.log")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2024, 1, 1, 6, 25, 0, 0, time.UTC)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, Options{Loc: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	for _, l := range readAll(t, f) {
		got = append(got, l.Time.Format(time.RFC3339))
	}
	want := "2023-12-31T23:59:58Z 2023-12-31T23:59:59Z 2024-01-01T00:00:01Z 2024-01-01T00:00:02Z"
	if strings.Join(got, " ") != want {
		t.Errorf("times %v, want %s", got, want)
	}
}

func TestOpenStdin(t *testing.T) {
	in := "Jun  1 12:00:00 vm sshd[1]: a\n\n2023-06-01T12:00:01Z vm sshd[1]: b\n"
	f, err := Open("-", Options{Stdin: strings.NewReader(in), Loc: time.UTC, Ref: june2023.Ref})
	if err != nil {
		t.Fatal(err)
	}
	lines := readAll(t, f)
	sameLines(t, lines, []string{
		`bsd|2023-06-01T12:00:00Z|0|vm|sshd|1|"a"`,
		`rfc3339|2023-06-01T12:00:01Z|0|vm|sshd|1|"b"`,
	})
	if lines[0].Source != "-" || lines[0].Offset != 30 || lines[1].Offset != int64(len(in)) {
		t.Errorf("Source/Offset = %q %d %d", lines[0].Source, lines[0].Offset, lines[1].Offset)
	}
}

// TestMaxLine checks the cut of long lines at the limit and the offsets
// after them.
func TestMaxLine(t *testing.T) {
	const max = 16
	tests := []struct {
		in        string
		raw       string
		truncated bool
	}{
		{strings.Repeat("a", 16) + "\n", strings.Repeat("a", 16), false},
		{strings.Repeat("a", 16) + "\r\n", strings.Repeat("a", 16), false},
		{strings.Repeat("a", 17) + "\n", strings.Repeat("a", 16), true},
		{strings.Repeat("a", 16) + "\r\r\n", strings.Repeat("a", 16), true},
		{strings.Repeat("b", 200000) + "\n", strings.Repeat("b", 16), true}, // beyond the read buffer
		{strings.Repeat("c", 200000), strings.Repeat("c", 16), true},        // and at EOF
	}
	for _, tt := range tests {
		in := tt.in + "vm sshd[1]: next\n"
		if !strings.HasSuffix(tt.in, "\n") {
			in = tt.in
		}
		f, err := Open("-", Options{Stdin: strings.NewReader(in), MaxLine: max})
		if err != nil {
			t.Fatal(err)
		}
		lines := readAll(t, f)
		if len(lines) == 0 || lines[0].Raw != tt.raw || lines[0].Truncated != tt.truncated || lines[0].Offset != int64(len(tt.in)) {
			t.Errorf("%.20q...: got %+v", tt.in, lines)
			continue
		}
		if len(lines) > 1 && (lines[1].Message != "next" || lines[1].Offset != int64(len(in))) {
			t.Errorf("%.20q...: line after it %+v", tt.in, lines[1])
		}
	}
}

// TestHostile feeds junk that must neither crash nor stop reading.
func TestHostile(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 1<<20)
	for i := range junk {
		junk[i] = byte(rng.UintN(256))
	}
	huge := "Jun  1 12:00:00 vm sshd[1]: Invalid user " + strings.Repeat("\x00\xff", 1<<19) + "\n"
	tests := []struct {
		name  string
		in    string
		lines int // expected number of lines, -1: any
	}{
		{"random bytes", string(junk), -1},
		{"1 MB line", huge + "Jun  1 12:00:01 vm sshd[2]: after\n", 2},
		{"NULs", "\x00\x00\x00\nJun  1 12:00:00 vm sshd[1]: a\x00b\n", 2},
		{"invalid utf-8", "\xc3\x28 \xa0\xa1\nJun  1 12:00:00 \xff\xfe sshd[1]: x\n", 2},
		{"only newlines", "\n\n\r\n\n", 0},
		{"brace junk (json sniffed)", "{\x00\xff\n{}\n[1,2]\n", 3},
		{"export junk", "AB\n\xff\xff\xff\xff\xff\xff\xff\xff\n", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Open("-", Options{Stdin: strings.NewReader(tt.in)})
			if err != nil {
				t.Fatal(err)
			}
			var n int
			for {
				l, err := next(f)
				if err == io.EOF {
					break
				}
				if err != nil {
					if tt.lines >= 0 {
						t.Fatal(err)
					}
					if !strings.Contains(err.Error(), "-") {
						t.Errorf("error %q does not name the input", err)
					}
					break
				}
				checkLine(t, l)
				if len(l.Raw) > DefaultMaxLine {
					t.Errorf("line of %d bytes exceeds MaxLine", len(l.Raw))
				}
				n++
			}
			if tt.lines >= 0 && n != tt.lines {
				t.Errorf("%d lines, want %d", n, tt.lines)
			}
		})
	}
}

// TestOpenErrors checks that bad inputs give errors naming the path, at
// the point where the damage is found.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/auth.log")
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Repeat(data, 50)
	good := filepath.Join(dir, "good.gz")
	writeGzip(t, good, data)
	gz, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	g, err := Open(good, Options{})
	if err != nil {
		t.Fatal(err)
	}
	all := len(readAll(t, g)) // a bad checksum is only found after the last line
	g.Close()
	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-8] ^= 0xff
	export, err := os.ReadFile("testdata/journal.export")
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.Index(export, []byte("Invalid user")) + 5

	tests := []struct {
		name    string
		path    string
		atOpen  bool  // the error comes from Open, else from Next
		minRead int   // lines read before the error
		is      error // errors.Is target, if any
	}{
		{"missing", filepath.Join(dir, "nope.log"), true, 0, fs.ErrNotExist},
		{"directory", dir, true, 0, nil},
		{"gzip bad header", write("bad.gz", []byte("\x1f\x8b\x09junkjunkjunk")), true, 0, nil},
		{"gzip truncated", write("cut.gz", gz[:len(gz)/2]), false, 1, io.ErrUnexpectedEOF},
		{"gzip bad checksum", write("crc.gz", badCRC), false, all, gzip.ErrChecksum},
		{"xz", write("x.xz", []byte("\xfd7zXZ\x00rest")), true, 0, nil},
		{"export cut in binary field", write("cut.export", export[:cut]), false, 1, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Open(tt.path, Options{})
			n := 0
			if err == nil {
				defer f.Close()
				for {
					_, err = next(f)
					if err != nil {
						break
					}
					n++
				}
				if err == io.EOF {
					t.Fatalf("read %d lines without error", n)
				}
				if tt.atOpen {
					t.Errorf("error %q from Next, want it from Open", err)
				}
				if n < tt.minRead {
					t.Errorf("read %d lines before the error, want at least %d", n, tt.minRead)
				}
				if _, err := next(f); err != io.EOF {
					t.Errorf("Next after the error: %v, want io.EOF", err)
				}
			} else if !tt.atOpen {
				t.Errorf("Open: %v, want the error from Next", err)
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name %s", err, tt.path)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
		})
	}
}

// FuzzRead feeds arbitrary bytes to a File (text, gzip, journal export or
// JSON, whatever the bytes look like): no panic, Lines within MaxLine,
// and an end.
func FuzzRead(f *testing.F) {
	for _, p := range []string{"testdata/auth.log", "testdata/rsyslog.log", "testdata/journal.json", "testdata/journal.export"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write([]byte("Jun  1 12:00:00 vm sshd[1]: x\n"))
	w.Close()
	f.Add(z.Bytes())
	f.Add([]byte("MESSAGE\n\x05\x00\x00\x00\x00\x00\x00\x00hello\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 64
		r, err := Open("-", Options{Stdin: bytes.NewReader(data), MaxLine: max})
		if err != nil {
			return
		}
		for n := 0; ; n++ {
			if n > 1e6 { // compressed input may hold more lines than bytes, but not this many
				t.Fatalf("no end after %d Lines", n)
			}
			l, err := next(r)
			if err != nil {
				break
			}
			checkLine(t, l)
			if len(l.Message) > max {
				t.Fatalf("Message of %d bytes beyond MaxLine", len(l.Message))
			}
		}
	})
}

// next is r.Next into a new Line.
func next(r Reader) (Line, error) {
	var l Line
	err := r.Next(&l)
	return l, err
}
