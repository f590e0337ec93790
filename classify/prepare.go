package classify

import (
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/rules"
)

// Matching a line against the rules needs no state: Feed is Match, which
// any goroutine may run, then FeedMatched, which changes the Machine. A
// pipeline on several cores matches lines on one goroutine while the
// Machine runs on another (package pipeline).

// Matched is a line's match, made by a Matcher for FeedMatched.
type Matched struct {
	kind  matchKind
	match rules.Match
}

type matchKind uint8

const (
	kindUnparsed  matchKind = iota // no log header
	kindOther                      // a program without rules
	kindUnmatched                  // a program with rules, no rule matched
	kindMatched
)

// Matcher matches lines for FeedMatched. It is not safe for concurrent
// use (it caches the last program's rules); the Set it reads is.
type Matcher struct {
	rules       *rules.Set
	lastProgram string
	lastGroup   *rules.Group
}

// NewMatcher returns a Matcher of rs, which must be the rules of the
// Machine that is fed its matches.
func NewMatcher(rs *rules.Set) *Matcher { return &Matcher{rules: rs} }

// Match matches l into mt. The match refers to l's text: it is valid as
// long as l is.
func (x *Matcher) Match(l *ingest.Line, mt *Matched) {
	if l.Program == "" {
		mt.kind = kindUnparsed
		return
	}
	if l.Program != x.lastProgram {
		x.lastProgram, x.lastGroup = l.Program, x.rules.For(l.Program)
	}
	switch g := x.lastGroup; {
	case g == nil:
		mt.kind = kindOther
	case g.Match(l.Message, &mt.match):
		mt.kind = kindMatched
	default:
		mt.kind = kindUnmatched
	}
}
