package loggen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"
)

// Scoring compares sshwhy's events (`sshwhy classify --format json`) with
// the truth file of the same generated log.
//
// An event is matched to the truth record of the same host and source
// address and port (or, when the event has no port, the same host and pid)
// whose first line is nearest to the event's start. Times are compared as
// wall-clock times (a BSD timestamp has no year or zone, so an event's year
// and zone are not trusted).

// scoredEvent is the part of an sshwhy event that scoring reads.
type scoredEvent struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	SrcIP   string    `json:"src_ip"`
	SrcPort int       `json:"src_port"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Cause   string    `json:"cause"`
	Rule    string    `json:"rule"`
	Detail  string    `json:"detail"`
	Lines   []string  `json:"lines"`
}

// Report is the outcome of Score.
type Report struct {
	Truth, Events, Matched, Correct int
	ByCause                         map[string]*CauseScore // keyed by cause
	Confusions                      []Confusion            // truth cause ≠ event cause, most frequent first
	Spurious                        map[string]int         // events matching no truth record, by event cause
	Missed                          map[string]int         // truth records no event matched, by truth cause
	SpuriousExample                 map[string]string      // one event per cause, as evidence lines
	MissedExample                   map[string]string      // one truth record per cause, as JSON
}

// CauseScore counts one cause: Truth records with it, how many an event
// matched (Found), how many of those the event gave the same cause
// (Correct), and how many matched events claimed it (Claimed).
type CauseScore struct {
	Truth, Found, Correct, Claimed int
}

// Confusion is one (truth cause, event cause) pair with its count and an
// example.
type Confusion struct {
	Truth, Got string
	Count      int
	Scenario   string // generator scenario of the example
	Example    string // the example event's evidence lines
	Rule       string // the example event's rule and detail
}

type truthRec struct {
	Truth
	matched bool
}

// Score reads the truth JSON lines and the events JSON lines and compares
// them.
func Score(truth, events io.Reader) (*Report, error) {
	var recs []truthRec
	dec := json.NewDecoder(bufio.NewReaderSize(truth, 1<<20))
	for {
		var t Truth
		if err := dec.Decode(&t); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("truth record %d: %v", len(recs)+1, err)
		}
		recs = append(recs, truthRec{Truth: t})
	}
	byAddr := make(map[string][]int32, len(recs))
	byPID := make(map[string][]int32, len(recs))
	for i := range recs {
		t := &recs[i].Truth
		byAddr[addrKey(t.Host, t.SrcIP, t.SrcPort)] = append(byAddr[addrKey(t.Host, t.SrcIP, t.SrcPort)], int32(i))
		byPID[pidKey(t.Host, t.PID)] = append(byPID[pidKey(t.Host, t.PID)], int32(i))
		if t.ChildPID != 0 {
			byPID[pidKey(t.Host, t.ChildPID)] = append(byPID[pidKey(t.Host, t.ChildPID)], int32(i))
		}
	}

	rep := &Report{
		Truth:           len(recs),
		ByCause:         make(map[string]*CauseScore),
		Spurious:        make(map[string]int),
		Missed:          make(map[string]int),
		SpuriousExample: make(map[string]string),
		MissedExample:   make(map[string]string),
	}
	cause := func(c string) *CauseScore {
		s := rep.ByCause[c]
		if s == nil {
			s = &CauseScore{}
			rep.ByCause[c] = s
		}
		return s
	}
	for i := range recs {
		cause(recs[i].Cause).Truth++
	}
	conf := make(map[[2]string]*Confusion)

	edec := json.NewDecoder(bufio.NewReaderSize(events, 1<<20))
	for {
		var e scoredEvent
		if err := edec.Decode(&e); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("event %d: %v", rep.Events+1, err)
		}
		rep.Events++
		var cands []int32
		if e.SrcPort != 0 {
			cands = byAddr[addrKey(e.Host, e.SrcIP, e.SrcPort)]
		} else {
			cands = byPID[pidKey(e.Host, e.PID)]
		}
		best := -1
		var bestD time.Duration
		for _, ci := range cands {
			r := &recs[ci]
			if r.matched || (e.SrcIP != "" && r.SrcIP != e.SrcIP) {
				continue
			}
			d := wallDiff(e.Start, r.Start)
			if d > 10*time.Minute && wallDiff(e.End, r.End) > 10*time.Minute {
				continue
			}
			if best < 0 || d < bestD {
				best, bestD = int(ci), d
			}
		}
		if best < 0 {
			rep.Spurious[e.Cause]++
			if _, ok := rep.SpuriousExample[e.Cause]; !ok {
				rep.SpuriousExample[e.Cause] = joinLines(e.Lines)
			}
			continue
		}
		r := &recs[best]
		r.matched = true
		rep.Matched++
		cs := cause(r.Cause)
		cs.Found++
		cause(e.Cause).Claimed++
		if e.Cause == r.Cause {
			rep.Correct++
			cs.Correct++
			continue
		}
		k := [2]string{r.Cause, e.Cause}
		c := conf[k]
		if c == nil {
			c = &Confusion{Truth: r.Cause, Got: e.Cause, Scenario: r.Scenario, Example: joinLines(e.Lines), Rule: e.Rule + " " + e.Detail}
			conf[k] = c
		}
		c.Count++
	}
	for i := range recs {
		if !recs[i].matched {
			rep.Missed[recs[i].Cause]++
			if _, ok := rep.MissedExample[recs[i].Cause]; !ok {
				b := appendTruth(nil, &recs[i].Truth)
				rep.MissedExample[recs[i].Cause] = string(b[:len(b)-1])
			}
		}
	}
	for _, c := range conf {
		rep.Confusions = append(rep.Confusions, *c)
	}
	sort.Slice(rep.Confusions, func(i, j int) bool {
		a, b := rep.Confusions[i], rep.Confusions[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Truth+a.Got < b.Truth+b.Got
	})
	return rep, nil
}

func addrKey(host, ip string, port int) string {
	return host + "\x00" + ip + "\x00" + strconv.Itoa(port)
}

func pidKey(host string, pid int) string {
	return host + "\x00" + strconv.Itoa(pid)
}

// wallDiff is |a-b| comparing the clock readings only, ignoring year and
// zone (a BSD syslog timestamp carries neither).
func wallDiff(a, b time.Time) time.Duration {
	wall := func(t time.Time) time.Time {
		_, mo, d := t.Date()
		h, mi, s := t.Clock()
		return time.Date(2000, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
	}
	d := wall(a).Sub(wall(b))
	if d < 0 {
		d = -d
	}
	return d
}

func joinLines(ls []string) string {
	s := ""
	for i, l := range ls {
		if i == 6 {
			s += fmt.Sprintf("\n    … %d more", len(ls)-i)
			break
		}
		if i > 0 {
			s += "\n    "
		}
		s += l
	}
	return s
}

// Write prints the report as Markdown.
func (r *Report) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	pct := func(a, b int) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
	}
	fmt.Fprintf(bw, "truth records: %d, events: %d, matched: %d (%s of truth), correct cause: %d (%s of truth, %s of matched)\n\n",
		r.Truth, r.Events, r.Matched, pct(r.Matched, r.Truth), r.Correct, pct(r.Correct, r.Truth), pct(r.Correct, r.Matched))
	fmt.Fprintln(bw, "| cause | truth | matched | correct | recall | precision |")
	fmt.Fprintln(bw, "|---|---:|---:|---:|---:|---:|")
	names := make([]string, 0, len(r.ByCause))
	for c := range r.ByCause {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		s := r.ByCause[c]
		fmt.Fprintf(bw, "| %s | %d | %d | %d | %s | %s |\n", c, s.Truth, s.Found, s.Correct, pct(s.Correct, s.Truth), pct(s.Correct, s.Claimed))
	}
	if len(r.Confusions) > 0 {
		fmt.Fprintln(bw, "\nConfusions (truth → sshwhy), with one example each:")
		for _, c := range r.Confusions {
			fmt.Fprintf(bw, "\n- %s → %s: %d (scenario %s; rule %s)\n    %s\n", c.Truth, c.Got, c.Count, c.Scenario, c.Rule, c.Example)
		}
	}
	if len(r.Missed) > 0 {
		fmt.Fprintln(bw, "\nTruth records with no event:")
		for _, c := range sortedKeys(r.Missed) {
			fmt.Fprintf(bw, "- %s: %d, e.g. %s\n", c, r.Missed[c], r.MissedExample[c])
		}
	}
	if len(r.Spurious) > 0 {
		fmt.Fprintln(bw, "\nEvents matching no truth record:")
		for _, c := range sortedKeys(r.Spurious) {
			fmt.Fprintf(bw, "- %s: %d, e.g.\n    %s\n", c, r.Spurious[c], r.SpuriousExample[c])
		}
	}
	return bw.Flush()
}

func sortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
