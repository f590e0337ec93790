package classify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// AppendTime must write exactly what time.AppendFormat writes.
func TestAppendTime(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("x", 2*3600), time.FixedZone("y", -(5*3600 + 30*60)),
		time.FixedZone("odd", 3*3600+17), time.FixedZone("z", 14*3600)}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		tm := time.Unix(r.Int64N(1<<34)-1<<32, r.Int64N(1e9)).In(zones[i%len(zones)])
		for prec := int8(-1); prec <= 10; prec++ {
			p := max(min(prec, 9), 0)
			want := tm.AppendFormat(nil, timeLayouts[p])
			if got := AppendTime(nil, tm, prec); string(got) != string(want) {
				t.Fatalf("AppendTime(%v, %d) = %s, want %s", tm, prec, got, want)
			}
		}
	}
}

// TestAppendString checks the JSON strings against encoding/json's reading
// of them, for every byte at every offset of an 8-byte word (the fast path
// looks at 8 bytes at a time) and for random strings: the text comes back
// with each invalid UTF-8 byte as U+FFFD.
func TestAppendString(t *testing.T) {
	want := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r) // RuneError for an invalid byte
			i += n
		}
		return b.String()
	}
	check := func(s string) {
		t.Helper()
		out := appendString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q → %s: %v", s, out, err)
		}
		if got != want(s) {
			t.Fatalf("%q → %s → %q", s, out, got)
		}
		if bytes.ContainsAny(out, "\u2028\u2029") {
			t.Fatalf("%q → %s keeps a line separator", s, out)
		}
	}
	base := "abcdefghijklmnopqrstuvwx"
	for c := 0; c < 256; c++ {
		for at := 0; at < 17; at++ {
			check(base[:at] + string(rune(c))[:1] + base[at:])
			check(base[:at] + string([]byte{byte(c)}) + base[at:])
		}
	}
	for _, s := range []string{"", "\u2028", "x\u2029yyyyyyyyy", "é", "日本語の文字列ですよ", "\xff\xfe", `"\"`, "\x00\x1f\x7f"} {
		check(s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.IntN(40))
		for j := range b {
			switch rng.IntN(4) {
			case 0:
				b[j] = byte(rng.IntN(256))
			default:
				b[j] = byte(0x20 + rng.IntN(0x5f))
			}
		}
		check(string(b))
	}
}

func BenchmarkAppendString(b *testing.B) {
	s := `2026-01-05T00:00:05.031072+00:00 web1 sshd[2613]: error: kex_exchange_identification: client sent invalid protocol identifier "GET / HTTP/1.1"`
	buf := make([]byte, 0, 512)
	b.SetBytes(int64(len(s)))
	for i := 0; i < b.N; i++ {
		buf = appendString(buf[:0], s)
	}
}

// AppendJSON and UnmarshalJSON round-trip an event, the optional fields
// included; absent ones are left out rather than written empty.
func TestJSONRoundTrip(t *testing.T) {
	end := time.Date(2026, 11, 23, 10, 0, 5, 123000000, time.UTC)
	for _, ev := range []Event{
		{ID: "a", Start: end.Add(-5 * time.Second), End: end, Prec: 3, Host: "h", PID: 7, SrcIP: "fe80::1", SrcPort: 22,
			Remote: "fe80::1%eth0", User: "u", Cause: "probe", Confidence: "certain", Phase: "preauth", DurationS: 5, Lines: []string{"x"}},
		{ID: "b", End: end, Prec: 3, StartUnknown: true, Host: "h", Cause: "user_logout", Confidence: "inferred", Phase: "postauth", Lines: []string{"y"}},
		{ID: "c", Start: end, End: end, Prec: 3, Open: true, Phase: "postauth", Lines: []string{"z"}},
	} {
		b := AppendJSON(nil, &ev)
		var back Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !back.Start.Equal(ev.Start) || !back.End.Equal(ev.End) {
			t.Errorf("%s: times %v %v", b, back.Start, back.End)
		}
		back.Start, back.End, ev.Start, ev.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if fmt.Sprint(back) != fmt.Sprint(ev) {
			t.Errorf("round trip\n got %+v\nwant %+v", back, ev)
		}
		for field, absent := range map[string]bool{`"start":`: ev.ID == "b", `"duration_s"`: ev.StartUnknown,
			`"cause"`: ev.Open, `"confidence"`: ev.Open, `"remote"`: ev.Remote == "", `"open"`: !ev.Open, `"start_unknown"`: !ev.StartUnknown} {
			if bytes.Contains(b, []byte(field)) == absent {
				t.Errorf("%s: %s present = %v", b, field, !absent)
			}
		}
	}
	// The field order of the index's copy of the schema: remote right after src_port.
	b := string(AppendJSON(nil, &Event{ID: "a", End: end, SrcIP: "1.2.3.4", SrcPort: 5, Remote: "r", User: "u"}))
	if i, j, k := strings.Index(b, `"src_port"`), strings.Index(b, `"remote"`), strings.Index(b, `"user"`); !(i < j && j < k) {
		t.Errorf("field order: %s", b)
	}
}

// An Encoder writes the times appendTime writes, whatever it wrote before:
// runs of times in the same second and minute, in other zones, other
// precisions, and years beyond 0-9999.
func TestEncoderTime(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("ny", -5*3600)
	}
	zones := []*time.Location{time.UTC, ny, time.FixedZone("odd", 3*3600+17), time.FixedZone("y", -(5*3600 + 30*60))}
	r := rand.New(rand.NewPCG(3, 4))
	var e Encoder
	base := time.Date(2026, 3, 8, 6, 59, 58, 0, time.UTC) // a DST change in New York
	for i := 0; i < 50000; i++ {
		var tm time.Time
		switch r.IntN(10) {
		case 0:
			tm = time.Unix(r.Int64N(1<<40)-1<<39, r.Int64N(1e9)) // any year
		case 1:
			tm = time.Time{}
		case 2:
			tm = base.Add(time.Duration(r.Int64N(300e9))) // minutes around it
		default:
			tm = base.Add(time.Duration(r.Int64N(4e9)))
		}
		tm = tm.In(zones[r.IntN(len(zones))])
		prec := int8(r.IntN(12)) - 1
		if got, want := e.appendTime(nil, tm, prec), appendTime(nil, tm, prec); string(got) != string(want) {
			t.Fatalf("%v prec %d: %s, want %s", tm, prec, got, want)
		}
	}
}

// appendSeconds is strconv.AppendFloat's 'f', -1 text for every value.
func TestAppendSeconds(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 3, 0.5, -2.25, 1e-9, 1 << 53, 1<<53 + 2, -(1 << 53), 1 << 62,
		1e21, -1e300, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN()}
	r := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		vals = append(vals, float64(r.Int64N(1<<40)-1<<39), r.NormFloat64()*1e6, math.Float64frombits(r.Uint64()))
	}
	for _, d := range vals {
		if got, want := appendSeconds(nil, d), strconv.AppendFloat(nil, d, 'f', -1, 64); string(got) != string(want) {
			t.Fatalf("appendSeconds(%v) = %s, want %s", d, got, want)
		}
	}
}

// notPlain8 flags every word with a byte that is not plainJSON, and no
// word of plain bytes: each byte value at each place among plain bytes,
// and random words.
func TestNotPlain8(t *testing.T) {
	plain := func(w uint64) bool {
		for i := range 8 {
			if !plainJSON[byte(w>>(8*i))] {
				return false
			}
		}
		return true
	}
	check := func(w uint64) {
		if got := notPlain8(w) == 0; got != plain(w) {
			t.Fatalf("notPlain8(%#016x) == 0 is %v, want %v", w, got, !got)
		}
	}
	r := rand.New(rand.NewPCG(9, 10))
	for range 2000 {
		var fill uint64 // plain bytes
		for i := range 8 {
			fill |= uint64(0x20+r.IntN(0x5f)) << (8 * i)
		}
		if !plain(fill) {
			fill = 0x6161616161616161
		}
		for c := range 256 {
			for at := range 8 {
				check(fill&^(0xff<<(8*at)) | uint64(c)<<(8*at))
			}
		}
		check(r.Uint64())
	}
}

// plainPrefix (SSE2 on amd64) and plainPrefixGo agree with a byte-by-byte
// scan: every byte value at every place of plain strings of 0 to 70
// bytes, a second bad byte after it, and random strings.
func TestPlainPrefix(t *testing.T) {
	scan := func(s string) int {
		i := 0
		for i < len(s) && plainJSON[s[i]] {
			i++
		}
		return i
	}
	check := func(s string) {
		want := scan(s)
		if got := plainPrefix(s); got != want {
			t.Fatalf("plainPrefix(%q) = %d, want %d", s, got, want)
		}
		if got := plainPrefixGo(s); got != want {
			t.Fatalf("plainPrefixGo(%q) = %d, want %d", s, got, want)
		}
	}
	r := rand.New(rand.NewPCG(11, 12))
	fill := make([]byte, 70)
	for i := range fill {
		fill[i] = byte(0x20 + r.IntN(0x5f))
		if !plainJSON[fill[i]] {
			fill[i] = 'a'
		}
	}
	b := make([]byte, 70)
	for n := 0; n <= len(fill); n++ {
		check(string(fill[:n]))
		for at := range n {
			for c := range 256 {
				copy(b, fill[:n])
				b[at] = byte(c)
				check(string(b[:n]))
				if at+3 < n {
					b[at+3] = '"'
					check(string(b[:n]))
				}
			}
		}
	}
	for range 20000 {
		n := r.IntN(200)
		s := make([]byte, n)
		for i := range s {
			if r.IntN(40) == 0 {
				s[i] = byte(r.IntN(256))
			} else {
				s[i] = byte(0x20 + r.IntN(0x5f))
			}
		}
		check(string(s))
	}
}
