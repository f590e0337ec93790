package main

import (
	"encoding/json"
	"sync"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/report"
	"github.com/sshwhy/sshwhy/sshdconfig"
)

// explainer gives each event its remedy (--explain): the cause's remedy
// and what this machine's sshd settings say about it.
type explainer struct {
	once sync.Once
	cfg  *sshdconfig.Config
}

func (x *explainer) remedy(ev *classify.Event) string {
	if ev.Open {
		return ""
	}
	x.once.Do(func() { x.cfg, _ = sshdconfig.System() })
	return report.Remedy(ev, x.cfg)
}

// appendEvent appends ev's JSON (through enc when given), with "remedy"
// when x is set.
func appendEvent(b []byte, ev *classify.Event, x *explainer, enc *classify.Encoder) []byte {
	start := len(b)
	if enc != nil {
		b = enc.AppendJSON(b, ev)
	} else {
		b = classify.AppendJSON(b, ev)
	}
	if x == nil {
		return b
	}
	r := x.remedy(ev)
	if r == "" || len(b) == start || b[len(b)-1] != '}' {
		return b
	}
	q, _ := json.Marshal(r) // escapes HTML and invalid UTF-8 like AppendJSON's strings
	b = append(b[:len(b)-1], `,"remedy":`...)
	b = append(b, q...)
	return append(b, '}')
}
