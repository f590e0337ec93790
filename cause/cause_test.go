package cause

import (
	"os"
	"regexp"
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

// TestDocsListEveryCause: docs/causes.md, the contract people read, has a
// row for exactly the causes of causes.yaml.
func TestDocsListEveryCause(t *testing.T) {
	b, err := os.ReadFile("../docs/causes.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[Cause]bool{}
	section := false
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "## ") {
			section = l == "## Causes"
		}
		if m := docRow.FindStringSubmatch(l); m != nil && section {
			rows[Cause(m[1])] = true
		}
	}
	for _, c := range All() {
		if !rows[c] {
			t.Errorf("docs/causes.md has no row for %s", c)
		}
		delete(rows, c)
	}
	for c := range rows {
		t.Errorf("docs/causes.md has a row for %s, which is no cause", c)
	}
}

var docRow = regexp.MustCompile("^\\| `([a-z_]+)` \\|")
