package index

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseAge(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"90m", 90 * time.Minute, ""},
		{"24h", 24 * time.Hour, ""},
		{"7d", 7 * 24 * time.Hour, ""},
		{"2w", 14 * 24 * time.Hour, ""},
		{"1h30m", 90 * time.Minute, ""},
		{" 90d ", 90 * 24 * time.Hour, ""},
		{"", 0, "empty"},
		{"0d", 0, "not a positive duration"},
		{"-5m", 0, "not a positive duration"},
		{"xd", 0, "not a duration"},
		{"7 days", 0, "not a duration"},
		{"99999999999999d", 0, "too long"},
	}
	for _, tt := range tests {
		got, err := ParseAge(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseAge(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	local := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, time.Local)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		in       string
		endOfDay bool
		want     time.Time
		err      string
	}{
		{"90m", false, now.Add(-90 * time.Minute), ""},
		{"7d", true, now.Add(-7 * 24 * time.Hour), ""},
		{"2026-11-20T10:00:00Z", false, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), ""},
		{"2026-11-20T10:00:00.5+01:00", false, time.Date(2026, 11, 20, 9, 0, 0, 500_000_000, time.UTC), ""},
		{"2026-11-20", false, local("2026-11-20 00:00:00"), ""},
		{"2026-11-20", true, local("2026-11-20 23:59:59.999999999"), ""},
		{"2026-11-20 10:30", false, local("2026-11-20 10:30:00"), ""},
		{"2026-11-20T10:30:15", true, local("2026-11-20 10:30:15"), ""},
		{"yesterday", false, time.Time{}, `"yesterday" is neither an age`},
		{"2026-13-01", false, time.Time{}, "neither an age"},
		{"2026-11-20T25:00:00Z", false, time.Time{}, "neither an age"},
		{"", false, time.Time{}, "empty"},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in, now, tt.endOfDay)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseTime(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q, %v) = %v, %v; want %v", tt.in, tt.endOfDay, got, err, tt.want)
		}
	}
}

func TestTokenizer(t *testing.T) {
	tests := []struct {
		in   string
		want string // tokens joined by |, with @position where not consecutive
	}{
		{"Failed password for invalid user admin from 203.0.113.5 port 2222 ssh2", "Failed|password|for|invalid|user|admin|from|203.0.113.5|port|2222|ssh2"},
		{"Connection closed by 2001:db8::1 port 22 [preauth]", "Connection|closed|by|2001:db8::1|port|22|preauth"},
		{"kex_exchange_identification: Connection closed by remote host", "kex_exchange_identification|Connection|closed|by|remote|host"},
		{"Their offer: diffie-hellman-group1-sha1,ssh-rsa", "Their|offer|diffie-hellman-group1-sha1|ssh-rsa"},
		{"Received disconnect from 1.2.3.4 port 5:11: Bye Bye", "Received|disconnect|from|1.2.3.4|port|5:11|Bye|Bye"},
		{"user \x1b[31mevil\x07 ünïcode \xff\xfe", "user|31mevil|ünïcode|\xff\xfe"},
		{"...---:::", ""},
		{"", ""},
		{"a\nb c\n\nd", "a|b@102|c@103|d@204"},
	}
	for _, tt := range tests {
		var parts []string
		for i, tok := range (evidenceTokenizer{}).Tokenize([]byte(tt.in)) {
			s := string(tok.Term)
			if tok.Position != i+1 {
				s += "@" + strconv.Itoa(tok.Position)
			}
			if string(tt.in[tok.Start:tok.End]) != string(tok.Term) {
				t.Errorf("%q: token %q has wrong offsets %d:%d", tt.in, tok.Term, tok.Start, tok.End)
			}
			parts = append(parts, s)
		}
		if got := strings.Join(parts, "|"); got != tt.want {
			t.Errorf("Tokenize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMessage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2026-11-20T10:00:00.000000+00:00 bastion sshd[101]: Failed password for root", "Failed password for root"},
		{"Nov 20 10:00:00 bastion sshd[101]: Invalid user x]: y from 1.2.3.4", "Invalid user x]: y from 1.2.3.4"},
		{"Host key verification failed.", "Host key verification failed."},
		{strings.Repeat("x", 200) + "]: late", strings.Repeat("x", 200) + "]: late"},
	}
	for _, tt := range tests {
		if got := message(tt.in); got != tt.want {
			t.Errorf("message(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
