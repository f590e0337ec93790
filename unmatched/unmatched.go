// Package unmatched keeps the sshd lines no rule knows, grouped by shape,
// so a new OpenSSH message is noticed the morning it appears.
//
// A shape is the message with what varies between connections replaced by
// placeholders: addresses (<ip>), numbers (<n>), long hex strings (<hex>),
// key fingerprints (<fp>) and quoted text ('<s>'). The rest of an unknown
// message may be written by an attacker (a user name, a banner), so the
// number of shapes per day, the samples per shape and their lengths are
// bounded; lines beyond the bound are still counted, under OtherShape.
// Output must escape shapes and samples (they are stored as logged, only
// made valid UTF-8).
//
// A Recorder is fed every unmatched line (Add) and saved per UTC day under
// DATA/unmatched/YYYY-MM-DD.json (Save). Saving merges with what the file
// holds, so separate runs add up; it is not idempotent: feeding the same
// lines twice counts them twice (an agent replaying its last batch after a
// crash counts that batch's unmatched lines again).
package unmatched

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/ingest"
)

// Limits on what is kept; counts are always exact.
const (
	MaxShapes    = 200 // shapes per day; further lines count under OtherShape
	MaxSamples   = 3   // samples kept per shape and day
	MaxSampleLen = 512 // bytes of a sample line kept
	MaxShapeLen  = 240 // bytes of a shape kept
)

// OtherShape collects the lines of a day beyond MaxShapes shapes.
const OtherShape = "(shapes beyond the daily limit)"

// Subdir is the directory under the data directory that holds the files.
const Subdir = "unmatched"

// fileVersion is the version of the day file format.
const fileVersion = 1

// Sample is one line as logged (cut at MaxSampleLen).
type Sample struct {
	Time time.Time `json:"time"`
	Line string    `json:"line"`
}

// Shape is one group of lines.
type Shape struct {
	Program string    `json:"program"`
	Shape   string    `json:"shape"`
	Count   int       `json:"count"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
	// Hours counts the lines per UTC hour of the day (in a Day); in a
	// Summary it is nil.
	Hours   []int    `json:"hours,omitempty"`
	Samples []Sample `json:"samples"`
}

// Day is the content of one day's file.
type Day struct {
	Version int      `json:"version"`
	Day     string   `json:"day"` // YYYY-MM-DD, UTC
	Total   int      `json:"total"`
	Shapes  []*Shape `json:"shapes"` // by count, largest first
}

type key struct{ program, shape string }

// Recorder groups unmatched lines in memory until Save. It is safe for
// concurrent use.
type Recorder struct {
	mu      sync.Mutex
	days    map[string]*dayShapes
	undated *dayShapes // lines without a timestamp (kept in memory only)
}

type dayShapes struct {
	day    Day
	byKey  map[key]*Shape
	others *Shape
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{days: map[string]*dayShapes{}} }

// Add records one unmatched line.
func (r *Recorder) Add(l *ingest.Line) {
	if l == nil {
		return
	}
	prog := clean(l.Program, 64)
	shape := Of(l.Message)
	r.mu.Lock()
	defer r.mu.Unlock()
	var d *dayShapes
	if l.Time.IsZero() {
		if r.undated == nil {
			r.undated = newDay("")
		}
		d = r.undated
	} else {
		name := l.Time.UTC().Format(time.DateOnly)
		if d = r.days[name]; d == nil {
			d = newDay(name)
			r.days[name] = d
		}
	}
	d.add(prog, shape, l.Time, clean(l.Raw, MaxSampleLen), 1)
}

func newDay(name string) *dayShapes {
	return &dayShapes{day: Day{Version: fileVersion, Day: name}, byKey: map[key]*Shape{}}
}

// add counts n lines of one shape; sample is kept while there is room.
func (d *dayShapes) add(prog, shape string, t time.Time, sample string, n int) *Shape {
	k := key{prog, shape}
	s := d.byKey[k]
	if s == nil {
		if len(d.byKey) >= MaxShapes {
			if d.others == nil {
				d.others = &Shape{Shape: OtherShape, Hours: make([]int, 24)}
				d.day.Shapes = append(d.day.Shapes, d.others)
			}
			s = d.others
		} else {
			s = &Shape{Program: prog, Shape: shape, Hours: make([]int, 24)}
			d.byKey[k] = s
			d.day.Shapes = append(d.day.Shapes, s)
		}
	}
	s.Count += n
	d.day.Total += n
	if !t.IsZero() {
		s.Hours[t.UTC().Hour()] += n
		if s.First.IsZero() || t.Before(s.First) {
			s.First = t
		}
		if t.After(s.Last) {
			s.Last = t
		}
	}
	if sample != "" && len(s.Samples) < MaxSamples {
		s.Samples = append(s.Samples, Sample{Time: t, Line: sample})
	}
	return s
}

// merge adds a saved shape (from a file) to d.
func (d *dayShapes) merge(s *Shape) {
	t := d.add(s.Program, s.Shape, time.Time{}, "", s.Count) // may be the overflow shape
	for h := 0; h < 24 && h < len(s.Hours); h++ {
		t.Hours[h] += s.Hours[h]
	}
	if !s.First.IsZero() && (t.First.IsZero() || s.First.Before(t.First)) {
		t.First = s.First
	}
	if s.Last.After(t.Last) {
		t.Last = s.Last
	}
	for _, smp := range s.Samples {
		if len(t.Samples) < MaxSamples {
			t.Samples = append(t.Samples, smp)
		}
	}
}

// sorted returns the day with its shapes by count (largest first), the
// overflow shape last.
func (d *dayShapes) sorted() Day {
	out := d.day
	out.Shapes = slices.Clone(d.day.Shapes)
	slices.SortStableFunc(out.Shapes, func(a, b *Shape) int {
		if (a.Shape == OtherShape) != (b.Shape == OtherShape) {
			if a.Shape == OtherShape {
				return 1
			}
			return -1
		}
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return cmp.Or(strings.Compare(a.Program, b.Program), strings.Compare(a.Shape, b.Shape))
	})
	return out
}

// Days returns what the Recorder holds, one Day per UTC day, oldest
// first (lines without a timestamp are not in them).
func (r *Recorder) Days() []Day {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Day
	for _, d := range r.days {
		out = append(out, d.sorted())
	}
	slices.SortFunc(out, func(a, b Day) int { return strings.Compare(a.Day, b.Day) })
	return out
}

// Save merges the recorded days into their files under dataDir/Subdir and
// empties the Recorder. Each file is replaced atomically (a temporary
// file, fsync, rename, fsync of the directory). One process should save
// into a data directory at a time (the index writer's lock covers it).
func (r *Recorder) Save(dataDir string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.days) == 0 {
		return nil
	}
	dir := filepath.Join(dataDir, Subdir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, d := range r.days {
		old, err := readDay(filepath.Join(dir, name+".json"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		merged := newDay(name)
		if old != nil {
			for _, s := range old.Shapes {
				merged.merge(s)
			}
		}
		for _, s := range d.day.Shapes {
			merged.merge(s)
		}
		if err := writeDay(dir, merged.sorted()); err != nil {
			return err
		}
		delete(r.days, name)
	}
	return nil
}

func readDay(path string) (*Day, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d Day
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if d.Version != fileVersion {
		return nil, fmt.Errorf("%s: format version %d, this sshwhy reads %d", path, d.Version, fileVersion)
	}
	return &d, nil
}

func writeDay(dir string, d Day) error {
	b, err := json.MarshalIndent(d, "", " ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+d.Day+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, a no-op
	if _, err = f.Write(append(b, '\n')); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, d.Day+".json")); err != nil {
		return err
	}
	df, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer df.Close()
	return df.Sync()
}

// Summary is the unmatched lines of a period, shapes merged over its days.
type Summary struct {
	Total  int      `json:"total"`
	Shapes []*Shape `json:"shapes"` // by count, largest first; Hours nil
	// Recorded is false when there was nothing to read at all (no file
	// for any day of the period): the lines were not recorded, which is
	// not the same as none.
	Recorded bool `json:"recorded"`
}

// Summary returns what the Recorder holds for [since, until] (lines
// without a timestamp included), without saving. Hours are the unit: an
// hour partly inside the period counts whole.
func (r *Recorder) Summary(since, until time.Time) Summary {
	days := r.Days()
	r.mu.Lock()
	if r.undated != nil {
		days = append(days, r.undated.sorted())
	}
	r.mu.Unlock()
	s := summarise(days, since, until)
	s.Recorded = true
	return s
}

// Read returns the unmatched lines recorded under dataDir for the UTC
// days overlapping [since, until], counted by hour as Summary does.
func Read(dataDir string, since, until time.Time) (Summary, error) {
	dir := filepath.Join(dataDir, Subdir)
	var days []Day
	for d := since.UTC().Truncate(24 * time.Hour); !d.After(until); d = d.Add(24 * time.Hour) {
		day, err := readDay(filepath.Join(dir, d.Format(time.DateOnly)+".json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Summary{}, err
		}
		days = append(days, *day)
	}
	s := summarise(days, since, until)
	s.Recorded = len(days) > 0
	return s, nil
}

func summarise(days []Day, since, until time.Time) Summary {
	var out Summary
	sum := newDay("")
	for _, d := range days {
		start, err := time.Parse(time.DateOnly, d.Day)
		dated := err == nil
		for _, s := range d.Shapes {
			n := s.Count
			if dated {
				n = 0
				for h, c := range s.Hours {
					hs := start.Add(time.Duration(h) * time.Hour)
					if hs.Add(time.Hour).After(since) && !hs.After(until) {
						n += c
					}
				}
			}
			if n == 0 {
				continue
			}
			t := sum.add(s.Program, s.Shape, time.Time{}, "", n)
			if !s.First.IsZero() && (t.First.IsZero() || s.First.Before(t.First)) {
				t.First = s.First
			}
			if s.Last.After(t.Last) {
				t.Last = s.Last
			}
			for _, smp := range s.Samples {
				in := smp.Time.IsZero() || !smp.Time.Before(since) && !smp.Time.After(until)
				if in && len(t.Samples) < MaxSamples {
					t.Samples = append(t.Samples, smp)
				}
			}
		}
	}
	d := sum.sorted()
	for _, s := range d.Shapes {
		s.Hours = nil
	}
	out.Total, out.Shapes = d.Total, d.Shapes
	return out
}

// clean makes s valid UTF-8 and cuts it to at most max bytes (on a rune
// boundary).
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Of returns the shape of an sshd message.
func Of(msg string) string {
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	var b bytes.Buffer
	b.Grow(len(msg))
	for i := 0; i < len(msg); {
		c := msg[i]
		switch {
		case c == '\'' || c == '"':
			// Quoted text is the peer's (a banner, a user name).
			if j := strings.IndexByte(msg[i+1:], c); j >= 0 {
				b.WriteByte(c)
				if j > 0 {
					b.WriteString("<s>")
				}
				b.WriteByte(c)
				i += j + 2
				continue
			}
			b.WriteByte(c)
			i++
		case c == ' ' || c == '\t':
			b.WriteByte(' ')
			for i < len(msg) && (msg[i] == ' ' || msg[i] == '\t') {
				i++
			}
		default:
			j := i
			for j < len(msg) && msg[j] != ' ' && msg[j] != '\t' && msg[j] != '\'' && msg[j] != '"' {
				j++
			}
			b.WriteString(word(msg[i:j]))
			i = j
		}
		if b.Len() > MaxShapeLen {
			break
		}
	}
	return clean(b.String(), MaxShapeLen)
}

// word shapes one blank-separated word.
func word(w string) string {
	// Punctuation around the word stays: "[preauth]", "127.0.0.1:", "(x)".
	lead := len(w) - len(strings.TrimLeft(w, "[(<,;"))
	core := strings.TrimRight(w[lead:], "]),;:.>")
	trail := w[lead+len(core):]
	pre := w[:lead]
	switch {
	case core == "":
		return w
	case isAddr(core):
		return pre + "<ip>" + trail
	case strings.HasPrefix(core, "SHA256:") || strings.HasPrefix(core, "MD5:"):
		return pre + core[:strings.IndexByte(core, ':')+1] + "<fp>" + trail
	}
	if ap, err := netip.ParseAddrPort(core); err == nil && ap.IsValid() {
		return pre + "<ip>:<n>" + trail
	}
	if i := strings.Index(core, "]:"); i > 0 && isAddr(core[:i]) && allDigits(core[i+2:]) {
		return pre + "<ip>]:<n>" + trail // "[192.0.2.1]:22" as MaxStartups drops write it
	}
	return pre + numbers(core) + trail
}

func isAddr(s string) bool {
	s = strings.TrimPrefix(strings.TrimSuffix(s, "]"), "[")
	if i := strings.IndexByte(s, '%'); i > 0 {
		s = s[:i] // IPv6 zone
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.IsValid()
}

// numbers replaces digit runs with <n>, and hex runs of 8 or more
// characters holding a digit with <hex>.
func numbers(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		digit := false
		for j < len(s) && isHex(s[j]) {
			digit = digit || s[j] >= '0' && s[j] <= '9'
			j++
		}
		switch {
		case j-i >= 8 && digit && (j == len(s) || !isLetter(s[j])) && (i == 0 || !isLetter(s[i-1])):
			b.WriteString("<hex>")
			i = j
			continue
		}
		c := s[i]
		if c >= '0' && c <= '9' {
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			b.WriteString("<n>")
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// Sink returns a pipeline sink that saves what the Recorder holds into
// dataDir whenever the pipeline flushes (before each checkpoint). A crash
// between the save and the checkpoint counts the lines replayed twice:
// the counts are for people, the events are exact.
func (r *Recorder) Sink(dataDir string) Sink { return Sink{r, dataDir} }

// Sink saves a Recorder on Flush; it takes no events.
type Sink struct {
	rec *Recorder
	dir string
}

func (s Sink) Write(*classify.Event) error { return nil }
func (s Sink) Flush() error                { return s.rec.Save(s.dir) }
func (s Sink) Close() error                { return nil }
