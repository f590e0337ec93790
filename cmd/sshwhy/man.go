package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
)

// newManCmd is the hidden `sshwhy man DIR`: the packages' man pages,
// generated from the commands by cobra/doc, one per command: sshwhy.1,
// sshwhy-classify.1, sshwhy-rules-list.1, ...
func newManCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "man DIR",
		Short:  "Write the man pages (section 1) into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeManPages(cmd.Root(), args[0])
		},
	}
}

// writeManPages writes one page per available command into dir, named as
// cobra/doc names them. The date is SOURCE_DATE_EPOCH's when set
// (reproducible packages), else today's.
//
// cobra/doc reads a command's help texts as Markdown, and they are plain
// text written for a terminal: writeManPages first makes Markdown of them
// (manMarkdown), which changes the command tree, so it is meant for a
// process that exits afterwards.
func writeManPages(root *cobra.Command, dir string) error {
	date := time.Now().UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		var sec int64
		if _, err := fmt.Sscan(s, &sec); err != nil {
			return usageError{fmt.Errorf("SOURCE_DATE_EPOCH %q: not a number of seconds", s)}
		}
		date = time.Unix(sec, 0).UTC()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root.DisableAutoGenTag = true
	root.InitDefaultVersionFlag()
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
				if err := walk(sub); err != nil {
					return err
				}
			}
		}
		c.Short = manMarkdown(c.Short)
		c.Long = manMarkdown(c.Long)
		escapeUsage := func(f *pflag.Flag) { f.Usage = escapeMarkdown(f.Usage, true) }
		c.LocalFlags().VisitAll(escapeUsage)
		h := &doc.GenManHeader{Section: "1", Date: &date, Source: "sshwhy " + readBuildInfo().Version, Manual: "sshwhy manual"}
		var b bytes.Buffer
		if err := doc.GenMan(c, h, &b); err != nil {
			return err
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		return os.WriteFile(filepath.Join(dir, name), manOptions(b.Bytes()), 0o644)
	}
	return walk(root)
}

// markdownSpecial are the characters Markdown (blackfriday, under
// go-md2man) may read as markup, all of which a backslash makes literal.
const markdownSpecial = "\\`*_{}[]()#+-.!:|&<>~"

// escapeMarkdown puts a backslash before every Markdown special character
// of s. With code, `spans` stay code spans (cobra's flag usages name their
// argument so: "configuration `FILE`") and their text is left as it is.
func escapeMarkdown(s string, code bool) string {
	var b strings.Builder
	inCode := false
	for _, r := range s {
		switch {
		case code && r == '`':
			inCode = !inCode
		case !inCode && strings.ContainsRune(markdownSpecial, r):
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// manMarkdown turns a help text into Markdown that renders as it reads on
// a terminal: paragraphs stay paragraphs with every character literal, and
// each run of indented lines (a table, a list of requests, commands)
// becomes preformatted text, line for line.
func manMarkdown(s string) string {
	var b strings.Builder
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		if !indented(lines[i]) {
			b.WriteString(escapeMarkdown(lines[i], false))
			b.WriteByte('\n')
			continue
		}
		b.WriteString("```\n")
		for ; i < len(lines) && indented(lines[i]); i++ {
			b.WriteString(lines[i])
			b.WriteByte('\n')
		}
		b.WriteString("```\n")
		i--
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func indented(line string) bool {
	return strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
}

// optionEntry is one option as cobra/doc renders it: the flag, then its
// usage on a tab-indented line, which man shows run together.
var optionEntry = regexp.MustCompile(`(?m)^(?:\.PP\n)?(\\fB-.*)\n\t(.*)\n`)

// manOptions lays the options out as man pages do (.TP: the flag, then its
// description indented below it).
func manOptions(roff []byte) []byte {
	return optionEntry.ReplaceAll(roff, []byte(".TP\n$1\n$2\n"))
}
