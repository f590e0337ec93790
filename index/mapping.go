package index

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/sshwhy/sshwhy/classify"
)

// Field names in the index. Keyword fields match whole values exactly
// (case-sensitive); text fields are tokenised and lower-cased.
const (
	FieldCause      = "cause"         // keyword
	FieldUser       = "user"          // keyword
	FieldSrcIP      = "src_ip"        // keyword, as the event has it (older events: IPv4-mapped as logged)
	FieldIP         = "ip"            // IP: the address for CIDR ranges (IPv4 as ::ffff:a.b.c.d)
	FieldRemote     = "remote"        // keyword: a remote that is not an address (host name, UNKNOWN)
	FieldHost       = "host"          // keyword
	FieldProgram    = "program"       // keyword
	FieldPhase      = "phase"         // keyword
	FieldConfidence = "confidence"    // keyword
	FieldRule       = "rule"          // keyword
	FieldSource     = "source"        // keyword
	FieldAuthMethod = "auth_method"   // keyword, one per method
	FieldHour       = "hour"          // time key of the hour: "2006-01-02T15" (UTC hour of end)
	FieldStart      = "start"         // time key (see timekey.go)
	FieldEnd        = "end"           // time key
	FieldSrcPort    = "src_port"      // number key
	FieldPID        = "pid"           // number key
	FieldDuration   = "duration_s"    // number key, whole seconds
	FieldFailures   = "auth_failures" // number key
	FieldLines      = "lines"         // text: the evidence lines; the default field of free-text queries
	FieldDetail     = "detail"        // text
	fieldEvent      = "event"         // stored only: the event as JSON
)

// evidenceAnalyzer tokenises evidence lines: words, numbers, addresses and
// identifiers like kex_exchange_identification stay whole; lower-cased; no
// stop words (in log lines "not" and "by" carry meaning).
const evidenceAnalyzer = "sshwhy_evidence"

// Indexing options per kind of field. Doc values only where sorting or
// counting needs them; nothing is stored but the event JSON.
const (
	optIndex     = bindex.IndexField
	optIndexDV   = bindex.IndexField | bindex.DocValues
	optText      = bindex.IndexField | bindex.IncludeTermVectors // positions: phrase queries work
	optStoreOnly = bindex.StoreField
)

// newMapping is the bleve mapping saved in every shard. Documents are
// built by docBuilder, not through this mapping, but queries use it to
// pick each field's analyzer, so both must agree.
func newMapping() (*mapping.IndexMappingImpl, error) {
	keyword := func(docValues bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Store, f.IncludeInAll, f.IncludeTermVectors, f.DocValues = false, false, false, docValues
		return f
	}
	text := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = evidenceAnalyzer
		f.Store, f.IncludeInAll, f.IncludeTermVectors, f.DocValues = false, false, true, false
		return f
	}
	ip := mapping.NewIPFieldMapping()
	ip.Store, ip.IncludeInAll, ip.DocValues = false, false, false
	stored := bleve.NewTextFieldMapping()
	stored.Index, stored.Store, stored.IncludeInAll, stored.IncludeTermVectors, stored.DocValues = false, true, false, false, false

	dm := bleve.NewDocumentStaticMapping()
	for name, fm := range map[string]*mapping.FieldMapping{
		FieldCause: keyword(true), FieldUser: keyword(true), FieldSrcIP: keyword(true),
		FieldHost: keyword(true), FieldHour: keyword(true), FieldEnd: keyword(true),
		FieldDuration: keyword(true), FieldFailures: keyword(true),
		FieldProgram: keyword(false), FieldPhase: keyword(false), FieldConfidence: keyword(false), FieldRemote: keyword(false),
		FieldRule: keyword(false), FieldSource: keyword(false), FieldAuthMethod: keyword(false),
		fieldMinute: keyword(false), FieldStart: keyword(false),
		FieldSrcPort: keyword(false), FieldPID: keyword(false),
		FieldIP:    ip,
		FieldLines: text(), FieldDetail: text(),
		fieldEvent: stored,
	} {
		fm.Name = name
		dm.AddFieldMappingsAt(name, fm)
	}

	im := bleve.NewIndexMapping()
	if err := im.AddCustomAnalyzer(evidenceAnalyzer, map[string]interface{}{
		"type":          custom.Name,
		"tokenizer":     evidenceTokenizerName,
		"token_filters": []string{lowercase.Name},
	}); err != nil {
		return nil, err
	}
	im.DefaultMapping = dm
	im.DefaultAnalyzer = "keyword"
	im.DefaultField = FieldLines
	im.IndexDynamic, im.StoreDynamic, im.DocValuesDynamic = false, false, false
	im.ScoringModel = ""
	return im, im.Validate()
}

// docBuilder turns events into bleve documents without reflection.
type docBuilder struct {
	evidence analysis.Analyzer
}

func newDocBuilder(m *mapping.IndexMappingImpl) (*docBuilder, error) {
	a := m.AnalyzerNamed(evidenceAnalyzer)
	if a == nil {
		return nil, fmt.Errorf("index mapping: analyzer %s missing", evidenceAnalyzer)
	}
	return &docBuilder{evidence: a}, nil
}

// decodeEvent reads back an event stored by docBuilder: classify's own
// JSON, which keeps the timestamps' precision.
func decodeEvent(b []byte) (*classify.Event, error) {
	e := new(classify.Event)
	if err := json.Unmarshal(b, e); err != nil {
		return nil, err
	}
	return e, nil
}

// docID is the document id of e: Event.ID, or computed like the
// classifier does when the event carries none.
func docID(e *classify.Event) string {
	if e.ID != "" {
		return e.ID
	}
	return classify.EventID(e.Host, e.PID, e.SrcPort, e.Start)
}

// eventTime is the time that places e in a shard: its end, or its start
// when the end is unknown.
func eventTime(e *classify.Event) time.Time {
	if !e.End.IsZero() {
		return e.End
	}
	return e.Start
}

// document builds the bleve document of e.
func (b *docBuilder) document(e *classify.Event) (*document.Document, error) {
	end := eventTime(e)
	if end.IsZero() {
		return nil, fmt.Errorf("event %s has no time", docID(e))
	}
	if !canStoreTime(end) || !e.Start.IsZero() && !canStoreTime(e.Start) {
		return nil, fmt.Errorf("event %s: time out of range (%s)", docID(e), end)
	}
	js := classify.AppendJSON(make([]byte, 0, 512+64*len(e.Lines)), e)
	d := document.NewDocument(docID(e))
	d.Fields = make([]document.Field, 0, 24)
	keyword := func(name, v string, opt bindex.FieldIndexingOptions) {
		if v != "" {
			d.AddField(document.NewTextFieldCustom(name, nil, []byte(v), opt, nil))
		}
	}
	keyword(FieldCause, string(e.Cause), optIndexDV)
	keyword(FieldUser, e.User, optIndexDV)
	keyword(FieldSrcIP, e.SrcIP, optIndexDV)
	keyword(FieldRemote, e.Remote, optIndex)
	keyword(FieldHost, e.Host, optIndexDV)
	keyword(FieldProgram, e.Program, optIndex)
	keyword(FieldPhase, string(e.Phase), optIndex)
	keyword(FieldConfidence, string(e.Confidence), optIndex)
	keyword(FieldRule, e.Rule, optIndex)
	keyword(FieldSource, e.Source, optIndex)
	for _, m := range e.AuthMethods {
		keyword(FieldAuthMethod, m, optIndex)
	}
	if ip := net.ParseIP(e.SrcIP); ip != nil {
		d.AddField(document.NewIPFieldWithIndexingOptions(FieldIP, nil, ip, optIndex))
	}
	// Time as three keyword levels (see timekey.go).
	// The end key is unique: a total order for sorting and paging.
	keyword(FieldEnd, timeKey(end)+"/"+d.ID(), optIndexDV)
	keyword(fieldMinute, minuteKey(end), optIndex)
	keyword(FieldHour, hourKey(end), optIndexDV)
	if !e.Start.IsZero() {
		keyword(FieldStart, timeKey(e.Start), optIndex)
	}
	if e.SrcPort != 0 {
		keyword(FieldSrcPort, numKey(int64(e.SrcPort)), optIndex)
	}
	if e.PID != 0 {
		keyword(FieldPID, numKey(int64(e.PID)), optIndex)
	}
	keyword(FieldDuration, numKey(int64(math.Round(e.DurationS))), optIndexDV)
	keyword(FieldFailures, numKey(int64(e.AuthFailures)), optIndexDV)
	if text := evidenceText(e.Lines); len(text) > 0 {
		d.AddField(document.NewTextFieldCustom(FieldLines, nil, text, optText, b.evidence))
	}
	if e.Detail != "" {
		d.AddField(document.NewTextFieldCustom(FieldDetail, nil, []byte(e.Detail), optText, b.evidence))
	}
	d.AddField(document.NewTextFieldCustom(fieldEvent, nil, js, optStoreOnly, nil))
	return d, nil
}

// evidenceText is what the lines field indexes: the distinct messages of
// the evidence lines, one per line (the tokenizer keeps phrases from
// matching across lines).
func evidenceText(lines []string) []byte {
	n := 0
	for _, l := range lines {
		n += len(l) + 1
	}
	out := make([]byte, 0, n)
	for i, l := range lines {
		m := message(l)
		dup := false
		for _, p := range lines[:i] {
			if message(p) == m {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, m...)
			out = append(out, '\n')
		}
	}
	return out
}

// message is the part of an evidence line after its syslog header
// ("TIMESTAMP HOST PROG[PID]: "), which is all that free text needs: the
// header's time, host and pid are fields of their own, and its timestamp
// would add a term found nowhere else to every line. The header precedes
// everything an attacker writes, so the first "]: " is in it; a line
// without one is indexed whole.
func message(line string) string {
	const max = 160 // a header is shorter than this
	h := line
	if len(h) > max {
		h = h[:max]
	}
	if i := strings.Index(h, "]: "); i >= 0 {
		return line[i+3:]
	}
	return line
}
