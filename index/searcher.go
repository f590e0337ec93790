package index

import (
	"context"

	"github.com/sshwhy/sshwhy/classify"
)

// Searcher is what reads stored events: this package's Reader over a
// data directory, and any other store of sshwhy's events (an agent's HTTP
// API, a log database). Everything that shows events (search, the
// report) goes through it, so every store must give the same answer to
// the same Query (see Query for its meaning and ParseText for its text).
type Searcher interface {
	// Search calls fn with each event matching q, in the order opt asks
	// for, at most opt.Limit of them (0: all). An error of fn stops the
	// search and is returned. Result.Total counts every match, whatever
	// the limit. A malformed or meaningless q gives an error wrapping
	// ErrBadQuery.
	Search(ctx context.Context, q Query, opt SearchOptions, fn func(*classify.Event) error) (Result, error)
	// Count counts the events matching q by the values of the field by
	// (one of CountKeys), exactly. limit caps the buckets (0: all); the
	// rest are summed in Counts.Other. Source addresses are counted as
	// NormalizeIP writes them.
	Count(ctx context.Context, q Query, by string, limit int) (Counts, error)
}

var _ Searcher = (*Reader)(nil)
