package index

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"
)

// A store owns the open bleve handles of one data directory's shards in
// one process and lends them, counted, to whoever needs one: the Writer's
// workers and compactions (writable handles) and searches (whatever handle
// is open, else a read-only one). A Writer and the Readers of the same
// process share one store (Writer.Reader); OpenReader makes a store of its
// own.
//
// bbolt takes an flock on each shard's root.bolt, exclusive when it opens
// it for writing and shared when read-only, and two opens of one file in
// one process conflict like two processes do. So a store keeps at most one
// handle per shard. A handle is closed only when nobody holds it, so never
// under a running search; the writer needing a shard a search opened
// read-only keeps new searches out of it, waits for the running ones,
// then reopens it writable.
//
// Deadlock: a search needs several shards, the writer one at a time. A
// search takes its shards all at once, and waits (for a shard being
// opened, switched or closed by someone else) only while it holds none;
// so the writer waiting for a search to leave a shard never waits for a
// search that waits for it.
type store struct {
	dir         string
	writable    bool                      // the process holds the writer lock: shards may be opened for writing
	mapping     *mapping.IndexMappingImpl // of new shards
	readTimeout time.Duration             // bolt timeout of read-only opens (a writer in another process)

	mu      sync.Mutex
	changed *sync.Cond // broadcast when a handle's state changes or its holders leave
	shards  map[string]*handle
	clock   uint64 // write acquisitions, for the writer's LRU
	closed  bool
}

type handleState uint8

const (
	closedState  handleState = iota // no bleve handle open (the shard may not exist yet)
	openingState                    // one goroutine opens it; the others wait
	openState
	closingState // one goroutine waits for the holders to leave, then closes it; the others wait
)

// handle is one shard and, when open, its bleve index.
type handle struct {
	shard   Shard
	state   handleState
	idx     bleve.Index
	write   bool   // idx is open for writing
	refs    int    // holders now: workers, compactions, searches
	lastUse uint64 // store.clock at the last write acquisition
	removed bool   // Retain is removing the shard: searches skip it

	unstored sync.WaitGroup // batches applied but not yet persisted (writable handles)
}

var errClosed = errors.New("index: closed")

// errNoShard is returned by acquireWrite without create for a shard that
// does not exist.
var errNoShard = errors.New("index: no such shard")

func newStore(dir string, writable bool, m *mapping.IndexMappingImpl, readTimeout time.Duration) (*store, error) {
	all, err := listShards(dir)
	if err != nil {
		return nil, err
	}
	st := &store{dir: dir, writable: writable, mapping: m, readTimeout: readTimeout, shards: make(map[string]*handle, len(all))}
	st.changed = sync.NewCond(&st.mu)
	for _, s := range all {
		st.shards[s.Name()] = &handle{shard: s}
	}
	return st, nil
}

// sortedLocked is every shard not being removed, oldest first.
func (st *store) sortedLocked() []*handle {
	out := make([]*handle, 0, len(st.shards))
	for _, h := range st.shards {
		if !h.removed {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b *handle) int { return a.shard.Day.Compare(b.shard.Day) })
	return out
}

// list is the shards known now, oldest first: those on disk when the
// store opened and those the writer created since, without those being
// removed.
func (st *store) list() []Shard {
	st.mu.Lock()
	defer st.mu.Unlock()
	hs := st.sortedLocked()
	out := make([]Shard, len(hs))
	for i, h := range hs {
		out[i] = h.shard
	}
	return out
}

// acquireRead lends the shards that can hold events ending in [since,
// until] (zero bounds are open), opening read-only those not open. The
// caller releases them. All or nothing: it waits only while it holds
// nothing.
func (st *store) acquireRead(since, until time.Time) ([]*handle, error) {
	st.mu.Lock()
	var need []*handle
	for {
		if st.closed {
			st.mu.Unlock()
			return nil, errClosed
		}
		need = need[:0]
		blocked := false
		for _, h := range st.sortedLocked() {
			s := h.shard
			if !since.IsZero() && !s.Day.Add(24*time.Hour).After(since) || !until.IsZero() && s.Day.After(until) {
				continue
			}
			if h.state == openingState || h.state == closingState {
				blocked = true
				break
			}
			need = append(need, h)
		}
		if !blocked {
			break
		}
		st.changed.Wait()
	}
	var missing []*handle
	for _, h := range need {
		h.refs++
		if h.state == closedState {
			h.state = openingState
			missing = append(missing, h)
		}
	}
	st.mu.Unlock()
	if len(missing) == 0 {
		return need, nil
	}
	// Open concurrently: each open maps files and reads a bolt database,
	// about a millisecond.
	idxs := make([]bleve.Index, len(missing))
	errs := make([]error, len(missing))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2*runtime.GOMAXPROCS(0))
	for i, h := range missing {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			idxs[i], errs[i] = st.openRead(h.shard)
		}()
	}
	wg.Wait()
	st.mu.Lock()
	var firstErr error
	gone := map[*handle]bool{}
	for i, h := range missing {
		switch {
		case errs[i] == nil:
			h.idx, h.write, h.state = idxs[i], false, openState
		case errors.Is(errs[i], errNoShard):
			h.state = closedState
			gone[h] = true
		default:
			h.state = closedState
			if firstErr == nil {
				firstErr = errs[i]
			}
		}
	}
	st.changed.Broadcast()
	st.mu.Unlock()
	if firstErr != nil {
		st.release(need...)
		return nil, firstErr
	}
	if len(gone) > 0 {
		// Created and then abandoned by a writer (it failed half-way):
		// nothing to search there.
		var keep []*handle
		for _, h := range need {
			if gone[h] {
				st.release(h)
			} else {
				keep = append(keep, h)
			}
		}
		need = keep
	}
	return need, nil
}

// openRead opens the shard s read-only.
func (st *store) openRead(s Shard) (bleve.Index, error) {
	if _, err := os.Stat(s.Path); errors.Is(err, os.ErrNotExist) {
		return nil, errNoShard
	}
	if err := checkFiles(s.Path); err != nil {
		return nil, shardOpenError(s.Path, err)
	}
	idx, err := safeOpen(s.Path, map[string]interface{}{
		"read_only":    true,
		"bolt_timeout": st.readTimeout.String(),
	})
	if err == nil {
		if err = checkShard(s.Path, idx); err == nil {
			return idx, nil
		}
		_ = idx.Close()
	}
	if errors.Is(err, bleve.ErrorIndexMetaMissing) && writerActive(st.dir) {
		// A writer is creating this shard right now.
		return nil, fmt.Errorf("%w: shard %s is being created by another process%s; try again when it is done",
			ErrInUse, s.Name(), lockHolder(st.dir))
	}
	return nil, shardOpenError(s.Path, err)
}

// release returns handles lent by acquireRead or acquireWrite.
func (st *store) release(hs ...*handle) {
	if len(hs) == 0 {
		return
	}
	st.mu.Lock()
	for _, h := range hs {
		h.refs--
	}
	st.changed.Broadcast()
	st.mu.Unlock()
}

// acquireWrite lends the handle of the shard name open for writing,
// creating the shard when it does not exist and create is set (else
// errNoShard). A read-only handle is switched: new searches wait, the
// running ones finish, and the shard is reopened writable. timeout bounds
// the wait for a reader of another process (bolt's flock).
func (st *store) acquireWrite(name string, timeout time.Duration, create bool) (*handle, error) {
	if !st.writable {
		return nil, errors.New("index: opened for reading only")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for {
		if st.closed {
			return nil, errClosed
		}
		h := st.shards[name]
		if h == nil {
			day, ok := parseShardName(name)
			if !ok {
				return nil, fmt.Errorf("index: %q is not a shard name", name)
			}
			if !create {
				return nil, errNoShard
			}
			h = &handle{shard: Shard{Day: day, Path: filepath.Join(st.dir, name)}}
			st.shards[name] = h
		}
		switch {
		case h.state == openState && h.write:
			h.refs++
			st.clock++
			h.lastUse = st.clock
			return h, nil
		case h.state == openState:
			// Read-only: close it once the searches in it are done.
			if err := st.closeLocked(h, nil); err != nil {
				return nil, err
			}
		case h.state == closedState && h.removed:
			st.changed.Wait() // Retain is removing it; a new one is created after
		case h.state == closedState:
			h.state = openingState
			st.mu.Unlock()
			idx, err := openShardWrite(h.shard.Path, st.mapping, timeout, create)
			st.mu.Lock()
			if err != nil {
				h.state = closedState
				if _, serr := os.Stat(h.shard.Path); errors.Is(serr, os.ErrNotExist) && st.shards[name] == h {
					delete(st.shards, name) // not created
				}
				st.changed.Broadcast()
				return nil, err
			}
			h.idx, h.write, h.state, h.refs = idx, true, openState, 1
			st.clock++
			h.lastUse = st.clock
			st.changed.Broadcast()
			return h, nil
		default: // being opened or closed by someone else
			st.changed.Wait()
		}
	}
}

// closeLocked closes h, open, once nobody holds it: new acquirers wait
// meanwhile. after, if given, runs once it is closed, before anyone can
// open it again. st.mu is held on entry and on return, and released while
// waiting and closing.
func (st *store) closeLocked(h *handle, after func() error) error {
	h.state = closingState
	for h.refs > 0 {
		st.changed.Wait()
	}
	st.mu.Unlock()
	err := closeHandle(h)
	if err == nil && after != nil {
		err = after()
	}
	st.mu.Lock()
	h.state = closedState
	st.changed.Broadcast()
	return err
}

// closeHandle closes h's index; a writable one is first waited for until
// its batches are on disk and its event count recorded.
func closeHandle(h *handle) error {
	var err error
	if h.write {
		h.unstored.Wait() // persisted callbacks take no lock of the store
		err = recordShard(h.shard.Path, h.idx)
	}
	if cerr := h.idx.Close(); err == nil {
		err = cerr
	}
	h.idx, h.write = nil, false
	if err != nil {
		return fmt.Errorf("close shard %s: %w", quote(h.shard.Name()), err)
	}
	return nil
}

// retire closes the shard name's handle once nobody holds it, if it is
// open, and then runs after (if given) before anyone can open it again.
func (st *store) retire(name string, after func() error) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	for {
		h := st.shards[name]
		switch {
		case h == nil:
			return nil
		case h.state == openState:
			return st.closeLocked(h, after)
		case h.state == closedState:
			if after == nil {
				return nil
			}
			h.state = closingState
			st.mu.Unlock()
			err := after()
			st.mu.Lock()
			h.state = closedState
			st.changed.Broadcast()
			return err
		default:
			st.changed.Wait()
		}
	}
}

// evictWritable closes idle writable handles, least recently written
// first, while more than max are open: a standalone writer (sshwhy index)
// lets other processes read the days it has finished.
func (st *store) evictWritable(max int) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	for {
		n := 0
		var lru *handle
		for _, h := range st.shards {
			if h.state != openState || !h.write {
				continue
			}
			n++
			if h.refs == 0 && (lru == nil || h.lastUse < lru.lastUse) {
				lru = h
			}
		}
		if n <= max || lru == nil {
			return nil
		}
		if err := st.closeLocked(lru, nil); err != nil {
			return err
		}
	}
}

// writableHandles lends every handle open for writing (to record them).
func (st *store) writableHandles() []*handle {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*handle
	for _, h := range st.shards {
		if h.state == openState && h.write {
			h.refs++
			out = append(out, h)
		}
	}
	return out
}

// remove deletes the shard s: searches started from now on skip it, the
// running ones finish first.
func (st *store) remove(s Shard) error {
	st.mu.Lock()
	h := st.shards[s.Name()]
	if h == nil {
		h = &handle{shard: s}
		st.shards[s.Name()] = h
	}
	h.removed = true
	st.changed.Broadcast()
	for h.state == openingState || h.state == closingState {
		st.changed.Wait()
	}
	var err error
	if h.state == openState {
		err = st.closeLocked(h, nil)
	}
	if err == nil {
		h.state = closingState // nobody opens it while its files go
		st.mu.Unlock()
		err = removeShard(s)
		st.mu.Lock()
	}
	h.state = closedState
	if err == nil {
		delete(st.shards, s.Name())
	} else {
		h.removed = false
	}
	st.changed.Broadcast()
	st.mu.Unlock()
	return err
}

// close closes every handle, waiting for its holders, concurrently
// (unmapping a shard's files takes a while). The store lends nothing
// afterwards.
func (st *store) close() error {
	st.mu.Lock()
	st.closed = true
	st.changed.Broadcast()
	all := make([]*handle, 0, len(st.shards))
	for _, h := range st.shards {
		all = append(all, h)
	}
	var open []*handle
	for _, h := range all {
		for h.state == openingState || h.state == closingState {
			st.changed.Wait()
		}
		if h.state == openState {
			h.state = closingState
			open = append(open, h)
		}
	}
	for _, h := range open {
		for h.refs > 0 {
			st.changed.Wait()
		}
	}
	st.mu.Unlock()
	errs := make([]error, len(open))
	var wg sync.WaitGroup
	for i, h := range open {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = closeHandle(h)
		}()
	}
	wg.Wait()
	st.mu.Lock()
	for _, h := range open {
		h.state = closedState
	}
	st.changed.Broadcast()
	st.mu.Unlock()
	return errors.Join(errs...)
}
