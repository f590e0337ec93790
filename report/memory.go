package report

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
)

// FieldDuration is the count key of session durations (whole seconds,
// rounded as the index stores them), one of index.CountKeys.
const FieldDuration = index.FieldDuration

// Memory is a Source over events held in memory, for reports straight
// from logs. It answers every query the report makes exactly as the index
// would, and rejects free text (Query.Text) with index.ErrBadQuery.
type Memory struct {
	events []*classify.Event // by end time, then id
	open   []*classify.Event
}

// NewMemory returns a Source over events (ended connections) and open
// (connections still open at the end of the input). It keeps the slices.
func NewMemory(events, open []*classify.Event) *Memory {
	m := &Memory{events: events, open: open}
	slices.SortStableFunc(m.events, func(a, b *classify.Event) int {
		return cmp.Or(eventTime(a).Compare(eventTime(b)), strings.Compare(a.ID, b.ID))
	})
	return m
}

// Open returns the connections still open.
func (m *Memory) Open(context.Context) ([]*classify.Event, error) { return m.open, nil }

// eventTime places an event in time as the index does: its end, or its
// start when the end is unknown.
func eventTime(e *classify.Event) time.Time {
	if !e.End.IsZero() {
		return e.End
	}
	return e.Start
}

// matcher is a Query compiled for filtering.
type matcher struct {
	q        index.Query
	prefixes []netip.Prefix
}

func compile(q index.Query) (*matcher, error) {
	if strings.TrimSpace(q.Text) != "" {
		return nil, fmt.Errorf("%w: free-text queries need the index, not logs read into memory", index.ErrBadQuery)
	}
	if err := (&index.Query{Since: q.Since, Until: q.Until, Causes: q.Causes, IPs: q.IPs, Phases: q.Phases}).Validate(); err != nil {
		return nil, err
	}
	m := &matcher{q: q}
	for _, s := range q.IPs {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%w: %q is neither an IP address nor a CIDR prefix", index.ErrBadQuery, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		m.prefixes = append(m.prefixes, unmapPrefix(p).Masked())
	}
	return m, nil
}

// unmapPrefix turns ::ffff:a.b.c.d/n (n ≥ 96) into a.b.c.d/(n-96), as
// the index's IP field treats IPv4 and IPv4-mapped addresses alike.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

func (m *matcher) match(e *classify.Event) bool {
	t := eventTime(e)
	q := &m.q
	if !q.Since.IsZero() && t.Before(q.Since) || !q.Until.IsZero() && t.After(q.Until) {
		return false
	}
	if len(q.Causes) > 0 && !slices.Contains(q.Causes, e.Cause) {
		return false
	}
	if len(q.Users) > 0 && !slices.Contains(q.Users, e.User) {
		return false
	}
	if len(q.Hosts) > 0 && !slices.Contains(q.Hosts, e.Host) {
		return false
	}
	if len(q.Phases) > 0 && !slices.Contains(q.Phases, string(e.Phase)) {
		return false
	}
	if len(m.prefixes) > 0 {
		a, err := netip.ParseAddr(e.SrcIP)
		if err != nil {
			return false
		}
		a = a.Unmap()
		ok := false
		for _, p := range m.prefixes {
			ok = ok || p.Contains(a)
		}
		if !ok {
			return false
		}
	}
	return true
}

// Search calls fn for the events matching q, in the order opt asks for
// (index.Reader.Search's contract).
func (m *Memory) Search(ctx context.Context, q index.Query, opt index.SearchOptions, fn func(*classify.Event) error) (index.Result, error) {
	mt, err := compile(q)
	if err != nil {
		return index.Result{}, err
	}
	var hits []*classify.Event
	for _, e := range m.events {
		if mt.match(e) {
			hits = append(hits, e)
		}
	}
	res := index.Result{Total: uint64(len(hits))}
	key := opt.Sort
	switch {
	case key == "" && opt.Limit > 0:
		if len(hits) > opt.Limit {
			hits = hits[len(hits)-opt.Limit:] // the newest, oldest first
		}
	case key != "":
		less, err := sortFunc(key)
		if err != nil {
			return index.Result{}, err
		}
		hits = slices.Clone(hits)
		slices.SortStableFunc(hits, less)
		if opt.Limit > 0 && len(hits) > opt.Limit {
			hits = hits[:opt.Limit]
		}
	}
	for i, e := range hits {
		if i&1023 == 0 && ctx.Err() != nil {
			return res, ctx.Err()
		}
		if err := fn(e); err != nil {
			return res, err
		}
	}
	return res, nil
}

// sortFunc orders events by one of index.SortKeys, ties by end time (the
// events are already in end, id order and the sort is stable).
func sortFunc(key string) (func(a, b *classify.Event) int, error) {
	desc := strings.HasPrefix(key, "-")
	field := strings.TrimPrefix(key, "-")
	var by func(a, b *classify.Event) int
	switch field {
	case index.FieldEnd:
		by = func(a, b *classify.Event) int { return eventTime(a).Compare(eventTime(b)) }
	case index.FieldDuration:
		by = func(a, b *classify.Event) int { return cmp.Compare(durationKey(a), durationKey(b)) }
	case index.FieldFailures:
		by = func(a, b *classify.Event) int { return cmp.Compare(a.AuthFailures, b.AuthFailures) }
	case index.FieldCause:
		by = func(a, b *classify.Event) int { return strings.Compare(string(a.Cause), string(b.Cause)) }
	case index.FieldUser:
		by = func(a, b *classify.Event) int { return strings.Compare(a.User, b.User) }
	case index.FieldSrcIP:
		by = func(a, b *classify.Event) int { return strings.Compare(a.SrcIP, b.SrcIP) }
	case index.FieldHost:
		by = func(a, b *classify.Event) int { return strings.Compare(a.Host, b.Host) }
	default:
		return nil, fmt.Errorf("%w: cannot sort by %q", index.ErrBadQuery, key)
	}
	return func(a, b *classify.Event) int {
		n := by(a, b)
		if n == 0 {
			n = eventTime(a).Compare(eventTime(b))
		}
		if desc {
			return -n
		}
		return n
	}, nil
}

// durationKey is the duration as the index stores it: whole seconds,
// rounded.
func durationKey(e *classify.Event) int64 { return int64(math.Round(e.DurationS)) }

// Count counts the events matching q by the values of by: the keys of
// index.CountKeys and FieldDuration (index.Reader.Count's contract).
func (m *Memory) Count(ctx context.Context, q index.Query, by string, limit int) (index.Counts, error) {
	mt, err := compile(q)
	if err != nil {
		return index.Counts{}, err
	}
	var value func(e *classify.Event) string
	switch by {
	case index.FieldCause:
		value = func(e *classify.Event) string { return string(e.Cause) }
	case index.FieldSrcIP:
		value = func(e *classify.Event) string { return e.SrcIP }
	case index.FieldUser:
		value = func(e *classify.Event) string { return e.User }
	case index.FieldHost:
		value = func(e *classify.Event) string { return e.Host }
	case index.FieldHour:
		value = func(e *classify.Event) string { return eventTime(e).UTC().Format("2006-01-02T15") }
	case FieldDuration:
		value = func(e *classify.Event) string { return strconv.FormatInt(durationKey(e), 10) }
	default:
		return index.Counts{}, fmt.Errorf("%w: cannot count by %q", index.ErrBadQuery, by)
	}
	var c index.Counts
	counts := map[string]int{}
	for i, e := range m.events {
		if i&4095 == 0 && ctx.Err() != nil {
			return c, ctx.Err()
		}
		if !mt.match(e) {
			continue
		}
		c.Total++
		if v := value(e); v != "" {
			counts[v]++
		} else {
			c.Missing++
		}
	}
	for v, n := range counts {
		c.Buckets = append(c.Buckets, index.Bucket{Value: v, Count: n})
	}
	switch by {
	case index.FieldHour:
		slices.SortFunc(c.Buckets, func(a, b index.Bucket) int { return strings.Compare(a.Value, b.Value) })
	case FieldDuration:
		slices.SortFunc(c.Buckets, func(a, b index.Bucket) int { return cmp.Compare(atoi(a.Value), atoi(b.Value)) })
	default:
		slices.SortFunc(c.Buckets, func(a, b index.Bucket) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
		})
	}
	if limit > 0 && len(c.Buckets) > limit {
		for _, b := range c.Buckets[limit:] {
			c.Other += b.Count
		}
		c.Buckets = c.Buckets[:limit]
	}
	return c, nil
}

// atoi reads a count value that is a number ("42", or the index's
// zero-padded "0000000042"); -1 when it is not one.
func atoi(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimLeft(s, "0"), 10, 64)
	if err != nil {
		if strings.Trim(s, "0") == "" && s != "" {
			return 0
		}
		return -1
	}
	return n
}
