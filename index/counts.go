package index

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bindex "github.com/blevesearch/bleve_index_api"
)

// Counting a whole day shard without a pass over its events.
//
// Count asks shardCount first for each shard a query wholly covers, when
// the query selects by nothing but time, causes and phases (the report's
// queries: every event of a day; one cause; the sessions). Two sources:
//
//   - The term dictionary, for a time-only count by a field with few
//     values a day (cause, host, hour): each value's count is the length
//     of its postings list.
//   - The counts compaction stores beside the shard (sshwhy-counts): by
//     src_ip, user, host, hour and duration_s, for all the day's events
//     and for each group of events with the same cause and phase. A query
//     selecting causes and phases selects whole groups, so its counts are
//     the sum of theirs (and its count by cause their sizes). The file
//     names the segment it describes and its number of documents; a shard
//     written since has another segment or count, and the file is
//     ignored.
//
// Both give each shard's counts sorted by value, which Count merges
// without a map (count.go). A shard with replaced (deleted) documents,
// partly covered, or without usable stored counts is searched instead.
// The counts live in a file, not in bleve's internal store, because bleve
// keeps every internal value of an open shard in memory: a busy day's
// counts are megabytes.

// fastCounts enables shardCount; tests turn it off to compare.
var fastCounts = true

// countsFileName is the file in a shard's directory where compaction
// stores its counts.
const countsFileName = "sshwhy-counts"

// storedFields are the count keys whose counts compaction stores.
var storedFields = []string{FieldSrcIP, FieldUser, FieldHost, FieldHour, FieldDuration}

// maxDictTerms bounds the values counted one by one from the dictionary.
const maxDictTerms = 2000

// selection is what a query selects in a shard besides time: every
// event, or the events whose cause and phase are among the given ones
// (nil: any).
type selection struct {
	all            bool
	causes, phases map[string]bool
}

// selection reports what q selects, if it selects only by time, causes
// and phases.
func (q *Query) selection() (selection, bool) {
	if len(q.IPs) > 0 || len(q.Users) > 0 || len(q.Hosts) > 0 || strings.TrimSpace(q.Text) != "" {
		return selection{}, false
	}
	s := selection{all: len(q.Causes) == 0 && len(q.Phases) == 0}
	if len(q.Causes) > 0 {
		s.causes = map[string]bool{}
		for _, c := range q.Causes {
			s.causes[string(c)] = true
		}
	}
	if len(q.Phases) > 0 {
		s.phases = map[string]bool{}
		for _, p := range q.Phases {
			s.phases[p] = true
		}
	}
	return s, true
}

func (s selection) has(g countGroup) bool {
	return (s.causes == nil || s.causes[g.cause]) && (s.phases == nil || s.phases[g.phase])
}

// shardCount returns the counts by field of the events of the shard h
// that sel selects, as lists sorted by value (one value once in each),
// and adds their totals to c, when the shard's events all lie in [since,
// until], none of its documents is deleted (a replaced event stays in its
// old segment, marked deleted, until a merge) and the counts can be had
// without a search. It reports whether it could. Every CountKeys field
// has at most one value per event, so the events without it are the rest.
func shardCount(h *handle, since, until time.Time, field string, sel selection, c *Counts) ([][]Bucket, bool) {
	ir, snap, ok := snapshot(h.idx)
	if !ok {
		return nil, false
	}
	defer ir.Close()
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
	var lists [][]Bucket
	total := docs
	switch {
	case sel.all && (field == FieldCause || field == FieldHost || field == FieldHour):
		b, ok := dictBuckets(ir, field)
		if !ok {
			return nil, false
		}
		lists = [][]Bucket{b}
	default:
		seg, ok := onlySegment(snap)
		if !ok {
			return nil, false
		}
		lists, total, ok = storedCounts(h.shard.Path, seg, docs, field, sel)
		if !ok {
			return nil, false
		}
	}
	with := uint64(0)
	for _, l := range lists {
		for _, b := range l {
			with += uint64(b.Count)
		}
	}
	if with > total {
		return nil, false // not one value per event: do not guess
	}
	c.Total += total
	c.Missing += int(total - with)
	return lists, true
}

// snapshot is the current snapshot of the shard idx.
func snapshot(idx bleve.Index) (bindex.IndexReader, *scorch.IndexSnapshot, bool) {
	a, err := idx.Advanced()
	if err != nil {
		return nil, nil, false
	}
	ir, err := a.Reader()
	if err != nil {
		return nil, nil, false
	}
	snap, ok := ir.(*scorch.IndexSnapshot)
	if !ok {
		ir.Close()
		return nil, nil, false
	}
	return ir, snap, true
}

// onlySegment names the snapshot's segment file if it has exactly one.
func onlySegment(snap *scorch.IndexSnapshot) (string, bool) {
	segs := snap.Segments()
	if len(segs) != 1 {
		return "", false
	}
	return segmentName(segs[0])
}

// dictBuckets counts field by the values in its term dictionary and the
// length of each one's postings list, for fields with at most maxDictTerms
// values. (Not the dictionary's own counts: in a merged segment zapx
// v17.2.5's dictionary iterator reports 1 for every term read after a term
// with a single document; blevesearch/zapx pull request 445 fixes it.
// TestCountManyValues reproduces it.)
func dictBuckets(ir bindex.IndexReader, field string) ([]Bucket, bool) {
	terms, ok := dictTerms(ir, field, maxDictTerms)
	if !ok {
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

// dictTerms lists field's terms in ir, in order, if there are at most max.
func dictTerms(ir bindex.IndexReader, field string, max int) ([]string, bool) {
	var terms []string
	d, err := ir.FieldDict(field)
	if err != nil {
		return nil, false
	}
	for {
		e, err := d.Next()
		if err != nil || len(terms) > max {
			d.Close()
			return nil, false
		}
		if e == nil {
			break
		}
		terms = append(terms, e.Term)
	}
	return terms, d.Close() == nil
}

// segmentName is the file name of a segment on disk.
func segmentName(ss *scorch.SegmentSnapshot) (string, bool) {
	p, ok := ss.Segment().(interface{ Path() string })
	if !ok || p.Path() == "" {
		return "", false
	}
	return filepath.Base(p.Path()), true
}

// countGroup is the events of a shard with one cause and one phase.
type countGroup struct {
	cause, phase string
	docs         uint64
}

// storeCounts counts storedFields over the shard idx, which is in one
// segment without deleted documents, for all its events and for each
// (cause, phase) group, and writes the counts beside it (path). It reads
// each document's doc values once, and the postings of the causes and
// phases (phase has no doc values).
func storeCounts(idx bleve.Index, path string) error {
	ir, snap, ok := snapshot(idx)
	if !ok {
		return nil
	}
	defer ir.Close()
	seg, ok := onlySegment(snap)
	if !ok {
		return nil
	}
	for _, ss := range snap.Segments() {
		if d := ss.Deleted(); d != nil && !d.IsEmpty() {
			return nil
		}
	}
	docs, err := ir.DocCount()
	if err != nil {
		return err
	}
	if countsCurrent(path, seg, docs) {
		return nil // a compacted shard compacted again
	}
	// Each document's cause and phase, as indexes into their terms (-1:
	// none), from the postings.
	valueOf := func(field string) ([]string, []int32, error) {
		terms, ok := dictTerms(ir, field, 1000)
		if !ok {
			return nil, nil, fmt.Errorf("field %s: too many values to store counts", field)
		}
		of := make([]int32, docs)
		for i := range of {
			of[i] = -1
		}
		for ti, term := range terms {
			r, err := ir.TermFieldReader(context.Background(), []byte(term), field, false, false, false)
			if err != nil {
				return nil, nil, err
			}
			for {
				d, err := r.Next(nil)
				if err != nil {
					r.Close()
					return nil, nil, err
				}
				if d == nil {
					break
				}
				n := d.ID.Value()
				if n >= docs || of[n] >= 0 {
					r.Close()
					return nil, nil, fmt.Errorf("field %s: unexpected document %d of %d", field, n, docs)
				}
				of[n] = int32(ti)
			}
			if err := r.Close(); err != nil {
				return nil, nil, err
			}
		}
		return terms, of, nil
	}
	causes, causeOf, err := valueOf(FieldCause)
	if err != nil {
		return err
	}
	phases, phaseOf, err := valueOf(FieldPhase)
	if err != nil {
		return err
	}
	type key struct{ c, p int32 }
	ids := map[key]int{}
	var groups []countGroup
	groupOf := make([]int32, docs)
	for n := range groupOf {
		k := key{causeOf[n], phaseOf[n]}
		g, ok := ids[k]
		if !ok {
			g = len(groups)
			ids[k] = g
			cg := countGroup{}
			if k.c >= 0 {
				cg.cause = causes[k.c]
			}
			if k.p >= 0 {
				cg.phase = phases[k.p]
			}
			groups = append(groups, cg)
		}
		groups[g].docs++
		groupOf[n] = int32(g)
	}
	// counts[field][0] counts every event, counts[field][1+g] group g.
	counts := make([][]map[string]int, len(storedFields))
	for f := range counts {
		counts[f] = make([]map[string]int, 1+len(groups))
		for g := range counts[f] {
			counts[f][g] = map[string]int{}
		}
	}
	dvr, err := ir.DocValueReader(storedFields)
	if err != nil {
		return err
	}
	var g int32
	visit := func(field string, term []byte) {
		f := slices.Index(storedFields, field)
		if f < 0 {
			return
		}
		counts[f][0][string(term)]++
		counts[f][1+g][string(term)]++
	}
	var id bindex.IndexInternalID
	for n := uint64(0); n < docs; n++ {
		id = bindex.NewIndexInternalID(id, n)
		g = groupOf[n]
		if err := dvr.VisitDocValues(id, visit); err != nil {
			return err
		}
	}
	b := encodeCounts(seg, docs, groups, counts)
	tmp := filepath.Join(path, "."+countsFileName+".tmp")
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(path, countsFileName))
}

// The stored counts file:
//
//	byte     version (countsVersion)
//	uvarint  length of the header
//	header:  segment name, documents,
//	         groups: count, then each one's cause, phase and documents,
//	         fields: count, then each one's name and, for all events and
//	         each group, where its list lies (offset in the lists, length)
//	         and the list's CRC-32C; the header's own CRC-32C
//	lists:   a list is its length, then each value and its count, the
//	         values in increasing byte order, each once
//
// Strings are a uvarint length and the bytes; numbers uvarints; CRCs 4
// bytes, little-endian. Values are attacker-written bytes, stored as they
// are. A file that does not decode, whose checksums do not match, or
// whose lists are out of order or count more than the shard holds, is
// ignored (the shard is searched).
const countsVersion = 2

func encodeCounts(seg string, docs uint64, groups []countGroup, counts [][]map[string]int) []byte {
	str := func(b []byte, s string) []byte {
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
	var lists []byte
	locs := make([][]listLoc, len(storedFields))
	for f := range storedFields {
		for _, m := range counts[f] {
			vals := make([]string, 0, len(m))
			for v := range m {
				vals = append(vals, v)
			}
			slices.Sort(vals)
			start := len(lists)
			lists = binary.AppendUvarint(lists, uint64(len(vals)))
			for _, v := range vals {
				lists = str(lists, v)
				lists = binary.AppendUvarint(lists, uint64(m[v]))
			}
			locs[f] = append(locs[f], listLoc{uint64(start), uint64(len(lists) - start), crc32.Checksum(lists[start:], crcTable)})
		}
	}
	h := str(nil, seg)
	h = binary.AppendUvarint(h, docs)
	h = binary.AppendUvarint(h, uint64(len(groups)))
	for _, g := range groups {
		h = str(h, g.cause)
		h = str(h, g.phase)
		h = binary.AppendUvarint(h, g.docs)
	}
	h = binary.AppendUvarint(h, uint64(len(storedFields)))
	for f, name := range storedFields {
		h = str(h, name)
		for _, l := range locs[f] {
			h = binary.AppendUvarint(h, l.off)
			h = binary.AppendUvarint(h, l.n)
			h = binary.LittleEndian.AppendUint32(h, l.crc)
		}
	}
	h = binary.LittleEndian.AppendUint32(h, crc32.Checksum(h, crcTable))
	out := []byte{countsVersion}
	out = binary.AppendUvarint(out, uint64(len(h)))
	out = append(out, h...)
	return append(out, lists...)
}

// crcTable checks the stored counts: a damaged file is ignored, never
// read as other counts.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

var errCounts = errors.New("stored counts are damaged")

// decoder reads the stored counts' numbers and strings; a read past the
// end sets err.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) num() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCounts
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) crc() uint32 {
	if d.err != nil || len(d.b) < 4 {
		d.err = errCounts
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) str() string {
	l := d.num()
	if d.err != nil || l > uint64(len(d.b)) {
		d.err = errCounts
		return ""
	}
	s := string(d.b[:l])
	d.b = d.b[l:]
	return s
}

// countsHeader is the decoded header of a stored counts file.
type countsHeader struct {
	seg    string
	docs   uint64
	groups []countGroup
	lists  map[string][]listLoc // field → all events, then each group
	start  int64                // offset of the lists in the file
	size   int64                // the file's size
}

type listLoc struct {
	off, n uint64
	crc    uint32
}

func decodeHeader(b []byte, size int64) (countsHeader, error) {
	var h countsHeader
	if len(b) == 0 || b[0] != countsVersion {
		return h, errCounts
	}
	d := &decoder{b: b[1:]}
	hl := d.num()
	if d.err != nil || hl > uint64(len(d.b)) {
		return h, errCounts
	}
	h.start = int64(len(b)-len(d.b)) + int64(hl)
	if hl < 4 {
		return h, errCounts
	}
	body := d.b[:hl-4]
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(d.b[hl-4:hl]) {
		return h, errCounts
	}
	d.b = body
	h.size = size
	h.seg = d.str()
	h.docs = d.num()
	ng := d.num()
	if ng > uint64(len(d.b)) { // each group takes at least 3 bytes
		return h, errCounts
	}
	sum := uint64(0)
	for i := uint64(0); i < ng && d.err == nil; i++ {
		g := countGroup{cause: d.str(), phase: d.str(), docs: d.num()}
		sum += g.docs
		h.groups = append(h.groups, g)
	}
	nf := d.num()
	if nf > uint64(len(d.b)) {
		return h, errCounts
	}
	h.lists = map[string][]listLoc{}
	for i := uint64(0); i < nf && d.err == nil; i++ {
		name := d.str()
		locs := make([]listLoc, 1+len(h.groups))
		for j := range locs {
			locs[j] = listLoc{off: d.num(), n: d.num(), crc: d.crc()}
			if locs[j].off > uint64(size) || locs[j].n > uint64(size)-locs[j].off ||
				uint64(h.start) > uint64(size)-locs[j].off-locs[j].n {
				d.err = errCounts
			}
		}
		h.lists[name] = locs
	}
	if d.err != nil || len(d.b) != 0 || sum != h.docs {
		return h, errCounts
	}
	return h, nil
}

// decodeList reads a stored list; limit bounds each count. The values
// are substrings of one copy of b: one allocation instead of one a value.
func decodeList(b []byte, limit uint64) ([]Bucket, error) {
	all := string(b)
	d := &decoder{b: b}
	n := d.num()
	if d.err != nil || n > uint64(len(d.b)) { // each entry takes at least 2 bytes
		return nil, errCounts
	}
	out := make([]Bucket, 0, n)
	for i := uint64(0); i < n; i++ {
		l := d.num()
		if d.err != nil || l > uint64(len(d.b)) {
			return nil, errCounts
		}
		at := len(b) - len(d.b)
		v := all[at : at+int(l)]
		d.b = d.b[l:]
		k := d.num()
		if d.err != nil || k == 0 || k > limit || i > 0 && v <= out[i-1].Value {
			return nil, errCounts
		}
		out = append(out, Bucket{Value: v, Count: int(k)})
	}
	if len(d.b) != 0 {
		return nil, errCounts
	}
	return out, nil
}

// readHeader reads the header of the stored counts file at path.
func readHeader(f *os.File) (countsHeader, error) {
	st, err := f.Stat()
	if err != nil {
		return countsHeader{}, err
	}
	buf := make([]byte, min(st.Size(), 4096))
	if _, err := io.ReadFull(f, buf); err != nil {
		return countsHeader{}, err
	}
	if len(buf) > 1 {
		if hl, n := binary.Uvarint(buf[1:]); n > 0 && hl < uint64(st.Size()) && int64(1+n)+int64(hl) > int64(len(buf)) {
			buf = make([]byte, int64(1+n)+int64(hl))
			if _, err := f.ReadAt(buf, 0); err != nil {
				return countsHeader{}, err
			}
		}
	}
	return decodeHeader(buf, st.Size())
}

// countsCurrent reports whether the shard at path has stored counts of
// the segment seg of docs documents.
func countsCurrent(path, seg string, docs uint64) bool {
	f, err := os.Open(filepath.Join(path, countsFileName))
	if err != nil {
		return false
	}
	defer f.Close()
	h, err := readHeader(f)
	return err == nil && h.seg == seg && h.docs == docs
}

// storedCounts reads from the stored counts of the shard at path the
// lists of field for what sel selects, if they describe the segment seg
// of docs documents; total is the number of events selected.
func storedCounts(path, seg string, docs uint64, field string, sel selection) (lists [][]Bucket, total uint64, ok bool) {
	f, err := os.Open(filepath.Join(path, countsFileName))
	if err != nil {
		return nil, 0, false
	}
	defer f.Close()
	h, err := readHeader(f)
	if err != nil || h.seg != seg || h.docs != docs {
		return nil, 0, false
	}
	var picked []int // lists: 0 all events, 1+g group g
	if sel.all {
		picked, total = []int{0}, docs
	} else {
		for g, cg := range h.groups {
			if sel.has(cg) {
				picked = append(picked, 1+g)
				total += cg.docs
			}
		}
	}
	if field == FieldCause {
		// The groups' sizes: by cause, the phases of a cause added up.
		by := map[string]int{}
		for _, p := range picked {
			if p == 0 {
				for _, cg := range h.groups {
					by[cg.cause] += int(cg.docs)
				}
			} else if cg := h.groups[p-1]; cg.docs > 0 {
				by[cg.cause] += int(cg.docs)
			}
		}
		delete(by, "") // events without a cause count as missing
		l := make([]Bucket, 0, len(by))
		for v, n := range by {
			l = append(l, Bucket{Value: v, Count: n})
		}
		slices.SortFunc(l, func(a, b Bucket) int { return strings.Compare(a.Value, b.Value) })
		return [][]Bucket{l}, total, true
	}
	locs := h.lists[field]
	if locs == nil {
		return nil, 0, false
	}
	for _, p := range picked {
		loc := locs[p]
		buf := make([]byte, loc.n)
		if _, err := f.ReadAt(buf, h.start+int64(loc.off)); err != nil || crc32.Checksum(buf, crcTable) != loc.crc {
			return nil, 0, false
		}
		l, err := decodeList(buf, docs)
		if err != nil {
			return nil, 0, false
		}
		if len(l) > 0 {
			lists = append(lists, l)
		}
	}
	return lists, total, true
}
