package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	in := strings.Join([]string{
		"Jan  5 00:00:01 web1 sshd[5273]: Invalid user test from 54.9.186.249 port 54458",
		"Jan  5 00:00:01 web1 sshd[5277]: Invalid user \"x\" from 87.201.176.83 port 63391",
		"Jan  5 00:00:02 web1 CRON[1]: not sshd, no pid bracket",
		"no header at all",
		"Jan  5 00:00:04 web1 sshd[5273]: Connection closed by invalid user test 54.9.186.249 port 54458 [preauth]",
		"Jan  5 00:00:06 web1 sshd[5277]: Disconnected from invalid user x 87.201.176.83 port 63391 [preauth]",
		"Jan  5 00:00:07 web1 sshd[9]: Accepted password for a from 10.0.0.1 port 1 ssh2",
	}, "\n") + "\n"
	var out bytes.Buffer
	lines, events, err := run(strings.NewReader(in), &out)
	if err != nil || lines != 7 || events != 2 {
		t.Fatalf("run = %d lines, %d events, %v; want 7, 2, nil", lines, events, err)
	}
	want := [][]string{
		{"Jan  5 00:00:01 web1 sshd[5273]: Invalid user test from 54.9.186.249 port 54458",
			"Jan  5 00:00:04 web1 sshd[5273]: Connection closed by invalid user test 54.9.186.249 port 54458 [preauth]"},
		{"Jan  5 00:00:01 web1 sshd[5277]: Invalid user \"x\" from 87.201.176.83 port 63391",
			"Jan  5 00:00:06 web1 sshd[5277]: Disconnected from invalid user x 87.201.176.83 port 63391 [preauth]"},
	}
	dec := json.NewDecoder(&out)
	for i, w := range want {
		var ev struct{ Lines []string }
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if strings.Join(ev.Lines, "\n") != strings.Join(w, "\n") {
			t.Errorf("event %d lines = %q, want %q", i, ev.Lines, w)
		}
	}
	if dec.More() {
		t.Error("more than two events written")
	}
}
