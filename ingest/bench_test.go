package ingest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func benchParse(b *testing.B, raw string) {
	p := Parser{Ref: time.Date(2023, 6, 10, 0, 0, 0, 0, time.UTC)}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		p.Parse(raw)
	}
}

func BenchmarkParseBSD(b *testing.B) {
	benchParse(b, "Jun  1 12:00:00 vm sshd[123]: Accepted publickey for root from 10.0.0.1 port 53080 ssh2: ED25519 SHA256:abc")
}

func BenchmarkParseRFC3339(b *testing.B) {
	benchParse(b, "2023-06-01T12:00:00.123456+02:00 vm sshd-session[123]: Accepted publickey for root from 10.0.0.1 port 53080 ssh2")
}

func BenchmarkParseRFC5424(b *testing.B) {
	benchParse(b, "<38>1 2023-06-01T12:00:00.123456+02:00 vm sshd 123 - - Accepted publickey for root from 10.0.0.1 port 53080 ssh2")
}

func BenchmarkParseUnknown(b *testing.B) {
	benchParse(b, "this is not a syslog line at all, just some text")
}

// writeBigLog writes n BSD syslog lines of sshd traffic to a file in dir.
func writeBigLog(b *testing.B, dir string, n int) (string, int64) {
	b.Helper()
	var buf bytes.Buffer
	t0 := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		ts := t0.Add(time.Duration(i) * 100 * time.Millisecond).Format(time.Stamp)
		switch i % 4 {
		case 0:
			fmt.Fprintf(&buf, "%s web1 sshd[%d]: Accepted publickey for alice from 192.0.2.%d port %d ssh2: ED25519 SHA256:abcdefghijklmnop\n", ts, 1000+i%30000, i%250, 1024+i%60000)
		case 1:
			fmt.Fprintf(&buf, "%s web1 sshd[%d]: pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)\n", ts, 1000+i%30000)
		case 2:
			fmt.Fprintf(&buf, "%s web1 sshd-session[%d]: Received disconnect from 192.0.2.%d port %d:11: disconnected by user\n", ts, 1000+i%30000, i%250, 1024+i%60000)
		default:
			fmt.Fprintf(&buf, "%s web1 sshd[%d]: Disconnected from user alice 192.0.2.%d port %d\n", ts, 1000+i%30000, i%250, 1024+i%60000)
		}
	}
	path := filepath.Join(dir, "auth.log")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path, int64(buf.Len())
}

func benchRead(b *testing.B, gz bool) {
	const n = 500000
	path, size := writeBigLog(b, b.TempDir(), n)
	if gz {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(data)
		w.Close()
		path += ".gz"
		if err := os.WriteFile(path, z.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		f, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		lines := 0
		for {
			_, err := next(f)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			lines++
		}
		f.Close()
		if lines != n {
			b.Fatalf("%d lines, want %d", lines, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkOpenNext measures Open+Next over a 500,000-line BSD auth.log.
func BenchmarkOpenNext(b *testing.B) { benchRead(b, false) }

// BenchmarkOpenNextGzip is the same over the gzip-compressed file.
func BenchmarkOpenNextGzip(b *testing.B) { benchRead(b, true) }
