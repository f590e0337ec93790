package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sshwhy/sshwhy/agent"
	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/checkpoint"
	"github.com/sshwhy/sshwhy/rules"

	"github.com/spf13/cobra"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
	"github.com/sshwhy/sshwhy/internal/escape"
)

// searchFlags are the flags of sshwhy search.
type searchFlags struct {
	dataDir      string
	since, until string
	causes       []string
	ips          []string
	users        []string
	hosts        []string
	phases       []string
	limit        int
	sort         string
	format       string
	countBy      string
	openTimeout  time.Duration
	limitSet     bool // --limit given: ips are not cut at the default limit
	open         bool
	socket       string
	socketSet    bool // --socket given
	dataSet      bool // --data given
	remote       *remoteFlags
	explain      bool
	x            *explainer
}

// explainer is the remedies of --explain, nil without it.
func (fl *searchFlags) explainer() *explainer {
	if fl.explain && fl.x == nil {
		fl.x = &explainer{}
	}
	return fl.x
}

func newSearchCmd() *cobra.Command {
	var fl searchFlags
	cmd := &cobra.Command{
		Use:   "search [flags] [QUERY]",
		Short: "Search the indexed events",
		Long: `Search finds events stored by "sshwhy index". The flags build exact
queries; QUERY adds anything else, in bleve's query-string syntax
(https://blevesearch.com/docs/Query-String-Query/), read exactly:

  word  "a phrase"        the evidence lines contain the word, or the words
                          in this order on one line (case-insensitive)
  field:value             the field equals the value; quoting changes nothing:
                          user:root  user:"john smith"  src_ip:2001:db8::1
  field:ro*  field:/re/   a wildcard (* ?) or a regexp over the whole value
  field:alice~1           within 1 (or ~2: 2) edits of the value
  field:>N >=N <N <=N     numbers, times and hours compare: duration_s:>3600
                          end:>=2026-11-23T10:00:00Z  start:<2026-11-23
  ip:CIDR                 the source address is in the network (IPv4 or IPv6)
  +term  -term            must match, must not match; terms without a sign
                          are alternatives (at least one must match)

Fields: cause, user, src_ip, remote (a source that is not an address),
host, program, phase, confidence, rule, source, auth_method are exact and
case-sensitive; src_port, pid, duration_s (whole seconds, rounded) and
auth_failures are numbers; start and end take RFC 3339 or a UTC date (the
whole day: end:2026-11-23); hour is the UTC hour of the end (2026-11-23T10);
lines (the default) and detail are words; ip takes an address or a CIDR
prefix. An event without a field does not match it: -user:* finds events
without a user. An IPv4 address logged IPv4-mapped (::ffff:a.b.c.d) is the
IPv4 address for --ip, src_ip:, ip:, --count-by src_ip and --format ips.

AND, OR and NOT are not operators in this syntax (bleve would search them
as words) and parentheses do not group, so sshwhy refuses them: write
+term and -term, or use the flags (--cause a,b means a or b). Unknown
fields, unknown causes, phases or confidences, bad regexps, boosts (^N)
and unsigned terms beside +terms (results are not ranked, so those would
change nothing) are refused too. A malformed or meaningless query exits
with status 2 and names the problem. A QUERY that starts with - needs --
before it: sshwhy search -- '-cause:probe'.

By default the newest --limit events are printed oldest first; --sort
orders by end, duration_s, auth_failures, cause, user, src_ip or host
(prefix - for descending). --count-by counts events per value instead
(exact counts; hours are UTC).`,
		Example: `  sshwhy search --since 7d --cause client_timeout --ip 203.0.113.0/24
  sshwhy search --since 24h --cause auth_failure --format ips > /etc/nftables/ssh-block.txt
  sshwhy search --since 2026-11-01 --until 2026-11-30 --count-by cause
  sshwhy search --user root '"Too many authentication failures"'
  sshwhy search --since 1d 'duration_s:>3600 -cause:user_logout' --sort -duration_s
  sshwhy search '+user:"john smith" +src_ip:2001:db8::1'
  sshwhy search -- '-cause:probe -cause:auth_failure'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			fl.limitSet = cmd.Flags().Changed("limit")
			fl.socketSet, fl.dataSet = cmd.Flags().Changed("socket"), cmd.Flags().Changed("data")
			return runSearch(cmd, args, &fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.dataDir, "data", "", "data `DIR` (default /var/lib/sshwhy as root, else $XDG_DATA_HOME/sshwhy or ~/.local/share/sshwhy)")
	f.StringVar(&fl.since, "since", "", "events that ended at or after `TIME`: an age (90m, 24h, 7d), RFC 3339, or YYYY-MM-DD (local)")
	f.StringVar(&fl.until, "until", "", "events that ended at or before `TIME` (a bare date includes that day)")
	f.StringSliceVar(&fl.causes, "cause", nil, "only these causes (repeatable or comma-separated)")
	f.StringSliceVar(&fl.ips, "ip", nil, "only these source addresses or CIDR networks, IPv4 or IPv6 (repeatable or comma-separated)")
	f.StringArrayVar(&fl.users, "user", nil, "only this user name, exactly (repeatable)")
	f.StringSliceVar(&fl.hosts, "host", nil, "only these hosts (repeatable or comma-separated)")
	f.StringSliceVar(&fl.phases, "phase", nil, "only this phase: preauth or postauth")
	f.IntVar(&fl.limit, "limit", 100, "most events (or --count-by values) to print; 0 for all")
	f.StringVar(&fl.sort, "sort", "", "order: end, duration_s, auth_failures, cause, user, src_ip, host; prefix - for descending (default: the newest --limit, oldest first)")
	f.StringVarP(&fl.format, "format", "o", "table", "output: table, json (one event per line), csv, or ips (unique source addresses, one per line)")
	f.StringVar(&fl.countBy, "count-by", "", "count events by cause, src_ip, user, host or hour instead of listing them")
	f.DurationVar(&fl.openTimeout, "open-timeout", time.Second, "how long to wait for a day being written by sshwhy index")
	f.BoolVar(&fl.open, "open", false, "search the connections that have not ended yet (the agent's, else those the last sshwhy index left open) instead of the ended ones")
	f.StringVar(&fl.socket, "socket", agent.DefaultSocket, "search through the agent listening on this unix socket `PATH` when one runs (- never); without --socket, an explicit --data reads that directory itself")
	fl.remote = addRemoteFlags(cmd) // fleet.go
	f.BoolVar(&fl.explain, "explain", false, "add what to do about each ending (\"remedy\" in JSON, a line under each row in the table), quoting this machine's sshd settings")
	return cmd
}

// query builds the index query from the flags; errors are usage errors.
func (fl *searchFlags) query(args []string, now time.Time) (index.Query, error) {
	var q index.Query
	var err error
	if fl.since != "" {
		if q.Since, err = index.ParseTime(fl.since, now, false); err != nil {
			return q, usageError{fmt.Errorf("--since: %w", err)}
		}
	}
	if fl.until != "" {
		if q.Until, err = index.ParseTime(fl.until, now, true); err != nil {
			return q, usageError{fmt.Errorf("--until: %w", err)}
		}
	}
	for _, c := range fl.causes {
		q.Causes = append(q.Causes, cause.Cause(strings.TrimSpace(c)))
	}
	q.IPs, q.Users, q.Hosts, q.Phases = fl.ips, fl.users, fl.hosts, fl.phases
	q.Text = strings.Join(args, " ")
	// Check each flag alone first, so the error names it.
	for _, part := range []struct {
		flag string
		q    index.Query
	}{
		{"--cause", index.Query{Causes: q.Causes}},
		{"--ip", index.Query{IPs: q.IPs}},
		{"--phase", index.Query{Phases: q.Phases}},
		{"--since/--until", index.Query{Since: q.Since, Until: q.Until}},
		{"QUERY", index.Query{Text: q.Text}},
	} {
		if err := part.q.Validate(); err != nil {
			return q, usageError{fmt.Errorf("%s: %w", part.flag, err)}
		}
	}
	if err := q.Validate(); err != nil {
		return q, usageError{err}
	}
	return q, nil
}

func runSearch(cmd *cobra.Command, args []string, fl *searchFlags) error {
	switch fl.format {
	case "table", "json", "csv", "ips":
	default:
		return usageError{fmt.Errorf("--format must be table, json, csv or ips, not %q", fl.format)}
	}
	if fl.limit < 0 {
		return usageError{fmt.Errorf("--limit must be 0 (all) or more, not %d", fl.limit)}
	}
	if fl.countBy != "" && fl.format == "ips" {
		return usageError{errors.New("--count-by and --format ips do not combine (ips is itself a list of unique src_ip)")}
	}
	q, err := fl.query(args, time.Now())
	if err != nil {
		return err
	}
	ctx := cmdContext(cmd)
	r, closeSearcher, err := fl.searcher(ctx)
	if err != nil {
		return err
	}
	defer closeSearcher()
	out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	defer out.Flush()
	stderr := cmd.ErrOrStderr()

	switch {
	case fl.countBy != "":
		c, err := r.Count(ctx, q, fl.countBy, fl.limit)
		if err != nil {
			return searchErr(err)
		}
		if c.Total == 0 {
			return noEvents(out, stderr, fl.format)
		}
		return writeCounts(out, fl.format, fl.countBy, c)
	case fl.format == "ips":
		return writeIPs(ctx, r, q, fl, out, stderr)
	}

	var write func(*classify.Event) error
	var finish func() error
	n := 0
	switch fl.format {
	case "json":
		buf := make([]byte, 0, 4096)
		write = func(ev *classify.Event) error {
			buf = appendEvent(buf[:0], ev, fl.explainer(), nil)
			buf = append(buf, '\n')
			_, err := out.Write(buf)
			return err
		}
	case "csv":
		cw := newCSVWriter(out)
		write = cw.write
		finish = func() error { cw.flush(); return nil }
	default:
		t := newTableWriter(out, isTerminal(cmd.OutOrStdout()))
		t.explain = fl.explainer()
		write = t.write
		finish = t.flush
	}
	res, err := r.Search(ctx, q, index.SearchOptions{Limit: fl.limit, Sort: fl.sort}, func(ev *classify.Event) error {
		n++
		return write(ev)
	})
	if err != nil {
		return searchErr(err)
	}
	if n == 0 {
		return noEvents(out, stderr, fl.format)
	}
	if finish != nil {
		if err := finish(); err != nil {
			return err
		}
	}
	if uint64(n) < res.Total {
		out.Flush()
		which := "newest"
		if fl.sort != "" {
			which = "first"
		}
		fmt.Fprintf(stderr, "sshwhy: showing the %s %d of %d matching events (--limit 0 shows all)\n", which, n, res.Total)
	}
	return nil
}

// searchErr marks query errors as usage errors (exit status 2).
func searchErr(err error) error {
	if errors.Is(err, index.ErrBadQuery) {
		return usageError{err}
	}
	return err
}

// noEvents says that nothing matched: in the table on stdout, for machine
// formats on stderr so the output stays parseable (and empty).
func noEvents(out, stderr io.Writer, format string) error {
	if format == "table" {
		_, err := fmt.Fprintln(out, "no events match")
		return err
	}
	fmt.Fprintln(stderr, "sshwhy: no events match")
	return nil
}

// writeIPs prints the unique source addresses of the matching events, one
// per line, IPv4-mapped addresses unmapped, in address order.
func writeIPs(ctx context.Context, r index.Searcher, q index.Query, fl *searchFlags, out io.Writer, stderr io.Writer) error {
	c, err := r.Count(ctx, q, index.FieldSrcIP, 0)
	if err != nil {
		return searchErr(err)
	}
	seen := make(map[netip.Addr]bool, len(c.Buckets))
	var addrs []netip.Addr
	notIP := 0
	for _, b := range c.Buckets {
		a, err := netip.ParseAddr(b.Value)
		if err != nil || a.Zone() != "" {
			notIP++
			continue
		}
		a = a.Unmap()
		if !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		if notIP > 0 {
			fmt.Fprintf(stderr, "sshwhy: %d matching sources are not IP addresses (host names logged with UseDNS?)\n", notIP)
		}
		return noEvents(out, stderr, "ips")
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	total := len(addrs)
	if fl.limitSet && fl.limit > 0 && len(addrs) > fl.limit {
		addrs = addrs[:fl.limit]
	}
	for _, a := range addrs {
		if _, err := fmt.Fprintln(out, a.String()); err != nil {
			return err
		}
	}
	if len(addrs) < total {
		fmt.Fprintf(stderr, "sshwhy: printed %d of %d addresses (--limit)\n", len(addrs), total)
	}
	if notIP > 0 {
		fmt.Fprintf(stderr, "sshwhy: left out %d sources that are not IP addresses (host names logged with UseDNS?)\n", notIP)
	}
	return nil
}

// writeCounts prints the result of --count-by.
func writeCounts(out io.Writer, format, by string, c index.Counts) error {
	label := by
	if by == index.FieldHour {
		label = "hour (UTC)"
	}
	switch format {
	case "json":
		// {"value":"probe","count":12}; no value: "value":null; beyond
		// --limit: {"other":true,"count":N}.
		type bucket struct {
			Value *string `json:"value,omitempty"`
			Other bool    `json:"other,omitempty"`
			Count int     `json:"count"`
		}
		enc := json.NewEncoder(out)
		for _, b := range c.Buckets {
			v := b.Value
			if err := enc.Encode(bucket{Value: &v, Count: b.Count}); err != nil {
				return err
			}
		}
		if c.Missing > 0 {
			if _, err := fmt.Fprintf(out, "{\"value\":null,\"count\":%d}\n", c.Missing); err != nil {
				return err
			}
		}
		if c.Other > 0 {
			return enc.Encode(bucket{Other: true, Count: c.Other})
		}
		return nil
	case "csv":
		cw := csv.NewWriter(out)
		_ = cw.Write([]string{by, "count"})
		for _, b := range c.Buckets {
			_ = cw.Write([]string{csvSafe(b.Value), strconv.Itoa(b.Count)})
		}
		if c.Missing > 0 {
			_ = cw.Write([]string{"", strconv.Itoa(c.Missing)})
		}
		if c.Other > 0 {
			_ = cw.Write([]string{"(other)", strconv.Itoa(c.Other)})
		}
		cw.Flush()
		return cw.Error()
	}
	width := len(strconv.FormatUint(c.Total, 10))
	if width < len("COUNT") {
		width = len("COUNT")
	}
	bw := bufio.NewWriter(out)
	row := func(count string, value string) {
		fmt.Fprintf(bw, "%*s  %s\n", width, count, value)
	}
	row("COUNT", strings.ToUpper(label))
	for _, b := range c.Buckets {
		row(strconv.Itoa(b.Count), orDash(escape.Terminal(b.Value)))
	}
	if c.Missing > 0 {
		row(strconv.Itoa(c.Missing), "(no "+by+")")
	}
	if c.Other > 0 {
		row(strconv.Itoa(c.Other), "(other values beyond --limit)")
	}
	row(strconv.FormatUint(c.Total, 10), "(total)")
	return bw.Flush()
}

// csvWriter prints events as CSV with a header. Cells that a spreadsheet
// would run as a formula are defused, and control characters are escaped
// as in the table: the values are attacker-written.
type csvWriter struct {
	w   *csv.Writer
	row []string
}

var csvHeader = []string{"end", "start", "host", "program", "pid", "src_ip", "src_port", "user", "cause",
	"confidence", "phase", "duration_s", "auth_failures", "auth_methods", "rule", "detail", "source", "id"}

func newCSVWriter(w io.Writer) *csvWriter {
	c := &csvWriter{w: csv.NewWriter(w), row: make([]string, len(csvHeader))}
	_ = c.w.Write(csvHeader)
	return c
}

func (c *csvWriter) write(ev *classify.Event) error {
	t := func(v time.Time) string {
		if v.IsZero() {
			return ""
		}
		return string(classify.AppendTime(nil, v, ev.Prec))
	}
	n := func(v int) string {
		if v == 0 {
			return ""
		}
		return strconv.Itoa(v)
	}
	r := c.row
	r[0], r[1] = t(ev.End), t(ev.Start)
	r[2], r[3], r[4] = csvSafe(ev.Host), csvSafe(ev.Program), n(ev.PID)
	r[5], r[6], r[7] = csvSafe(ev.SrcIP), n(ev.SrcPort), csvSafe(ev.User)
	r[8], r[9], r[10] = string(ev.Cause), string(ev.Confidence), string(ev.Phase)
	r[11] = strconv.FormatFloat(ev.DurationS, 'f', -1, 64)
	r[12] = strconv.Itoa(ev.AuthFailures)
	r[13] = csvSafe(strings.Join(ev.AuthMethods, " "))
	r[14], r[15], r[16], r[17] = csvSafe(ev.Rule), csvSafe(ev.Detail), csvSafe(ev.Source), ev.ID
	return c.w.Write(r)
}

func (c *csvWriter) flush() { c.w.Flush() }

// csvSafe escapes control characters and defuses formula injection: a
// cell starting with = + - @ (or a tab or CR) gets a leading apostrophe,
// which spreadsheets show as text (OWASP's advice).
func csvSafe(s string) string {
	s = escape.Terminal(s)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// searcher chooses what to search: the agent through its socket when one
// answers (and --data does not name another directory), else the data
// directory itself; with --open, the connections not ended yet, from the
// agent or from the checkpoint the last sshwhy index saved.
func (fl *searchFlags) searcher(ctx context.Context) (index.Searcher, func(), error) {
	if remote, err := openRemote(fl.remote); remote != nil || err != nil {
		if fl.open && err == nil {
			return nil, nil, usageError{errors.New("--open and --remote do not combine: open connections stay on each host until they end")}
		}
		return remote, func() { remote.Close() }, err
	}
	if fl.dataDir == "" {
		fl.dataDir = index.DefaultDir()
	}
	var client *agent.Client
	if fl.socket != "-" && (fl.socketSet || !fl.dataSet) {
		c, err := agent.Dial(fl.socket)
		switch {
		case err == nil:
			client = c
		case fl.socketSet:
			return nil, nil, err
		}
	}
	if fl.open {
		var open []*classify.Event
		var err error
		if client != nil {
			open, err = client.Open(ctx)
		} else {
			open, err = checkpointOpen(fl.dataDir)
		}
		if err != nil {
			return nil, nil, err
		}
		return eventSearcher(open)
	}
	if client != nil {
		return client, func() {}, nil
	}
	r, err := index.OpenReader(fl.dataDir, index.ReaderOptions{OpenTimeout: fl.openTimeout})
	if err != nil {
		return nil, nil, err
	}
	return r, func() { r.Close() }, nil
}

// checkpointOpen returns the connections the checkpoint in dir holds open.
func checkpointOpen(dir string) ([]*classify.Event, error) {
	cp, err := checkpoint.Load(filepath.Join(dir, agent.CheckpointName))
	if err != nil || cp.State == nil {
		return nil, err
	}
	rs, err := rules.Load()
	if err != nil {
		return nil, err
	}
	m, err := classify.New(rs, classify.Options{}, func(*classify.Event) {})
	if err != nil {
		return nil, err
	}
	m.Restore(*cp.State)
	return slices.Collect(m.OpenEvents()), nil
}

// eventSearcher searches events in memory exactly as the index would:
// they are indexed into a temporary data directory (there are few open
// connections).
func eventSearcher(events []*classify.Event) (index.Searcher, func(), error) {
	dir, err := os.MkdirTemp("", "sshwhy-open-*")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	w, err := index.OpenWriter(filepath.Join(dir, "data"), index.WriterOptions{NoCompact: true})
	if err == nil {
		for _, e := range events {
			if err = w.Add(e); err != nil {
				break
			}
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	r, err := index.OpenReader(filepath.Join(dir, "data"), index.ReaderOptions{})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return r, func() { r.Close(); cleanup() }, nil
}
