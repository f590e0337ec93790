package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestManPages writes the man pages and reads them with man(1) as a user
// would: one page per command (none for hidden ones), each renders without
// a warning, and the help texts come out as they read on a terminal
// (tables line for line, characters Markdown would eat kept).
func TestManPages(t *testing.T) {
	manBin, err := exec.LookPath("man")
	if err != nil {
		t.Fatalf("man(1) is needed (Debian package man-db, make deps-test installs it): %v", err)
	}
	dir := t.TempDir()
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if err := writeManPages(newRootCmd(), dir); err != nil {
		t.Fatal(err)
	}

	var want []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		want = append(want, strings.ReplaceAll(c.CommandPath(), " ", "-")+".1")
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
				walk(sub)
			}
		}
	}
	walk(newRootCmd())
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("pages %v, want %v", got, want)
	}
	for _, p := range []string{"sshwhy.1", "sshwhy-classify.1", "sshwhy-agent.1", "sshwhy-rules-list.1", "sshwhy-version.1"} {
		if !slices.Contains(got, p) {
			t.Errorf("no page %s", p)
		}
	}
	if slices.Contains(got, "sshwhy-man.1") {
		t.Error("the hidden man command has a page")
	}

	render := func(page string) string {
		t.Helper()
		cmd := exec.Command(manBin, "--warnings", "-l", filepath.Join(dir, page))
		cmd.Env = append(os.Environ(), "MANWIDTH=200", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Errorf("man %s: %v\n%s", page, err, stderr.String())
		}
		return string(out)
	}
	for _, p := range got {
		out := render(p)
		name := strings.TrimSuffix(p, ".1")
		if !strings.Contains(out, "NAME\n       "+name+" - ") || !strings.Contains(out, "SYNOPSIS") {
			t.Errorf("%s: no NAME or SYNOPSIS:\n%s", p, out)
		}
		raw, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), `.TH "`+strings.ToUpper(name)+`" "1" "Nov 2023" "sshwhy `) {
			t.Errorf("%s: header is not from SOURCE_DATE_EPOCH:\n%.200s", p, raw)
		}
	}

	root := render("sshwhy.1")
	for _, want := range []string{"-v, --version", "Exit status: 0 on success, 2 for a usage error", "sshwhy-agent(1)"} {
		if !strings.Contains(root, want) {
			t.Errorf("sshwhy(1) does not say %q:\n%s", want, root)
		}
	}
}

// TestManText checks that a help text comes out of man(1) as it reads on a
// terminal: an indented table line for line (with < and > that Markdown
// would take for HTML), characters Markdown would read as markup kept,
// code spans in flag usages kept, each option on its own line with its
// description below.
func TestManText(t *testing.T) {
	manBin, err := exec.LookPath("man")
	if err != nil {
		t.Fatalf("man(1) is needed (Debian package man-db, make deps-test installs it): %v", err)
	}
	table := "  field:>N >=N <N <=N     numbers compare: duration_s:>3600\n" +
		"                          end:>=2026-11-23T10:00:00Z  start:<2026-11-23\n" +
		"  +term  -term            must match, must not match\n"
	root := &cobra.Command{Use: "tool", Short: "A tool", RunE: func(*cobra.Command, []string) error { return nil }}
	sub := &cobra.Command{Use: "sub [QUERY]", Short: "Search *things* (a_b)",
		Long: "Queries:\n\n" + table + "\n-user:* finds events without a user; #1, 1. and + stay; <b>x</b> & a_b_c [x](y).",
		RunE: func(*cobra.Command, []string) error { return nil }}
	sub.Flags().String("name", "", "treat lines as messages of `NAME` (ssh for `ssh -E` logs, *.yaml)")
	sub.Flags().StringSlice("cause", nil, "only these causes")
	root.AddCommand(sub)
	dir := t.TempDir()
	if err := writeManPages(root, dir); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(manBin, "--warnings", "-l", filepath.Join(dir, "tool-sub.1"))
	cmd.Env = append(os.Environ(), "MANWIDTH=200", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("man: %v\n%s", err, stderr.String())
	}
	out := string(b)
	for _, want := range []string{
		"tool-sub - Search *things* (a_b)",
		"\n         field:>N >=N <N <=N     numbers compare: duration_s:>3600\n",
		"\n                                 end:>=2026-11-23T10:00:00Z  start:<2026-11-23\n",
		"\n         +term  -term            must match, must not match\n",
		"-user:*", "#1, 1. and + stay; <b>x</b> & a_b_c [x](y).",
		"\n       --cause=[]\n              only these causes\n",
		"\n       --name=\"\"\n              treat lines as messages of NAME (ssh for ssh -E logs, *.yaml)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("man does not show %q:\n%s", want, out)
		}
	}
}

func TestManMarkdown(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain words", "plain words"},
		{"a_b *c* <N> [x](y) `q` #1 +t -t 1. ~x|y &amp;", `a\_b \*c\* \<N\> \[x\]\(y\) \` + "`q\\`" + ` \#1 \+t \-t 1\. \~x\|y \&amp;`},
		{"para\n\n  GET /a\n    more <b>\n\nafter", "para\n\n```\n  GET /a\n    more <b>\n```\n\nafter"},
		{"  only indented", "```\n  only indented\n```"},
	}
	for _, tt := range tests {
		if got := manMarkdown(tt.in); got != tt.want {
			t.Errorf("manMarkdown(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
	if got, want := escapeMarkdown("configuration `FILE` (a_b, `ssh -E`)", true), "configuration `FILE` \\(a\\_b, `ssh -E`\\)"; got != want {
		t.Errorf("escapeMarkdown with code spans = %q, want %q", got, want)
	}
}
