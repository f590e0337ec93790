package cause

import (
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	if len(All()) != 16 {
		t.Fatalf("%d causes, want the 16 of the taxonomy", len(All()))
	}
	for _, c := range []Cause{UserLogout, AuthFailure, AccessDenied, GraceTimeout, ClientTimeout, IdleTimeout,
		HostKeyMismatch, NegotiationFailure, Probe, ProtocolError, PacketCorruption, NetworkReset,
		ConnectionLost, RateLimited, ServerShutdown, Unknown} {
		if !c.Valid() {
			t.Errorf("constant %s is not in causes.yaml", c)
		}
	}
	if Unknown.Rank() != 0 || Cause("nope").Rank() != -1 || ServerShutdown.Rank() <= AuthFailure.Rank() {
		t.Errorf("ranks: unknown %d, nope %d", Unknown.Rank(), Cause("nope").Rank())
	}
	if got := AuthFailure.ANSI(); got != "\x1b[31mauth_failure\x1b[0m" {
		t.Errorf("ANSI = %q", got)
	}
	if got := Unknown.ANSI(); got != "unknown" {
		t.Errorf("ANSI of a cause without colour = %q", got)
	}
}

func TestParse(t *testing.T) {
	if c, err := Parse(" probe "); err != nil || c != Probe {
		t.Errorf("Parse = %v, %v", c, err)
	}
	_, err := Parse("client_timout")
	if err == nil || !strings.Contains(err.Error(), "client_timeout") {
		t.Errorf("Parse of a typo: %v (want the list of causes)", err)
	}
}

func TestParseTableErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"duplicate", "- {name: a, rank: 1, colour: red, summary: s, remedy: r}\n- {name: a, rank: 2, colour: red, summary: s, remedy: r}", "twice"},
		{"same rank", "- {name: a, rank: 1, colour: red, summary: s, remedy: r}\n- {name: b, rank: 1, colour: red, summary: s, remedy: r}", "same rank"},
		{"colour", "- {name: a, rank: 1, colour: pink, summary: s, remedy: r}", "colour"},
		{"no remedy", "- {name: a, rank: 1, colour: red, summary: s}", "remedy"},
		{"no name", "- {rank: 1, colour: red, summary: s, remedy: r}", "no name"},
	} {
		_, err := parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestPhaseConfidence(t *testing.T) {
	if !Preauth.Valid() || !Postauth.Valid() || Phase("any").Valid() {
		t.Error("Phase.Valid")
	}
	if !Certain.Valid() || !Inferred.Valid() || Confidence("maybe").Valid() {
		t.Error("Confidence.Valid")
	}
}
