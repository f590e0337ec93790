package index

import (
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"
)

// evidenceTokenizerName is registered with bleve's registry, so every
// process that opens a shard (sshwhy itself) can rebuild the analyzer
// saved in the shard's mapping.
const evidenceTokenizerName = "sshwhy_evidence"

func init() {
	err := registry.RegisterTokenizer(evidenceTokenizerName,
		func(map[string]interface{}, *registry.Cache) (analysis.Tokenizer, error) {
			return evidenceTokenizer{}, nil
		})
	if err != nil {
		panic(err)
	}
}

// evidenceTokenizer splits log lines into words. A token is a run of
// letters, digits, '_' and non-ASCII bytes, which may be joined by '.', ':'
// and '-' ("203.0.113.5", "2001:db8::1", "diffie-hellman-group1-sha1",
// "15:04:05"); joiners at either end are dropped ("[preauth]" → "preauth",
// "identification:" → "identification"). It is a byte scanner: much
// faster than Unicode word segmentation, and log lines are mostly ASCII.
// Non-ASCII bytes (valid UTF-8 or not) are word bytes, so they are kept
// and never split a multibyte character.
type evidenceTokenizer struct{}

func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

func joinByte(c byte) bool { return c == '.' || c == ':' || c == '-' }

// Tokenize implements analysis.Tokenizer.
func (evidenceTokenizer) Tokenize(in []byte) analysis.TokenStream {
	// Count first so all tokens live in one allocation.
	n := 0
	forEachToken(in, func(int, int, bool) { n++ })
	if n == 0 {
		return nil
	}
	toks := make([]analysis.Token, n)
	out := make(analysis.TokenStream, n)
	i, pos := 0, 0
	forEachToken(in, func(s, e int, newLine bool) {
		pos++
		if newLine && i > 0 {
			pos += lineGap
		}
		toks[i] = analysis.Token{
			Start:    s,
			End:      e,
			Term:     in[s:e],
			Position: pos,
			Type:     analysis.AlphaNumeric,
		}
		out[i] = &toks[i]
		i++
	})
	return out
}

// lineGap separates the positions of tokens on different lines, so a
// phrase never matches across two evidence lines.
const lineGap = 100

// forEachToken calls f with the bounds of each token of in and whether a
// newline precedes it (since the previous token).
func forEachToken(in []byte, f func(start, end int, newLine bool)) {
	i := 0
	for i < len(in) {
		nl := false
		for i < len(in) && !wordByte(in[i]) {
			nl = nl || in[i] == '\n'
			i++
		}
		if i == len(in) {
			return
		}
		start := i
		end := i
		for i < len(in) {
			c := in[i]
			if wordByte(c) {
				i++
				end = i
				continue
			}
			if joinByte(c) {
				i++
				continue
			}
			break
		}
		f(start, end, nl)
	}
}
