package victorialogs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/index"
)

// TestFilter pins the LogsQL of each kind of query (the meaning is proven
// against the local index in cmd/sshwhy's TestFleetSameAnswers).
func TestFilter(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		q    index.Query
		want string
	}{
		{index.Query{}, `*`},
		{index.Query{Since: t0, Until: t0.Add(time.Hour)}, `_time:[2026-11-23T10:00:00.000000000Z, 2026-11-23T11:00:00.000000000Z]`},
		{index.Query{Since: t0}, `_time:>=2026-11-23T10:00:00.000000000Z`},
		{index.Query{Causes: []cause.Cause{cause.Probe, cause.AuthFailure}}, `cause:in("probe", "auth_failure")`},
		{index.Query{IPs: []string{"203.0.113.0/24"}}, `ip:ipv6_range("::ffff:203.0.113.0", "::ffff:203.0.113.255")`},
		{index.Query{IPs: []string{"2001:db8::/32", "192.0.2.1"}}, `(ip:ipv6_range("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff") OR ip:ipv6_range("::ffff:192.0.2.1", "::ffff:192.0.2.1"))`},
		{index.Query{Users: []string{"root", "a\"b\x1b"}}, `user:in("root", "a\"b\x1b")`},
		{index.Query{Users: []string{""}}, matchNone},
		{index.Query{Hosts: []string{"web1"}, Phases: []string{"preauth"}}, `host:in("web1") AND phase:in("preauth")`},
		{index.Query{Text: "cause:probe -user:root"}, `(cause:="probe" AND NOT user:="root")`},
		{index.Query{Text: "+cause:probe user:root"}, `cause:="probe"`},
		{index.Query{Text: "-cause:probe"}, `(* AND NOT cause:="probe")`},
		{index.Query{Text: "duration_s:>60"}, `duration_s:>=60.5`},
		{index.Query{Text: "duration_s:7"}, `((duration_s:>=6.5 AND duration_s:<7.5) OR (duration_s:>=6.5 AND duration_s:<7.5))`},
		{index.Query{Text: "pid:<100"}, `pid:range[0, 99]`},
		{index.Query{Text: "+pid:1.5 +cause:probe"}, `cause:="probe"`},
		{index.Query{Text: "pid:1.5"}, matchNone},
		{index.Query{Text: `end:>="2026-11-23T10:00:00Z"`}, `_time:>=2026-11-23T10:00:00.000000000Z`},
		{index.Query{Text: "auth_method:publickey"}, `auth_methods:json_array_contains_any("publickey")`},
		{index.Query{Text: `ip:"10.0.0.0/8"`}, `ip:ipv6_range("::ffff:10.0.0.0", "::ffff:10.255.255.255")`},
	}
	for _, tt := range tests {
		got, err := Filter(tt.q)
		if err != nil || got != tt.want {
			t.Errorf("%+v:\n got %s (%v)\nwant %s", tt.q, got, err, tt.want)
		}
	}
	for _, text := range []string{`"too many"`, "closed", "lines:x", "detail:x", "user:ro*", "user:/r/", "user:root~", "nosuch:x", `start:>"2026-01-01T00:00:00Z"`, "cause:>3"} {
		_, err := Filter(index.Query{Text: text})
		if !errors.Is(err, index.ErrBadQuery) || !strings.Contains(err.Error(), "--logsql") {
			t.Errorf("%s: %v, want a bad query naming --logsql", text, err)
		}
	}
}
