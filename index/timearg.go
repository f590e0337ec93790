package index

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseAge parses an age like "90m", "24h", "7d", "2w" or any Go duration
// ("1h30m"). It must be positive.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var d time.Duration
	if unit := s[len(s)-1]; unit == 'd' || unit == 'w' {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (e.g. 90m, 24h, 7d, 2w)", s)
		}
		per := 24 * time.Hour
		if unit == 'w' {
			per *= 7
		}
		if n > int(1<<62/per) {
			return 0, fmt.Errorf("%q is too long", s)
		}
		d = time.Duration(n) * per
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration (e.g. 90m, 24h, 7d, 2w)", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration", s)
	}
	return d, nil
}

// timeLayouts accepted by ParseTime besides RFC 3339; those without a zone
// are local time.
var argLayouts = []string{
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
}

// ParseTime parses a point in time for --since/--until: an age before now
// ("90m", "24h", "7d"; see ParseAge), an RFC 3339 time
// ("2026-11-23T10:00:00Z"), a local "YYYY-MM-DD[ HH:MM[:SS]]", or a local
// date "YYYY-MM-DD". With endOfDay, a bare date means the last instant of
// that day (so --until 2026-11-23 includes the 23rd); otherwise its start.
func ParseTime(s string, now time.Time, endOfDay bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		if endOfDay {
			return t.AddDate(0, 0, 1).Add(-time.Nanosecond), nil
		}
		return t, nil
	}
	for _, l := range argLayouts {
		if t, err := time.ParseInLocation(l, s, time.Local); err == nil {
			return t, nil
		}
	}
	if d, err := ParseAge(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an age (90m, 24h, 7d) nor a time (RFC 3339 like 2026-11-23T10:00:00Z, or YYYY-MM-DD)", s)
}
