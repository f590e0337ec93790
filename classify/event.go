package classify

import (
	"math/bits"
	"strconv"
	"time"

	"github.com/sshwhy/sshwhy/cause"
)

// Event is one ended connection (or, with Open set, one still open). It is
// the value every sink (JSON lines, table, index) receives. Absent values
// are zero and omitted from JSON.
type Event struct {
	ID    string    `json:"id"`
	Start time.Time `json:"start"` // zero when the input lacks the connection's first lines (StartUnknown)
	End   time.Time `json:"end"`   // for an open connection, the time of its last line so far
	// StartUnknown is set when the first line of the connection in the
	// input was written after authentication: the connection started
	// before the input did. Start and DurationS are then zero.
	StartUnknown bool `json:"start_unknown,omitempty"`
	// Open is set for a connection that has not ended (yet): it has no
	// Cause or Confidence. It keeps its ID when it ends later.
	Open    bool   `json:"open,omitempty"`
	Prec    int8   `json:"-"` // fractional-second digits of the source timestamps
	Host    string `json:"host,omitempty"`
	Program string `json:"program,omitempty"`
	PID     int    `json:"pid,omitempty"`
	SrcIP   string `json:"src_ip,omitempty"` // an address (net/netip form; IPv4-mapped IPv6 unmapped, no zone)
	SrcPort int    `json:"src_port,omitempty"`
	// Remote is the peer as sshd wrote it when that is no address (a host
	// name with UseDNS, "UNKNOWN", garbage such as "999.1.1.1") or when it
	// carries an IPv6 zone ("fe80::1%eth0": SrcIP is then "fe80::1").
	Remote       string           `json:"remote,omitempty"`
	User         string           `json:"user,omitempty"`
	Cause        cause.Cause      `json:"cause,omitempty"`
	Confidence   cause.Confidence `json:"confidence,omitempty"`
	Phase        cause.Phase      `json:"phase"`
	Detail       string           `json:"detail,omitempty"`
	Rule         string           `json:"rule,omitempty"` // id of the rule that decided the cause ("" when inferred from silence)
	AuthFailures int              `json:"auth_failures"`
	AuthMethods  []string         `json:"auth_methods,omitempty"`
	DurationS    float64          `json:"duration_s"` // omitted when StartUnknown
	Lines        []string         `json:"lines"`
	LinesDropped int              `json:"lines_dropped,omitempty"` // evidence lines beyond the per-connection cap
	Source       string           `json:"source,omitempty"`
}

// EventID is the deterministic id of a connection: the same input always
// gives the same id, so re-indexing adds nothing. It hashes host, pid,
// source port and start time (the fields that identify one connection):
// the first 10 bytes of FNV-1a 128 of "host\x00pid\x00port\x00unixnano",
// in hex. It runs once per event, so the hash is computed in place rather
// than through hash/fnv's interface (which moved its input to the heap).
func EventID(host string, pid, srcPort int, start time.Time) string {
	var num [64]byte
	b := append(num[:0], 0)
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(srcPort), 10)
	b = append(b, 0)
	b = strconv.AppendInt(b, start.UnixNano(), 10)
	hi, lo := fnv128a(0x6c62272e07bb0142, 0x62b821756295c58d, host)
	hi, lo = fnv128a(hi, lo, b)
	var id [20]byte
	const hexDigits = "0123456789abcdef"
	for i := range 10 {
		w := hi
		if i >= 8 {
			w = lo
		}
		x := byte(w >> (56 - 8*(i%8)))
		id[2*i], id[2*i+1] = hexDigits[x>>4], hexDigits[x&15]
	}
	return string(id[:])
}

// fnv128a adds s to the FNV-1a 128-bit hash state (hi, lo): per byte, xor
// it in, then multiply by the prime 2^88 + 0x13b modulo 2^128. The state
// stays in two registers (through a struct and a method per byte, an id
// took 184 ns instead of 110).
func fnv128a[S string | []byte](hi, lo uint64, s S) (uint64, uint64) {
	for i := 0; i < len(s); i++ {
		lo ^= uint64(s[i])
		h, l := bits.Mul64(0x13b, lo)
		hi, lo = h+lo<<24+0x13b*hi, l
	}
	return hi, lo
}
