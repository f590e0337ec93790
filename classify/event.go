package classify

import (
	"encoding/hex"
	"hash/fnv"
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
// source port and start time (the fields that identify one connection).
func EventID(host string, pid, srcPort int, start time.Time) string {
	b := make([]byte, 0, 96)
	b = append(b, host...)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(srcPort), 10)
	b = append(b, 0)
	b = strconv.AppendInt(b, start.UnixNano(), 10)
	h := fnv.New128a()
	h.Write(b)
	var sum [16]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:10])
}
