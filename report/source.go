package report

import (
	"context"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
)

// Source is where a report reads events: the local index (*index.Reader),
// the agent's API, a fleet store, or logs read into memory (Memory). The
// two methods are those of index.Reader.
//
// The report asks only for what counts can answer: Count by cause, hour,
// host, src_ip and user, and Count by "duration_s" when the source offers
// it (the session percentiles; a source that does not returns an error
// wrapping index.ErrBadQuery). Search is used with small limits (the
// longest sessions, examples) and, when a source cannot count durations,
// to read the sessions themselves if there are few. Queries never carry
// Text.
type Source interface {
	Search(ctx context.Context, q index.Query, opt index.SearchOptions, fn func(*classify.Event) error) (index.Result, error)
	Count(ctx context.Context, q index.Query, by string, limit int) (index.Counts, error)
}

// Opener is a Source that knows the connections still open (sessions that
// have not ended yet). A Source without it gets "not available" in the
// report's open section.
type Opener interface {
	Open(ctx context.Context) ([]*classify.Event, error)
}
