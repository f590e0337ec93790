package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/sshwhy/sshwhy/classify"
)

// The defaults of WriterOptions' BatchSize and Workers. A Writer's memory
// grows with the events in flight, BatchSize × Workers: bleve holds each
// batch's analysed documents (about 100 KB an event) until it has built
// the batch's segment. With these defaults a backfill peaks near 200 MB
// (docs/benchmarks-index.md); 4000 × GOMAXPROCS peaked near 1 GB on 2
// cores, with only a few percent more throughput.
const (
	DefaultBatchSize = 1000
	DefaultWorkers   = 2
)

// WriterOptions tune a Writer; zero values take the defaults.
type WriterOptions struct {
	BatchSize     int           // events per bleve batch; default DefaultBatchSize
	Workers       int           // batches built and applied concurrently; default DefaultWorkers
	MaxOpenShards int           // day shards kept open; the least recently used are closed; default 3
	LockTimeout   time.Duration // wait for the directory's writer lock; default 1s
	ShardTimeout  time.Duration // wait for a shard a reader holds open; default 10s
	// NotBefore, when set, skips events that ended before it (they are
	// counted in WriterStats.Skipped): a backfill with a retention period
	// does not index what retention would drop at once.
	NotBefore time.Time
	// NoCompact leaves the shards as bleve's merger left them (about ten
	// segments a day) instead of merging each shard written into one
	// segment and storing its counts (see Writer.Compact).
	NoCompact bool
	// CompactAfter: a day's shard is compacted in the background, while
	// writing and searching go on, once its UTC day has ended and it has
	// not been written for this long (default 10 minutes). Shards written
	// since are compacted again on Close. Negative: only on Close and when
	// asked (Writer.Compact).
	CompactAfter time.Duration
	// Daemon: Close compacts only the shards whose UTC day is over, and
	// yesterday's shard, when it exists, counts as written (a daemon
	// stopped during a day compacts that day's shard in the background
	// of a later run). A stop or restart then never merges today's whole
	// shard: 3.6 M events took minutes and 2.5 GB of mapped files.
	Daemon bool
}

func (o *WriterOptions) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxOpenShards <= 0 {
		o.MaxOpenShards = 3
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.ShardTimeout <= 0 {
		o.ShardTimeout = 10 * time.Second
	}
	if o.CompactAfter == 0 {
		o.CompactAfter = DefaultCompactAfter
	}
}

// DefaultCompactAfter is WriterOptions.CompactAfter's default.
const DefaultCompactAfter = 10 * time.Minute

// WriterStats counts what a Writer did.
type WriterStats struct {
	Added   int // events handed to bleve (an event indexed again replaces itself)
	Skipped int // events older than WriterOptions.NotBefore
	NoTime  int // events without a usable time (no timestamps in the input, or a year outside 1–9999): not indexed
	Batches int
	Shards  int // distinct day shards written
	// Compacted counts the shards merged into one segment (on Close, in
	// the background or by Compact); CompactSkipped those left because a
	// reader of another process held them open.
	Compacted, CompactSkipped int
	CompactTime               time.Duration
}

// Writer adds events to a data directory. It holds the directory's writer
// lock from OpenWriter until Close. Add and Flush must be called from one
// goroutine; the writer applies batches concurrently behind them, and
// Reader searches concurrently with both.
type Writer struct {
	dir     string
	opt     WriterOptions
	lock    *dirLock
	builder *docBuilder
	st      *store // the open shards, shared with Reader()

	pending      map[string][]*classify.Event // shard name → events not yet batched
	pendingTotal int
	work         chan batchJob
	workers      sync.WaitGroup
	inflight     sync.WaitGroup // submitted batches not yet applied
	closed       bool

	mu         sync.Mutex // guards the fields below
	stats      WriterStats
	written    map[string]bool      // shards written since OpenWriter
	dirty      map[string]time.Time // shards written since their last compaction → when last
	compacting map[string]bool      // being compacted now
	background sync.WaitGroup       // the background compaction
	bgBusy     bool                 // it runs
	closing    bool
	lastCheck  time.Time
	now        func() time.Time // the wall clock (tests move it)
	sinceCheck int              // batches submitted since the last check for days to compact

	errMu sync.Mutex
	err   error // first error of a worker, of persisting or of a background compaction
}

type batchJob struct {
	shard  string
	events []*classify.Event
}

// OpenWriter opens the data directory dir for writing, creating it when it
// does not exist. It fails with an error wrapping ErrInUse when another
// process holds it, after opt.LockTimeout.
func OpenWriter(dir string, opt WriterOptions) (*Writer, error) {
	opt.defaults()
	if err := checkDir(dir, true); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir, opt.LockTimeout)
	if err != nil {
		return nil, err
	}
	removeTrash(dir)
	m, err := newMapping()
	if err != nil {
		_ = lock.unlock()
		return nil, err
	}
	b, err := newDocBuilder(m)
	if err != nil {
		_ = lock.unlock()
		return nil, err
	}
	st, err := newStore(dir, true, m, time.Second)
	if err != nil {
		_ = lock.unlock()
		return nil, err
	}
	w := &Writer{
		dir:        dir,
		opt:        opt,
		lock:       lock,
		builder:    b,
		st:         st,
		pending:    make(map[string][]*classify.Event),
		work:       make(chan batchJob),
		written:    make(map[string]bool),
		dirty:      make(map[string]time.Time),
		compacting: make(map[string]bool),
		now:        time.Now,
	}
	if opt.Daemon && !opt.NoCompact {
		yesterday := shardName(w.now().UTC().AddDate(0, 0, -1))
		if fi, err := os.Stat(filepath.Join(dir, yesterday)); err == nil && fi.IsDir() {
			w.dirty[yesterday] = time.Time{}
		}
	}
	for i := 0; i < opt.Workers; i++ {
		w.workers.Add(1)
		go w.worker()
	}
	return w, nil
}

// Dir is the data directory.
func (w *Writer) Dir() string { return w.dir }

// Stats reports what the writer did so far.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.Shards = len(w.written)
	return s
}

// Reader returns a Reader over the writer's shards, for a process that
// writes and searches at once (the agent): it searches through the
// writer's own handles of the shards the writer has open and read-only
// handles of the others, concurrently with Add, Flush, compactions and
// Retain, and sees every event flushed (and possibly some not yet). New
// day shards appear in it as the writer creates them. It is safe for
// concurrent use. Its Close does nothing: the writer's Close ends it, and
// later searches fail.
func (w *Writer) Reader() *Reader { return &Reader{st: w.st} }

// Add queues e for indexing. Events are applied in batches; an error of an
// earlier batch is returned by a later Add, Flush or Close.
func (w *Writer) Add(e *classify.Event) error {
	if w.closed {
		return errors.New("index: writer is closed")
	}
	if err := w.asyncErr(); err != nil {
		return err
	}
	t := eventTime(e)
	if t.IsZero() || !canStoreTime(t) || !e.Start.IsZero() && !canStoreTime(e.Start) {
		w.mu.Lock()
		w.stats.NoTime++
		w.mu.Unlock()
		return nil
	}
	if !w.opt.NotBefore.IsZero() && t.Before(w.opt.NotBefore) {
		w.mu.Lock()
		w.stats.Skipped++
		w.mu.Unlock()
		return nil
	}
	name := shardName(t)
	p := append(w.pending[name], e)
	w.pending[name] = p
	w.pendingTotal++
	if len(p) >= w.opt.BatchSize {
		w.submit(name)
	} else if w.pendingTotal >= 4*w.opt.BatchSize {
		// Events scattered over many days: do not hoard them.
		w.submitAll()
	}
	return nil
}

func (w *Writer) submit(name string) {
	p := w.pending[name]
	if len(p) == 0 {
		return
	}
	delete(w.pending, name)
	w.pendingTotal -= len(p)
	w.mu.Lock()
	w.stats.Added += len(p)
	w.stats.Batches++
	w.written[name] = true
	w.dirty[name] = w.now()
	w.sinceCheck++
	check := w.sinceCheck >= 100
	w.mu.Unlock()
	w.inflight.Add(1)
	w.work <- batchJob{shard: name, events: p}
	if check {
		w.compactDue() // a long backfill, which seldom flushes
	}
}

func (w *Writer) submitAll() {
	names := make([]string, 0, len(w.pending))
	for name := range w.pending {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w.submit(name)
	}
}

// Flush applies every queued event and waits until all are on disk. It
// also starts the background compaction of the days that are due (see
// WriterOptions.CompactAfter).
func (w *Writer) Flush() error {
	w.submitAll()
	w.inflight.Wait()
	hs := w.st.writableHandles()
	for _, h := range hs {
		h.unstored.Wait()
		if err := recordShard(h.shard.Path, h.idx); err != nil {
			w.setErr(fmt.Errorf("shard %s: %w", quote(h.shard.Name()), err))
		}
	}
	w.st.release(hs...)
	w.compactDue()
	return w.asyncErr()
}

// Close flushes, waits for a background compaction, compacts the shards
// written since their last compaction (unless WriterOptions.NoCompact),
// closes every shard and releases the writer lock. Searches through
// Reader() fail from then on.
func (w *Writer) Close() error {
	if w.closed {
		return errors.New("index: writer already closed")
	}
	err := w.Flush()
	close(w.work)
	w.workers.Wait()
	w.closed = true
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	w.background.Wait()
	if err == nil && !w.opt.NoCompact {
		w.mu.Lock()
		names := make([]string, 0, len(w.dirty))
		today := dayOf(w.now())
		for name := range w.dirty {
			if day, ok := parseShardName(name); w.opt.Daemon && ok && !day.Before(today) {
				continue // compacted once its day is over
			}
			names = append(names, name)
		}
		w.mu.Unlock()
		sort.Strings(names)
		start := time.Now()
		err = w.compact(names)
		w.mu.Lock()
		w.stats.CompactTime += time.Since(start)
		w.mu.Unlock()
	}
	if cerr := w.st.close(); cerr != nil && err == nil {
		err = cerr
	}
	if uerr := w.lock.unlock(); uerr != nil && err == nil {
		err = uerr
	}
	return err
}

// Retain removes the day shards whose events all ended before cutoff and
// returns them. Searches running in them finish first; those started
// after skip them. Nothing else in the directory is touched.
func (w *Writer) Retain(cutoff time.Time) ([]Shard, error) {
	if err := w.Flush(); err != nil {
		return nil, err
	}
	var removed []Shard
	for _, s := range w.st.list() {
		if s.Day.Add(24 * time.Hour).After(cutoff) {
			continue
		}
		if err := w.st.remove(s); err != nil {
			return removed, err
		}
		w.mu.Lock()
		delete(w.dirty, s.Name())
		w.mu.Unlock()
		removed = append(removed, s)
	}
	return removed, nil
}

func (w *Writer) asyncErr() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

func (w *Writer) setErr(err error) {
	w.errMu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.errMu.Unlock()
}

func (w *Writer) worker() {
	defer w.workers.Done()
	for job := range w.work {
		if err := w.apply(job); err != nil {
			w.setErr(err)
		}
		w.inflight.Done()
	}
}

// apply indexes one batch into its shard.
func (w *Writer) apply(job batchJob) (err error) {
	if w.asyncErr() != nil {
		return nil // the first error is what the caller needs to see
	}
	h, err := w.st.acquireWrite(job.shard, w.opt.ShardTimeout, true)
	if err != nil {
		return err
	}
	defer func() {
		w.st.release(h)
		if eerr := w.st.evictWritable(w.opt.MaxOpenShards); eerr != nil && err == nil {
			err = eerr
		}
	}()
	b := h.idx.NewBatch()
	for _, e := range job.events {
		d, err := w.builder.document(e)
		if err != nil {
			return err
		}
		if err := b.IndexAdvanced(d); err != nil {
			return err
		}
	}
	h.unstored.Add(1)
	b.SetPersistedCallback(func(err error) {
		if err != nil {
			w.setErr(fmt.Errorf("shard %s: persist: %w", quote(h.shard.Name()), err))
		}
		h.unstored.Done()
	})
	if err := h.idx.Batch(b); err != nil {
		h.unstored.Done()
		return fmt.Errorf("shard %s: %w", quote(h.shard.Name()), err)
	}
	return nil
}

// Compact merges the shard of day's UTC date into one segment and stores
// the counts a search would take long to make (counts.go), now, while
// writing and searching go on; a day that has no shard is nothing to do.
// Events written to the day meanwhile or later land in a segment of
// their own (the next compaction merges them). It may be called from any
// goroutine. It returns ErrInUse when a reader of another process holds
// the shard.
func (w *Writer) Compact(day time.Time) error {
	if w.opt.NoCompact {
		return nil
	}
	name := shardName(day)
	skipped, err := w.compactOne(name)
	if err == nil && skipped {
		return fmt.Errorf("%w: shard %s is open in another process; compaction skipped", ErrInUse, quote(name))
	}
	return err
}

// compactDue starts compacting, in the background, the shards whose day
// ended and that have not been written for CompactAfter.
func (w *Writer) compactDue() {
	if w.opt.NoCompact || w.opt.CompactAfter < 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	if w.closing || w.bgBusy || now.Sub(w.lastCheck) < time.Second && w.sinceCheck < 100 {
		return
	}
	w.lastCheck, w.sinceCheck = now, 0
	var due []string
	for name, last := range w.dirty {
		day, ok := parseShardName(name)
		if ok && now.Sub(day.Add(24*time.Hour)) >= w.opt.CompactAfter && now.Sub(last) >= w.opt.CompactAfter {
			due = append(due, name)
		}
	}
	if len(due) == 0 {
		return
	}
	sort.Strings(due)
	w.bgBusy = true
	w.background.Add(1)
	go func() {
		defer w.background.Done()
		start := time.Now()
		for _, name := range due {
			if _, err := w.compactOne(name); err != nil {
				w.setErr(err)
				break
			}
		}
		w.mu.Lock()
		w.stats.CompactTime += time.Since(start)
		w.bgBusy = false
		w.mu.Unlock()
	}()
}

// compact compacts the named shards, Workers at a time.
func (w *Writer) compact(names []string) error {
	work := make(chan string)
	errs := make([]error, w.opt.Workers)
	var wg sync.WaitGroup
	for i := 0; i < w.opt.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range work {
				if _, err := w.compactOne(name); err != nil && errs[i] == nil {
					errs[i] = err
				}
			}
		}()
	}
	for _, name := range names {
		work <- name
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}

// compactOne merges the shard name into a single segment, through the
// store: searches and writes go on in it meanwhile. bleve's merger leaves
// a day shard of a backfill in about ten segments; a search visits each
// segment of each shard, and a process that searches once opens each
// segment's file: with one segment a 7-day search takes 25–50% less time
// (docs/benchmarks-index.md). It costs one more pass over the shard's
// documents, and another to store its counts (counts.go). Then the
// handle is closed, once nobody holds it, and the segment files the merge
// replaced are removed (a search opens the shard again read-only, the
// writer writable). skipped reports that a reader of another process held
// the shard: compaction only speeds searches up, so waiting for a reader
// is not worth it.
func (w *Writer) compactOne(name string) (skipped bool, err error) {
	w.mu.Lock()
	if w.compacting[name] {
		w.mu.Unlock()
		return false, nil
	}
	w.compacting[name] = true
	stamp, wasDirty := w.dirty[name]
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.compacting, name)
		switch {
		case err != nil:
		case skipped:
			w.stats.CompactSkipped++
			if wasDirty && w.dirty[name].Equal(stamp) {
				w.dirty[name] = w.now() // try again later
			}
		default:
			w.stats.Compacted++
			if wasDirty && w.dirty[name].Equal(stamp) {
				delete(w.dirty, name) // not written since it started
			}
		}
		w.mu.Unlock()
	}()
	h, err := w.st.acquireWrite(name, 100*time.Millisecond, false)
	switch {
	case errors.Is(err, errNoShard):
		return false, nil // removed by Retain since
	case errors.Is(err, ErrInUse):
		return true, nil
	case err != nil:
		return false, err
	}
	single, err := compactIndex(h.idx, h.shard.Path)
	w.st.release(h)
	if err == nil && single {
		// Which files are live is read back from what is on disk once the
		// shard is closed, not from the snapshot above, which the
		// persister may not have recorded if another merge came in between.
		path := h.shard.Path
		err = w.st.retire(name, func() error { return removeDeadSegments(path) })
	}
	if err != nil {
		return false, fmt.Errorf("compact shard %s: %w", quote(name), err)
	}
	return false, nil
}

// compactIndex force-merges the open shard idx at path into one segment
// and stores its counts; single reports that it is in one segment now.
func compactIndex(idx bleve.Index, path string) (single bool, err error) {
	a, err := idx.Advanced()
	if err != nil {
		return false, err
	}
	s, ok := a.(*scorch.Scorch)
	if !ok {
		return false, nil
	}
	var live map[string]bool
	// A merge bleve's merger started on its own can finish after the
	// forced one, and a batch can come in meanwhile: merge again then.
	for try := 0; try < 3 && (live == nil || len(live) > 1); try++ {
		if err = s.ForceMerge(context.Background(), &mergeplan.SingleSegmentMergePlanOptions); err == nil {
			err = waitPersisted(s, time.Minute)
		}
		if err == nil {
			live, err = liveSegments(s)
		}
		if err != nil {
			return false, err
		}
	}
	if len(live) != 1 {
		return false, nil
	}
	// Counts that sshwhy before format 2 of the counts stored in bleve's
	// internal store, which bleve keeps in memory while the shard is open.
	for _, f := range []string{FieldSrcIP, FieldUser} {
		key := []byte("sshwhy/counts/" + f)
		if v, err := idx.GetInternal(key); err == nil && v != nil {
			if err := s.DeleteInternal(key); err != nil {
				return false, err
			}
		}
	}
	if err := waitPersisted(s, time.Minute); err != nil {
		return false, err
	}
	return true, storeCounts(idx, path)
}

// liveSegments names the segment files of s's current snapshot.
func liveSegments(s *scorch.Scorch) (map[string]bool, error) {
	r, err := s.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return nil, nil
	}
	live := make(map[string]bool)
	for _, ss := range snap.Segments() {
		name, ok := segmentName(ss)
		if !ok {
			return nil, nil // a segment in memory: do not guess
		}
		live[name] = true
	}
	return live, nil
}

// removeDeadSegments removes the segment files of the closed shard at
// path that the shard no longer uses. bleve's persister removes the files
// a merge replaced only while the shard stays open, and an old day is
// seldom opened for writing again, so after a compaction they would stay:
// twice the disk. The live files are those of the shard opened afresh.
func removeDeadSegments(path string) error {
	idx, err := safeOpen(path, map[string]interface{}{"read_only": true, "bolt_timeout": "100ms"})
	if err != nil {
		return nil // a reader came in: the files go at the next write
	}
	var live map[string]bool
	if a, err := idx.Advanced(); err == nil {
		if s, ok := a.(*scorch.Scorch); ok {
			live, err = liveSegments(s)
			if err != nil {
				live = nil
			}
		}
	}
	if err := idx.Close(); err != nil || len(live) == 0 {
		return err
	}
	zaps, err := filepath.Glob(filepath.Join(path, "store", "*.zap"))
	if err != nil {
		return err
	}
	for _, z := range zaps {
		if !live[filepath.Base(z)] {
			if err := os.Remove(z); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// waitPersisted waits until s has written its newest snapshot to disk:
// ForceMerge returns once the merged segment is in use, and Close does
// not wait for the persister, so without this the shard could reopen
// from its old segments.
func waitPersisted(s *scorch.Scorch, timeout time.Duration) error {
	st, ok := s.Stats().(*scorch.Stats)
	if !ok {
		return nil
	}
	deadline := time.Now().Add(timeout)
	for atomic.LoadUint64(&st.LastPersistedEpoch) < atomic.LoadUint64(&st.CurRootEpoch) {
		if time.Now().After(deadline) {
			return errors.New("timed out waiting for the merged segment to be recorded")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// maxMergedEvents caps the events in a segment bleve's merger makes.
const maxMergedEvents = 200_000

// openShardWrite opens the shard at path for writing, creating it when it
// does not exist and create is set (else errNoShard).
func openShardWrite(path string, m mapping.IndexMapping, timeout time.Duration, create bool) (bleve.Index, error) {
	cfg := func() map[string]interface{} {
		c := map[string]interface{}{
			"bolt_timeout": timeout.String(),
			"unsafe_batch": true, // Flush waits for the persisted callbacks instead
			// bleve's merger may merge up to 5 M events into one segment
			// (GBs), and a merge holds each field's new dictionary in
			// memory: 16 MB for the merge of about 400 k events the agent
			// ran at 1,000 connections a second (heap profile). Capped
			// here, a busy day's shard keeps more segments and the
			// agent's memory stays flat; the compaction of a finished day
			// still merges it into one.
			"scorchMergePlanOptions": map[string]interface{}{"MaxSegmentSize": maxMergedEvents},
		}
		return c
	}
	if err := checkFiles(path); err != nil {
		return nil, shardOpenError(path, err)
	}
	idx, err := safeOpen(path, cfg())
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) && !create {
		return nil, errNoShard
	}
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		idx, err = bleve.NewUsing(path, m, scorch.Name, bleve.Config.DefaultKVStore, cfg())
		if err != nil {
			_ = os.RemoveAll(path) // a half-created shard would read as damaged later
		}
	}
	if err != nil {
		return nil, shardOpenError(path, err)
	}
	if err := checkShard(path, idx); err != nil {
		_ = idx.Close()
		return nil, shardOpenError(path, err)
	}
	return idx, nil
}

// safeOpen opens a bleve index, turning a panic on damaged files into an
// error.
func safeOpen(path string, cfg map[string]interface{}) (idx bleve.Index, err error) {
	defer func() {
		if r := recover(); r != nil {
			idx, err = nil, fmt.Errorf("panic while opening: %v", r)
		}
	}()
	return bleve.OpenUsing(path, cfg)
}

// Write indexes events into the data directory dir with default options:
// the whole round trip in one call, for tests and small tools.
func Write(dir string, events []*classify.Event) (WriterStats, error) {
	w, err := OpenWriter(dir, WriterOptions{})
	if err != nil {
		return WriterStats{}, err
	}
	for _, e := range events {
		if err := w.Add(e); err != nil {
			_ = w.Close()
			return w.Stats(), err
		}
	}
	err = w.Close()
	return w.Stats(), err
}
