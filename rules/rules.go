// Package rules holds the message shapes sshwhy recognises, as data.
//
// A rule names one shape of an sshd (or ssh client) log message, the fields
// it carries, the cause it points to, and what it means for its connection
// (does it end it, authenticate it, ...). The default rules are embedded
// YAML files (default/*.yaml); a directory of further YAML files adds rules
// or overrides default ones by id.
//
// Matching is per message and stateless: Set.Match returns the first rule,
// in priority order, whose pattern matches. What the matches mean together is
// the job of package classify.
package rules

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sshwhy/sshwhy/cause"
)

//go:embed default/*.yaml
var defaultFS embed.FS

// Action is what a matched line does to its connection.
type Action string

// The actions.
const (
	Note        Action = "note"         // evidence only (may still carry a cause)
	Open        Action = "open"         // "Connection from ..." (VERBOSE): a connection starts
	AuthFail    Action = "auth_fail"    // a failed authentication attempt
	AuthOK      Action = "auth_ok"      // authentication succeeded: the connection is post-auth
	SetUser     Action = "user"         // names the user (e.g. "Invalid user")
	Child       Action = "child"        // "User child is on pid N": N belongs to this connection
	SessionOpen Action = "session_open" // PAM session opened
	SessionEnd  Action = "session_end"  // PAM session closed: post-auth connection is over
	GracePID    Action = "grace_pid"    // listener: connection of monitor pid N hit LoginGraceTime
	Drop        Action = "drop"         // listener: a connection refused before it started
)

var actions = map[Action]bool{Note: true, Open: true, AuthFail: true, AuthOK: true, SetUser: true,
	Child: true, SessionOpen: true, SessionEnd: true, GracePID: true, Drop: true}

// Rule is one message shape.
type Rule struct {
	ID    string `yaml:"id"`
	Match string `yaml:"match"`
	// Suffix constrains the " [preauth]" suffix sshd's monitor adds to lines
	// relayed from the pre-auth child: "preauth" requires it, "none" forbids
	// it, "" accepts both.
	Suffix string `yaml:"suffix"`
	// Scope is "connection" (default): the line belongs to the connection of
	// its pid or address; or "listener": the line is the listener's and names
	// another process or a refused peer.
	Scope  string `yaml:"scope"`
	Action Action `yaml:"action"`
	// Cause the line points to, and CausePreauth when that differs before
	// authentication succeeded.
	Cause        cause.Cause `yaml:"cause"`
	CausePreauth cause.Cause `yaml:"cause_preauth"`
	// Weak causes say how a connection ended, not why (e.g. "Connection
	// closed by ..."); any cause from another line wins over them.
	Weak bool `yaml:"weak"`
	// Ends marks the line that closes its connection.
	Ends bool `yaml:"ends"`
	// Closed marks a line written after the peer is gone but possibly before
	// the line that names it (e.g. kex_exchange_identification, then
	// "Connection closed by IP port N"): when nothing follows, the connection
	// ends with this line's cause instead of being taken for a grace timeout.
	Closed bool `yaml:"closed"`
	// Invalid marks lines that say the user does not exist or is refused.
	Invalid bool `yaml:"invalid"`
	// Infer names a deduction the state machine may make from this line:
	// "host_key" (a known client closing right after key exchange).
	Infer string `yaml:"infer"`
	// Phase is where the line occurs: preauth, postauth or any. A postauth
	// line is only written once authentication succeeded, so it proves its
	// connection authenticated even when the input lacks the line that
	// said so ("Disconnected from user U", ClientAlive timeouts, PAM's
	// session lines): the classifier takes phase and user from it.
	Phase string `yaml:"phase"`
	// Child marks a line written by a child process of the connection
	// under a pid of its own and without the peer's port: the pre-auth
	// child before OpenSSH 5.9 (no log relay through the monitor, so no
	// " [preauth]" either) and the post-auth child before 7.2. Such a line
	// of a pid the classifier does not know is joined to its connection by
	// address, user and pid instead of starting a new one.
	Child bool `yaml:"child"`
	// Detail is a template for the event's detail, e.g. "{kind}; their offer: {offer}".
	Detail   string   `yaml:"detail"`
	Level    string   `yaml:"level"`    // the LogLevel that shows it: INFO, VERBOSE, ERROR, ...
	Versions string   `yaml:"versions"` // OpenSSH versions that write it, for people
	Examples []string `yaml:"examples"` // messages this rule must match (checked when the rules are loaded)
	Disable  bool     `yaml:"disable"`  // in an override file: remove the rule with this id

	Programs []string `yaml:"-"` // from the file
	File     string   `yaml:"-"` // where it was defined
	pat      *pattern
	// rank and rankPre are the ranks of Cause and of the cause before
	// authentication, plus one (zero: not compiled; Rank looks them up).
	rank, rankPre int8
}

// Rank is the rank (cause.Cause.Rank) of the cause the rule gives a
// connection that did (or did not) authenticate: -1 for none.
func (r *Rule) Rank(authed bool) int {
	if r.rank == 0 {
		return r.causeFor(authed).Rank()
	}
	if !authed {
		return int(r.rankPre) - 1
	}
	return int(r.rank) - 1
}

func (r *Rule) causeFor(authed bool) cause.Cause {
	if !authed && r.CausePreauth != "" {
		return r.CausePreauth
	}
	return r.Cause
}

type file struct {
	Programs []string `yaml:"programs"`
	Rules    []*Rule  `yaml:"rules"`
}

// Set is a loaded, compiled rule set. It is safe for concurrent use.
type Set struct {
	Rules  []*Rule // in priority order
	groups map[string]*Group
}

// Group holds the rules of one program, dispatched by the first word of
// their fixed text, so a message is tried only against rules that can
// match it.
type Group struct {
	byWord map[string][]*Rule
	wild   []*Rule // rules whose text starts with a field
	// The same lists split by the suffix a message has: the rules that
	// may match a message with " [preauth]" (pre) and one without (plain).
	words     wordTable
	wildLists suffixLists
}

// wordTable finds the rules of a message's first word: an open-addressing
// table with a cheap hash (a Go map's hash cost a tenth of matching).
type wordTable struct {
	slots []wordSlot // a power of two, at most half full
}

type wordSlot struct {
	word  string
	lists *suffixLists
}

func wordHash(w string) uint {
	n := len(w)
	return uint(n)*0x9e3779b1 ^ uint(w[0])<<7 ^ uint(w[n-1])<<3 ^ uint(w[n/2])
}

func newWordTable(m map[string]*suffixLists) wordTable {
	size := 8
	for size < 2*len(m) {
		size *= 2
	}
	t := wordTable{slots: make([]wordSlot, size)}
	for w, l := range m {
		for i := wordHash(w); ; i++ {
			if s := &t.slots[i&uint(size-1)]; s.lists == nil {
				s.word, s.lists = w, l
				break
			}
		}
	}
	return t
}

func (t *wordTable) get(w string) *suffixLists {
	if len(w) == 0 || len(t.slots) == 0 {
		return nil
	}
	mask := uint(len(t.slots) - 1)
	for i := wordHash(w); ; i++ {
		s := &t.slots[i&mask]
		if s.lists == nil {
			return nil
		}
		if s.word == w {
			return s.lists
		}
	}
}

type suffixLists struct{ pre, plain []*Rule }

func splitBySuffix(list []*Rule) *suffixLists {
	var l suffixLists
	for _, r := range list {
		if r.Suffix != "none" {
			l.pre = append(l.pre, r)
		}
		if r.Suffix != "preauth" {
			l.plain = append(l.plain, r)
		}
	}
	return &l
}

// Load reads the embedded default rules, then every *.yaml file of each
// dir in order. A rule whose id exists already replaces it in place; a new
// rule is tried before all earlier ones (override files are more specific);
// `disable: true` removes a rule.
func Load(dirs ...string) (*Set, error) {
	var all []*Rule
	names, err := fs.Glob(defaultFS, "default/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := defaultFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		rs, err := parseFile("embedded:"+n, b)
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}
	for _, dir := range dirs {
		paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return nil, err
		}
		if len(paths) == 0 {
			if _, err := os.Stat(dir); err != nil {
				return nil, fmt.Errorf("rules: %w", err)
			}
			return nil, fmt.Errorf("rules: no *.yaml files in %s", dir)
		}
		sort.Strings(paths)
		var added []*Rule
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("rules: %w", err)
			}
			rs, err := parseFile(p, b)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				i := indexOf(all, r.ID)
				switch {
				case r.Disable && i < 0:
					return nil, fmt.Errorf("rules: %s: disable: no rule with id %q", p, r.ID)
				case r.Disable:
					all = append(all[:i], all[i+1:]...)
				case i >= 0:
					all[i] = r
				default:
					added = append(added, r)
				}
			}
		}
		all = append(added, all...)
	}
	return NewSet(all)
}

func indexOf(rs []*Rule, id string) int {
	for i, r := range rs {
		if r.ID == id {
			return i
		}
	}
	return -1
}

func parseFile(name string, b []byte) ([]*Rule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("rules: %s: %w", name, err)
	}
	if len(f.Programs) == 0 {
		return nil, fmt.Errorf("rules: %s: the file names no programs", name)
	}
	for i, r := range f.Rules {
		if r == nil {
			return nil, fmt.Errorf("rules: %s: rule %d is empty", name, i+1)
		}
		r.Programs, r.File = f.Programs, name
	}
	return f.Rules, nil
}

// NewSet compiles and checks rules (in priority order).
func NewSet(rs []*Rule) (*Set, error) {
	s := &Set{Rules: rs, groups: map[string]*Group{}}
	seen := map[string]bool{}
	var errs []error
	for _, r := range rs {
		if err := r.compile(); err != nil {
			errs = append(errs, fmt.Errorf("rules: %s: %s: %w", r.File, r.ID, err))
			continue
		}
		if seen[r.ID] {
			errs = append(errs, fmt.Errorf("rules: %s: duplicate id %q", r.File, r.ID))
		}
		seen[r.ID] = true
		for _, prog := range r.Programs {
			g := s.groups[prog]
			if g == nil {
				g = &Group{byWord: map[string][]*Rule{}}
				s.groups[prog] = g
			}
			if w, ok := firstWord(r.pat.prefix); ok {
				g.byWord[w] = append(g.byWord[w], r)
			} else {
				g.wild = append(g.wild, r)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Wildcard rules are tried with every word's list they can match,
	// keeping priority order: a message in w's list starts with w and a
	// space, so a rule whose fixed prefix (no whole word) is not a prefix
	// of that ("pam_{_}" for "Connection") cannot match it.
	for _, g := range s.groups {
		if len(g.wild) == 0 {
			continue
		}
		for w, list := range g.byWord {
			var wild []*Rule
			for _, r := range g.wild {
				if strings.HasPrefix(w+" ", r.pat.prefix) {
					wild = append(wild, r)
				}
			}
			g.byWord[w] = mergeByPriority(s.Rules, list, wild)
		}
	}
	for _, g := range s.groups {
		words := make(map[string]*suffixLists, len(g.byWord))
		for w, list := range g.byWord {
			words[w] = splitBySuffix(list)
		}
		g.words = newWordTable(words)
		g.wildLists = *splitBySuffix(g.wild)
	}
	return s, nil
}

func mergeByPriority(order, a, b []*Rule) []*Rule {
	in := map[*Rule]bool{}
	for _, r := range a {
		in[r] = true
	}
	for _, r := range b {
		in[r] = true
	}
	out := make([]*Rule, 0, len(in))
	for _, r := range order {
		if in[r] {
			out = append(out, r)
			delete(in, r)
		}
	}
	return out
}

// firstWord returns the first space-terminated word of a rule's fixed
// prefix, when the prefix holds a whole word.
func firstWord(prefix string) (string, bool) {
	i := strings.IndexByte(prefix, ' ')
	if i <= 0 {
		return "", false
	}
	return prefix[:i], true
}

func (r *Rule) compile() error {
	if r.ID == "" {
		return errors.New("rule has no id")
	}
	if r.Match == "" {
		return errors.New("rule has no match")
	}
	p, err := compilePattern(r.Match)
	if err != nil {
		return err
	}
	r.pat = p
	r.rank, r.rankPre = int8(r.causeFor(true).Rank()+1), int8(r.causeFor(false).Rank()+1)
	if r.Action == "" {
		r.Action = Note
	}
	if !actions[r.Action] {
		return fmt.Errorf("unknown action %q", r.Action)
	}
	switch r.Scope {
	case "":
		r.Scope = "connection"
	case "connection", "listener":
	default:
		return fmt.Errorf("unknown scope %q", r.Scope)
	}
	switch r.Suffix {
	case "", "preauth", "none":
	default:
		return fmt.Errorf("unknown suffix %q (preauth, none or empty)", r.Suffix)
	}
	switch r.Infer {
	case "", "host_key":
	default:
		return fmt.Errorf("unknown infer %q", r.Infer)
	}
	for _, c := range []cause.Cause{r.Cause, r.CausePreauth} {
		if c != "" && !c.Valid() {
			return fmt.Errorf("unknown cause %q (causes: %s)", c, cause.List())
		}
	}
	switch r.Phase {
	case "", "any":
	default:
		if !cause.Phase(r.Phase).Valid() {
			return fmt.Errorf("unknown phase %q (preauth, postauth or any)", r.Phase)
		}
	}
	if r.Phase == string(cause.Postauth) {
		switch {
		case r.Suffix == "preauth":
			return errors.New("a postauth rule cannot require the [preauth] suffix")
		case r.CausePreauth != "":
			return errors.New("a postauth rule has no preauth cause")
		case r.Action == AuthFail || r.Action == AuthOK || r.Action == Open || r.Action == SetUser:
			return fmt.Errorf("action %s happens before authentication, not in a postauth rule", r.Action)
		}
	}
	if r.Child && r.Scope != "connection" {
		return errors.New("child: a listener line is not a connection's child")
	}
	if r.Scope == "listener" && r.Action != Note && r.Action != GracePID && r.Action != Drop {
		return fmt.Errorf("action %s is not a listener's", r.Action)
	}
	if err := checkDetail(r.Detail); err != nil {
		return err
	}
	return r.checkExamples()
}

// checkExamples makes sure each example matches the rule's own pattern
// (after the prefix and suffix sshd adds are taken off, as Match does),
// so a rule file documents itself. Which rule matches an example first in
// a whole set is tested separately (an override may shadow a rule).
func (r *Rule) checkExamples() error {
	var m Match
	for _, ex := range r.Examples {
		body, preauth := splitMessage(ex, &m)
		if (r.Suffix == "preauth" && !preauth) || (r.Suffix == "none" && preauth) || !r.pat.match(body, &m.Fields) {
			return fmt.Errorf("example %q does not match the rule's own pattern", ex)
		}
	}
	return nil
}

// checkDetail makes sure a detail template names only known fields.
func checkDetail(t string) error {
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			return nil
		}
		j := strings.IndexByte(t[i:], '}')
		if j < 0 {
			return fmt.Errorf("detail: unclosed '{'")
		}
		name := t[i+1 : i+j]
		if _, ok := fieldNames[name]; !ok && name != "level" {
			return fmt.Errorf("detail: unknown field {%s}", name)
		}
		t = t[i+j+1:]
	}
}

// Match is the result of matching one message.
type Match struct {
	Rule    *Rule
	Fields  Fields
	Preauth bool   // the message carried the " [preauth]" suffix
	Level   string // "error" or "fatal" when the message had that prefix
	Body    string // the message without prefix and suffix
}

// Programs reports whether the set has rules for program.
func (s *Set) Programs(program string) bool { return s.groups[program] != nil }

// For returns the rules of one program, or nil when it has none.
func (s *Set) For(program string) *Group { return s.groups[program] }

// Match finds the first rule for program that matches msg. It returns
// false when the program has no rules or no rule matches.
func (s *Set) Match(program, msg string, m *Match) bool {
	g := s.groups[program]
	if g == nil {
		return false
	}
	return g.Match(msg, m)
}

// splitMessage takes off what sshd adds around a message: the
// " [preauth]" (or " [postauth]") suffix of lines relayed by the monitor,
// the "error: "/"fatal: " prefix, and Solaris's "[ID 800047 auth.info] ".
// It sets m.Level and returns the body and whether the suffix was
// " [preauth]".
func splitMessage(msg string, m *Match) (body string, preauth bool) {
	body = msg
	if n := len(body); n > 0 && body[n-1] == ']' { // most messages end otherwise
		if strings.HasSuffix(body, " [preauth]") {
			body, preauth = body[:n-len(" [preauth]")], true
		} else if strings.HasSuffix(body, " [postauth]") {
			body = body[:n-len(" [postauth]")]
		}
	}
	m.Level = ""
	if len(body) == 0 {
		return body, preauth
	}
	switch body[0] {
	case 'e':
		if strings.HasPrefix(body, "error: ") {
			body, m.Level = body[len("error: "):], "error"
		}
	case 'f':
		if strings.HasPrefix(body, "fatal: ") {
			body, m.Level = body[len("fatal: "):], "fatal"
		}
	}
	if len(body) > 0 && body[0] == '[' && strings.HasPrefix(body, "[ID ") { // Solaris: "[ID 800047 auth.info] msg"
		if i := strings.Index(body, "] "); i > 0 {
			body = body[i+2:]
		}
	}
	return body, preauth
}

// Match finds the first rule of the group that matches msg.
func (g *Group) Match(msg string, m *Match) bool {
	m.Rule = nil
	body, preauth := splitMessage(msg, m)
	m.Body, m.Preauth = body, preauth
	lists := &g.wildLists
	if i := strings.IndexByte(body, ' '); i > 0 {
		if l := g.words.get(body[:i]); l != nil {
			lists = l
		}
	}
	list := lists.plain
	if preauth {
		list = lists.pre
	}
	for _, r := range list {
		if r.pat.match(body, &m.Fields) {
			m.Rule = r
			return true
		}
	}
	return false
}

// Detail renders the rule's detail template with the match's fields.
func (m *Match) Detail() string {
	t := m.Rule.Detail
	if strings.IndexByte(t, '{') < 0 {
		return t // no fields: no allocation
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			b.WriteString(t)
			return b.String()
		}
		b.WriteString(t[:i])
		j := strings.IndexByte(t[i:], '}')
		name := t[i+1 : i+j]
		t = t[i+j+1:]
		f := &m.Fields
		switch name {
		case "user":
			b.WriteString(f.User)
		case "ip", "host":
			b.WriteString(f.IP)
		case "port":
			b.WriteString(strconv.Itoa(f.Port))
		case "method":
			b.WriteString(f.Method)
		case "pid":
			b.WriteString(strconv.Itoa(f.PID))
		case "code":
			b.WriteString(strconv.Itoa(f.Code))
		case "text":
			b.WriteString(f.Text)
		case "kind":
			b.WriteString(f.Kind)
		case "offer":
			b.WriteString(f.Offer)
		case "local":
			b.WriteString(f.Local)
		case "lport":
			b.WriteString(strconv.Itoa(f.LPort))
		case "num":
			b.WriteString(strconv.Itoa(f.Num))
		case "level":
			b.WriteString(m.Level)
		}
	}
}
