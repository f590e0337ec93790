package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
)

// The API, read-only, on a unix socket (and a loopback TCP address when
// asked):
//
//	GET /v1/events?QUERY&limit=N&sort=KEY   events, one JSON object per line;
//	                                        the total in the trailer X-Sshwhy-Total
//	GET /v1/counts?QUERY&by=FIELD&limit=N   {"total":…,"missing":…,"other":…,"buckets":[…]}
//	GET /v1/open                            connections not ended yet, JSON lines
//	GET /healthz                            the agent's Status; 503 after a failed commit
//	GET /metrics                            Prometheus metrics
//
// QUERY is since, until (as for sshwhy search: an age like 24h, a date,
// or RFC 3339), cause, ip, user, host, phase (repeatable) and q (bleve
// query-string text). Every other method is refused (405): no request
// changes anything.

// Searcher is what the API searches; index.Searcher.
type Searcher interface {
	Search(ctx context.Context, q index.Query, opt index.SearchOptions, fn func(*classify.Event) error) (index.Result, error)
	Count(ctx context.Context, q index.Query, by string, limit int) (index.Counts, error)
}

// server is the API's HTTP server and its listeners.
type server struct {
	http *http.Server
	lns  []net.Listener
	sock string // the socket file, removed at close
}

func (s *server) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.http.Shutdown(ctx)
	if s.sock != "" {
		os.Remove(s.sock)
	}
}

// serve starts the API on the configured socket and address.
func (a *Agent) serve(search Searcher) (*server, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(a.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", a.healthz)
	mux.HandleFunc("/v1/events", func(w http.ResponseWriter, r *http.Request) { a.events(w, r, search) })
	mux.HandleFunc("/v1/counts", func(w http.ResponseWriter, r *http.Request) { a.counts(w, r, search) })
	mux.HandleFunc("/v1/open", a.open)
	// Go's profiles, for a memory or CPU question in the field (read-only,
	// on the same socket and loopback address as the rest).
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &server{http: &http.Server{Handler: readOnly(mux), ReadHeaderTimeout: 5 * time.Second}}
	if a.cfg.Socket != "-" {
		ln, err := listenUnix(a.cfg.Socket, a.cfg.SocketGroup)
		if err != nil {
			return nil, err
		}
		srv.lns, srv.sock = append(srv.lns, ln), a.cfg.Socket
	}
	if a.cfg.Listen != "" {
		ln, err := listenLoopback(a.cfg.Listen)
		if err != nil {
			srv.close()
			for _, l := range srv.lns {
				l.Close()
			}
			return nil, err
		}
		srv.lns = append(srv.lns, ln)
		a.mu.Lock()
		a.addr = ln.Addr().String()
		a.mu.Unlock()
		a.log.Info("serving the API", "listen", a.addr)
	}
	for _, ln := range srv.lns {
		go srv.http.Serve(ln)
	}
	return srv, nil
}

// Addr is the TCP address the API listens on, once Run started it ("" when
// not asked for); for tests that listen on port 0.
func (a *Agent) Addr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.addr
}

// listenUnix listens on the socket at path, mode 0660, owned by group
// (default adm, when it exists). A socket left by an agent that died is
// replaced; one that answers is another agent's.
func listenUnix(path, group string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("api socket: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("api socket %s is in use by another process (another sshwhy agent?)", path)
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("api socket: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	gid := -1
	name := group
	if name == "" {
		name = "adm"
	}
	if g, err := user.LookupGroup(name); err == nil {
		gid, _ = strconv.Atoi(g.Gid)
	} else if group != "" {
		ln.Close()
		return nil, fmt.Errorf("api socket: group %q: %w", group, err)
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil && group != "" {
			ln.Close()
			return nil, fmt.Errorf("api socket: %w", err)
		}
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("api socket: %w", err)
	}
	return ln, nil
}

// listenLoopback listens on addr, which must be a loopback address: the
// API has no authentication beyond who may reach it.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("listen: %s is not a loopback address (the API has no authentication; put a proxy in front to expose it)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

// readOnly refuses every method but GET and HEAD.
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the sshwhy API is read-only", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (a *Agent) healthz(w http.ResponseWriter, r *http.Request) {
	st := a.Status()
	w.Header().Set("Content-Type", "application/json")
	if st.Error != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(st)
}

// QueryValues encodes q as the API's query parameters.
func QueryValues(q index.Query) url.Values {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.Format(time.RFC3339Nano))
	}
	for _, c := range q.Causes {
		v.Add("cause", string(c))
	}
	for _, s := range q.IPs {
		v.Add("ip", s)
	}
	for _, s := range q.Users {
		v.Add("user", s)
	}
	for _, s := range q.Hosts {
		v.Add("host", s)
	}
	for _, s := range q.Phases {
		v.Add("phase", s)
	}
	if q.Text != "" {
		v.Set("q", q.Text)
	}
	return v
}

// parseQuery reads the query parameters (see QueryValues).
func parseQuery(v url.Values, now time.Time) (index.Query, error) {
	var q index.Query
	var err error
	if s := v.Get("since"); s != "" {
		if q.Since, err = index.ParseTime(s, now, false); err != nil {
			return q, fmt.Errorf("since: %w", err)
		}
	}
	if s := v.Get("until"); s != "" {
		if q.Until, err = index.ParseTime(s, now, true); err != nil {
			return q, fmt.Errorf("until: %w", err)
		}
	}
	for _, c := range v["cause"] {
		q.Causes = append(q.Causes, cause.Cause(strings.TrimSpace(c)))
	}
	q.IPs, q.Users, q.Hosts, q.Phases = v["ip"], v["user"], v["host"], v["phase"]
	q.Text = v.Get("q")
	return q, q.Validate()
}

func intParam(v url.Values, name string, def int) (int, error) {
	s := v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s must be a whole number, not %q", name, s)
	}
	return n, nil
}

// badRequest answers 400 for a query error, 500 for anything else.
func badRequest(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, index.ErrBadQuery) {
		code = http.StatusBadRequest
	}
	http.Error(w, err.Error(), code)
}

func (a *Agent) events(w http.ResponseWriter, r *http.Request, search Searcher) {
	v := r.URL.Query()
	q, err := parseQuery(v, time.Now())
	if err != nil {
		badRequest(w, err)
		return
	}
	limit, err := intParam(v, "limit", 100)
	if err != nil {
		badRequest(w, fmt.Errorf("%w: %v", index.ErrBadQuery, err))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Trailer", "X-Sshwhy-Total")
	buf := make([]byte, 0, 4096)
	started := false
	res, err := search.Search(r.Context(), q, index.SearchOptions{Limit: limit, Sort: v.Get("sort")}, func(e *classify.Event) error {
		started = true
		buf = classify.AppendJSON(buf[:0], e)
		buf = append(buf, '\n')
		_, err := w.Write(buf)
		return err
	})
	if err != nil {
		a.metrics.errors.WithLabelValues("api").Inc()
		if !started {
			w.Header().Del("Trailer")
			badRequest(w, err)
		}
		return
	}
	w.Header().Set("X-Sshwhy-Total", strconv.FormatUint(res.Total, 10))
}

// countsReply is the JSON of /v1/counts.
type countsReply struct {
	Total   uint64         `json:"total"`
	Missing int            `json:"missing"`
	Other   int            `json:"other"`
	Buckets []index.Bucket `json:"buckets"`
}

func (a *Agent) counts(w http.ResponseWriter, r *http.Request, search Searcher) {
	v := r.URL.Query()
	q, err := parseQuery(v, time.Now())
	if err != nil {
		badRequest(w, err)
		return
	}
	limit, err := intParam(v, "limit", 0)
	if err != nil {
		badRequest(w, fmt.Errorf("%w: %v", index.ErrBadQuery, err))
		return
	}
	c, err := search.Count(r.Context(), q, v.Get("by"), limit)
	if err != nil {
		a.metrics.errors.WithLabelValues("api").Inc()
		badRequest(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(countsReply{Total: c.Total, Missing: c.Missing, Other: c.Other, Buckets: c.Buckets})
}

func (a *Agent) open(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	evs, err := a.OpenConnections(ctx)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	buf := make([]byte, 0, 4096)
	for _, e := range evs {
		buf = classify.AppendJSON(buf[:0], e)
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return
		}
	}
}
