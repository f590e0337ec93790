package cause

import (
	"bytes"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"
)

// Settings are a server's effective sshd settings, as package sshdconfig
// reads them. Keys are sshd_config keywords in any case; time values are
// in seconds, as `sshd -T` prints them.
type Settings interface {
	Setting(key string) (value string, ok bool)
	// AtLeast reports whether the server's OpenSSH is known and at
	// least major.minor.
	AtLeast(major, minor int) bool
}

// Facts are what an advice or finding template may say. None of them is
// attacker-written text: user names and banners never go into templates.
type Facts struct {
	Count      int     // events behind it
	Sources    int     // distinct source addresses (or networks, or shapes)
	Also       int     // a second count, as the template explains
	Subject    string  // what it is about: a network, a cause
	Typical    string  // a typical duration, e.g. "5m2s"
	Avg        float64 // a daily average of the week before
	Phase      string  // of the event, for cause advice
	Confidence string  // of the event, for cause advice
}

// Advice is what the server's settings say about c ("ClientAliveInterval
// is 0: ..."), or "" when s is nil or has nothing to add.
func (c Cause) Advice(s Settings, f Facts) string {
	t := advice[c]
	if t == nil {
		return ""
	}
	return render(t, s, f)
}

// FindingInfo describes one kind of finding (findings.yaml).
type FindingInfo struct {
	ID       string   `yaml:"id"`
	Weight   int      `yaml:"weight"`
	Causes   []Cause  `yaml:"causes"`
	Title    string   `yaml:"title"`
	Remedy   string   `yaml:"remedy"`
	Settings []string `yaml:"settings"`

	title, remedy *template.Template
}

// RenderTitle fills the title in.
func (f *FindingInfo) RenderTitle(s Settings, facts Facts) string { return render(f.title, s, facts) }

// RenderRemedy fills the remedy in, quoting the settings s when known.
func (f *FindingInfo) RenderRemedy(s Settings, facts Facts) string {
	return render(f.remedy, s, facts)
}

// Finding returns the finding named id.
func Finding(id string) (*FindingInfo, bool) {
	f, ok := findingByID[id]
	return f, ok
}

// Findings lists the findings in the order of findings.yaml.
func Findings() []*FindingInfo { return findings }

//go:embed findings.yaml
var findingsTable []byte

var (
	advice      map[Cause]*template.Template
	findings    []*FindingInfo
	findingByID map[string]*FindingInfo
)

func init() {
	advice = map[Cause]*template.Template{}
	for _, in := range infos {
		if in.Advice == "" {
			continue
		}
		t, err := parseTemplate(string(in.Name), in.Advice)
		if err != nil {
			panic("cause: causes.yaml: advice of " + string(in.Name) + ": " + err.Error())
		}
		advice[in.Name] = t
	}
	var err error
	if findings, err = parseFindings(findingsTable); err != nil {
		panic("cause: findings.yaml: " + err.Error())
	}
	findingByID = map[string]*FindingInfo{}
	for _, f := range findings {
		findingByID[f.ID] = f
	}
}

func parseFindings(b []byte) ([]*FindingInfo, error) {
	var list []*FindingInfo
	if err := yaml.Unmarshal(b, &list); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, f := range list {
		switch {
		case f.ID == "" || f.Title == "" || f.Remedy == "":
			return nil, fmt.Errorf("a finding needs an id, a title and a remedy (%q)", f.ID)
		case seen[f.ID]:
			return nil, fmt.Errorf("finding %s twice", f.ID)
		case f.Weight < 0 || f.Weight > 100:
			return nil, fmt.Errorf("finding %s: weight %d outside 0-100", f.ID, f.Weight)
		}
		for _, c := range f.Causes {
			if !c.Valid() {
				return nil, fmt.Errorf("finding %s: unknown cause %q", f.ID, c)
			}
		}
		seen[f.ID] = true
		var err error
		if f.title, err = parseTemplate(f.ID+".title", f.Title); err != nil {
			return nil, err
		}
		if f.remedy, err = parseTemplate(f.ID+".remedy", f.Remedy); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// The template functions. set, num, dur, known and atleast read the
// settings; they are bound per rendering (see render).
//
//	set "Key"        the value, "" when unknown
//	num "Key"        the value as an integer, -1 when unknown or not one
//	dur "Key"        a time value for people: "2m", "20s", "none"
//	known            whether the server's settings are known at all
//	atleast 9 8      whether the server's OpenSSH is 9.8 or later
//	mul a b          a × b
func funcs(s Settings) template.FuncMap {
	get := func(k string) (string, bool) {
		if s == nil {
			return "", false
		}
		return s.Setting(k)
	}
	return template.FuncMap{
		"known": func() bool { return s != nil },
		"set":   func(k string) string { v, _ := get(k); return v },
		"num": func(k string) int {
			v, ok := get(k)
			if n, err := strconv.Atoi(v); ok && err == nil {
				return n
			}
			return -1
		},
		"dur": func(k string) string {
			v, ok := get(k)
			if !ok {
				return "unknown"
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return v
			}
			return Seconds(n)
		},
		"atleast": func(major, minor int) bool { return s != nil && s.AtLeast(major, minor) },
		"mul":     func(a, b int) int { return a * b },
	}
}

// Seconds writes n seconds for people: "20s", "2m", "1m30s", "2h", "0 (no
// limit)" (sshd's 0 for a time means none).
func Seconds(n int) string {
	switch {
	case n == 0:
		return "0 (no limit)"
	case n%3600 == 0:
		return strconv.Itoa(n/3600) + "h"
	case n%60 == 0:
		return strconv.Itoa(n/60) + "m"
	case n > 60:
		return (time.Duration(n) * time.Second).String()
	}
	return strconv.Itoa(n) + "s"
}

func parseTemplate(name, text string) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Funcs(funcs(nil)).Parse(text)
}

// render executes t with the functions bound to s. A template that fails
// (a bug in the data: the tests render every one) says so instead of
// printing half a sentence.
func render(t *template.Template, s Settings, f Facts) string {
	c, err := t.Clone()
	if err != nil {
		return "(" + t.Name() + ": " + err.Error() + ")"
	}
	var b bytes.Buffer
	if err := c.Funcs(funcs(s)).Execute(&b, f); err != nil {
		return "(" + t.Name() + ": " + err.Error() + ")"
	}
	return strings.TrimSpace(b.String())
}
