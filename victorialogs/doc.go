// Package victorialogs ships classify.Events to VictoriaLogs and searches
// them there, for a fleet of hosts: one engine answers for all of them.
//
// # Shipping
//
// A Sink takes ended events (Write), keeps them in a bounded spool on disk
// under the data directory (Flush syncs it; SpoolDir names it), and a
// background shipper posts them in batches to /insert/jsonline, retrying
// with exponential backoff while the engine is down or slow. The spool's
// checkpoint moves only past batches the engine acknowledged, so delivery
// is at least once: a crash between the acknowledgement and the checkpoint
// sends a batch again. Past SinkOptions.SpoolMax events are dropped,
// counted (Stats.Dropped) and logged. The caller's own index never waits
// for the engine: Write and Flush touch only the local disk.
//
// # Rows
//
// A row is classify's JSON of the event (same field names) plus _time (the
// end), _msg (a one-line summary), ip (the source as an address, for CIDR
// filters), hour (for counts by hour), duration and duration_key (the
// exact duration, and the rounded seconds the index filters and sorts
// by), start_utc (the start as a sortable key), sk (the id spelled for
// sorting) and app="sshwhy". The log streams are app, host and program: few values,
// as VictoriaLogs wants.
//
// # Searching
//
// A Store implements index.Searcher (and report.Source) over LogsQL:
// Filter translates an index.Query with the index's meaning, its text read
// by index.ParseText; what the index refuses is refused with the index's
// error, and a clause without an exact translation (free text) with
// index.ErrBadQuery and a pointer to raw LogsQL. Every query counts each
// event id once, so a batch stored twice is answered once.
//
// # Metrics
//
// A Sink is a prometheus.Collector of its Stats, labelled with its
// target: the agent exports its sinks' from its registry.
//
// vltest starts real VictoriaLogs servers (single node and cluster) for
// the tests.
package victorialogs
