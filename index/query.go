package index

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/sshwhy/sshwhy/cause"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// ErrBadQuery is wrapped by every error about a malformed Query.
var ErrBadQuery = errors.New("bad query")

// Query selects events. Empty fields select everything; values within one
// field are alternatives (OR), fields combine with AND.
type Query struct {
	Since, Until time.Time     // event end in [Since, Until]; zero is open
	Causes       []cause.Cause // exact
	IPs          []string      // addresses or CIDR prefixes, IPv4 or IPv6
	Users        []string      // exact, case-sensitive
	Hosts        []string      // exact
	Phases       []string      // "preauth", "postauth"
	// Text is a query in bleve's query-string syntax
	// (https://blevesearch.com/docs/Query-String-Query/); bare words search
	// the evidence lines, fields are named as in the Field constants, e.g.
	// `"Too many authentication" user:root -cause:probe duration_s:>60`.
	Text string
}

// Validate reports the first malformed part of q, wrapping ErrBadQuery.
func (q *Query) Validate() error {
	_, err := q.bleveQuery()
	return err
}

func badQuery(format string, args ...interface{}) error {
	return fmt.Errorf("%w: %s", ErrBadQuery, fmt.Sprintf(format, args...))
}

// onlyTime reports whether q bounds nothing but the time.
func (q *Query) onlyTime() bool {
	return len(q.Causes) == 0 && len(q.IPs) == 0 && len(q.Users) == 0 && len(q.Hosts) == 0 &&
		len(q.Phases) == 0 && strings.TrimSpace(q.Text) == ""
}

// bleveQuery translates q.
func (q *Query) bleveQuery() (query.Query, error) {
	var must []query.Query
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		return nil, badQuery("the time range ends (%s) before it starts (%s)",
			q.Until.Format(time.RFC3339), q.Since.Format(time.RFC3339))
	}
	if len(q.Causes) > 0 {
		var vals []string
		for _, c := range q.Causes {
			if !c.Valid() {
				return nil, badQuery("unknown cause %q (causes: %s)", string(c), causeList())
			}
			vals = append(vals, string(c))
		}
		must = append(must, anyTerm(FieldCause, vals))
	}
	if len(q.IPs) > 0 {
		var any []query.Query
		for _, s := range q.IPs {
			s = strings.TrimSpace(s)
			if _, _, err := net.ParseCIDR(s); err != nil && net.ParseIP(s) == nil {
				return nil, badQuery("%q is neither an IP address nor a CIDR prefix", s)
			}
			r := bleve.NewIPRangeQuery(s)
			r.SetField(FieldIP)
			any = append(any, r)
		}
		must = append(must, or(any))
	}
	if len(q.Users) > 0 {
		must = append(must, anyTerm(FieldUser, q.Users))
	}
	if len(q.Hosts) > 0 {
		must = append(must, anyTerm(FieldHost, q.Hosts))
	}
	if len(q.Phases) > 0 {
		for _, p := range q.Phases {
			if !cause.Phase(p).Valid() {
				return nil, badQuery("unknown phase %q (phases: %s, %s)", p, cause.Preauth, cause.Postauth)
			}
		}
		must = append(must, anyTerm(FieldPhase, q.Phases))
	}
	if t := strings.TrimSpace(q.Text); t != "" {
		qs := bleve.NewQueryStringQuery(t)
		parsed, err := qs.Parse()
		if err != nil {
			return nil, badQuery("query %q: %v", t, err)
		}
		if parsed, err = rewrite(parsed); err != nil {
			return nil, err
		}
		if v, ok := parsed.(query.ValidatableQuery); ok {
			if err := v.Validate(); err != nil {
				return nil, badQuery("query %q: %v", t, err)
			}
		}
		must = append(must, parsed)
	}
	if !q.Since.IsZero() || !q.Until.IsZero() {
		return &endRange{since: q.Since, until: q.Until, and: must}, nil
	}
	switch len(must) {
	case 0:
		return bleve.NewMatchAllQuery(), nil
	case 1:
		return must[0], nil
	}
	return bleve.NewConjunctionQuery(must...), nil
}

func anyTerm(field string, vals []string) query.Query {
	var any []query.Query
	for _, v := range vals {
		t := bleve.NewTermQuery(v)
		t.SetField(field)
		any = append(any, t)
	}
	return or(any)
}

func or(qs []query.Query) query.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return bleve.NewDisjunctionQuery(qs...)
}

func causeList() string {
	s := make([]string, len(cause.All()))
	for i, c := range cause.All() {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}
