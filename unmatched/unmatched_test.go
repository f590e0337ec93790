package unmatched

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/ingest"
)

func TestOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Connection from 203.0.113.7 port 52144 on 10.0.0.1 port 22 rdomain \"\"",
			"Connection from <ip> port <n> on <ip> port <n> rdomain \"\""},
		{"error: kex_exchange_identification: banner line contains invalid characters",
			"error: kex_exchange_identification: banner line contains invalid characters"},
		{"Received disconnect from 2001:db8::1 port 22:11: bye [preauth]",
			"Received disconnect from <ip> port <n>:<n>: bye [preauth]"},
		{"drop connection #3 from [198.51.100.9]:40112 on [10.0.0.1]:22 past MaxStartups",
			"drop connection #<n> from [<ip>]:<n> on [<ip>]:<n> past MaxStartups"},
		{"new thing 198.51.100.9:40112, fe80::1%eth0.", "new thing <ip>:<n>, <ip>."},
		{"Accepted key ED25519 SHA256:abcdEFGH0123+/xyz found at /home/u/.ssh/authorized_keys:3",
			"Accepted key ED<n> SHA256:<fp> found at /home/u/.ssh/authorized_keys:<n>"},
		{"session 0123456789abcdef ended", "session <hex> ended"},
		{"ssh2 sha256 deadbeef", "ssh<n> sha<n> deadbeef"},
		// The peer's text in quotes cannot make shapes of its own.
		{"Bad protocol version identification 'GET / HTTP/1.1' from 192.0.2.1 port 1",
			"Bad protocol version identification '<s>' from <ip> port <n>"},
		{"weird user x from 6.6.6.6 port 22 [preauth]", "weird user x from <ip> port <n> [preauth]"},
		{"tabs\t\tand   spaces", "tabs and spaces"},
		{"bad \xff byte", "bad \uFFFD byte"},
	} {
		if got := Of(tc.in); got != tc.want {
			t.Errorf("Of(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	long := Of(strings.Repeat("word ", 1000))
	if len(long) > MaxShapeLen+len("…") {
		t.Errorf("shape of a huge line is %d bytes", len(long))
	}
}

func line(t time.Time, msg string) *ingest.Line {
	raw := t.Format(time.RFC3339) + " vm sshd[42]: " + msg
	return &ingest.Line{Raw: raw, Time: t, Host: "vm", Program: "sshd", PID: 42, Message: msg}
}

var day = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

func TestRecorderBoundsShapesAndSamples(t *testing.T) {
	r := NewRecorder()
	const n = 1000
	for i := 0; i < n; i++ {
		// A user name the attacker picks makes every line its own shape.
		r.Add(line(day.Add(time.Duration(i)*time.Second), fmt.Sprintf("odd message for user%c%c from 192.0.2.%d", 'a'+i%26, 'a'+i/26, i%250)))
	}
	huge := strings.Repeat("x", 10000)
	for i := 0; i < 5; i++ {
		r.Add(line(day.Add(time.Hour), "Odd "+huge))
	}
	days := r.Days()
	if len(days) != 1 {
		t.Fatalf("%d days", len(days))
	}
	d := days[0]
	if d.Total != n+5 || len(d.Shapes) != MaxShapes+1 {
		t.Fatalf("total %d shapes %d, want %d and %d", d.Total, len(d.Shapes), n+5, MaxShapes+1)
	}
	last := d.Shapes[len(d.Shapes)-1]
	if last.Shape != OtherShape || last.Count != n+5-MaxShapes {
		t.Errorf("overflow shape %q count %d, want %d", last.Shape, last.Count, n+5-MaxShapes)
	}
	sum := 0
	for _, s := range d.Shapes {
		sum += s.Count
		if len(s.Samples) > MaxSamples {
			t.Errorf("%d samples", len(s.Samples))
		}
		for _, smp := range s.Samples {
			if len(smp.Line) > MaxSampleLen+len("…") {
				t.Errorf("sample of %d bytes", len(smp.Line))
			}
		}
	}
	if sum != d.Total {
		t.Errorf("shapes add up to %d, total %d", sum, d.Total)
	}
}

func TestSaveMergesAndReadCountsByHour(t *testing.T) {
	data := t.TempDir()
	r := NewRecorder()
	r.Add(line(day.Add(1*time.Hour), "New thing from 192.0.2.1 port 1"))
	r.Add(line(day.Add(5*time.Hour), "New thing from 192.0.2.2 port 2"))
	r.Add(line(day.Add(25*time.Hour), "New thing from 192.0.2.3 port 3")) // the next day
	r.Add(&ingest.Line{Raw: "vm sshd[1]: undated", Program: "sshd", Message: "undated"})
	if got := r.Summary(day, day.Add(48*time.Hour)).Total; got != 4 {
		t.Errorf("in-memory summary %d, want 4 (undated included)", got)
	}
	if err := r.Save(data); err != nil {
		t.Fatal(err)
	}
	if len(r.Days()) != 0 {
		t.Error("Save left days in the recorder")
	}
	// A second run adds to the same day.
	r.Add(line(day.Add(5*time.Hour+time.Minute), "New thing from 192.0.2.9 port 9"))
	if err := r.Save(data); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(data, Subdir))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "2026-11-30.json 2026-12-01.json" {
		t.Errorf("files %v (temporary files left?)", names)
	}
	for _, tc := range []struct {
		since, until time.Time
		want         int
	}{
		{day, day.Add(24*time.Hour - time.Nanosecond), 3},
		{day, day.Add(48 * time.Hour), 4},
		{day.Add(4 * time.Hour), day.Add(6 * time.Hour), 2},
		{day.Add(2 * time.Hour), day.Add(3 * time.Hour), 0},
	} {
		s, err := Read(data, tc.since, tc.until)
		if err != nil {
			t.Fatal(err)
		}
		if s.Total != tc.want || !s.Recorded {
			t.Errorf("Read %s..%s: %d (recorded %v), want %d", tc.since, tc.until, s.Total, s.Recorded, tc.want)
		}
		if tc.want > 0 && (len(s.Shapes) != 1 || s.Shapes[0].Shape != "New thing from <ip> port <n>") {
			t.Errorf("shapes %+v", s.Shapes)
		}
	}
	s, err := Read(data, day.Add(-72*time.Hour), day.Add(-48*time.Hour))
	if err != nil || s.Recorded || s.Total != 0 {
		t.Errorf("a period without files: %+v %v", s, err)
	}
	if err := os.WriteFile(filepath.Join(data, Subdir, "2026-11-29.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(data, day.Add(-24*time.Hour), day); err == nil {
		t.Error("a damaged file read without error")
	}
}
