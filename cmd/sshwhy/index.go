package main

import "github.com/spf13/cobra"

// Placeholder: the index helper replaces this file.
func newIndexCmd() *cobra.Command { return &cobra.Command{Use: "index", Hidden: true} }
