package index

import (
	"errors"
	"fmt"

	"strings"
	"time"

	"github.com/sshwhy/sshwhy/cause"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// ErrBadQuery is wrapped by every error about a malformed Query.
var ErrBadQuery = errors.New("bad query")

// Query selects events. It is a plain value that every store reading
// sshwhy's events (this index, and the others behind Searcher) translates
// with the same meaning:
//
//   - Fields combine with AND; the values within one field are
//     alternatives (OR). An empty field selects everything.
//   - Since, Until: the event ended (an event without an end: started) at
//     or after Since and at or before Until, to the nanosecond; a zero bound
//     is open.
//   - Causes, Users, Hosts, Phases: the field equals one of the values
//     exactly (case-sensitive).
//   - IPs: the source address is one of the addresses or lies in one of
//     the CIDR prefixes. An IPv4-mapped address (::ffff:a.b.c.d) is the
//     IPv4 address, in the query and in the events; an IPv6 prefix never
//     matches an IPv4 address.
//   - Text: clauses in bleve's query-string syntax, as ParseText reads
//     them (its documentation is the reference), ANDed with the fields.
//     E.g. `"Too many authentication" user:root -cause:probe duration_s:>60`.
type Query struct {
	Since, Until time.Time
	Causes       []cause.Cause
	IPs          []string
	Users        []string
	Hosts        []string
	Phases       []string
	Text         string
}

// Validate reports the first malformed or meaningless part of q, wrapping
// ErrBadQuery.
func (q *Query) Validate() error {
	_, err := q.bleveQuery()
	return err
}

func badQuery(format string, args ...interface{}) error {
	return fmt.Errorf("%w: %s", ErrBadQuery, fmt.Sprintf(format, args...))
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
				return nil, badQuery("unknown cause %q (causes: %s)", string(c), cause.List())
			}
			vals = append(vals, string(c))
		}
		must = append(must, anyTerm(FieldCause, vals))
	}
	if len(q.IPs) > 0 {
		var any []query.Query
		for _, s := range q.IPs {
			r, err := ipQuery(s)
			if err != nil {
				return nil, badQuery("%v", err)
			}
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
	if strings.TrimSpace(q.Text) != "" {
		cs, err := ParseText(q.Text)
		if err != nil {
			return nil, err
		}
		tq, err := textQuery(cs)
		if err != nil {
			return nil, err
		}
		must = append(must, tq)
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
	return &boolQuery{must: must}, nil
}
