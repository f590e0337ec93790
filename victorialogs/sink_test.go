package victorialogs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
	"github.com/sshwhy/sshwhy/victorialogs/vltest"
)

// testEvents are n varied events: IPv4, IPv6, IPv4-mapped and no
// address, hostile user names, fractional durations, several hosts; their
// ends are one second apart from 2026-11-23 10:00 UTC, some sharing a second.
func testEvents(n int) []*classify.Event {
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	causes := []cause.Cause{cause.AuthFailure, cause.Probe, cause.ClientTimeout, cause.UserLogout}
	ips := []string{"203.0.113.%d", "2001:db8::%x", "::ffff:198.51.100.%d", ""}
	users := []string{"root", "alice", "\x1b]0;owned\x07x from 6.6.6.6 port 22", "", "bob\xff"}
	var out []*classify.Event
	for i := 0; i < n; i++ {
		start := base.Add(time.Duration(i/2) * time.Second).Add(time.Duration(i%7) * 123456 * time.Microsecond)
		end := start.Add(time.Duration(i%50) * 250 * time.Millisecond)
		ip := ips[i%len(ips)]
		if ip != "" {
			ip = fmt.Sprintf(ip, i%250+1)
		}
		ev := &classify.Event{
			Start: start, End: end, Prec: 6,
			Host: fmt.Sprintf("web%d", i%5), Program: "sshd", PID: 1000 + i,
			SrcIP: ip, User: users[i%len(users)],
			Cause: causes[i%len(causes)], Confidence: cause.Certain, Phase: cause.Preauth,
			Detail: "detail " + fmt.Sprint(i%3), Rule: "rule-x", AuthFailures: i % 4,
			AuthMethods: []string{"password", "publickey"}[:i%3%2+1],
			DurationS:   end.Sub(start).Seconds(),
			Lines:       []string{fmt.Sprintf("%s h sshd[%d]: Connection from %s", start.Format(time.RFC3339Nano), 1000+i, ip)},
			Source:      "auth.log",
		}
		if ip != "" {
			ev.SrcPort = 40000 + i
		}
		ev.ID = classify.EventID(ev.Host, ev.PID, ev.SrcPort, ev.Start)
		out = append(out, ev)
	}
	return out
}

func newTestSink(t *testing.T, url, dir string, opt SinkOptions, copt ClientOptions) *Sink {
	t.Helper()
	c, err := NewClient(url, copt)
	if err != nil {
		t.Fatal(err)
	}
	if opt.MinBackoff == 0 {
		opt.MinBackoff, opt.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	}
	if opt.FlushInterval == 0 {
		opt.FlushInterval = 50 * time.Millisecond
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := NewSink(c, dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func drain(t *testing.T, s *Sink, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := s.Drain(ctx); err != nil {
		t.Fatalf("drain: %v; stats %+v", err, s.Stats())
	}
}

// searchAll returns every event the store finds, as JSON lines.
func searchAll(t *testing.T, st interface {
	Search(context.Context, index.Query, index.SearchOptions, func(*classify.Event) error) (index.Result, error)
}, q index.Query) ([]string, index.Result) {
	t.Helper()
	var got []string
	res, err := st.Search(context.Background(), q, index.SearchOptions{}, func(ev *classify.Event) error {
		got = append(got, string(classify.AppendJSON(nil, ev)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, res
}

// eventJSON is the JSON of evs as a search returns them: decoded from
// their JSON (invalid UTF-8 has become U+FFFD), encoded again.
func eventJSON(evs []*classify.Event) []string {
	var out []string
	for _, ev := range evs {
		var back classify.Event
		if err := json.Unmarshal(classify.AppendJSON(nil, ev), &back); err != nil {
			panic(err)
		}
		out = append(out, string(classify.AppendJSON(nil, &back)))
	}
	return out
}

// TestShip: rows sent by the sink are stored (counted in the engine, not
// trusted from the status code), and read back through the Store they are
// the events written, byte for byte in classify's JSON, in end order.
func TestShip(t *testing.T) {
	srv := vltest.Start(t, vltest.Options{})
	evs := testEvents(500)
	s := newTestSink(t, srv.URL, t.TempDir(), SinkOptions{}, ClientOptions{})
	for _, ev := range evs {
		if err := s.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	drain(t, s, 20*time.Second)
	if n := srv.WaitRows(streamFilter, len(evs), 10*time.Second); n != len(evs) {
		t.Fatalf("%d rows stored, want %d", n, len(evs))
	}
	st := s.Stats()
	if st.Written != 500 || st.Shipped != 500 || st.SpooledBytes != 0 || st.LastSuccess.IsZero() || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
	c, _ := NewClient(srv.URL, ClientOptions{})
	got, res := searchAll(t, NewStore(c), index.Query{})
	want := eventJSON(evs)
	sortByEnd(evs, want)
	if res.Total != 500 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("total %d; got %d events, first diff:\n%s", res.Total, len(got), firstDiff(got, want))
	}
	// Compressed (zstd): the same rows arrive, in fewer bytes.
	srv2 := vltest.Start(t, vltest.Options{})
	z := newTestSink(t, srv2.URL, t.TempDir(), SinkOptions{Compress: true}, ClientOptions{})
	for _, ev := range evs {
		z.Write(ev)
	}
	drain(t, z, 20*time.Second)
	if n := srv2.WaitRows(streamFilter, len(evs), 10*time.Second); n != len(evs) {
		t.Errorf("compressed: %d rows stored, want %d", n, len(evs))
	}
	c2, _ := NewClient(srv2.URL, ClientOptions{})
	if got2, _ := searchAll(t, NewStore(c2), index.Query{}); strings.Join(got2, "\n") != strings.Join(want, "\n") {
		t.Errorf("compressed: other events:\n%s", firstDiff(got2, want))
	}
	if zs := z.Stats(); zs.SentBytes == 0 || zs.SentBytes*3 > s.Stats().SentBytes {
		t.Errorf("compressed %d bytes, plain %d", zs.SentBytes, s.Stats().SentBytes)
	}
	// The _msg is a one-line, escaped summary.
	lines, err := srv.Query(context.Background(), `id:=`+quote(evs[2].ID)+` | fields _msg`)
	if err != nil || len(lines) != 1 || !strings.Contains(lines[0], `client_timeout \\x1b]0;owned\\ax from 6.6.6.6 port 22@::ffff:198.51.100.3 port 40002 on web2`) {
		t.Errorf("_msg: %v %q", err, lines)
	}
}

// sortByEnd orders evs and their JSON as the store does: end, then id.
func sortByEnd(evs []*classify.Event, js []string) {
	idx := make([]int, len(evs))
	for i := range idx {
		idx[i] = i
	}
	less := func(a, b *classify.Event) bool {
		if !a.End.Equal(b.End) {
			return a.End.Before(b.End)
		}
		return a.ID < b.ID
	}
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && less(evs[j], evs[j-1]); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
			js[j], js[j-1] = js[j-1], js[j]
		}
	}
}

func firstDiff(got, want []string) string {
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("#%d\n got %s\nwant %s", i, g, w)
		}
	}
	return "(none)"
}

// TestEngineDown: while the engine is stopped, events wait in the spool
// and sends are retried; when it is back everything arrives, and a
// replayed spool (a crash after the acknowledgement, before the
// checkpoint) stores rows twice but the store counts each event once.
func TestEngineDown(t *testing.T) {
	srv := vltest.Start(t, vltest.Options{})
	evs := testEvents(300)
	dir := t.TempDir()
	s := newTestSink(t, srv.URL, dir, SinkOptions{segSize: 8 << 10}, ClientOptions{})
	for _, ev := range evs[:100] {
		s.Write(ev)
	}
	drain(t, s, 20*time.Second)
	srv.Stop()
	for _, ev := range evs[100:] {
		s.Write(ev)
	}
	s.Flush()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Retried < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	st := s.Stats()
	if st.Retried < 3 || st.SpooledBytes == 0 || st.LastError == "" || st.Shipped != 100 {
		t.Fatalf("while down: %+v", st)
	}
	srv.Restart()
	drain(t, s, 30*time.Second)
	if n := srv.WaitRows(streamFilter, 300, 10*time.Second); n != 300 {
		t.Fatalf("%d rows after restart, want 300", n)
	}
	if st := s.Stats(); st.Shipped != 300 || st.LastError != "" {
		t.Errorf("after restart: %+v", st)
	}
	// Replay: put the checkpoint back to the start of the spool.
	s.Close()
	old, _ := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	for _, p := range old {
		os.Remove(p)
	}
	if err := os.WriteFile(filepath.Join(dir, offsetName), []byte("0 0\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	// Segments acknowledged were removed; write the first 50 again as a
	// spool left by a crashed process would hold them.
	var seg []byte
	for _, ev := range evs[:50] {
		seg, _, _ = appendRow(seg, ev)
	}
	if err := os.WriteFile(filepath.Join(dir, segName(0)), seg, 0o640); err != nil {
		t.Fatal(err)
	}
	s2 := newTestSink(t, srv.URL, dir, SinkOptions{}, ClientOptions{})
	drain(t, s2, 20*time.Second)
	if n := srv.WaitRows(streamFilter, 350, 10*time.Second); n != 350 {
		t.Fatalf("%d rows after replay, want 350", n)
	}
	c, _ := NewClient(srv.URL, ClientOptions{})
	st2 := NewStore(c)
	got, res := searchAll(t, st2, index.Query{})
	if res.Total != 300 || len(got) != 300 {
		t.Errorf("after replay: total %d, %d events; want 300 once each", res.Total, len(got))
	}
	counts, err := st2.Count(context.Background(), index.Query{}, index.FieldCause, 0)
	if err != nil || counts.Total != 300 {
		t.Errorf("counts after replay: %v %+v", err, counts)
	}
}

// TestSpoolFull: past SpoolMax events are dropped, counted and logged;
// what was spooled is kept, and shipped once the engine is reachable.
func TestSpoolFull(t *testing.T) {
	// An address nothing listens on: the port of a closed listener.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var logs bytes.Buffer
	lg := slog.New(slog.NewTextHandler(&logs, nil))
	evs := testEvents(400)
	row, _, _ := appendRow(nil, evs[0])
	max := int64(len(row) * 100)
	dir := t.TempDir()
	s := newTestSink(t, "http://"+addr, dir, SinkOptions{SpoolMax: max, Logger: lg, segSize: 16 << 10}, ClientOptions{})
	for _, ev := range evs {
		if err := s.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	s.Flush()
	st := s.Stats()
	if st.Dropped == 0 || st.Written+st.Dropped != 400 || st.SpooledBytes > max || st.Written < 80 {
		t.Errorf("stats %+v (max %d)", st, max)
	}
	if !strings.Contains(logs.String(), "spool full: dropping events") || !strings.Contains(logs.String(), "dropped_total=") {
		t.Errorf("log:\n%s", logs.String())
	}
	written := st.Written
	s.Close()
	// The engine comes up on that address: what was spooled arrives.
	srv := vltest.Start(t, vltest.Options{Addr: addr})
	_ = srv
	s2 := newTestSink(t, "http://"+addr, dir, SinkOptions{}, ClientOptions{})
	drain(t, s2, 20*time.Second)
	if st := s2.Stats(); st.Shipped != written {
		t.Errorf("shipped %d after restart, %d were spooled", st.Shipped, written)
	}
}

// TestClusterNodeDown: with one of two storage nodes stopped the front
// node still takes batches; with both stopped it still acknowledges them
// (it holds them in memory: what VictoriaLogs' acknowledgement means in
// a cluster, see docs/fleet.md) and forwards them when the nodes are
// back. Every event is then found once through the front node.
func TestClusterNodeDown(t *testing.T) {
	front, storage := vltest.StartCluster(t, 2, vltest.Options{})
	evs := testEvents(800)
	s := newTestSink(t, front.URL, t.TempDir(), SinkOptions{BatchBytes: 64 << 10}, ClientOptions{})
	for _, ev := range evs[:200] {
		s.Write(ev)
	}
	drain(t, s, 20*time.Second)
	storage[1].Stop()
	for _, ev := range evs[200:400] {
		s.Write(ev)
	}
	drain(t, s, 30*time.Second)
	storage[1].Restart()
	for _, ev := range evs[400:600] {
		s.Write(ev)
	}
	drain(t, s, 30*time.Second)
	// Both storage nodes down.
	storage[0].Stop()
	storage[1].Stop()
	for _, ev := range evs[600:] {
		s.Write(ev)
	}
	s.Flush()
	time.Sleep(500 * time.Millisecond)
	down := s.Stats()
	storage[0].Restart()
	storage[1].Restart()
	drain(t, s, 30*time.Second)
	if n := front.WaitRows(streamFilter, 800, 15*time.Second, storage...); n < 800 {
		t.Fatalf("%d rows through the front node, want 800; sink %+v", n, s.Stats())
	}
	c, _ := NewClient(front.URL, ClientOptions{})
	got, res := searchAll(t, NewStore(c), index.Query{})
	if res.Total != 800 || len(got) != 800 {
		t.Errorf("total %d, %d events; want 800 each once", res.Total, len(got))
	}
	t.Logf("with both storage nodes down: %+v", down)
	t.Logf("sink: %+v", s.Stats())
}
