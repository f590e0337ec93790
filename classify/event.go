package classify

import (
	"encoding/hex"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/sshwhy/sshwhy/cause"
)

// Event is one ended connection. It is the value every sink (JSON lines,
// table, index) receives. Absent values are zero and omitted from JSON.
type Event struct {
	ID           string           `json:"id"`
	Start        time.Time        `json:"start"`
	End          time.Time        `json:"end"`
	Prec         int8             `json:"-"` // fractional-second digits of the source timestamps
	Host         string           `json:"host,omitempty"`
	Program      string           `json:"program,omitempty"`
	PID          int              `json:"pid,omitempty"`
	SrcIP        string           `json:"src_ip,omitempty"`
	SrcPort      int              `json:"src_port,omitempty"`
	Remote       string           `json:"remote,omitempty"`
	User         string           `json:"user,omitempty"`
	Cause        cause.Cause      `json:"cause"`
	Confidence   cause.Confidence `json:"confidence"`
	Phase        cause.Phase      `json:"phase"`
	Detail       string           `json:"detail,omitempty"`
	Rule         string           `json:"rule,omitempty"` // id of the rule that decided the cause ("" when inferred from silence)
	AuthFailures int              `json:"auth_failures"`
	AuthMethods  []string         `json:"auth_methods,omitempty"`
	DurationS    float64          `json:"duration_s"`
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
