package index

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bindex "github.com/blevesearch/bleve_index_api"
)

// Counting a whole day shard without a pass over its events.
//
// Count asks shardCount first for each shard a time-only query wholly
// covers. The fields with few values a day (cause, host, hour) are counted
// from the term dictionary: each value's count is the length of its
// postings list. The fields with many (src_ip, user: 55k addresses in a
// busy day) are counted once, when Writer.Close compacts the shard, and
// the counts are kept in the shard (bleve's internal key-value store)
// together with the name of the segment they describe; a shard written
// since has another segment, and its stored counts are ignored.

// fastCounts enables shardCount; tests turn it off to compare.
var fastCounts = true

// storedCountFields are the fields whose counts compaction stores.
var storedCountFields = []string{FieldSrcIP, FieldUser}

// maxDictTerms bounds the values counted one by one from the dictionary.
const maxDictTerms = 2000

// shardCount returns the counts by field of the shard idx, and adds its
// totals to c, when the shard's events all lie in [since, until], none of
// its documents is deleted (a replaced event stays in its old segment,
// marked deleted, until a merge) and the counts can be had without a
// search. It reports whether it could. Every CountKeys field has at most
// one value per event, so the events without it are the rest.
func shardCount(idx bleve.Index, since, until time.Time, field string, c *Counts) ([]Bucket, bool) {
	a, err := idx.Advanced()
	if err != nil {
		return nil, false
	}
	ir, err := a.Reader()
	if err != nil {
		return nil, false
	}
	defer ir.Close()
	snap, ok := ir.(*scorch.IndexSnapshot)
	if !ok {
		return nil, false
	}
	for _, ss := range snap.Segments() {
		if d := ss.Deleted(); d != nil && !d.IsEmpty() {
			return nil, false
		}
	}
	first, last, ok, err := hourSpan(ir)
	if err != nil || !ok {
		return nil, false
	}
	if !since.IsZero() && first.Before(since) || !until.IsZero() && last.After(until.Add(time.Nanosecond)) {
		return nil, false
	}
	docs, err := ir.DocCount()
	if err != nil {
		return nil, false
	}
	var buckets []Bucket
	switch field {
	case FieldCause, FieldHost, FieldHour:
		buckets, ok = dictBuckets(ir, field)
	default:
		buckets, ok = storedBuckets(ir, snap, field, docs)
	}
	if !ok {
		return nil, false
	}
	with := uint64(0)
	for _, b := range buckets {
		with += uint64(b.Count)
	}
	if with > docs {
		return nil, false // not one value per event: do not guess
	}
	c.Total += docs
	c.Missing += int(docs - with)
	return buckets, true
}

// dictBuckets counts field by the values in its term dictionary and the
// length of each one's postings list, for fields with at most maxDictTerms
// values. (Not the dictionary's own counts: in a merged segment zapx
// v17.2.5's dictionary iterator reports 1 for every term read after a term
// with a single document; blevesearch/zapx pull request 445 fixes it.
// TestCountManyValues reproduces it.)
func dictBuckets(ir bindex.IndexReader, field string) ([]Bucket, bool) {
	var terms []string
	d, err := ir.FieldDict(field)
	if err != nil {
		return nil, false
	}
	for {
		e, err := d.Next()
		if err != nil || len(terms) > maxDictTerms {
			d.Close()
			return nil, false
		}
		if e == nil {
			break
		}
		terms = append(terms, e.Term)
	}
	if err := d.Close(); err != nil {
		return nil, false
	}
	out := make([]Bucket, 0, len(terms))
	for _, term := range terms {
		r, err := ir.TermFieldReader(context.Background(), []byte(term), field, false, false, false)
		if err != nil {
			return nil, false
		}
		n := r.Count()
		if err := r.Close(); err != nil {
			return nil, false
		}
		if n > 0 {
			out = append(out, Bucket{Value: term, Count: int(n)})
		}
	}
	return out, true
}

// countsKey is the internal key of a field's stored counts.
func countsKey(field string) []byte { return []byte("sshwhy/counts/" + field) }

// storedBuckets returns the counts compaction stored for field, if they
// describe the shard's one segment and its docs documents.
func storedBuckets(ir bindex.IndexReader, snap *scorch.IndexSnapshot, field string, docs uint64) ([]Bucket, bool) {
	segs := snap.Segments()
	if len(segs) != 1 {
		return nil, false
	}
	seg, ok := segmentName(segs[0])
	if !ok {
		return nil, false
	}
	blob, err := ir.GetInternal(countsKey(field))
	if err != nil || blob == nil {
		return nil, false
	}
	name, n, buckets, err := decodeCounts(blob)
	if err != nil || name != seg || n != docs {
		return nil, false
	}
	return buckets, true
}

// segmentName is the file name of a segment on disk.
func segmentName(ss *scorch.SegmentSnapshot) (string, bool) {
	p, ok := ss.Segment().(interface{ Path() string })
	if !ok || p.Path() == "" {
		return "", false
	}
	return filepath.Base(p.Path()), true
}

// storeCounts counts storedCountFields over the whole shard idx, in one
// segment, and stores the counts in the shard.
func storeCounts(idx bleve.Index) error {
	a, err := idx.Advanced()
	if err != nil {
		return err
	}
	s, ok := a.(*scorch.Scorch)
	if !ok {
		return nil
	}
	live, err := liveSegments(s)
	if err != nil || len(live) != 1 {
		return err
	}
	var seg string
	for seg = range live {
	}
	docs, err := idx.DocCount()
	if err != nil {
		return err
	}
	req := bleve.NewSearchRequestOptions(bleve.NewMatchAllQuery(), 0, 0, false)
	req.Score = bleve.ScoreNone
	for _, f := range storedCountFields {
		req.AddFacet(f, bleve.NewFacetRequest(f, math.MaxInt32))
	}
	sr, err := idx.Search(req)
	if err != nil {
		return err
	}
	for _, f := range storedCountFields {
		var buckets []Bucket
		if fr := sr.Facets[f]; fr != nil && fr.Terms != nil {
			for _, t := range fr.Terms.Terms() {
				buckets = append(buckets, Bucket{Value: t.Term, Count: t.Count})
			}
		}
		slices.SortFunc(buckets, bucketOrder(f)) // as Count returns them
		if err := s.SetInternal(countsKey(f), encodeCounts(seg, docs, buckets)); err != nil {
			return err
		}
	}
	return waitPersisted(s, time.Minute)
}

// The stored counts: a version byte, the segment's name, the number of
// documents, then each value with its count; lengths and numbers as
// uvarints. Values are attacker-written bytes and are stored as they are.
const countsVersion = 1

func encodeCounts(seg string, docs uint64, buckets []Bucket) []byte {
	b := []byte{countsVersion}
	b = binary.AppendUvarint(b, uint64(len(seg)))
	b = append(b, seg...)
	b = binary.AppendUvarint(b, docs)
	b = binary.AppendUvarint(b, uint64(len(buckets)))
	for _, k := range buckets {
		b = binary.AppendUvarint(b, uint64(len(k.Value)))
		b = append(b, k.Value...)
		b = binary.AppendUvarint(b, uint64(k.Count))
	}
	return b
}

var errCounts = errors.New("stored counts are damaged")

func decodeCounts(b []byte) (seg string, docs uint64, buckets []Bucket, err error) {
	if len(b) == 0 || b[0] != countsVersion {
		return "", 0, nil, errCounts
	}
	b = b[1:]
	num := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	str := func() (string, bool) {
		l, ok := num()
		if !ok || l > uint64(len(b)) {
			return "", false
		}
		s := string(b[:l])
		b = b[l:]
		return s, true
	}
	seg, ok := str()
	if !ok {
		return "", 0, nil, errCounts
	}
	if docs, ok = num(); !ok {
		return "", 0, nil, errCounts
	}
	n, ok := num()
	if !ok || n > uint64(len(b)) { // each bucket takes at least 2 bytes
		return "", 0, nil, errCounts
	}
	buckets = make([]Bucket, 0, n)
	for i := uint64(0); i < n; i++ {
		v, ok := str()
		if !ok {
			return "", 0, nil, errCounts
		}
		c, ok := num()
		if !ok || c > docs {
			return "", 0, nil, errCounts
		}
		buckets = append(buckets, Bucket{Value: v, Count: int(c)})
	}
	if len(b) != 0 {
		return "", 0, nil, errCounts
	}
	return seg, docs, buckets, nil
}
