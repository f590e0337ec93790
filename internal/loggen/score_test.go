package loggen

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// eventsFromTruth renders truth records as sshwhy would print them, with
// edits applied: a perfect classifier is the identity.
func eventsFromTruth(t *testing.T, truth []Truth, edit func(i int, e map[string]any) bool) string {
	t.Helper()
	var b bytes.Buffer
	for i, r := range truth {
		e := map[string]any{
			"host": r.Host, "pid": r.PID, "src_ip": r.SrcIP, "src_port": r.SrcPort,
			"start": r.Start, "end": r.End, "cause": r.Cause, "lines": []string{"x"},
		}
		if edit != nil && !edit(i, e) {
			continue
		}
		if err := json.NewEncoder(&b).Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func TestScore(t *testing.T) {
	cfg := testConfig(5000)
	var log, tb bytes.Buffer
	if _, err := Generate(&log, &tb, cfg); err != nil {
		t.Fatal(err)
	}
	_, truth := generate(t, cfg)
	n := len(truth)
	if n < 100 {
		t.Fatalf("only %d connections", n)
	}

	for _, tc := range []struct {
		name                        string
		edit                        func(i int, e map[string]any) bool
		extra                       string
		matched, correct, confusion int
		missed, spurious            int
	}{
		{"perfect", nil, "", n, n, 0, 0, 0},
		{"BSD year and zone lost", func(i int, e map[string]any) bool {
			// a classifier reading BSD stamps guesses the year and zone
			e["start"] = e["start"].(time.Time).AddDate(-1, 0, 0).In(time.FixedZone("", 0))
			e["end"] = e["end"].(time.Time).AddDate(-1, 0, 0)
			return true
		}, "", n, n, 0, 0, 0},
		{"no ports: match on pid", func(i int, e map[string]any) bool {
			delete(e, "src_port")
			return true
		}, "", n, n, 0, 0, 0},
		{"every 10th wrong", func(i int, e map[string]any) bool {
			if i%10 == 0 {
				e["cause"] = "unknown"
			}
			return true
		}, "", n, n - (n+9)/10, -1, 0, 0},
		{"every 7th missing", func(i int, e map[string]any) bool { return i%7 != 0 }, "", n - (n+6)/7, n - (n+6)/7, 0, (n + 6) / 7, 0},
		{"spurious", nil, `{"host":"web9","pid":1,"src_ip":"192.0.2.1","src_port":1,"start":"2026-01-05T00:00:00Z","end":"2026-01-05T00:00:00Z","cause":"probe","lines":["junk"]}` + "\n", n, n, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events := eventsFromTruth(t, truth, tc.edit) + tc.extra
			rep, err := Score(strings.NewReader(tb.String()), strings.NewReader(events))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Truth != n || rep.Matched != tc.matched || rep.Correct != tc.correct {
				t.Errorf("truth %d matched %d correct %d, want %d %d %d", rep.Truth, rep.Matched, rep.Correct, n, tc.matched, tc.correct)
			}
			missed, spurious := 0, 0
			for _, v := range rep.Missed {
				missed += v
			}
			for _, v := range rep.Spurious {
				spurious += v
			}
			if missed != tc.missed || spurious != tc.spurious {
				t.Errorf("missed %d spurious %d, want %d %d", missed, spurious, tc.missed, tc.spurious)
			}
			if tc.confusion >= 0 && len(rep.Confusions) != tc.confusion {
				t.Errorf("%d confusions, want %d", len(rep.Confusions), tc.confusion)
			}
			if tc.confusion < 0 && len(rep.Confusions) == 0 {
				t.Error("no confusions reported")
			}
			var out bytes.Buffer
			if err := rep.Write(&out); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "| cause | truth |") {
				t.Errorf("report lacks the table:\n%s", out.String())
			}
		})
	}
}

func TestScoreBadInput(t *testing.T) {
	if _, err := Score(strings.NewReader("{not json"), strings.NewReader("")); err == nil {
		t.Error("bad truth: no error")
	}
	if _, err := Score(strings.NewReader(""), strings.NewReader("[1,2]")); err == nil {
		t.Error("bad events: no error")
	}
}
