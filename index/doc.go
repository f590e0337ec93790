// Package index stores classify.Events in bleve and searches them.
//
// # Layout
//
// A data directory holds one bleve index ("shard") per UTC day of the
// event's end time, and a manifest:
//
//	DIR/sshwhy-index.json          format name and version; a directory without it is refused
//	DIR/writer.lock                flock'd by the one writer; holds its pid
//	DIR/events-2026-11-23.bleve/   the events that ended on 2026-11-23 (UTC)
//
// Searches open only the shards their time range needs and join them with a
// bleve IndexAlias. Retention (Retain) removes whole shards; nothing is ever
// deleted inside a shard.
//
// # Documents
//
// The document id is Event.ID (classify.EventID), so indexing the same
// input twice replaces documents instead of adding them. The mapping is
// lean: keyword fields for the exact attributes, an IP field for CIDR
// ranges, analysed text only for the evidence lines (their messages, not
// their syslog headers) and the detail, and the event itself once, as
// classify's JSON in a stored, unindexed field. There is no _all field.
// Times and numbers are fixed-width keywords rather than bleve
// datetime/numeric fields, which cost 16 terms per value (timekey.go);
// ranges in a query text on them are translated to match (compile.go).
// Documents are built directly (Batch.IndexAdvanced) rather than through
// bleve's reflection-based mapping; the mapping saved in each shard
// describes the same fields so query analysis matches.
//
// # Queries
//
// A Query (query.go) means the same to every store that implements
// Searcher. Its text is read by ParseText (text.go) into Clauses, which
// compile.go translates into bleve queries, combined by boolQuery
// (boolean.go): bleve's own BooleanQuery drops a clause that matches
// nothing in a shard, which widened "+A +B" to "B". TestSearchEqualsFilter
// checks the whole translation against a brute-force filter.
//
// # Errors and logging
//
// A shard that cannot be read gives one error matching ErrDamaged that
// says what is wrong and what to do (damage.go). bleve's scorch writes
// some complaints to the standard library's default logger; package index
// captures that logger's output at init, when it still goes to stderr,
// and quotes the lines in those errors (blevelog.go). File names in
// errors are escaped for the terminal.
//
// # Concurrency
//
// bleve (scorch) keeps its state in a bolt file per shard, and bolt takes
// an flock on it: exclusive for a writer, shared for a read-only opener,
// and two opens of one file conflict even in one process. So:
//
//   - One writer per data directory. OpenWriter takes DIR/writer.lock; a
//     second writer waits at most WriterOptions.LockTimeout and then gets an
//     error wrapping ErrInUse that names the holder's pid. It never hangs.
//   - In one process, a store (store.go) owns the bleve handles: at most
//     one per shard, lent to the writer's workers and compactions and to
//     searches with a count of holders, and closed only when nobody holds
//     it. Writer.Reader searches through the writer's store, concurrently
//     with writing: through the writer's own handles for the shards it has
//     open, read-only handles for the others. When the writer must write
//     to a shard searches hold read-only (late events for a finished day),
//     new searches wait, the running ones finish and the shard is reopened
//     writable. Retain lets running searches finish; later ones skip the
//     day. This is how the agent serves its API.
//   - Readers of other processes (OpenReader) take no directory lock and
//     open shards read-only with a bolt timeout. A shard the writer has
//     open at that moment cannot be opened (exclusive flock); the reader
//     gets an error wrapping ErrInUse after ReaderOptions.OpenTimeout. The
//     writer keeps only a few shards open (the most recently written days)
//     and closes the rest, so during a backfill the days it has finished
//     are searchable; the day being written is not until the writer is
//     done. While an agent runs, `sshwhy search` asks the agent.
//   - A reader of another process holding a shard open briefly blocks the
//     writer from opening that shard; the writer waits up to
//     WriterOptions.ShardTimeout. Compaction skips such a shard instead.
//
// # Compaction
//
// A day shard is merged into one segment, and the counts a search would
// take long to make are stored beside it (counts.go), when its UTC day is
// over and it has not been written for WriterOptions.CompactAfter (in the
// background, while writing and searching go on), on Close for every shard
// written since its last compaction, and when asked (Writer.Compact).
package index
