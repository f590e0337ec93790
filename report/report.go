// Package report builds the morning read: what ended SSH connections over
// a period, what changed against the days before, who and from where, the
// sessions, the new logins, the lines no rule knows, and findings ranked
// by how much they matter, each with its evidence and a remedy that quotes
// the server's settings.
//
// Build reads a Source with counts (index.Reader.Count) wherever it can,
// so a report over a month of a busy server does not read the events
// themselves; Render writes a Report as text (80 columns, for mail),
// markdown, JSON (the schema in docs/report.md) or one self-contained HTML
// file. Write does both, for the command line and the agent's schedule
// (Schedule, Deliver).
package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
	"github.com/sshwhy/sshwhy/sshdconfig"
	"github.com/sshwhy/sshwhy/unmatched"
)

// SchemaVersion is the version of the JSON form (docs/report.md). It
// changes when a field changes meaning or goes away; added fields do not
// change it.
const SchemaVersion = 1

// Options select and shape a report. The zero value reports yesterday,
// in the local time zone, from the source alone.
type Options struct {
	// Day is the first day of the period (its midnight in Loc is used);
	// zero means yesterday.
	Day time.Time
	// Days is the length of the period in days; 0 means 1.
	Days int
	// Loc is the time zone of days and hours; nil means time.Local.
	Loc *time.Location
	// Now is the time the report is made; zero means time.Now().
	Now time.Time
	// Hosts restricts the report to these hosts.
	Hosts []string
	// Top is the length of each top list; 0 means 5.
	Top int
	// Source names the source in the report ("index /var/lib/sshwhy").
	Source string
	// Settings are the server's sshd settings; nil gives advice without
	// them (and no finding about them).
	Settings *sshdconfig.Config
	// Unmatched returns the unmatched lines of [since, until]; nil means
	// they were not recorded.
	Unmatched func(since, until time.Time) (unmatched.Summary, error)
}

// Report is one report. Its JSON form is documented in docs/report.md.
type Report struct {
	Version   int       `json:"version"`
	Generated time.Time `json:"generated"`
	Source    string    `json:"source"`
	Since     time.Time `json:"since"` // first instant of the period
	Until     time.Time `json:"until"` // first instant after it
	Days      int       `json:"days"`
	Zone      string    `json:"zone"`
	Hosts     []string  `json:"hosts,omitempty"` // the host filter, if any
	// Partial is set when the period had not ended when the report was
	// made.
	Partial bool `json:"partial"`
	// Empty is set when no connection ended in the period.
	Empty bool `json:"empty"`

	Total     Total      `json:"total"`
	Findings  []Finding  `json:"findings"`
	Causes    []CauseRow `json:"causes"` // every cause with ends in the period or before, by count
	Daily     []Day      `json:"daily"`
	Hourly    []Hour     `json:"hourly"`
	Sessions  Sessions   `json:"sessions"`
	NewLogins NewLogins  `json:"new_logins"`
	Open      Open       `json:"open"`
	PerHost   []HostRow  `json:"per_host"` // when the events span more than one host
	Unmatched Unmatched  `json:"unmatched"`
	Server    *Server    `json:"server,omitempty"`
	Notes     []string   `json:"notes,omitempty"` // what could not be computed, and why
	byCause   map[cause.Cause]*CauseRow
}

// Total is the connection ends of the period and of the days before.
type Total struct {
	Count     int      `json:"count"`
	Previous  int      `json:"previous"`   // the same number of days just before
	Avg7      float64  `json:"avg7"`       // mean per day over the 7 days before
	ChangePct *float64 `json:"change_pct"` // against previous; null when previous is 0
}

// Bucket is one value of a top list and its events.
type Bucket struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// CauseRow is one cause.
type CauseRow struct {
	Cause     cause.Cause    `json:"cause"`
	Summary   string         `json:"summary"`
	Count     int            `json:"count"`
	Previous  int            `json:"previous"`
	Avg7      float64        `json:"avg7"`
	ChangePct *float64       `json:"change_pct"`
	Networks  []Bucket       `json:"networks"` // source /24 (IPv4) and /64 (IPv6) networks
	IPs       []Bucket       `json:"ips"`
	Sources   int            `json:"sources"` // distinct source addresses
	Users     []Bucket       `json:"users"`
	NoUser    int            `json:"no_user"` // events without a user name
	Hosts     []Bucket       `json:"hosts"`
	Remedy    string         `json:"remedy"`
	Advice    string         `json:"advice,omitempty"` // what the server's settings say
	ipBuckets []index.Bucket // every source address, by count
	nets      []index.Bucket // every source network, by count
}

// Day is one day of the period.
type Day struct {
	Day     string              `json:"day"` // YYYY-MM-DD in the report's zone
	Count   int                 `json:"count"`
	ByCause map[cause.Cause]int `json:"by_cause"`
}

// Hour is one hour of the period. ByCause is filled for a one-day report
// only.
type Hour struct {
	Start   time.Time           `json:"start"`
	Count   int                 `json:"count"`
	ByCause map[cause.Cause]int `json:"by_cause"`
}

// Sessions are the connections that authenticated (phase postauth) and
// ended in the period.
type Sessions struct {
	Count   int                 `json:"count"`
	ByCause map[cause.Cause]int `json:"by_cause"`
	MedianS *float64            `json:"median_s"` // null when not computable (Notes say why)
	P95S    *float64            `json:"p95_s"`
	Longest []EventRef          `json:"longest"`
}

// EventRef is one event, briefly.
type EventRef struct {
	ID        string      `json:"id"`
	Start     time.Time   `json:"start,omitzero"`
	End       time.Time   `json:"end,omitzero"`
	Host      string      `json:"host,omitempty"`
	SrcIP     string      `json:"src_ip,omitempty"`
	User      string      `json:"user,omitempty"`
	Cause     cause.Cause `json:"cause"`
	DurationS float64     `json:"duration_s"`
}

// NewLogins are the addresses that logged in during the period and never
// before in the source.
type NewLogins struct {
	Count int `json:"count"` // new addresses
	// Checked is false when the source holds nothing before the period:
	// then every address is new and the list says little.
	Checked bool    `json:"checked"`
	Logins  []Login `json:"logins"` // the top ones, by sessions
}

// Login is one new address.
type Login struct {
	IP       string    `json:"ip"`
	Sessions int       `json:"sessions"`
	Users    []string  `json:"users"`
	Hosts    []string  `json:"hosts"`
	First    time.Time `json:"first"`
}

// Open are the connections still open when the report was made.
type Open struct {
	Available bool       `json:"available"`
	Count     int        `json:"count"`
	Sessions  []EventRef `json:"sessions"` // the oldest first, at most 20
}

// HostRow is one host's connection ends.
type HostRow struct {
	Host    string              `json:"host"`
	Count   int                 `json:"count"`
	ByCause map[cause.Cause]int `json:"by_cause"`
}

// Unmatched are the sshd lines no rule knew.
type Unmatched struct {
	Recorded bool               `json:"recorded"` // false: not recorded for this source or period
	Total    int                `json:"total"`
	Shapes   []*unmatched.Shape `json:"shapes"`
}

// Finding is one thing worth acting on.
type Finding struct {
	ID       string        `json:"id"`
	Weight   int           `json:"weight"`
	Title    string        `json:"title"`
	Causes   []cause.Cause `json:"causes"`
	Count    int           `json:"count"`
	Evidence []string      `json:"evidence"`
	Remedy   string        `json:"remedy"`
	// Settings quotes the server's settings the remedy is about.
	Settings map[string]string `json:"settings,omitempty"`
	// IPs and Networks are the sources, ready for a blocker.
	IPs      []string  `json:"ips,omitempty"`
	Networks []string  `json:"networks,omitempty"`
	Example  *EventRef `json:"example,omitempty"`
}

// Server is the sshd configuration the advice used.
type Server struct {
	From     string            `json:"from"` // "sshd -T", "file", "defaults"
	Version  string            `json:"version,omitempty"`
	Files    []string          `json:"files,omitempty"`
	Settings map[string]string `json:"settings"` // the settings the advice reads (lowercase keys)
	Defaults []string          `json:"defaults,omitempty"`
	Matches  []string          `json:"matches,omitempty"` // Match block criteria
	Notes    []string          `json:"notes,omitempty"`
}

// maxIterate is the most sessions read one by one for their durations
// when the source cannot count by duration.
const maxIterate = 20000

// Build makes the report of opt's period from src.
func Build(ctx context.Context, src Source, opt Options) (*Report, error) {
	b, err := newBuilder(src, opt)
	if err != nil {
		return nil, err
	}
	steps := []func(context.Context) error{
		b.daily, b.hourly, b.perCause, b.sessions, b.newLogins, b.open, b.unmatched,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	b.server()
	b.findings(ctx)
	return b.r, nil
}

type builder struct {
	src          Source
	opt          Options
	r            *Report
	since, until time.Time // [since, until)
	top          int
	multiHost    bool
	history      bool // the source holds ends before the period
	sessionIPs   map[string]int
}

func newBuilder(src Source, opt Options) (*builder, error) {
	if opt.Loc == nil {
		opt.Loc = time.Local
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.Days == 0 {
		opt.Days = 1
	}
	if opt.Days < 0 || opt.Days > 366 {
		return nil, fmt.Errorf("%w: a report covers 1 to 366 days, not %d", ErrOptions, opt.Days)
	}
	if opt.Top <= 0 {
		opt.Top = 5
	}
	day := opt.Day
	if day.IsZero() {
		day = opt.Now.In(opt.Loc).AddDate(0, 0, -1)
	}
	since := midnight(day, opt.Loc)
	until := since.AddDate(0, 0, opt.Days)
	r := &Report{
		Version: SchemaVersion, Generated: opt.Now, Source: opt.Source,
		Since: since, Until: until, Days: opt.Days, Zone: zoneName(since),
		Hosts: opt.Hosts, Partial: opt.Now.Before(until),
		Findings: []Finding{}, Causes: []CauseRow{}, PerHost: []HostRow{},
		byCause: map[cause.Cause]*CauseRow{},
	}
	return &builder{src: src, opt: opt, r: r, since: since, until: until, top: opt.Top}, nil
}

// ErrOptions is wrapped by errors about Options.
var ErrOptions = errors.New("bad report options")

func midnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

func zoneName(t time.Time) string {
	name, off := t.Zone()
	if name == "" || strings.HasPrefix(name, "+") || strings.HasPrefix(name, "-") {
		return fmt.Sprintf("UTC%+03d:%02d", off/3600, abs(off%3600)/60)
	}
	return name
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// query is the report's filter for [since, until).
func (b *builder) query(since, until time.Time) index.Query {
	return index.Query{Since: since, Until: until.Add(-time.Nanosecond), Hosts: b.opt.Hosts}
}

func (b *builder) period() index.Query { return b.query(b.since, b.until) }

func (b *builder) count(ctx context.Context, q index.Query, by string, limit int) (index.Counts, error) {
	c, err := b.src.Count(ctx, q, by, limit)
	if err != nil {
		return c, fmt.Errorf("report: count by %s: %w", by, err)
	}
	return c, nil
}

func (b *builder) note(format string, args ...any) {
	b.r.Notes = append(b.r.Notes, fmt.Sprintf(format, args...))
}

func (b *builder) row(c cause.Cause) *CauseRow {
	if r := b.r.byCause[c]; r != nil {
		return r
	}
	in := c.Info()
	r := &CauseRow{Cause: c, Summary: in.Summary, Remedy: in.Remedy,
		Networks: []Bucket{}, IPs: []Bucket{}, Users: []Bucket{}, Hosts: []Bucket{}}
	b.r.byCause[c] = r
	return r
}

// daily counts the ends by cause for every day of the period and of the
// days before it (as many as the period, and at least 7).
func (b *builder) daily(ctx context.Context) error {
	before := max(b.opt.Days, 7)
	for i := -before; i < b.opt.Days; i++ {
		ds := b.since.AddDate(0, 0, i)
		de := b.since.AddDate(0, 0, i+1)
		c, err := b.count(ctx, b.query(ds, de), index.FieldCause, 0)
		if err != nil {
			return err
		}
		day := Day{Day: ds.Format(time.DateOnly), Count: int(c.Total), ByCause: map[cause.Cause]int{}}
		for _, bk := range c.Buckets {
			cs := cause.Cause(bk.Value)
			day.ByCause[cs] += bk.Count
			r := b.row(cs)
			switch {
			case i >= 0:
				r.Count += bk.Count
			case i >= -b.opt.Days:
				r.Previous += bk.Count
			}
			if i < 0 && i >= -7 {
				r.Avg7 += float64(bk.Count) / 7
			}
		}
		switch {
		case i >= 0:
			b.r.Total.Count += day.Count
			b.r.Daily = append(b.r.Daily, day)
		case i >= -b.opt.Days:
			b.r.Total.Previous += day.Count
		}
		b.history = b.history || i < 0 && day.Count > 0
		if i < 0 && i >= -7 {
			b.r.Total.Avg7 += float64(day.Count) / 7
		}
	}
	b.r.Total.ChangePct = change(b.r.Total.Count, b.r.Total.Previous)
	b.r.Empty = b.r.Total.Count == 0
	for _, c := range cause.All() {
		if r := b.r.byCause[c]; r != nil {
			r.ChangePct = change(r.Count, r.Previous)
			r.Avg7 = round1(r.Avg7)
			b.r.Causes = append(b.r.Causes, *r)
		}
	}
	b.r.Total.Avg7 = round1(b.r.Total.Avg7)
	slices.SortStableFunc(b.r.Causes, func(x, y CauseRow) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(y.Previous, x.Previous))
	})
	b.reindex()
	return nil
}

// reindex points byCause at the rows of r.Causes.
func (b *builder) reindex() {
	for i := range b.r.Causes {
		b.r.byCause[b.r.Causes[i].Cause] = &b.r.Causes[i]
	}
}

func change(now, before int) *float64 {
	if before == 0 {
		return nil
	}
	v := round1(100 * float64(now-before) / float64(before))
	return &v
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// hourly counts the ends by hour: by cause for a one-day report (its
// chart stacks them), in total for a longer one (its chart is by day, and
// counting every cause by hour over a month would cost a search each).
func (b *builder) hourly(ctx context.Context) error {
	n := int(math.Ceil(b.until.Sub(b.since).Hours()))
	for i := 0; i < n; i++ {
		b.r.Hourly = append(b.r.Hourly, Hour{Start: b.since.Add(time.Duration(i) * time.Hour), ByCause: map[cause.Cause]int{}})
	}
	add := func(c cause.Cause, bs []index.Bucket) {
		for _, bk := range bs {
			t, err := time.Parse("2006-01-02T15", bk.Value)
			if err != nil {
				continue
			}
			i := int(math.Floor(t.Sub(b.since).Hours()))
			i = min(max(i, 0), n-1) // an hour of a zone with a half-hour offset
			b.r.Hourly[i].Count += bk.Count
			if c != "" {
				b.r.Hourly[i].ByCause[c] += bk.Count
			}
		}
	}
	if b.opt.Days > 1 {
		c, err := b.count(ctx, b.period(), index.FieldHour, 0)
		if err != nil {
			return err
		}
		add("", c.Buckets)
		return nil
	}
	for _, row := range b.r.Causes {
		if row.Count == 0 {
			continue
		}
		q := b.period()
		q.Causes = []cause.Cause{row.Cause}
		c, err := b.count(ctx, q, index.FieldHour, 0)
		if err != nil {
			return err
		}
		add(row.Cause, c.Buckets)
	}
	return nil
}

// perCause fills each cause's top lists.
func (b *builder) perCause(ctx context.Context) error {
	hosts, err := b.count(ctx, b.period(), index.FieldHost, 0)
	if err != nil {
		return err
	}
	b.multiHost = len(hosts.Buckets) > 1
	perHost := map[string]*HostRow{}
	for i := range b.r.Causes {
		row := &b.r.Causes[i]
		if row.Count == 0 {
			continue
		}
		q := b.period()
		q.Causes = []cause.Cause{row.Cause}
		ips, err := b.count(ctx, q, index.FieldSrcIP, 0)
		if err != nil {
			return err
		}
		row.ipBuckets = ips.Buckets
		row.Sources = len(ips.Buckets)
		row.IPs = topBuckets(ips.Buckets, b.top)
		row.nets = networks(ips.Buckets)
		row.Networks = topBuckets(largest(row.nets, b.top), b.top)
		users, err := b.count(ctx, q, index.FieldUser, b.top)
		if err != nil {
			return err
		}
		row.Users = topBuckets(users.Buckets, b.top)
		row.NoUser = users.Missing
		if !b.multiHost {
			for _, h := range hosts.Buckets {
				row.Hosts = []Bucket{{Value: h.Value, Count: row.Count}}
			}
			continue
		}
		hc, err := b.count(ctx, q, index.FieldHost, 0)
		if err != nil {
			return err
		}
		row.Hosts = topBuckets(hc.Buckets, b.top)
		for _, h := range hc.Buckets {
			hr := perHost[h.Value]
			if hr == nil {
				hr = &HostRow{Host: h.Value, ByCause: map[cause.Cause]int{}}
				perHost[h.Value] = hr
			}
			hr.Count += h.Count
			hr.ByCause[row.Cause] += h.Count
		}
	}
	for _, hr := range perHost {
		b.r.PerHost = append(b.r.PerHost, *hr)
	}
	slices.SortFunc(b.r.PerHost, func(x, y HostRow) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), strings.Compare(x.Host, y.Host))
	})
	return nil
}

func topBuckets(bs []index.Bucket, n int) []Bucket {
	out := make([]Bucket, 0, min(n, len(bs)))
	for _, b := range bs {
		if len(out) == n {
			break
		}
		out = append(out, Bucket{Value: b.Value, Count: b.Count})
	}
	return out
}

// networks sums address counts by network: the /24 of an IPv4 address,
// the /64 of an IPv6 one (an IPv4-mapped address counts as IPv4); what is
// not an address stays as it is. The result is in no order.
func networks(ips []index.Bucket) []index.Bucket {
	sum := make(map[netip.Prefix]int, len(ips)/2)
	var odd []index.Bucket
	for _, b := range ips {
		a, err := netip.ParseAddr(b.Value)
		if err != nil {
			odd = append(odd, b)
			continue
		}
		a = a.Unmap()
		bits := 64
		if a.Is4() {
			bits = 24
		}
		p, _ := a.Prefix(bits)
		sum[p] += b.Count
	}
	out := make([]index.Bucket, 0, len(sum)+len(odd))
	for p, n := range sum {
		out = append(out, index.Bucket{Value: p.String(), Count: n})
	}
	return append(out, odd...)
}

// bucketOrder is by count, largest first, then by value.
func bucketOrder(x, y index.Bucket) int {
	return cmp.Or(cmp.Compare(y.Count, x.Count), strings.Compare(x.Value, y.Value))
}

// largest returns the n largest buckets of bs in bucketOrder, without
// sorting all of them (a month of addresses makes 10⁵–10⁶ networks).
func largest(bs []index.Bucket, n int) []index.Bucket {
	var top []index.Bucket
	for _, b := range bs {
		if len(top) == n && bucketOrder(b, top[n-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, b, bucketOrder)
		top = slices.Insert(top, i, b)
		if len(top) > n {
			top = top[:n]
		}
	}
	return top
}

func ref(e *classify.Event) EventRef {
	return EventRef{ID: e.ID, Start: e.Start, End: e.End, Host: e.Host, SrcIP: e.SrcIP,
		User: e.User, Cause: e.Cause, DurationS: e.DurationS}
}

// sessions counts the authenticated connections and their durations.
func (b *builder) sessions(ctx context.Context) error {
	q := b.period()
	q.Phases = []string{string(cause.Postauth)}
	c, err := b.count(ctx, q, index.FieldCause, 0)
	if err != nil {
		return err
	}
	s := &b.r.Sessions
	s.Count, s.ByCause, s.Longest = int(c.Total), map[cause.Cause]int{}, []EventRef{}
	for _, bk := range c.Buckets {
		s.ByCause[cause.Cause(bk.Value)] = bk.Count
	}
	if s.Count == 0 {
		return nil
	}
	if _, err := b.src.Search(ctx, q, index.SearchOptions{Limit: 3, Sort: "-" + index.FieldDuration}, func(e *classify.Event) error {
		s.Longest = append(s.Longest, ref(e))
		return nil
	}); err != nil {
		return fmt.Errorf("report: longest sessions: %w", err)
	}
	// Durations: counted by the source when it can, else read one by one
	// when there are few.
	var durs []index.Bucket
	dc, err := b.src.Count(ctx, q, FieldDuration, 0)
	switch {
	case err == nil:
		durs = dc.Buckets
	case !errors.Is(err, index.ErrBadQuery):
		return fmt.Errorf("report: count by duration: %w", err)
	case s.Count <= maxIterate:
		n := map[int64]int{}
		if _, err := b.src.Search(ctx, q, index.SearchOptions{}, func(e *classify.Event) error {
			n[durationKey(e)]++
			return nil
		}); err != nil {
			return fmt.Errorf("report: session durations: %w", err)
		}
		for d, k := range n {
			durs = append(durs, index.Bucket{Value: fmt.Sprint(d), Count: k})
		}
	default:
		b.note("session median and p95 not computed: %d sessions, and the source cannot count them by duration nor read more than %d one by one in reasonable time", s.Count, maxIterate)
		return nil
	}
	slices.SortFunc(durs, func(x, y index.Bucket) int { return cmp.Compare(atoi(x.Value), atoi(y.Value)) })
	s.MedianS = percentile(durs, 0.50)
	s.P95S = percentile(durs, 0.95)
	return nil
}

// percentile is the nearest-rank percentile of the counted values.
func percentile(sorted []index.Bucket, p float64) *float64 {
	total := 0
	for _, b := range sorted {
		total += b.Count
	}
	if total == 0 {
		return nil
	}
	rank := int(math.Ceil(p * float64(total)))
	seen := 0
	for _, b := range sorted {
		seen += b.Count
		if seen >= rank {
			v := float64(atoi(b.Value))
			return &v
		}
	}
	return nil
}

// newLogins finds the addresses that logged in during the period and not
// before it.
func (b *builder) newLogins(ctx context.Context) error {
	q := b.period()
	q.Phases = []string{string(cause.Postauth)}
	now, err := b.count(ctx, q, index.FieldSrcIP, 0)
	if err != nil {
		return err
	}
	b.sessionIPs = map[string]int{}
	for _, bk := range now.Buckets {
		b.sessionIPs[bk.Value] = bk.Count
	}
	nl := &b.r.NewLogins
	nl.Logins = []Login{}
	if len(now.Buckets) == 0 {
		nl.Checked = true
		return nil
	}
	hq := index.Query{Until: b.since.Add(-time.Nanosecond), Hosts: b.opt.Hosts, Phases: q.Phases}
	before, err := b.count(ctx, hq, index.FieldSrcIP, 0)
	if err != nil {
		return err
	}
	all := index.Query{Until: b.since.Add(-time.Nanosecond), Hosts: b.opt.Hosts}
	anyBefore, err := b.count(ctx, all, index.FieldCause, 0)
	if err != nil {
		return err
	}
	nl.Checked = anyBefore.Total > 0
	seen := map[string]bool{}
	for _, bk := range before.Buckets {
		seen[bk.Value] = true
	}
	var fresh []index.Bucket
	for _, bk := range now.Buckets { // by sessions, largest first
		if !seen[bk.Value] {
			fresh = append(fresh, bk)
		}
	}
	nl.Count = len(fresh)
	for _, bk := range fresh[:min(len(fresh), 2*b.top)] {
		l := Login{IP: bk.Value, Sessions: bk.Count, Users: []string{}, Hosts: []string{}}
		iq := q
		iq.IPs = []string{bk.Value}
		if _, err := b.src.Search(ctx, iq, index.SearchOptions{Limit: 50, Sort: index.FieldEnd}, func(e *classify.Event) error {
			if e.User != "" && !slices.Contains(l.Users, e.User) && len(l.Users) < 5 {
				l.Users = append(l.Users, e.User)
			}
			if e.Host != "" && !slices.Contains(l.Hosts, e.Host) && len(l.Hosts) < 5 {
				l.Hosts = append(l.Hosts, e.Host)
			}
			if t := cmp.Or(e.Start, e.End); l.First.IsZero() || t.Before(l.First) {
				l.First = t
			}
			return nil
		}); err != nil {
			if errors.Is(err, index.ErrBadQuery) {
				continue // an address the index cannot query (kept as logged)
			}
			return fmt.Errorf("report: new login %s: %w", bk.Value, err)
		}
		nl.Logins = append(nl.Logins, l)
	}
	return nil
}

// open lists the connections still open.
func (b *builder) open(ctx context.Context) error {
	o := &b.r.Open
	o.Sessions = []EventRef{}
	op, ok := b.src.(Opener)
	if !ok {
		return nil
	}
	evs, err := op.Open(ctx)
	if err != nil {
		return fmt.Errorf("report: open sessions: %w", err)
	}
	o.Available = true
	var keep []*classify.Event
	for _, e := range evs {
		if len(b.opt.Hosts) > 0 && !slices.Contains(b.opt.Hosts, e.Host) {
			continue
		}
		if !e.Start.IsZero() && !e.Start.Before(b.until) {
			continue // opened after the period
		}
		keep = append(keep, e)
	}
	slices.SortFunc(keep, func(x, y *classify.Event) int { return x.Start.Compare(y.Start) })
	o.Count = len(keep)
	for _, e := range keep[:min(len(keep), 20)] {
		o.Sessions = append(o.Sessions, ref(e))
	}
	return nil
}

func (b *builder) unmatched(context.Context) error {
	u := &b.r.Unmatched
	u.Shapes = []*unmatched.Shape{}
	if b.opt.Unmatched == nil {
		return nil
	}
	s, err := b.opt.Unmatched(b.since, b.until.Add(-time.Nanosecond))
	if err != nil {
		return fmt.Errorf("report: unmatched lines: %w", err)
	}
	u.Recorded, u.Total = s.Recorded, s.Total
	if s.Shapes != nil {
		u.Shapes = s.Shapes
	}
	return nil
}

// adviceKeys are the settings the report quotes.
func adviceKeys() []string {
	seen := map[string]bool{}
	var keys []string
	add := func(ks []string) {
		for _, k := range ks {
			if l := strings.ToLower(k); !seen[l] {
				seen[l] = true
				keys = append(keys, l)
			}
		}
	}
	for _, c := range cause.All() {
		add(c.Info().Settings)
	}
	for _, f := range cause.Findings() {
		add(f.Settings)
	}
	add([]string{"LogLevel", "LoginGraceTime", "ClientAliveInterval", "ClientAliveCountMax", "UnusedConnectionTimeout"})
	slices.Sort(keys)
	return keys
}

// server records the settings used, and adds each cause's advice.
func (b *builder) server() {
	cfg := b.opt.Settings
	var s cause.Settings
	if cfg != nil {
		s = cfg
		srv := &Server{From: cfg.From, Version: cfg.Version, Files: cfg.Files, Settings: map[string]string{}, Notes: cfg.Notes}
		for _, k := range adviceKeys() {
			if v, ok := cfg.Setting(k); ok {
				srv.Settings[k] = v
				if cfg.IsDefault(k) {
					srv.Defaults = append(srv.Defaults, k)
				}
			}
		}
		for _, m := range cfg.Matches {
			srv.Matches = append(srv.Matches, m.Criteria)
		}
		b.r.Server = srv
	}
	for i := range b.r.Causes {
		row := &b.r.Causes[i]
		row.Advice = row.Cause.Advice(s, cause.Facts{Count: row.Count, Confidence: confidenceOf(row.Cause)})
	}
}

// confidenceOf is the confidence a cause usually has, for advice given
// about all its events at once.
func confidenceOf(c cause.Cause) string {
	switch c {
	case cause.ConnectionLost, cause.HostKeyMismatch:
		return string(cause.Inferred)
	}
	return string(cause.Certain)
}
