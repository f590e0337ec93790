package victorialogs

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
)

// Store searches the events shipped to VictoriaLogs with the two methods
// of index.Reader, so the search and report commands read it as they
// read the local index, with the same answers. Delivery is at least
// once, so an event may be stored more than once; every query counts each
// event id once, in LogsQL:
//
//	search: FILTER | sort by (_time, sk) [limit N]    duplicates are adjacent: the client keeps one
//	total:  FILTER | stats count_uniq(id) n
//	count:  FILTER | stats by (FIELD) count_uniq(id) n
//
// (sk is the id spelled so that VictoriaLogs' natural sort orders it as
// bytes, the local index's tie-break.) The sort with a limit keeps only
// the top rows in the engine's memory; a limit that duplicates fall
// short of is asked again with more rows.
type Store struct {
	c   *Client
	raw string
}

var _ index.Searcher = (*Store)(nil)

// NewStore reads through c.
func NewStore(c *Client) *Store { return &Store{c: c} }

// WithLogsQL returns a store whose queries are also restricted by the
// LogsQL filter f (raw, as the user wrote it; pipes are refused by the
// server since f is parenthesised).
func (s *Store) WithLogsQL(f string) *Store {
	c := *s
	c.raw = f
	return &c
}

// Close releases nothing; it is there so Store closes like index.Reader.
func (s *Store) Close() error { return nil }

// logsql is the filter part of every query for q.
func (s *Store) logsql(q index.Query) (string, error) {
	f, err := Filter(q)
	if err != nil {
		return "", err
	}
	out := streamFilter
	if f != "*" {
		out += " AND (" + f + ")"
	}
	if strings.TrimSpace(s.raw) != "" {
		// The newline ends a # comment the user may have written.
		out += " AND (" + s.raw + "\n)"
	}
	return out, nil
}

// Search finds the events matching q, each once, in opt's order. The
// end time, the duration and the failures order remote results as they
// order local ones (ties by end, then id); the other keys are strings,
// which VictoriaLogs sorts naturally ("web10" after "web9"), not byte-wise
// as the index does, so they are refused rather than ordered differently.
func (s *Store) Search(ctx context.Context, q index.Query, opt index.SearchOptions, fn func(*classify.Event) error) (index.Result, error) {
	f, err := s.logsql(q)
	if err != nil {
		return index.Result{}, err
	}
	order, reverse, err := sortOrder(opt.Sort, opt.Limit)
	if err != nil {
		return index.Result{}, err
	}
	// The total and the rows are asked for at once.
	type count struct {
		n   uint64
		err error
	}
	totalc := make(chan count, 1)
	go func() {
		n, err := s.total(ctx, f)
		totalc <- count{n, err}
	}()
	var res index.Result
	var totalErr error
	gotTotal := false
	total := func() (uint64, error) {
		if !gotTotal {
			c := <-totalc
			res.Total, totalErr, gotTotal = c.n, c.err, true
		}
		return res.Total, totalErr
	}
	// Duplicates of an event share its _time and sk, so in this order
	// they are adjacent: keep the first of each run. With a limit, rows
	// that were duplicates leave fewer events than asked for: ask again
	// for more rows until the limit is met or the answer is complete.
	limit := opt.Limit
	for {
		var evs []*classify.Event
		rows := 0
		q := f + " | " + order
		if limit > 0 {
			q += " limit " + strconv.Itoa(limit)
		}
		var lastID string
		err = s.run(ctx, q, func(line []byte) error {
			rows++
			var row map[string]string
			if err := json.Unmarshal(line, &row); err != nil {
				return fmt.Errorf("victorialogs: answer line is not a row: %v", err)
			}
			if row["id"] == lastID && rows > 1 {
				return nil
			}
			lastID = row["id"]
			ev, err := decodeRow(row)
			if err != nil {
				return err
			}
			if !reverse && opt.Limit == 0 {
				return fn(ev) // streamed: nothing to trim
			}
			evs = append(evs, ev)
			return nil
		})
		if err != nil {
			return res, err
		}
		n, err := total()
		if err != nil {
			return index.Result{}, err
		}
		if opt.Limit > 0 && len(evs) < opt.Limit && rows == limit && uint64(len(evs)) < n {
			limit += 2 * (opt.Limit - len(evs))
			continue
		}
		if opt.Limit > 0 && len(evs) > opt.Limit {
			evs = evs[:opt.Limit]
		}
		if reverse {
			slices.Reverse(evs)
		}
		if reverse || opt.Limit > 0 {
			for _, ev := range evs {
				if err := fn(ev); err != nil {
					return res, err
				}
			}
		}
		return res, nil
	}
}

// sortKeys are the row fields that order as the index's sort keys do.
var sortKeys = map[string]string{index.FieldEnd: "_time", index.FieldDuration: fieldDurationKey, index.FieldFailures: index.FieldFailures}

// sortOrder is the sort pipe for a SearchOptions.Sort; reverse tells that
// the rows come newest first and must be returned the other way round
// (the default with a limit: the newest, oldest first).
func sortOrder(key string, limit int) (string, bool, error) {
	if key == "" {
		if limit > 0 {
			return "sort by (_time desc, " + fieldSort + " desc)", true, nil
		}
		key = index.FieldEnd
	}
	desc := strings.HasPrefix(key, "-")
	if !slices.Contains(index.SortKeys, strings.TrimPrefix(key, "-")) {
		return "", false, fmt.Errorf("%w: cannot sort by %q (keys: %s, with - for descending)", index.ErrBadQuery, key, strings.Join(index.SortKeys, ", "))
	}
	field, ok := sortKeys[strings.TrimPrefix(key, "-")]
	if !ok {
		return "", false, fmt.Errorf("%w: --remote sorts by end, duration_s or auth_failures (VictoriaLogs orders strings naturally, not as the local index does), not by %q", index.ErrBadQuery, key)
	}
	by := []string{field, "_time", fieldSort}
	if field == "_time" {
		by = by[1:]
	}
	if desc {
		for i := range by {
			by[i] += " desc"
		}
	}
	return "sort by (" + strings.Join(by, ", ") + ")", false, nil
}

func (s *Store) total(ctx context.Context, f string) (uint64, error) {
	var n uint64
	err := s.run(ctx, f+" | stats count_uniq(id) n", func(line []byte) error {
		var r struct{ N string }
		if err := json.Unmarshal(line, &r); err != nil {
			return fmt.Errorf("victorialogs: count answer %q: %v", line, err)
		}
		v, err := strconv.ParseUint(r.N, 10, 64)
		n = v
		return err
	})
	return n, err
}

// Count counts the events matching q by the values of by, each event
// once; limit caps the buckets (0: all). by is one of index.CountKeys, or
// index.FieldDuration (the rounded seconds, as report.Source asks for).
// Buckets come in the index's order: by count, largest first, ties by
// value; by hour, by hour; by duration, by duration. Source addresses are
// counted as index.NormalizeIP writes them.
func (s *Store) Count(ctx context.Context, q index.Query, by string, limit int) (index.Counts, error) {
	field := by
	switch {
	case by == index.FieldDuration:
		field = fieldDurationKey
	case !slices.Contains(index.CountKeys, by):
		return index.Counts{}, fmt.Errorf("%w: cannot count by %q (keys: %s)", index.ErrBadQuery, by, strings.Join(index.CountKeys, ", "))
	}
	f, err := s.logsql(q)
	if err != nil {
		return index.Counts{}, err
	}
	var c index.Counts
	counts := map[string]int{}
	err = s.run(ctx, f+" | stats by ("+field+") count_uniq(id) n", func(line []byte) error {
		var row map[string]string
		if err := json.Unmarshal(line, &row); err != nil {
			return fmt.Errorf("victorialogs: count answer %q: %v", line, err)
		}
		n, err := strconv.Atoi(row["n"])
		if err != nil {
			return fmt.Errorf("victorialogs: count answer %q: %v", line, err)
		}
		c.Total += uint64(n)
		v := row[field]
		if v == "" {
			c.Missing += n
			return nil
		}
		if by == index.FieldSrcIP && len(v) > 7 && strings.EqualFold(v[:7], "::ffff:") {
			// IPv4-mapped, as older sshwhy stored it: the IPv4 address,
			// as the index counts it (an event has one src_ip, so the
			// sums stay exact).
			v = index.NormalizeIP(v)
		}
		counts[v] += n
		return nil
	})
	if err != nil {
		return index.Counts{}, err
	}
	for v, n := range counts {
		c.Buckets = append(c.Buckets, index.Bucket{Value: v, Count: n})
	}
	slices.SortFunc(c.Buckets, func(a, b index.Bucket) int {
		switch by {
		case index.FieldHour:
			return strings.Compare(a.Value, b.Value)
		case index.FieldDuration:
			x, _ := strconv.ParseInt(a.Value, 10, 64)
			y, _ := strconv.ParseInt(b.Value, 10, 64)
			return cmp.Compare(x, y)
		}
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
	})
	if limit > 0 && len(c.Buckets) > limit {
		for _, b := range c.Buckets[limit:] {
			c.Other += b.Count
		}
		c.Buckets = c.Buckets[:limit]
	}
	return c, nil
}

// run sends a LogsQL query and calls fn with each line of the answer.
func (s *Store) run(ctx context.Context, logsql string, fn func([]byte) error) error {
	u := s.c.endpoint("/select/logsql/query")
	req, err := http.NewRequestWithContext(ctx, "POST", u.String(), strings.NewReader(url.Values{"query": {logsql}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		err := fmt.Errorf("%s: %s: %s", u.Redacted(), resp.Status, strings.TrimSpace(string(msg)))
		if resp.StatusCode == http.StatusBadRequest {
			return fmt.Errorf("%w: %v", index.ErrBadQuery, err)
		}
		return err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}
