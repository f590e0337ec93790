package classify

import (
	"encoding/hex"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// EventID is FNV-1a 128 as hash/fnv computes it: ids in existing indexes
// stay valid.
func TestEventID(t *testing.T) {
	want := func(host string, pid, port int, start time.Time) string {
		b := []byte(host)
		b = append(b, 0)
		b = strconv.AppendInt(b, int64(pid), 10)
		b = append(b, 0)
		b = strconv.AppendInt(b, int64(port), 10)
		b = append(b, 0)
		b = strconv.AppendInt(b, start.UnixNano(), 10)
		h := fnv.New128a()
		h.Write(b)
		return hex.EncodeToString(h.Sum(nil)[:10])
	}
	r := rand.New(rand.NewPCG(1, 2))
	hosts := []string{"", "web1", "host.example.org", "\xff\x00ü"}
	for i := 0; i < 10000; i++ {
		host := hosts[r.IntN(len(hosts))]
		pid, port := r.IntN(1<<22)-1, r.IntN(70000)-1
		start := time.Unix(r.Int64N(1<<34)-1<<33, r.Int64N(1e9))
		if i == 0 {
			start = time.Time{}
		}
		if got, w := EventID(host, pid, port, start), want(host, pid, port, start); got != w {
			t.Fatalf("EventID(%q, %d, %d, %v) = %s, want %s", host, pid, port, start, got, w)
		}
	}
	if n := testing.AllocsPerRun(100, func() { EventID("web1", 4242, 52144, time.Unix(1e9, 5)) }); n != 1 {
		t.Errorf("EventID allocates %v times, want 1 (the id)", n)
	}
}
