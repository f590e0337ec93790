package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
)

// Client talks to a running agent's API. It is a Searcher, so `sshwhy
// search` and the report read through it exactly as from the index.
type Client struct {
	http *http.Client
	base string
}

// ErrNoAgent is wrapped by Dial's error when no agent answers.
var ErrNoAgent = errors.New("no sshwhy agent is running")

// Dial connects to the agent listening on the unix socket at path. It
// fails with an error wrapping ErrNoAgent when nothing listens there.
func Dial(path string) (*Client, error) {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w on %s: %v", ErrNoAgent, path, err)
	}
	c.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &Client{http: &http.Client{Transport: tr}, base: "http://sshwhy"}, nil
}

// DialTCP talks to an agent's API on a TCP address (--listen).
func DialTCP(addr string) *Client {
	return &Client{http: &http.Client{}, base: "http://" + addr}
}

func (c *Client) get(ctx context.Context, path string, q index.Query, extra map[string]string) (*http.Response, error) {
	v := QueryValues(q)
	for k, s := range extra {
		if s != "" {
			v.Set(k, s)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path+"?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		msg := strings.TrimSpace(string(b))
		if resp.StatusCode == http.StatusBadRequest {
			return nil, fmt.Errorf("%w: %s", index.ErrBadQuery, strings.TrimPrefix(msg, index.ErrBadQuery.Error()+": "))
		}
		return nil, fmt.Errorf("agent: %s: %s", resp.Status, msg)
	}
	return resp, nil
}

// Search asks the agent for the events matching q.
func (c *Client) Search(ctx context.Context, q index.Query, opt index.SearchOptions, fn func(*classify.Event) error) (index.Result, error) {
	resp, err := c.get(ctx, "/v1/events", q, map[string]string{"limit": strconv.Itoa(opt.Limit), "sort": opt.Sort})
	if err != nil {
		return index.Result{}, err
	}
	defer resp.Body.Close()
	n, err := readEvents(resp.Body, fn)
	if err != nil {
		return index.Result{}, err
	}
	total, err := strconv.ParseUint(resp.Trailer.Get("X-Sshwhy-Total"), 10, 64)
	if err != nil {
		// No trailer: the agent stopped in the middle of the answer.
		return index.Result{}, fmt.Errorf("agent: the answer ended early after %d events", n)
	}
	return index.Result{Total: total}, nil
}

// Count asks the agent for counts.
func (c *Client) Count(ctx context.Context, q index.Query, by string, limit int) (index.Counts, error) {
	resp, err := c.get(ctx, "/v1/counts", q, map[string]string{"by": by, "limit": strconv.Itoa(limit)})
	if err != nil {
		return index.Counts{}, err
	}
	defer resp.Body.Close()
	var r countsReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return index.Counts{}, fmt.Errorf("agent: counts: %w", err)
	}
	return index.Counts{Total: r.Total, Missing: r.Missing, Other: r.Other, Buckets: r.Buckets}, nil
}

// Open returns the connections the agent follows that have not ended.
func (c *Client) Open(ctx context.Context) ([]*classify.Event, error) {
	resp, err := c.get(ctx, "/v1/open", index.Query{}, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []*classify.Event
	_, err = readEvents(resp.Body, func(e *classify.Event) error {
		out = append(out, e)
		return nil
	})
	return out, err
}

// Health returns the agent's status.
func (c *Client) Health(ctx context.Context) (Status, error) {
	var st Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/healthz", nil)
	if err != nil {
		return st, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return st, fmt.Errorf("agent: %w", err)
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// readEvents decodes JSON lines of events.
func readEvents(r io.Reader, fn func(*classify.Event) error) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	n := 0
	for sc.Scan() {
		e := new(classify.Event)
		if err := json.Unmarshal(sc.Bytes(), e); err != nil {
			return n, fmt.Errorf("agent: event %d: %w", n+1, err)
		}
		n++
		if err := fn(e); err != nil {
			return n, err
		}
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("agent: %w", err)
	}
	return n, nil
}
