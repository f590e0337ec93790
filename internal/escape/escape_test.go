package escape

import "testing"

func TestTerminal(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"alice", "alice"},
		{"x from 6.6.6.6 port 22", "x from 6.6.6.6 port 22"},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\a`},
		{"\x1b[2J", `\x1b[2J`},
		{"a\nb\r\t", `a\nb\r\t`},
		{"\xff\xfe", `\xff\xfe`},
		{"\u0085", `\u0085`},
		{"user\u202egnp.exe", `user\u202egnp.exe`},
		{"back\\slash", `back\\slash`},
		{"Jürgen", "Jürgen"},
		{"\x7f", `\x7f`},
	} {
		if got := Terminal(tc.in); got != tc.want {
			t.Errorf("Terminal(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestHTML(t *testing.T) {
	if got, want := HTML("<script>\x1b"), `&lt;script&gt;\x1b`; got != want {
		t.Errorf("HTML = %q, want %q", got, want)
	}
}
