package main

import "github.com/spf13/cobra"

// Placeholder: the index helper replaces this file.
func newSearchCmd() *cobra.Command { return &cobra.Command{Use: "search", Hidden: true} }
