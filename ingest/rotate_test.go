package ingest

import (
	"strings"
	"testing"
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
