package classify

import (
	"encoding/hex"
	"hash/fnv"
	"strconv"
	"time"
)

// Cause is why a connection ended; the taxonomy is in the design document
// causes.md. The string values are part of the product's contract.
type Cause string

// The causes.
const (
	UserLogout         Cause = "user_logout"
	AuthFailure        Cause = "auth_failure"
	AccessDenied       Cause = "access_denied"
	GraceTimeout       Cause = "grace_timeout"
	ClientTimeout      Cause = "client_timeout"
	IdleTimeout        Cause = "idle_timeout"
	HostKeyMismatch    Cause = "host_key_mismatch"
	NegotiationFailure Cause = "negotiation_failure"
	Probe              Cause = "probe"
	ProtocolError      Cause = "protocol_error"
	PacketCorruption   Cause = "packet_corruption"
	NetworkReset       Cause = "network_reset"
	ConnectionLost     Cause = "connection_lost"
	RateLimited        Cause = "rate_limited"
	ServerShutdown     Cause = "server_shutdown"
	Unknown            Cause = "unknown"
)

// Causes lists every cause in the order of the taxonomy.
var Causes = []Cause{
	UserLogout, AuthFailure, AccessDenied, GraceTimeout, ClientTimeout,
	IdleTimeout, HostKeyMismatch, NegotiationFailure, Probe, ProtocolError,
	PacketCorruption, NetworkReset, ConnectionLost, RateLimited,
	ServerShutdown, Unknown,
}

// Valid reports whether c is one of Causes.
func (c Cause) Valid() bool {
	for _, k := range Causes {
		if k == c {
			return true
		}
	}
	return false
}

// Confidence values.
const (
	Certain  = "certain"  // a log line states the cause
	Inferred = "inferred" // the state machine deduced it
)

// Phase values.
const (
	Preauth  = "preauth"
	Postauth = "postauth"
)

// Event is one ended connection. It is the value every sink (JSON lines,
// table, index) receives. Absent values are zero and omitted from JSON.
type Event struct {
	ID           string    `json:"id"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	Prec         int8      `json:"-"` // fractional-second digits of the source timestamps
	Host         string    `json:"host,omitempty"`
	Program      string    `json:"program,omitempty"`
	PID          int       `json:"pid,omitempty"`
	SrcIP        string    `json:"src_ip,omitempty"`
	SrcPort      int       `json:"src_port,omitempty"`
	User         string    `json:"user,omitempty"`
	Cause        Cause     `json:"cause"`
	Confidence   string    `json:"confidence"`
	Phase        string    `json:"phase"`
	Detail       string    `json:"detail,omitempty"`
	Rule         string    `json:"rule,omitempty"` // id of the rule that decided the cause ("" when inferred from silence)
	AuthFailures int       `json:"auth_failures"`
	AuthMethods  []string  `json:"auth_methods,omitempty"`
	DurationS    float64   `json:"duration_s"`
	Lines        []string  `json:"lines"`
	LinesDropped int       `json:"lines_dropped,omitempty"` // evidence lines beyond the per-connection cap
	Source       string    `json:"source,omitempty"`
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
