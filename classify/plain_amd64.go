package classify

// plainPrefix is plainPrefixGo. Strings of 16 bytes or more (evidence
// lines) take plainPrefix16, 16 bytes an instruction sequence.
func plainPrefix(s string) int {
	if len(s) < 16 {
		return plainPrefixGo(s)
	}
	return plainPrefix16(s)
}

// plainPrefix16 is plainPrefixGo for len(s) >= 16 (it reads s 16 bytes at
// a time and the last 16 bytes once more, never past its end).
//
//go:noescape
func plainPrefix16(s string) int
