package victorialogs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sshwhy/sshwhy/classify"
)

// SinkOptions tune a Sink; zero values take the defaults.
type SinkOptions struct {
	// SpoolMax bounds the bytes spooled and not yet acknowledged;
	// events past it are dropped, counted and logged. Default 1 GiB.
	SpoolMax int64
	// BatchBytes is the most bytes of rows sent in one request; default 4 MiB.
	BatchBytes int
	// FlushInterval is how often rows written are handed to the shipper
	// without a Flush; default 1s.
	FlushInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries of a
	// failed batch (doubling, with jitter); defaults 200ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// Compress sends batches zstd-compressed (fastest level): several
	// times fewer bytes on the wire for about 3.4 µs of CPU per event
	// here, and the engine's CPU to decompress. Off by default: on a
	// fast network both ends are quicker without (docs/benchmarks-fleet.md).
	Compress bool
	// Concurrency is the most batches in flight at once; default 2.
	// The checkpoint still moves in spool order.
	Concurrency int
	// Logger receives drops, retries and recoveries; default slog.Default().
	Logger *slog.Logger
	// NotBefore, when set, skips the events that ended before it, as
	// index.WriterOptions.NotBefore does (counted in Stats.Skipped): a
	// backfill with a retention period ships what it indexes.
	NotBefore time.Time
	// segSize is the spool segment size (tests make it small).
	segSize int64
}

// DefaultSpoolMax is the default SinkOptions.SpoolMax.
const DefaultSpoolMax = 1 << 30

// Stats are the sink's counters since it was opened, for metrics.
type Stats struct {
	Written      uint64    // events accepted into the spool
	Shipped      uint64    // events VictoriaLogs acknowledged
	Batches      uint64    // batches acknowledged
	SentBytes    uint64    // bytes of the batches acknowledged, as sent (compressed or not)
	Retried      uint64    // failed attempts to send a batch (each one is retried)
	Dropped      uint64    // events not spooled because the spool was full
	NoTime       uint64    // events without a time, which cannot be placed (not shipped)
	Skipped      uint64    // events that ended before SinkOptions.NotBefore (not shipped)
	Cut          uint64    // events that lost evidence lines to fit MaxRowBytes
	SpooledBytes int64     // bytes spooled and not yet acknowledged
	TornBytes    int64     // bytes of rows cut by a crash, skipped
	LastSuccess  time.Time // when the last batch was acknowledged (zero: none yet)
	LastError    string    // the last failure to send, "" after a success
}

// Sink ships ended events to VictoriaLogs through a spool on disk: Write
// queues an event locally (never waiting for the network), Flush makes
// what was written durable, and a background shipper sends batches to
// /insert/jsonline, retrying with backoff while the engine is down or
// slow, and moves the spool's checkpoint only past batches the engine
// acknowledged. Delivery is at least once: a batch acknowledged just
// before a crash is sent again, and Store's queries count each event id
// once. Write, Flush and Close are for one goroutine; Stats and Drain may
// be called from any.
type Sink struct {
	client *Client
	opt    SinkOptions
	sp     *spool
	log    *slog.Logger
	row    []byte

	written, shipped, batches, sent, retried, dropped, noTime, skipped, cut atomic.Uint64
	lastSuccess                                                             atomic.Int64

	mu            sync.Mutex // guards the fields below
	lastErr       string
	failing       bool // the last send failed (logged once until a success)
	lastDropLog   time.Time
	droppedLogged uint64

	stop     chan struct{}
	done     chan struct{}
	closed   bool
	closeErr error

	descOnce sync.Once // metrics.go
	desc     []*prometheus.Desc
}

// SpoolDir is where the sink for the server at rawURL spools under the
// data directory dataDir: one directory per server.
func SpoolDir(dataDir, rawURL string) string {
	sum := sha256.Sum256([]byte(rawURL))
	name := rawURL
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		name = u.Host
	}
	name = unsafeName.ReplaceAllString(name, "_")
	return filepath.Join(dataDir, "spool", "victorialogs-"+name+"-"+hex.EncodeToString(sum[:4]))
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// NewSink opens the spool in dir (see SpoolDir) and starts shipping to
// the server c talks to, beginning with whatever an earlier process left
// in the spool.
func NewSink(c *Client, dir string, opt SinkOptions) (*Sink, error) {
	if opt.SpoolMax == 0 {
		opt.SpoolMax = DefaultSpoolMax
	}
	if opt.BatchBytes <= 0 {
		opt.BatchBytes = 4 << 20
	}
	if opt.BatchBytes < MaxRowBytes+1 {
		opt.BatchBytes = MaxRowBytes + 1
	}
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = time.Second
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 200 * time.Millisecond
	}
	if opt.MaxBackoff < opt.MinBackoff {
		opt.MaxBackoff = 30 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 2
	}
	sp, err := openSpool(dir, opt.SpoolMax, opt.segSize)
	if err != nil {
		return nil, err
	}
	s := &Sink{
		client: c, opt: opt, sp: sp,
		log:  opt.Logger.With("sink", "victorialogs", "url", c.base.Redacted()),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go s.ship()
	return s, nil
}

// Write queues one ended event. It fails only when the spool cannot be
// written; a full spool drops the event (counted in Stats.Dropped, logged).
func (s *Sink) Write(ev *classify.Event) error {
	if ev.Open {
		return nil // open connections stay local until they end
	}
	if s.closed {
		return errors.New("victorialogs: write to a closed sink")
	}
	if !s.opt.NotBefore.IsZero() {
		at := ev.End
		if at.IsZero() {
			at = ev.Start
		}
		if !at.IsZero() && at.Before(s.opt.NotBefore) {
			s.skipped.Add(1)
			return nil
		}
	}
	row, cut, ok := appendRow(s.row[:0], ev)
	s.row = row
	if !ok {
		s.noTime.Add(1)
		return nil
	}
	if cut > 0 {
		s.cut.Add(1)
	}
	added, err := s.sp.add(row)
	if err != nil {
		return err
	}
	if !added {
		s.drop()
		return nil
	}
	s.written.Add(1)
	return nil
}

// drop counts a dropped event and logs the drops at most every 10s.
func (s *Sink) drop() {
	n := s.dropped.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.lastDropLog) < 10*time.Second {
		return
	}
	s.log.Error("spool full: dropping events until VictoriaLogs catches up",
		"dropped", n-s.droppedLogged, "dropped_total", n, "spool_max", s.opt.SpoolMax, "dir", s.sp.dir)
	s.lastDropLog, s.droppedLogged = time.Now(), n
}

// Flush makes every event written so far durable in the spool (written
// and synced to disk): a crash after Flush loses none of them. It does
// not wait for VictoriaLogs.
func (s *Sink) Flush() error {
	if s.closed {
		return nil
	}
	return s.sp.sync()
}

// Drain waits until VictoriaLogs has acknowledged every event written so
// far, or ctx ends (then it returns ctx's error; the rest stays spooled
// for the next process).
func (s *Sink) Drain(ctx context.Context) error {
	if err := s.sp.writeOut(); err != nil {
		return err
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for s.sp.unacked() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return errors.New("victorialogs: sink closed")
		case <-t.C:
		}
	}
	return nil
}

// Close flushes, stops the shipper (a batch in flight is abandoned and
// sent again by the next process) and closes the spool.
func (s *Sink) Close() error {
	if s.closed {
		return s.closeErr
	}
	s.closed = true
	close(s.stop)
	<-s.done
	s.closeErr = s.sp.close()
	return s.closeErr
}

// Stats returns the counters.
func (s *Sink) Stats() Stats {
	st := Stats{
		Written: s.written.Load(), Shipped: s.shipped.Load(), Batches: s.batches.Load(), SentBytes: s.sent.Load(),
		Retried: s.retried.Load(), Dropped: s.dropped.Load(), NoTime: s.noTime.Load(), Skipped: s.skipped.Load(), Cut: s.cut.Load(),
		SpooledBytes: s.sp.unacked(),
	}
	s.sp.mu.Lock()
	st.TornBytes = s.sp.torn
	s.sp.mu.Unlock()
	if ns := s.lastSuccess.Load(); ns != 0 {
		st.LastSuccess = time.Unix(0, ns)
	}
	s.mu.Lock()
	st.LastError = s.lastErr
	s.mu.Unlock()
	return st
}

// batch is one request's worth of rows and where it ends in the spool.
type batch struct {
	data []byte
	seq  uint64
	end  int64
	done chan error // the send's outcome: nil once acknowledged
}

// ship is the shipper: it reads batches from the spool and sends up to
// Concurrency of them at once; acker moves the checkpoint past them in
// spool order, each once VictoriaLogs acknowledged it and every batch
// before it.
func (s *Sink) ship() {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-s.stop
		cancel()
	}()
	window := make(chan *batch, s.opt.Concurrency-1)
	acked := make(chan struct{})
	go s.acker(window, acked)
	defer func() {
		close(window)
		<-acked
		cancel()
	}()
	tick := time.NewTicker(s.opt.FlushInterval)
	defer tick.Stop()
	for {
		data, seq, end, ok, err := s.sp.next(s.opt.BatchBytes)
		if err != nil {
			s.fail(err)
			if !s.sleep(ctx, s.opt.MaxBackoff) {
				return
			}
			continue
		}
		if !ok {
			select {
			case <-s.stop:
				return
			case <-s.sp.notify:
			case <-tick.C:
				if err := s.sp.writeOut(); err != nil {
					s.fail(err)
				}
			}
			continue
		}
		b := &batch{data: data, seq: seq, end: end, done: make(chan error, 1)}
		if len(data) == 0 {
			b.done <- nil
		} else {
			go s.send(ctx, b)
		}
		select {
		case window <- b:
		case <-s.stop:
			return
		}
	}
}

// acker acknowledges batches in spool order.
func (s *Sink) acker(window <-chan *batch, acked chan<- struct{}) {
	defer close(acked)
	stopped := false
	for b := range window {
		err := <-b.done
		if err != nil || stopped {
			stopped = true // stopping: this batch and the later ones stay spooled
			continue
		}
		if len(b.data) > 0 {
			// Counted before the checkpoint moves, so that a Drain that
			// sees nothing unacknowledged sees these counts too.
			s.shipped.Add(uint64(bytes.Count(b.data, []byte{'\n'})))
			s.batches.Add(1)
			s.lastSuccess.Store(time.Now().UnixNano())
		}
		if err := s.sp.ack(b.seq, b.end); err != nil {
			s.fail(err)
		}
		if len(b.data) == 0 {
			continue
		}
		s.mu.Lock()
		s.lastErr = ""
		recovered := s.failing
		s.failing = false
		s.mu.Unlock()
		if recovered {
			s.log.Info("VictoriaLogs accepts batches again", "spooled_bytes", s.sp.unacked())
		}
	}
}

// send posts b until VictoriaLogs acknowledges it, retrying with backoff;
// it gives up only when the sink stops.
func (s *Sink) send(ctx context.Context, b *batch) {
	body := b.data
	if s.opt.Compress {
		body = zstdEncoder.EncodeAll(b.data, make([]byte, 0, len(b.data)/4))
	}
	backoff := s.opt.MinBackoff
	for {
		err := s.client.insert(ctx, body, s.opt.Compress)
		if err == nil {
			s.sent.Add(uint64(len(body)))
			b.done <- nil
			return
		}
		if ctx.Err() != nil {
			b.done <- ctx.Err()
			return
		}
		s.retried.Add(1)
		s.fail(err)
		if !s.sleep(ctx, backoff) {
			b.done <- ctx.Err()
			return
		}
		backoff = min(2*backoff, s.opt.MaxBackoff)
	}
}

func (s *Sink) fail(err error) {
	s.mu.Lock()
	s.lastErr = err.Error()
	first := !s.failing
	s.failing = true
	s.mu.Unlock()
	if first {
		s.log.Warn("cannot ship to VictoriaLogs; events wait in the spool and are retried", "err", err)
	}
}

// sleep waits d with ±20% jitter; false when the sink is stopping.
func (s *Sink) sleep(ctx context.Context, d time.Duration) bool {
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// zstdEncoder compresses batches (EncodeAll is safe for concurrent use).
var zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))

// insert posts one batch of rows to /insert/jsonline.
func (c *Client) insert(ctx context.Context, body []byte, compressed bool) error {
	u := c.endpoint("/insert/jsonline")
	u.RawQuery = url.Values{"_stream_fields": {strings.Join(StreamFields, ",")}}.Encode()
	req, err := http.NewRequestWithContext(ctx, "POST", u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	// Without this type VictoriaLogs answers 200 and stores nothing.
	req.Header.Set("Content-Type", "application/stream+json")
	if compressed {
		req.Header.Set("Content-Encoding", "zstd")
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s: %s", u.Redacted(), resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
