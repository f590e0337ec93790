//go:build !amd64

package classify

func plainPrefix(s string) int { return plainPrefixGo(s) }
