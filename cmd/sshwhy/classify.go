package main

import "github.com/spf13/cobra"

// Placeholder: replaced by the classify command.
func newClassifyCmd() *cobra.Command { return &cobra.Command{Use: "classify", Hidden: true} }

func newRulesCmd() *cobra.Command { return &cobra.Command{Use: "rules", Hidden: true} }
