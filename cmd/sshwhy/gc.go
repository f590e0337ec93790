package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// A gcPolicy is how a command trades memory for the garbage collector's
// CPU: a GOGC, and a soft memory limit of the live heap plus a headroom
// (live/share, at least floor) and never below least, set again after
// every collection.
// Following the live heap keeps RSS near it when it is large (a million
// open sessions) without the collector running back to back, as a fixed
// limit below the live heap would make it (docs/benchmarks-scaling.md).
// The GOGC and GOMEMLIMIT environment variables still win.
type gcPolicy struct {
	gogc  int   // 0: Go's (100)
	floor int64 // the least headroom, bytes
	share int64 // the headroom is at least live/share
	least int64 // the limit is at least this, bytes
}

// classifyGC: the classifier's live heap is the open connections; the rest
// of what it allocates (lines, events) is garbage at once. A GOGC of 1000
// makes collections rare while the live heap is small. Each collection
// marks the whole live heap, so with a live heap of tens of MB (100 k open
// sessions) a limit of live + 128 MiB made every 128 MiB of garbage cost a
// mark of all the sessions: the same lines took 1.3–1.4× the CPU of none.
// The limit of at least 384 MiB lets the heap grow there instead; from
// 256 MiB live up (a million open sessions) it changes nothing
// (docs/benchmarks-scaling.md).
var classifyGC = gcPolicy{gogc: 1000, floor: 128 << 20, share: 4, least: 384 << 20}

// agentGC: a daemon that stays small. Its live heap (the open
// connections, the index's in-memory segments, about 30 MB at 1,000
// connections a second) plus 24 MB or half of it: with Go's pacing alone
// the agent's anonymous memory was 80 MB and its RSS 140–170 MB in the
// same run (docs/benchmarks-agent.md).
var agentGC = gcPolicy{floor: 24 << 20, share: 2}

// tuneGC applies p to the process; the returned function puts the old
// settings back when the command is done.
func tuneGC(p gcPolicy) (restore func()) {
	gc, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	debug.SetGCPercent(gc)
	var stop atomic.Bool
	if os.Getenv("GOGC") == "" && p.gogc != 0 {
		debug.SetGCPercent(p.gogc)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(max(p.least, p.floor))
		followLiveHeap(&stop, p)
	}
	return func() {
		stop.Store(true)
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	}
}

// followLiveHeap sets the soft memory limit from the live heap after
// every collection: a cleanup of an object dropped at once runs after
// the next collection, reads the live heap and arms itself again.
// It stops once stop is set.
func followLiveHeap(stop *atomic.Bool, p gcPolicy) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	arm = func() {
		runtime.AddCleanup(&gcToken{}, func(struct{}) {
			if stop.Load() {
				return
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				live := int64(sample[0].Value.Uint64())
				debug.SetMemoryLimit(max(p.least, live+max(p.floor, live/p.share)))
			}
			arm()
		}, struct{}{})
	}
	arm()
}

// gcToken is an object whose collection says a GC cycle ran (it holds a
// pointer, so it is not combined with other small objects).
type gcToken struct{ _ *int }
