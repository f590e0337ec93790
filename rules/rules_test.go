package rules

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sshwhy/sshwhy/internal/loggen"
)

// Every example in the embedded rules must be matched by its own rule:
// the rule files document themselves and this keeps them honest.
func TestEmbeddedExamples(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range s.Rules {
		for _, ex := range r.Examples {
			var m Match
			prog := r.Programs[0]
			if !s.Match(prog, ex, &m) {
				t.Errorf("%s: example %q matches no rule", r.ID, ex)
				continue
			}
			if m.Rule != r {
				t.Errorf("%s: example %q is matched by %s first", r.ID, ex, m.Rule.ID)
			}
			n++
		}
	}
	if n < 100 {
		t.Errorf("only %d examples checked", n)
	}
}

// TestShapes checks rule choice and field extraction on message shapes of
// several OpenSSH versions, and on user names written to fool a parser.
func TestShapes(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/shapes.tsv")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		col := strings.Split(line, "\t")
		if len(col) != 6 {
			t.Fatalf("shapes.tsv:%d: %d columns", i+1, len(col))
		}
		prog, msg, id, user, ip, port := col[0], col[1], col[2], col[3], col[4], col[5]
		n++
		var m Match
		if !s.Match(prog, msg, &m) {
			t.Errorf("line %d: %q matches no rule, want %s", i+1, msg, id)
			continue
		}
		f := m.Fields
		got := []string{m.Rule.ID, dash(f.User, f.HasUser), dash(f.IP, f.IP != ""), dash(strconv.Itoa(f.Port), f.Port >= 0)}
		want := []string{id, user, ip, port}
		if !slices.Equal(got, want) {
			t.Errorf("line %d: %q\n got rule,user,ip,port %q\nwant %q", i+1, msg, got, want)
		}
	}
	if n < 30 {
		t.Fatalf("only %d shapes", n)
	}
}

func dash(s string, ok bool) string {
	if !ok {
		return "-"
	}
	return s
}

// TestHostileInput: junk never panics and never matches a rule with fields
// taken from outside the fixed parts.
func TestHostileInput(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	junk := []string{
		"", " ", "\x00\x00\x00", "\xff\xfe\xfd", strings.Repeat("A", 1<<20),
		"Failed password for " + strings.Repeat("x from 1.1.1.1 port 1 ", 5000) + "from 203.0.113.7 port 5 ssh2",
		"Connection closed by " + strings.Repeat(" port ", 10000),
		"Received disconnect from 1.2.3.4 port 99999999999999999999:11: x",
		"Accepted password for a from b port -1 ssh2",
	}
	for _, msg := range junk {
		var m Match
		if s.Match("sshd", msg, &m) && m.Fields.Port > 65535 {
			t.Errorf("%.40q: port %d", msg, m.Fields.Port)
		}
	}
	var m Match
	if !s.Match("sshd", junk[5], &m) || m.Fields.IP != "203.0.113.7" || m.Fields.Port != 5 {
		t.Errorf("long injected user: got %+v", m.Fields)
	}
	if s.Match("sshd", junk[7], &m) {
		t.Errorf("a port beyond 65535 matched %s", m.Rule.ID)
	}
}

func TestLoadOverride(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "local.yaml"), []byte(`programs: [sshd]
rules:
- id: my-banner
  match: 'my custom {text}'
  cause: probe
  ends: true
- id: closed-preauth
  match: 'Connection closed by {remote}'
  suffix: preauth
  cause: probe
  ends: true
- id: pam-other
  disable: true
`), 0o644)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rules[0].ID != "my-banner" {
		t.Errorf("a new rule should come first, got %s", s.Rules[0].ID)
	}
	var m Match
	if !s.Match("sshd", "my custom thing", &m) || m.Rule.ID != "my-banner" {
		t.Error("custom rule did not match")
	}
	if s.Match("sshd", "pam_systemd(sshd:session): x", &m) {
		t.Errorf("disabled rule still matches (%s)", m.Rule.ID)
	}
	if !s.Match("sshd", "Connection closed by 1.2.3.4 port 5 [preauth]", &m) || m.Rule.Infer != "" {
		t.Error("override did not replace closed-preauth")
	}

	for name, body := range map[string]string{
		"badfield.yaml": "programs: [sshd]\nrules:\n- id: x\n  match: 'a {nosuch}'\n",
		"badkey.yaml":   "programs: [sshd]\nrules:\n- id: x\n  match: 'a'\n  nosuchkey: 1\n",
		"noprog.yaml":   "rules:\n- id: x\n  match: 'a'\n",
		"dup.yaml":      "programs: [sshd]\nrules:\n- id: x\n  match: 'a'\n- id: x\n  match: 'b'\n",
	} {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, name), []byte(body), 0o644)
		if _, err := Load(d); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error does not name the file: %v", name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing dir: no error")
	}
}

func FuzzMatch(f *testing.F) {
	s, err := Load()
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range s.Rules {
		for _, ex := range r.Examples {
			f.Add(ex)
		}
	}
	var sshd []*Rule
	for _, r := range s.Rules {
		if slices.Contains(r.Programs, "sshd") {
			sshd = append(sshd, r)
		}
	}
	f.Fuzz(func(t *testing.T, msg string) {
		var m Match
		ok := s.Match("sshd", msg, &m)
		// The dispatch (first word, suffix) finds what trying every rule
		// in priority order finds.
		var want *Rule
		var ref Match
		body, preauth := splitMessage(msg, &ref)
		for _, r := range sshd {
			if (r.Suffix != "preauth" || preauth) && (r.Suffix != "none" || !preauth) && r.pat.match(body, &ref.Fields) {
				want = r
				break
			}
		}
		if m.Rule != want {
			t.Fatalf("%q: matched %v, trying every rule matches %v", msg, m.Rule, want)
		}
		if !ok {
			return
		}
		fl := m.Fields
		// Captured values are substrings of the message, ports in range.
		for _, v := range []string{fl.User, fl.IP, fl.Text, fl.Method, fl.Offer} {
			if !strings.Contains(msg, v) {
				t.Fatalf("%s: field %q not in message %q", m.Rule.ID, v, msg)
			}
		}
		if fl.Port > 65535 || fl.Port < -1 {
			t.Fatalf("%s: port %d", m.Rule.ID, fl.Port)
		}
		if strings.ContainsAny(fl.IP, " ,[]") {
			t.Fatalf("%s: ip %q", m.Rule.ID, fl.IP)
		}
		_ = m.Detail()
	})
}

// BenchmarkLoad is the cost every command pays at start: parsing and
// compiling the embedded rules and checking each rule's examples.
func BenchmarkLoad(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Load(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckExamples is the part of Load that checks the examples.
func BenchmarkCheckExamples(b *testing.B) {
	s, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, r := range s.Rules {
			if err := r.checkExamples(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkMatch matches the sshd messages of loggen's event-dense mix
// and of its default mix (the rules' share of `classify`'s time).
func BenchmarkMatch(b *testing.B) {
	s, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	g := s.For("sshd")
	for _, dense := range []bool{true, false} {
		cfg := loggen.DefaultConfig()
		cfg.Lines, cfg.Dense, cfg.Noise = 100000, dense, 0
		var buf bytes.Buffer
		if _, err := loggen.Generate(&buf, nil, cfg); err != nil {
			b.Fatal(err)
		}
		var msgs []string
		for _, l := range strings.Split(buf.String(), "\n") {
			if i := strings.Index(l, "]: "); i > 0 && strings.Contains(l[:i], " sshd[") {
				msgs = append(msgs, l[i+3:])
			}
		}
		name := "default"
		if dense {
			name = "dense"
		}
		b.Run(name, func(b *testing.B) {
			var m Match
			matched := 0
			for i := 0; i < b.N; i++ {
				for _, msg := range msgs {
					if g.Match(msg, &m) {
						matched++
					}
				}
			}
			if matched < b.N*len(msgs)*99/100 {
				b.Fatalf("%d of %d messages matched", matched, b.N*len(msgs))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/msg")
		})
	}
}

// lastIndex is strings.LastIndex.
func TestLastIndex(t *testing.T) {
	lits := []string{" from ", " port ", ": ", "x", " user ", "Auth fail", "aa"}
	alphabet := "ax fromport:user Authfil"
	state := uint64(1)
	for n := 0; n < 20000; n++ {
		state = state*6364136223846793005 + 1442695040888963407
		b := make([]byte, int(state>>58))
		for i := range b {
			state = state*6364136223846793005 + 1442695040888963407
			b[i] = alphabet[int(state>>59)%len(alphabet)]
		}
		s := string(b)
		for _, lit := range lits {
			seg := segment{literal: lit, key: keyByte(lit)}
			if got, want := seg.lastIndex(s), strings.LastIndex(s, lit); got != want {
				t.Fatalf("lastIndex(%q, %q) = %d, want %d", s, lit, got, want)
			}
		}
	}
}

// setNum reads what strconv.Atoi reads, within its bounds.
func TestSetNum(t *testing.T) {
	for _, v := range []string{"", "0", "5", "65535", "65536", "+5", "-5", "-0", "+", "-", "1a", " 1", "007", "9999999999999", "99999999999999", "1_000", "0x10", "１"} {
		want, ok := -1, false
		if len(v) > 0 && len(v) <= 13 {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 65535 {
				want, ok = n, true
			}
		}
		got := -1
		if gotOK := setNum(&got, v, 65535); gotOK != ok || got != want {
			t.Errorf("setNum(%q) = %d, %v; want %d, %v", v, got, gotOK, want, ok)
		}
	}
}

// The suffix test before matching changes no result: every pattern against
// every example (and each cut short, and with junk after it) matches as it
// does without the test.
func TestSuffixTest(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, r := range s.Rules {
		for _, ex := range r.Examples {
			var m Match
			body, _ := splitMessage(ex, &m)
			msgs = append(msgs, body, body[:len(body)/2], body[:max(len(body)-1, 0)], body+" x", body+"]")
		}
	}
	tested := 0
	for _, r := range s.Rules {
		p := r.pat
		for _, msg := range msgs {
			var got, want Fields
			g := p.match(msg, &got)
			want.reset()
			w := strings.HasPrefix(msg, p.prefix) && p.matchFrom(msg, len(p.prefix), 0, &want)
			if g != w || g && got != want {
				t.Fatalf("%s: %q: match %v %+v, without the suffix test %v %+v", r.ID, msg, g, got, w, want)
			}
			if p.suffix != "" && !strings.HasSuffix(msg, p.suffix) {
				tested++
			}
		}
	}
	if tested == 0 {
		t.Fatal("no message was turned away by the suffix test")
	}
}
