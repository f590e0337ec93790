package index

import zapx "github.com/blevesearch/zapx/v17"

// dvChunk is the number of documents per doc-value chunk in the segments
// this package writes (bleve's default is 1024). Every listing sorts its
// hits by the end key, and reading one hit's key decodes its whole chunk:
// with 1024 that was about half of a search's time; with 64 it is a few
// percent, for about 1% more disk.
//
// zapx reads this from a package variable, not from the segment file, so
// every process that reads or writes sshwhy shards must use the same
// value: it is set here, in the only package that opens them, and
// recorded in the data directory's manifest, which is checked on open.
// It is the one process-wide setting of this package: assigned once, at
// init, before anything can open a shard, with the same constant for
// every command (index, search, a daemon doing both), and never changed.
const dvChunk = 64

func init() {
	zapx.LegacyChunkMode = dvChunk
}
