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
	bolterrors "go.etcd.io/bbolt/errors"

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
	// segment on Close (see Writer.compact).
	NoCompact bool
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
}

// WriterStats counts what a Writer did.
type WriterStats struct {
	Added   int // events handed to bleve (an event indexed again replaces itself)
	Skipped int // events older than WriterOptions.NotBefore
	NoTime  int // events without a usable time (no timestamps in the input, or a year outside 1–9999): not indexed
	Batches int
	Shards  int // distinct day shards written
	// Compacted counts the shards Close merged into one segment;
	// CompactSkipped those it left because a reader held them open.
	Compacted, CompactSkipped int
	CompactTime               time.Duration
}

// Writer adds events to a data directory. It holds the directory's writer
// lock from OpenWriter until Close. Add and Flush must be called from one
// goroutine; the writer applies batches concurrently behind them.
type Writer struct {
	dir     string
	opt     WriterOptions
	lock    *dirLock
	mapping *mapping.IndexMappingImpl
	builder *docBuilder

	pending      map[string][]*classify.Event // shard name → events not yet batched
	pendingTotal int
	work         chan batchJob
	workers      sync.WaitGroup
	inflight     sync.WaitGroup // submitted batches not yet applied
	stats        WriterStats
	written      map[string]bool

	mu     sync.Mutex // guards the fields below
	shards map[string]*writeShard
	clock  uint64 // use counter for LRU
	closed bool

	errMu sync.Mutex
	err   error // first error of a worker or of persisting
}

// writeShard is an open shard.
type writeShard struct {
	name     string
	idx      bleve.Index
	refs     int            // workers using it now
	lastUse  uint64         // Writer.clock at the last use
	unstored sync.WaitGroup // batches applied but not yet persisted to disk
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
	w := &Writer{
		dir:     dir,
		opt:     opt,
		lock:    lock,
		mapping: m,
		builder: b,
		pending: make(map[string][]*classify.Event),
		work:    make(chan batchJob),
		written: make(map[string]bool),
		shards:  make(map[string]*writeShard),
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
	s := w.stats
	s.Shards = len(w.written)
	return s
}

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
		w.stats.NoTime++
		return nil
	}
	if !w.opt.NotBefore.IsZero() && t.Before(w.opt.NotBefore) {
		w.stats.Skipped++
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
	w.stats.Added += len(p)
	w.stats.Batches++
	w.written[name] = true
	w.inflight.Add(1)
	w.work <- batchJob{shard: name, events: p}
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

// Flush applies every queued event and waits until all are on disk.
func (w *Writer) Flush() error {
	w.submitAll()
	w.inflight.Wait()
	w.mu.Lock()
	shards := make([]*writeShard, 0, len(w.shards))
	for _, s := range w.shards {
		shards = append(shards, s)
	}
	w.mu.Unlock()
	for _, s := range shards {
		s.unstored.Wait()
		if err := recordShard(filepath.Join(w.dir, s.name), s.idx); err != nil {
			w.setErr(fmt.Errorf("shard %s: %w", s.name, err))
		}
	}
	return w.asyncErr()
}

// Close flushes, closes every shard, compacts the shards written (unless
// WriterOptions.NoCompact) and releases the writer lock.
func (w *Writer) Close() error {
	if w.closed {
		return errors.New("index: writer already closed")
	}
	err := w.Flush()
	close(w.work)
	w.workers.Wait()
	w.mu.Lock()
	w.closed = true
	for name, s := range w.shards {
		if cerr := w.closeShard(s); cerr != nil && err == nil {
			err = cerr
		}
		delete(w.shards, name)
	}
	w.mu.Unlock()
	if err == nil && !w.opt.NoCompact {
		names := make([]string, 0, len(w.written))
		for name := range w.written {
			names = append(names, name)
		}
		sort.Strings(names)
		err = w.compact(names)
	}
	if uerr := w.lock.unlock(); uerr != nil && err == nil {
		err = uerr
	}
	return err
}

// Retain removes the day shards whose events all ended before cutoff and
// returns them. Nothing else in the directory is touched.
func (w *Writer) Retain(cutoff time.Time) ([]Shard, error) {
	if err := w.Flush(); err != nil {
		return nil, err
	}
	all, err := listShards(w.dir)
	if err != nil {
		return nil, err
	}
	var removed []Shard
	for _, s := range all {
		if s.Day.Add(24 * time.Hour).After(cutoff) {
			continue
		}
		w.mu.Lock()
		if ws := w.shards[s.Name()]; ws != nil {
			delete(w.shards, s.Name())
			err = ws.idx.Close()
		}
		w.mu.Unlock()
		if err != nil {
			return removed, fmt.Errorf("close shard %s: %w", s.Name(), err)
		}
		if err := removeShard(s); err != nil {
			return removed, err
		}
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
	s, err := w.acquire(job.shard)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := w.release(s); rerr != nil && err == nil {
			err = rerr
		}
	}()
	b := s.idx.NewBatch()
	for _, e := range job.events {
		d, err := w.builder.document(e)
		if err != nil {
			return err
		}
		if err := b.IndexAdvanced(d); err != nil {
			return err
		}
	}
	s.unstored.Add(1)
	b.SetPersistedCallback(func(err error) {
		if err != nil {
			w.setErr(fmt.Errorf("shard %s: persist: %w", s.name, err))
		}
		s.unstored.Done()
	})
	if err := s.idx.Batch(b); err != nil {
		s.unstored.Done()
		return fmt.Errorf("shard %s: %w", s.name, err)
	}
	return nil
}

// acquire returns the open shard name, opening or creating it.
func (w *Writer) acquire(name string) (*writeShard, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clock++
	if s := w.shards[name]; s != nil {
		s.refs++
		s.lastUse = w.clock
		return s, nil
	}
	idx, err := openShardWrite(filepath.Join(w.dir, name), w.mapping, w.opt.ShardTimeout)
	if err != nil {
		return nil, err
	}
	s := &writeShard{name: name, idx: idx, refs: 1, lastUse: w.clock}
	w.shards[name] = s
	return s, w.evictLocked()
}

// closeShard waits until s is on disk, records its count and closes it.
func (w *Writer) closeShard(s *writeShard) error {
	s.unstored.Wait() // persisted callbacks do not take w.mu
	err := recordShard(filepath.Join(w.dir, s.name), s.idx)
	if cerr := s.idx.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close shard %s: %w", s.name, err)
	}
	return nil
}

func (w *Writer) release(s *writeShard) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	s.refs--
	return w.evictLocked()
}

// evictLocked closes the least recently used idle shards while more than
// MaxOpenShards are open, so readers can open them.
func (w *Writer) evictLocked() error {
	for len(w.shards) > w.opt.MaxOpenShards {
		var lru *writeShard
		for _, o := range w.shards {
			if o.refs == 0 && (lru == nil || o.lastUse < lru.lastUse) {
				lru = o
			}
		}
		if lru == nil {
			return nil
		}
		delete(w.shards, lru.name)
		if err := w.closeShard(lru); err != nil {
			return err
		}
	}
	return nil
}

// compact merges each named shard into a single segment, Workers at a
// time. bleve's merger leaves a day shard of a backfill in about ten
// segments; a search visits each segment of each shard, and a process
// that searches once opens each segment's file: with one segment a 7-day
// search takes 25–50% less time (docs/benchmarks-index.md). It costs
// one more pass over the shard's documents. A shard a reader holds open
// is left as it is (counted in CompactSkipped): compaction only speeds
// searches up, so waiting for a reader is not worth it.
func (w *Writer) compact(names []string) error {
	start := time.Now()
	work := make(chan string)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for i := 0; i < w.opt.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range work {
				path := filepath.Join(w.dir, name)
				if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
					continue // removed by Retain since
				}
				skipped, err := compactShard(path)
				mu.Lock()
				switch {
				case err != nil && firstErr == nil:
					firstErr = err
				case skipped:
					w.stats.CompactSkipped++
				case err == nil:
					w.stats.Compacted++
				}
				mu.Unlock()
			}
		}()
	}
	for _, name := range names {
		work <- name
	}
	close(work)
	wg.Wait()
	w.stats.CompactTime = time.Since(start)
	return firstErr
}

// compactShard force-merges the shard at path into one segment and stores
// the counts of its values that a search would take long to make (see
// counts.go); skipped reports that a reader held it open.
func compactShard(path string) (skipped bool, err error) {
	if err := checkFiles(path); err != nil {
		return false, shardOpenError(path, err)
	}
	idx, err := safeOpen(path, map[string]interface{}{"bolt_timeout": "100ms", "unsafe_batch": true})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return true, nil
	}
	if err != nil {
		return false, shardOpenError(path, err)
	}
	var live map[string]bool
	a, err := idx.Advanced()
	if err == nil {
		if s, ok := a.(*scorch.Scorch); ok {
			// A merge bleve's merger started on its own when the shard
			// opened can finish after the forced one: merge again then.
			for try := 0; try < 3 && err == nil && (live == nil || len(live) > 1); try++ {
				if err = s.ForceMerge(context.Background(), &mergeplan.SingleSegmentMergePlanOptions); err == nil {
					err = waitPersisted(s, time.Minute)
				}
				if err == nil {
					live, err = liveSegments(s)
				}
			}
			if err == nil && len(live) == 1 {
				for seg := range live {
					if err = storeCounts(idx, s, seg); err == nil {
						err = waitPersisted(s, time.Minute)
					}
				}
			}
		}
	}
	if cerr := idx.Close(); err == nil {
		err = cerr
	}
	if err == nil && len(live) == 1 {
		// Which files are live is read back from what is on disk now,
		// not from the snapshot above, which the persister may not have
		// recorded if another merge came in between.
		err = removeDeadSegments(path)
	}
	if err != nil {
		return false, fmt.Errorf("compact shard %s: %w", quote(filepath.Base(path)), err)
	}
	return false, nil
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

// openShardWrite opens the shard at path for writing, creating it when it
// does not exist.
func openShardWrite(path string, m mapping.IndexMapping, timeout time.Duration) (bleve.Index, error) {
	cfg := func() map[string]interface{} {
		c := map[string]interface{}{
			"bolt_timeout": timeout.String(),
			"unsafe_batch": true, // Flush waits for the persisted callbacks instead
		}
		return c
	}
	if err := checkFiles(path); err != nil {
		return nil, shardOpenError(path, err)
	}
	idx, err := safeOpen(path, cfg())
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
