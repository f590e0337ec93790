// Package escape makes attacker-written text safe to show. sshd log lines
// carry user names, client banners and disconnect messages chosen by
// whoever connects; printed raw, they could move the cursor, rewrite the
// terminal title or inject markup.
package escape

import (
	"html"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Terminal returns s with every byte that could control a terminal shown
// as a Go-style escape: C0 and C1 controls, DEL, invalid UTF-8, and the
// Unicode format characters that reorder text (bidi overrides). Printable
// text, including non-ASCII letters, is kept. A backslash is doubled so the
// result is unambiguous.
func Terminal(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			q := strconv.QuoteRune(r) // '\x1b', '\n', '\u0085'
			b.WriteString(q[1 : len(q)-1])
		case unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			b.WriteString(`\u`)
			b.WriteString(strconv.FormatUint(uint64(r)|0x10000, 16)[1:])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isPlain reports whether s is printable ASCII without backslashes.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// HTML returns s safe inside HTML text or a quoted attribute: terminal
// controls escaped as by Terminal, then HTML's special characters.
func HTML(s string) string { return html.EscapeString(Terminal(s)) }
