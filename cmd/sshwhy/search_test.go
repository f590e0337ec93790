package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
)

const sampleLog = "../../testdata/sample/auth.log"

// TestIndexRoundTrip: the events of a real sshd log, classified, indexed
// and searched back, are the classifier's events, and counts by cause agree.
func TestIndexRoundTrip(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	classified, _, err := runCmd(t, "", "classify", "--format", "json", sampleLog)
	if err != nil {
		t.Fatal(err)
	}
	var want []string // the ended connections: the index stores no open ones (yet)
	for _, l := range strings.Split(strings.TrimSpace(classified), "\n") {
		if !strings.Contains(l, `"open":true`) {
			want = append(want, l)
		}
	}
	_, summary, err := runCmd(t, "", "index", "--data", data, sampleLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(summary, "indexed 27 events into 1 day shard(s)") {
		t.Errorf("summary: %s", summary)
	}
	// Again: the second run adds nothing. (Not the file twice in one run:
	// its connections still open at the end would meet their own first
	// lines again, as pids reused.)
	if _, _, err := runCmd(t, "", "index", "--data", data, sampleLog); err != nil {
		t.Fatal(err)
	}
	found, _, err := runCmd(t, "", "search", "--data", data, "--format", "json", "--limit", "0")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(found), "\n")
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("search returned other events than classify:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Counts by cause equal the classifier's.
	byCause := map[string]int{}
	for _, l := range want {
		var ev classify.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		byCause[string(ev.Cause)]++
	}
	counts, _, err := runCmd(t, "", "search", "--data", data, "--count-by", "cause", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(counts), "\n") {
		var b struct {
			Value string
			Count int
		}
		if err := json.Unmarshal([]byte(l), &b); err != nil {
			t.Fatal(err)
		}
		if byCause[b.Value] != b.Count {
			t.Errorf("count of %s: %d, classify says %d", b.Value, b.Count, byCause[b.Value])
		}
		n++
	}
	if n != len(byCause) {
		t.Errorf("%d causes counted, classify has %d", n, len(byCause))
	}
	// Every event is found again by its own cause, address, user and time.
	for _, l := range want {
		var ev classify.Event
		json.Unmarshal([]byte(l), &ev)
		args := []string{"search", "--data", data, "--format", "json", "--limit", "0",
			"--cause", string(ev.Cause), "--since", ev.End.Format(time.RFC3339Nano), "--until", ev.End.Format(time.RFC3339Nano)}
		if ev.SrcIP != "" {
			args = append(args, "--ip", ev.SrcIP)
		}
		if ev.User != "" {
			args = append(args, "--user", ev.User)
		}
		out, _, err := runCmd(t, "", args...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, `"id":"`+ev.ID+`"`) {
			t.Errorf("event %s (%s) not found by %v", ev.ID, ev.Cause, args[5:])
		}
	}
	// And by free text from its evidence.
	out, _, err := runCmd(t, "", "search", "--data", data, "--format", "json", `"not listed in AllowUsers"`)
	if err != nil || !strings.Contains(out, `"cause":"access_denied"`) {
		t.Errorf("free text: %v\n%s", err, out)
	}
}

func TestSearchOutputIsSafe(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	log := hostile + "Nov 23 10:01:00 srv sshd[700]: Invalid user =HYPERLINK(\"http://x\") from ::ffff:198.51.100.4 port 40041\n" +
		"Nov 23 10:01:01 srv sshd[700]: Connection closed by invalid user =HYPERLINK(\"http://x\") ::ffff:198.51.100.4 port 40041 [preauth]\n"
	if _, _, err := runCmd(t, "", "index", "--data", data, writeTemp(t, "auth.log", log)); err != nil {
		t.Fatal(err)
	}
	table, _, err := runCmd(t, "", "search", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(table, "\x1b\x07") || !strings.Contains(table, `\x1b]0;owned\ax from 6.6.6.6 po…`) {
		t.Errorf("table:\n%q", table)
	}
	csv, _, err := runCmd(t, "", "search", "--data", data, "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(csv, "\x1b\x07") || !strings.Contains(csv, `"'=HYPERLINK(""http://x"")"`) {
		t.Errorf("csv:\n%s", csv)
	}
	counts, _, err := runCmd(t, "", "search", "--data", data, "--count-by", "user")
	if err != nil || strings.ContainsAny(counts, "\x1b\x07") {
		t.Errorf("counts (%v):\n%q", err, counts)
	}
	ips, _, err := runCmd(t, "", "search", "--data", data, "--format", "ips")
	if err != nil || ips != "198.51.100.4\n203.0.113.7\n" {
		t.Errorf("ips (%v):\n%q", err, ips)
	}
	js, _, err := runCmd(t, "", "search", "--data", data, "--format", "json", "--user", "\x1b]0;owned\x07x from 6.6.6.6 port 22")
	if err != nil || !strings.Contains(js, `"src_ip":"203.0.113.7"`) || strings.Count(js, "\n") != 1 {
		t.Errorf("json by hostile user (%v):\n%s", err, js)
	}
}

func TestSearchErrorsAndEmpty(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if _, _, err := runCmd(t, "", "index", "--data", data, sampleLog); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--since", "last tuesday"}, 2, `--since: "last tuesday" is neither an age`},
		{[]string{"--until", "2026-02-30"}, 2, "--until"},
		{[]string{"--ip", "10.0.0.0/99"}, 2, `--ip: bad query: "10.0.0.0/99"`},
		{[]string{"--cause", "timeout"}, 2, `--cause: bad query: unknown cause "timeout"`},
		{[]string{"--phase", "during"}, 2, "--phase"},
		{[]string{"--since", "1h", "--until", "2h"}, 2, "ends"},
		{[]string{"user:"}, 2, `QUERY: bad query: "user:": user: needs a value`},
		{[]string{"duration_s:>abc"}, 2, `duration_s takes a number, not "abc"`},
		{[]string{"("}, 2, "parentheses do not group terms"},
		{[]string{"/[a-z/"}, 2, "bad regexp"},
		{[]string{"caus:client_timeout"}, 2, `unknown field "caus" (fields: cause, user,`},
		{[]string{"cause:client_timout"}, 2, `unknown cause "client_timout" (causes: user_logout,`},
		{[]string{"phase:pre"}, 2, `unknown phase "pre"`},
		{[]string{"confidence:sure"}, 2, `unknown confidence "sure"`},
		{[]string{"probe AND vm"}, 2, "AND is not an operator"},
		{[]string{"+host:vm user:root"}, 2, "has no sign"},
		{[]string{"--sort", "lines"}, 2, `cannot sort by "lines"`},
		{[]string{"--count-by", "detail"}, 2, `cannot count by "detail"`},
		{[]string{"--format", "xml"}, 2, "--format must be"},
		{[]string{"--limit", "-1"}, 2, "--limit"},
		{[]string{"--data", filepath.Join(data, "nope")}, 1, "no index at"},
		{[]string{"--data", "/etc"}, 1, "is not an sshwhy data directory"},
	}
	for _, tt := range tests {
		args := append([]string{"search", "--data", data}, tt.args...)
		_, _, err := runCmd(t, "", args...)
		if err == nil {
			t.Errorf("%v: no error", tt.args)
			continue
		}
		if exitCode(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: exit %d %q, want %d %q", tt.args, exitCode(err), err, tt.code, tt.want)
		}
	}
	out, errOut, err := runCmd(t, "", "search", "--data", data, "--format", "json", "--cause", "grace_timeout")
	if err != nil || out != "" || !strings.Contains(errOut, "no events match") {
		t.Errorf("empty json: %v %q %q", err, out, errOut)
	}
	out, _, err = runCmd(t, "", "search", "--data", data, "--cause", "grace_timeout")
	if err != nil || !strings.Contains(out, "no events match") {
		t.Errorf("empty table: %v %q", err, out)
	}
}

func TestIndexInUse(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	w, err := index.OpenWriter(data, index.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	start := time.Now()
	_, _, err = runCmd(t, "", "index", "--data", data, "--lock-timeout", "200ms", sampleLog)
	if !errors.Is(err, index.ErrInUse) || !strings.Contains(err.Error(), "index is in use") {
		t.Errorf("second writer: %v", err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("second writer gave up only after %v", d)
	}
}

func TestIndexRetain(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	// The sample's events are from 2026-11-23; anything from 2020 is past any retention.
	old := "2020-01-01T10:00:00.000000+00:00 srv sshd[9]: Connection closed by 192.0.2.1 port 4000 [preauth]\n"
	if _, _, err := runCmd(t, "", "index", "--data", data, writeTemp(t, "old.log", old)); err != nil {
		t.Fatal(err)
	}
	shards, _ := index.Shards(data)
	if len(shards) != 1 {
		t.Fatalf("shards %v", shards)
	}
	// The same content again: the checkpoint knows it, --from-start reads it anyway.
	_, errOut, err := runCmd(t, "", "index", "--data", data, "--retain", "90d", "--from-start", writeTemp(t, "old2.log", old))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "skipped 1 events older than --retain") || !strings.Contains(errOut, "removed 1 day shard(s) past --retain: 2020-01-01") {
		t.Errorf("summary: %s", errOut)
	}
	if shards, _ := index.Shards(data); len(shards) != 0 {
		t.Errorf("shards left: %v", shards)
	}
	if _, _, err := runCmd(t, "", "index", "--data", data, "--retain", "ninety days", sampleLog); exitCode(err) != 2 {
		t.Errorf("bad --retain: %v", err)
	}
}

func TestIndexEventsWithoutTime(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	bare := "Connection closed by 192.0.2.1 port 4000 [preauth]\n"
	_, errOut, err := runCmd(t, "", "index", "--data", data, "--program", "sshd", writeTemp(t, "bare.log", bare))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "indexed 0 events") || !strings.Contains(errOut, "1 events without a usable time were not indexed") {
		t.Errorf("summary: %s", errOut)
	}
}

// TestSearchQueryValues: exact fields take quoted and unquoted values
// alike (a user name with a space, IPv6 without backslashes), and an
// address logged IPv4-mapped is one address for --ip, src_ip:,
// --count-by src_ip and -o ips.
func TestSearchQueryValues(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	log := "Nov 23 10:00:00 srv sshd[700]: Invalid user john smith from 203.0.113.9 port 4000\n" +
		"Nov 23 10:00:01 srv sshd[700]: Connection closed by invalid user john smith 203.0.113.9 port 4000 [preauth]\n" +
		"Nov 23 10:01:00 srv sshd[701]: Connection closed by ::ffff:198.51.100.4 port 4001 [preauth]\n" +
		"Nov 23 10:02:00 srv sshd[702]: Connection closed by 198.51.100.4 port 4002 [preauth]\n" +
		"Nov 23 10:03:00 srv sshd[703]: Connection closed by 2001:db8::7 port 4003 [preauth]\n"
	if _, _, err := runCmd(t, "", "index", "--data", data, writeTemp(t, "auth.log", log)); err != nil {
		t.Fatal(err)
	}
	count := func(args ...string) int {
		t.Helper()
		out, _, err := runCmd(t, "", append([]string{"search", "--data", data, "--format", "json", "--limit", "0"}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return strings.Count(out, "\n")
	}
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{`user:"john smith"`}, 1},
		{[]string{`user:john\ smith`}, 1},
		{[]string{"--user", "john smith"}, 1},
		{[]string{`host:"srv"`}, 4},
		{[]string{`cause:"probe"`}, 3},
		{[]string{"src_ip:2001:db8::7"}, 1},
		{[]string{`src_ip:"2001:db8::7"`}, 1},
		{[]string{"ip:2001:db8::/32"}, 1},
		{[]string{"--ip", "198.51.100.4"}, 2},
		{[]string{"--ip", "::ffff:198.51.100.4"}, 2},
		{[]string{"src_ip:198.51.100.4"}, 2},
		{[]string{"src_ip:::ffff:198.51.100.4"}, 2},
		{[]string{"ip:198.51.100.0/24"}, 2},
		{[]string{"ip:::/0"}, 1},
		{[]string{"--", "-src_ip:198.51.100.4"}, 2},
	} {
		if got := count(tt.args...); got != tt.want {
			t.Errorf("%v: %d events, want %d", tt.args, got, tt.want)
		}
	}
	counts, _, err := runCmd(t, "", "search", "--data", data, "--count-by", "src_ip", "--format", "json")
	if err != nil || !strings.Contains(counts, `{"value":"198.51.100.4","count":2}`) || strings.Contains(counts, "::ffff:") {
		t.Errorf("count by src_ip (%v):\n%s", err, counts)
	}
	ips, _, err := runCmd(t, "", "search", "--data", data, "--format", "ips")
	if err != nil || ips != "198.51.100.4\n203.0.113.9\n2001:db8::7\n" {
		t.Errorf("ips (%v):\n%s", err, ips)
	}
}

// TestIndexLeavesGCAlone: indexing sets no process-wide GC settings (a
// daemon indexes and searches in one process); the writer bounds its
// memory by its batches instead (docs/benchmarks-index.md).
func TestIndexLeavesGCAlone(t *testing.T) {
	gc, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	debug.SetGCPercent(gc)
	data := filepath.Join(t.TempDir(), "data")
	if _, _, err := runCmd(t, "", "index", "--data", data, sampleLog); err != nil {
		t.Fatal(err)
	}
	after := debug.SetGCPercent(gc)
	if after != gc || debug.SetMemoryLimit(-1) != limit {
		t.Errorf("sshwhy index changed GOGC %d → %d or the memory limit (%d)", gc, after, debug.SetMemoryLimit(-1))
	}
}
