package report

import (
	"cmp"
	"context"
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
)

// When a finding applies. The words are in cause/findings.yaml; the
// thresholds are here.
const (
	// idle_cut_network: a network with at least clusterMin
	// client_timeout + network_reset ends and at least clusterShare of
	// them.
	clusterMin   = 3
	clusterShare = 0.25
	// grace_flood: at least graceFloodDaily a day, or graceRiseDaily a
	// day and riseFactor times the week before.
	graceFloodDaily = 50
	graceRiseDaily  = 10
	// spike: a cause at riseFactor times its daily average of the week
	// before and spikeMin more a day.
	riseFactor = 3
	spikeMin   = 20
	// brute_force: networks with at least bruteMinDaily failed logins a
	// day and bruteShare of all of them; at most bruteNets networks.
	bruteMinDaily = 20
	bruteShare    = 0.01
	bruteNets     = 10
	// maxBlockIPs caps the ips list of a finding.
	maxBlockIPs = 1000
)

// findings adds the findings, ranked by weight, then by events.
func (b *builder) findings(ctx context.Context) {
	var s cause.Settings
	if b.opt.Settings != nil {
		s = b.opt.Settings
	}
	add := func(id string, facts cause.Facts, fill func(*Finding)) {
		info, ok := cause.Finding(id)
		if !ok {
			panic("report: finding " + id + " is not in cause/findings.yaml")
		}
		f := Finding{ID: id, Weight: info.Weight, Causes: info.Causes, Count: facts.Count,
			Title: info.RenderTitle(s, facts), Remedy: info.RenderRemedy(s, facts), Evidence: []string{}}
		if f.Causes == nil {
			f.Causes = []cause.Cause{}
		}
		if b.opt.Settings != nil && len(info.Settings) > 0 {
			f.Settings = map[string]string{}
			for _, k := range info.Settings {
				if v, ok := b.opt.Settings.Setting(k); ok {
					f.Settings[k] = v
				}
			}
		}
		if fill != nil {
			fill(&f)
		}
		b.r.Findings = append(b.r.Findings, f)
	}
	days := float64(b.opt.Days)

	if row := b.r.byCause[cause.HostKeyMismatch]; row != nil && row.Count > 0 {
		add("host_key_changed", cause.Facts{Count: row.Count, Sources: row.Sources}, func(f *Finding) {
			f.Evidence = append(f.Evidence, b.sourcesLine(row)...)
			f.IPs = ipList(row.ipBuckets)
			f.Example = b.example(ctx, cause.HostKeyMismatch, nil)
		})
	}
	if row := b.r.byCause[cause.PacketCorruption]; row != nil && row.Count > 0 {
		add("packet_corruption", cause.Facts{Count: row.Count, Sources: row.Sources}, func(f *Finding) {
			f.Evidence = append(f.Evidence, b.sourcesLine(row)...)
			f.IPs = ipList(row.ipBuckets)
			f.Example = b.example(ctx, cause.PacketCorruption, nil)
		})
	}
	b.idleCut(ctx, add)
	if row := b.r.byCause[cause.RateLimited]; row != nil && row.Count > 0 {
		also := 0
		for _, bk := range row.ipBuckets {
			if b.sessionIPs[bk.Value] > 0 {
				also++
			}
		}
		add("rate_limited", cause.Facts{Count: row.Count, Sources: row.Sources, Also: also}, func(f *Finding) {
			f.Evidence = append(f.Evidence, b.sourcesLine(row)...)
			if h := b.busiestHours(cause.RateLimited, 3); h != "" {
				f.Evidence = append(f.Evidence, b.busiestLabel()+h)
			}
		})
	}
	if row := b.r.byCause[cause.GraceTimeout]; row != nil && row.Count > 0 {
		daily := float64(row.Count) / days
		if daily >= graceFloodDaily || daily >= graceRiseDaily && daily >= riseFactor*row.Avg7 {
			add("grace_flood", cause.Facts{Count: row.Count, Sources: row.Sources, Avg: row.Avg7}, func(f *Finding) {
				f.Evidence = append(f.Evidence, b.sourcesLine(row)...)
			})
		}
	}
	for _, row := range b.r.Causes {
		daily := float64(row.Count) / days
		if row.Cause == cause.UserLogout || !b.history {
			continue // a busy day of logouts is good news; without history there is no week before
		}
		if daily >= riseFactor*row.Avg7 && daily-row.Avg7 >= spikeMin {
			add("spike", cause.Facts{Count: int(math.Round(daily)), Subject: string(row.Cause), Avg: row.Avg7}, func(f *Finding) {
				f.Causes = []cause.Cause{row.Cause}
				f.Count = row.Count
				f.Remedy = row.Remedy + ". " + f.Remedy
				f.Evidence = append(f.Evidence, b.sourcesLine(&row)...)
				if h := b.busiestHours(row.Cause, 3); h != "" {
					f.Evidence = append(f.Evidence, b.busiestLabel()+h)
				}
			})
		}
	}
	if row := b.r.byCause[cause.AuthFailure]; row != nil && row.Count > 0 {
		min := max(bruteMinDaily*days, bruteShare*float64(row.Count))
		var nets []index.Bucket
		sum := 0
		for _, n := range largest(row.nets, bruteNets) {
			if float64(n.Count) < min {
				break
			}
			nets = append(nets, n)
			sum += n.Count
		}
		if len(nets) > 0 {
			add("brute_force", cause.Facts{Count: sum, Sources: len(nets)}, func(f *Finding) {
				in := map[netip.Prefix]bool{}
				for _, n := range nets {
					f.Networks = append(f.Networks, n.Value)
					if p, err := netip.ParsePrefix(n.Value); err == nil {
						in[p] = true
					}
					f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %d failed logins", n.Value, n.Count))
				}
				for _, bk := range row.ipBuckets { // by count: the worst first
					a, err := netip.ParseAddr(bk.Value)
					if err != nil || len(f.IPs) == maxBlockIPs {
						continue
					}
					a = a.Unmap()
					bits := 64
					if a.Is4() {
						bits = 24
					}
					if p, _ := a.Prefix(bits); in[p] {
						f.IPs = append(f.IPs, a.String())
					}
				}
			})
		}
	}
	if cfg := b.opt.Settings; cfg != nil {
		if lv, _ := cfg.Setting("LogLevel"); lv == "INFO" || lv == "ERROR" || lv == "FATAL" || lv == "QUIET" {
			inferred := 0
			if row := b.r.byCause[cause.ConnectionLost]; row != nil {
				inferred = row.Count
			}
			add("loglevel_hides", cause.Facts{Count: inferred}, func(f *Finding) {
				f.Evidence = append(f.Evidence, "LogLevel "+lv+" ("+originText(cfg.Origin("LogLevel"))+")")
			})
		}
	}
	if u := b.r.Unmatched; u.Total > 0 {
		add("unmatched_lines", cause.Facts{Count: u.Total, Sources: len(u.Shapes)}, func(f *Finding) {
			for _, s := range u.Shapes[:min(3, len(u.Shapes))] {
				f.Evidence = append(f.Evidence, fmt.Sprintf("%d× %s: %s", s.Count, cut(s.Program, maxValue), cut(s.Shape, 2*maxValue)))
			}
		})
	}
	slices.SortStableFunc(b.r.Findings, func(x, y Finding) int {
		return cmp.Or(cmp.Compare(y.Weight, x.Weight), cmp.Compare(y.Count, x.Count))
	})
}

func originText(o string) string {
	if o == "" {
		return "unknown origin"
	}
	if o == "default" {
		return "OpenSSH's default"
	}
	if o == sshdconfig.FromSSHD {
		return "from sshd -T"
	}
	return "set at " + o
}

// idleCut finds the networks whose sessions died of client_timeout or
// network_reset.
func (b *builder) idleCut(ctx context.Context, add func(string, cause.Facts, func(*Finding))) {
	rows := []*CauseRow{b.r.byCause[cause.ClientTimeout], b.r.byCause[cause.NetworkReset]}
	sum := map[string]map[cause.Cause]int{}
	total := 0
	for _, row := range rows {
		if row == nil {
			continue
		}
		total += row.Count
		for _, n := range row.nets {
			if sum[n.Value] == nil {
				sum[n.Value] = map[cause.Cause]int{}
			}
			sum[n.Value][row.Cause] += n.Count
		}
	}
	type cluster struct {
		net string
		n   int
		by  map[cause.Cause]int
	}
	var cs []cluster
	for net, by := range sum {
		n := by[cause.ClientTimeout] + by[cause.NetworkReset]
		if n >= clusterMin && float64(n) >= clusterShare*float64(total) {
			cs = append(cs, cluster{net, n, by})
		}
	}
	slices.SortFunc(cs, func(x, y cluster) int { return cmp.Or(cmp.Compare(y.n, x.n), strings.Compare(x.net, y.net)) })
	for _, c := range cs[:min(3, len(cs))] {
		var durs []float64
		users := map[string]int{}
		var example *EventRef
		q := b.period()
		q.Causes = []cause.Cause{cause.ClientTimeout, cause.NetworkReset}
		q.IPs = []string{c.net}
		_, err := b.src.Search(ctx, q, index.SearchOptions{Limit: 200}, func(e *classify.Event) error {
			if e.Phase == cause.Postauth {
				durs = append(durs, e.DurationS)
			}
			if e.User != "" {
				users[e.User]++
			}
			if example == nil {
				r := ref(e)
				example = &r
			}
			return nil
		})
		typical := ""
		if err == nil && len(durs) > 0 {
			slices.Sort(durs)
			typical = (time.Duration(durs[len(durs)/2]) * time.Second).Round(time.Second).String()
		}
		add("idle_cut_network", cause.Facts{Count: c.n, Subject: c.net, Typical: typical}, func(f *Finding) {
			f.Causes = []cause.Cause{cause.ClientTimeout, cause.NetworkReset}
			f.Networks = []string{c.net}
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %d client_timeout, %d network_reset", c.net, c.by[cause.ClientTimeout], c.by[cause.NetworkReset]))
			if len(users) > 0 {
				f.Evidence = append(f.Evidence, "users: "+joinCounts(users, 5))
			}
			if len(durs) > 0 {
				f.Evidence = append(f.Evidence, fmt.Sprintf("median session length before the cut: %s (%d sessions)", typical, len(durs)))
			}
			f.Example = example
		})
	}
}

// sourcesLine describes where a cause's events came from.
func (b *builder) sourcesLine(row *CauseRow) []string {
	var out []string
	if len(row.Networks) > 0 {
		out = append(out, "networks: "+joinBuckets(row.Networks))
	}
	if len(row.IPs) > 0 {
		out = append(out, "addresses: "+joinBuckets(row.IPs))
	}
	if len(row.Users) > 0 {
		out = append(out, "users: "+joinBuckets(row.Users))
	}
	if b.multiHost && len(row.Hosts) > 0 {
		out = append(out, "hosts: "+joinBuckets(row.Hosts))
	}
	return out
}

// busiestHours names the n hours (the n days of a longer report) with
// the most ends of c.
func (b *builder) busiestHours(c cause.Cause, n int) string {
	type h struct {
		label string
		n     int
	}
	var hs []h
	if b.opt.Days == 1 {
		for _, hr := range b.r.Hourly {
			if k := hr.ByCause[c]; k > 0 {
				hs = append(hs, h{hr.Start.Format("15:00"), k})
			}
		}
	} else {
		for _, d := range b.r.Daily {
			if k := d.ByCause[c]; k > 0 {
				hs = append(hs, h{d.Day, k})
			}
		}
	}
	slices.SortStableFunc(hs, func(x, y h) int { return cmp.Compare(y.n, x.n) })
	var parts []string
	for _, x := range hs[:min(n, len(hs))] {
		parts = append(parts, fmt.Sprintf("%s (%d)", x.label, x.n))
	}
	return strings.Join(parts, ", ")
}

func (b *builder) busiestLabel() string {
	if b.opt.Days == 1 {
		return "busiest hours: "
	}
	return "busiest days: "
}

// example is one event of c (in net, if given), for a finding.
func (b *builder) example(ctx context.Context, c cause.Cause, ips []string) *EventRef {
	q := b.period()
	q.Causes, q.IPs = []cause.Cause{c}, ips
	var out *EventRef
	_, _ = b.src.Search(ctx, q, index.SearchOptions{Limit: 1}, func(e *classify.Event) error {
		r := ref(e)
		out = &r
		return nil
	})
	return out
}

func joinBuckets(bs []Bucket) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = fmt.Sprintf("%s (%d)", cut(b.Value, maxValue), b.Count) // attacker-written: bounded
	}
	return strings.Join(parts, ", ")
}

func joinCounts(m map[string]int, n int) string {
	var bs []Bucket
	for v, c := range m {
		bs = append(bs, Bucket{v, c})
	}
	slices.SortFunc(bs, func(x, y Bucket) int { return cmp.Or(cmp.Compare(y.Count, x.Count), strings.Compare(x.Value, y.Value)) })
	return joinBuckets(bs[:min(n, len(bs))])
}

// ipList is the valid addresses of the buckets, for a blocker.
func ipList(bs []index.Bucket) []string {
	var out []string
	for _, b := range bs {
		if a, err := netip.ParseAddr(b.Value); err == nil && len(out) < maxBlockIPs {
			out = append(out, a.Unmap().String())
		}
	}
	return out
}
