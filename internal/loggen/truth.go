package loggen

import (
	"strconv"
	"time"

	"github.com/sshwhy/sshwhy/cause"
)

// Truth is the ground truth for one logged connection: one JSON object per
// line in the -truth file, in the order the connections were started (not
// strictly the order of their first lines).
//
// PID is the per-connection monitor process (the pid of `Accepted`,
// `Invalid user` and every [preauth] line); for a connection refused by the
// listener (MaxStartups, penalties) it is the listener's pid. ChildPID is the
// post-authentication child, when one exists. Start and End are the times of
// the connection's first and last sshd line; a connection ended by a silent
// grace timeout therefore "ends" at its last logged line.
type Truth struct {
	Host     string    `json:"host"`
	Program  string    `json:"program"`
	PID      int       `json:"pid"`
	ChildPID int       `json:"child_pid,omitempty"`
	SrcIP    string    `json:"src_ip"`
	SrcPort  int       `json:"src_port"`
	User     string    `json:"user,omitempty"`
	Cause    string    `json:"cause"`
	Phase    string    `json:"phase"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Scenario string    `json:"scenario"` // generator's name for what happened, e.g. "brute/byebye"
}

// The causes the generator produces, in the vocabulary of package cause.
const (
	causeUserLogout       = string(cause.UserLogout)
	causeAuthFailure      = string(cause.AuthFailure)
	causeAccessDenied     = string(cause.AccessDenied)
	causeGraceTimeout     = string(cause.GraceTimeout)
	causeClientTimeout    = string(cause.ClientTimeout)
	causeHostKeyMismatch  = string(cause.HostKeyMismatch)
	causeNegotiation      = string(cause.NegotiationFailure)
	causeProbe            = string(cause.Probe)
	causeProtocolError    = string(cause.ProtocolError)
	causePacketCorruption = string(cause.PacketCorruption)
	causeNetworkReset     = string(cause.NetworkReset)
	causeConnectionLost   = string(cause.ConnectionLost)
	causeRateLimited      = string(cause.RateLimited)
	causeServerShutdown   = string(cause.ServerShutdown)
)

func appendTruth(b []byte, t *Truth) []byte {
	b = append(b, `{"host":`...)
	b = appendJSONString(b, t.Host)
	b = append(b, `,"program":`...)
	b = appendJSONString(b, t.Program)
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(t.PID), 10)
	if t.ChildPID != 0 {
		b = append(b, `,"child_pid":`...)
		b = strconv.AppendInt(b, int64(t.ChildPID), 10)
	}
	b = append(b, `,"src_ip":`...)
	b = appendJSONString(b, t.SrcIP)
	b = append(b, `,"src_port":`...)
	b = strconv.AppendInt(b, int64(t.SrcPort), 10)
	if t.User != "" {
		b = append(b, `,"user":`...)
		b = appendJSONString(b, t.User)
	}
	b = append(b, `,"cause":`...)
	b = appendJSONString(b, t.Cause)
	b = append(b, `,"phase":`...)
	b = appendJSONString(b, t.Phase)
	b = append(b, `,"start":"`...)
	b = t.Start.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","end":"`...)
	b = t.End.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","scenario":`...)
	b = appendJSONString(b, t.Scenario)
	return append(b, "}\n"...)
}
