package ingest

import (
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
