package victorialogs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/internal/escape"
)

// Field names that a row has besides the event's own JSON fields (which
// keep the names of classify's JSON: id, start, end, host, program, pid,
// src_ip, src_port, user, cause, confidence, phase, detail, rule,
// auth_failures, auth_methods, duration_s, lines, lines_dropped, source).
const (
	fieldIP   = "ip"   // the source address as an address (net.ParseIP, IPv4 dotted), when it is one
	fieldHour = "hour" // UTC hour of the end, 2006-01-02T15, as the local index counts it
	fieldSort = "sk"   // the id with hex digits mapped to letters: sorts byte-wise under VictoriaLogs' natural order
	// fieldDuration is duration_s as text with an "s": VictoriaLogs
	// stores a block of varied numbers as float64 and prints them back
	// shorter than Go does (1.9460199999999999 comes back 1.94602), so
	// the exact value is read from here; duration_s stays for filters.
	fieldDuration = "duration"
	// fieldDurationKey is the duration as the index keys it: whole
	// seconds, rounded, clamped to [0, maxNum]; present also when the
	// event's JSON has no duration_s (start unknown). Filters and sorts
	// on duration_s use it.
	fieldDurationKey = "duration_key"
	// fieldStart is the start as a key that sorts as the time (UTC, nine
	// fractional digits), for start: filters; absent without a start.
	fieldStart = "start_utc"
)

// Key layouts, as the index writes them (index/timekey.go).
const (
	hourLayout    = "2006-01-02T15"
	timeKeyLayout = "2006-01-02T15:04:05.000000000Z"
)

func timeKey(t time.Time) string { return t.UTC().Format(timeKeyLayout) }

// durationKey is the index's key of a duration.
func durationKey(d float64) int64 {
	n := int64(math.Round(d))
	return max(0, min(n, maxNum))
}

// StreamFields are the row fields VictoriaLogs groups into log streams:
// few values each (one stream per host and program, plus app="sshwhy",
// a constant that tells sshwhy's rows from other logs in the same
// engine), which is what its storage wants; high-cardinality fields
// (addresses, users, ids) would make one stream per connection.
var StreamFields = []string{"app", "host", "program"}

// MaxRowBytes is the largest row the sink sends. VictoriaLogs ignores
// longer lines (-insert.maxLineSizeBytes, 256 KiB by default); an event
// whose row is longer loses evidence lines from its end until it fits,
// and lines_dropped counts them.
const MaxRowBytes = 250 << 10

// appendRow appends the JSON-lines row of ev (with a newline): classify's
// JSON of the event plus _time, _msg and the query helper fields. It
// reports whether evidence lines had to be cut to fit MaxRowBytes. ok is
// false when the event has no time to place it by.
func appendRow(dst []byte, ev *classify.Event) (out []byte, cut int, ok bool) {
	at := ev.End
	if at.IsZero() {
		at = ev.Start
	}
	if at.IsZero() {
		return dst, 0, false
	}
	id := ev.ID
	if id == "" {
		id = classify.EventID(ev.Host, ev.PID, ev.SrcPort, ev.Start)
	}
	start := len(dst)
	e := ev
	if e.ID == "" {
		c := *ev
		c.ID = id
		e = &c
	}
	for {
		dst = dst[:start]
		dst = classify.AppendJSON(dst, e)
		dst = dst[:len(dst)-1] // the closing brace
		dst = append(dst, `,"app":"sshwhy","_time":"`...)
		dst = at.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, `","_msg":`...)
		dst = appendJSONString(dst, summary(e))
		if ip := net.ParseIP(e.SrcIP); ip != nil {
			dst = append(dst, `,"`+fieldIP+`":"`...)
			dst = append(dst, ip.String()...)
			dst = append(dst, '"')
		}
		dst = append(dst, `,"`+fieldDuration+`":"`...)
		dst = strconv.AppendFloat(dst, e.DurationS, 'f', -1, 64)
		dst = append(dst, `s","`+fieldDurationKey+`":`...)
		dst = strconv.AppendInt(dst, durationKey(e.DurationS), 10)
		if !e.Start.IsZero() {
			dst = append(dst, `,"`+fieldStart+`":"`...)
			dst = e.Start.UTC().AppendFormat(dst, timeKeyLayout)
			dst = append(dst, '"')
		}
		dst = append(dst, `,"`+fieldHour+`":"`...)
		dst = at.UTC().AppendFormat(dst, hourLayout)
		dst = append(dst, `","`+fieldSort+`":"`...)
		dst = appendSortKey(dst, id)
		dst = append(dst, "\"}\n"...)
		if len(dst)-start <= MaxRowBytes || len(e.Lines) == 0 {
			return dst, len(ev.Lines) - len(e.Lines), true
		}
		if e == ev {
			c := *ev
			e = &c
		}
		// Cut about the excess, at least one line.
		excess := len(dst) - start - MaxRowBytes
		n := len(e.Lines)
		for n > 0 && excess > 0 {
			n--
			excess -= len(e.Lines[n]) + 3
		}
		if n == len(e.Lines) {
			n--
		}
		e.LinesDropped += len(e.Lines) - n
		e.Lines = e.Lines[:n]
	}
}

// appendSortKey maps the hex digits of id to letters (0→a … f→p), so
// VictoriaLogs' natural sort, which compares digit runs as numbers,
// orders the keys as bytes; other characters are kept.
func appendSortKey(dst []byte, id string) []byte {
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= '0' && c <= '9':
			c = 'a' + c - '0'
		case c >= 'a' && c <= 'f':
			c = 'k' + c - 'a'
		case c == '"' || c == '\\' || c < 0x20 || c >= 0x80:
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s)
	return append(dst, b...)
}

// summary is the one-line _msg of ev: what VictoriaLogs' own UI shows.
// Attacker-written parts are escaped (no control characters).
func summary(ev *classify.Event) string {
	var b strings.Builder
	b.WriteString(string(ev.Cause))
	b.WriteByte(' ')
	if ev.User != "" {
		b.WriteString(escape.Terminal(ev.User))
		b.WriteByte('@')
	}
	if ev.SrcIP != "" {
		b.WriteString(escape.Terminal(ev.SrcIP))
		if ev.SrcPort != 0 {
			fmt.Fprintf(&b, " port %d", ev.SrcPort)
		}
	} else if ev.User == "" {
		b.WriteString("-")
	}
	if ev.Host != "" {
		b.WriteString(" on ")
		b.WriteString(escape.Terminal(ev.Host))
	}
	fmt.Fprintf(&b, " after %s", time.Duration(ev.DurationS*float64(time.Second)).Round(time.Second))
	if ev.Detail != "" {
		b.WriteString(": ")
		b.WriteString(escape.Terminal(ev.Detail))
	}
	return b.String()
}

// eventFields are the event's own fields in a row, by kind: raw fields
// hold JSON numbers or arrays as VictoriaLogs returns them (as text), the
// others strings.
var eventFields = map[string]bool{
	"id": false, "start": false, "end": false, "host": false, "program": false, "pid": true,
	"src_ip": false, "src_port": true, "user": false, "cause": false, "confidence": false,
	"phase": false, "detail": false, "rule": false, "auth_failures": true, "auth_methods": true,
	"duration_s": true, "lines": true, "lines_dropped": true, "source": false,
	"remote": false, "start_unknown": true,
}

// decodeRow rebuilds the event of a row as VictoriaLogs returns it (a
// JSON object of string values): the event's fields become classify's JSON
// again and decode with its UnmarshalJSON, so the timestamps keep their
// precision and zone.
func decodeRow(row map[string]string) (*classify.Event, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	if d, ok := row[fieldDuration]; ok {
		row["duration_s"] = strings.TrimSuffix(d, "s")
	}
	for k, v := range row {
		raw, ok := eventFields[k]
		if !ok {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(strconv.Quote(k))
		b.WriteByte(':')
		if raw {
			if !json.Valid([]byte(v)) {
				return nil, fmt.Errorf("victorialogs: row %s: field %s is not JSON: %q", row["id"], k, v)
			}
			b.WriteString(v)
		} else {
			b.Write(appendJSONString(nil, v))
		}
	}
	b.WriteByte('}')
	ev := new(classify.Event)
	if err := json.Unmarshal(b.Bytes(), ev); err != nil {
		return nil, fmt.Errorf("victorialogs: row %s is not an sshwhy event: %v", row["id"], err)
	}
	if ev.Lines == nil {
		ev.Lines = []string{}
	}
	return ev, nil
}
