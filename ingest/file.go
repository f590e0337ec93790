package ingest

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Options configures Open. The zero value is ready to use.
type Options struct {
	// MaxLine is the longest line kept, in bytes; longer lines are cut to
	// MaxLine, marked Truncated, and the rest of the line is skipped. It
	// also caps journal MESSAGE fields. Zero means DefaultMaxLine.
	MaxLine int
	// Loc is the time zone of BSD syslog timestamps and of the rendered
	// timestamps of journal records. Nil means time.Local.
	Loc *time.Location
	// Ref is the reference time for the year of BSD syslog timestamps (see
	// Parser.Ref). Zero means the file's modification time, or the current
	// time for stdin.
	Ref time.Time
	// Stdin is read for the path "-". Nil means os.Stdin.
	Stdin io.Reader
	// Offset resumes reading after this many bytes of the (decompressed)
	// content: a Line's Offset from an earlier read of the same file. It
	// must be the end of a line (or of a journal record). Not for stdin.
	Offset int64
}

func (o Options) withDefaults() Options {
	if o.MaxLine <= 0 {
		o.MaxLine = DefaultMaxLine
	}
	if o.Loc == nil {
		o.Loc = time.Local
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	return o
}

// File reads Lines from one input: a plain log file, a gzip or bzip2
// compressed one (recognised by its content, not its name), or stdin ("-").
// The content may be text lines in any format Parser knows, or a saved
// journal stream, `journalctl -o export` or `journalctl -o json`, which is
// recognised from the first bytes.
//
// Lines have Source set to the path and Offset to the byte offset just
// after the line (in the decompressed stream for compressed files). Blank
// lines are skipped.
type File struct {
	path   string
	opt    Options
	closer io.Closer // nil for stdin
	br     *bufio.Reader
	parser Parser
	format Format // FormatJSON, FormatExport, or FormatUnknown for text
	off    int64  // bytes consumed from the (decompressed) stream
	err    error  // sticky read error, returned once the lines before it are out

	scratch []byte // holds lines longer than br's buffer
	e       entry  // journal record being decoded
	id      FileID // identity of the file opened (zero for stdin)
}

// Open opens path ("-" for stdin) for reading Lines. Errors name the path.
func Open(path string, opt Options) (*File, error) {
	opt = opt.withDefaults()
	var r io.Reader
	var closer io.Closer
	var id FileID
	ref := opt.Ref
	if path == "-" {
		if opt.Offset != 0 {
			return nil, errors.New("ingest: stdin cannot be resumed at an offset")
		}
		r = opt.Stdin
		if ref.IsZero() {
			ref = time.Now()
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("ingest: %w", err)
		}
		if fi.IsDir() {
			f.Close()
			return nil, fmt.Errorf("ingest: %s: is a directory", path)
		}
		if ref.IsZero() {
			ref = fi.ModTime()
		}
		if id, err = identify(f, path); err != nil {
			f.Close()
			return nil, err
		}
		r, closer = f, f
	}
	r, err := decompress(r)
	if err != nil {
		if closer != nil {
			closer.Close()
		}
		return nil, fmt.Errorf("ingest: %s: %w", path, err)
	}
	f := &File{
		path:   path,
		opt:    opt,
		closer: closer,
		br:     bufio.NewReaderSize(r, 64<<10),
		parser: Parser{Ref: ref, Loc: opt.Loc},
		id:     id,
	}
	f.format = sniff(f.br)
	if opt.Offset > 0 {
		if err := f.skip(opt.Offset); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// skip moves past the first n bytes of the content: a seek for a plain
// file, reading them for a compressed one.
func (f *File) skip(n int64) error {
	if sk, ok := f.closer.(*os.File); ok && !f.id.Compressed {
		if fi, err := sk.Stat(); err == nil && fi.Size() < n {
			return fmt.Errorf("ingest: %s: %w: %d bytes, resuming at byte %d", f.path, ErrShorter, fi.Size(), n)
		}
		if _, err := sk.Seek(n, io.SeekStart); err != nil {
			return fmt.Errorf("ingest: %s: %w", f.path, err)
		}
		f.br.Reset(sk)
	} else if got, err := io.CopyN(io.Discard, f.br, n); err != nil {
		return fmt.Errorf("ingest: %s: resuming at byte %d: only %d bytes: %w", f.path, n, got, err)
	}
	f.off = n
	return nil
}

// ErrShorter is wrapped by Open's error when a file is shorter than the
// offset to resume at (it was truncated since).
var ErrShorter = errors.New("file is shorter than the offset")

// ID is the identity of the file (zero for stdin), read when it was
// opened.
func (f *File) ID() FileID { return f.id }

// Compression magic numbers.
var (
	gzipMagic  = []byte{0x1f, 0x8b}
	bzip2Magic = []byte("BZh")
	xzMagic    = []byte{0xfd, '7', 'z', 'X', 'Z', 0}
	zstdMagic  = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// decompress returns a reader of r's content, decompressed if it starts
// with a gzip or bzip2 header.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("corrupt gzip data: %w", err)
		}
		return z, nil
	case bytes.HasPrefix(head, bzip2Magic) && len(head) >= 4 && '1' <= head[3] && head[3] <= '9':
		return bzip2.NewReader(br), nil
	case bytes.HasPrefix(head, xzMagic):
		return nil, errors.New("xz compressed files are not supported; decompress with xz -dc and pipe into stdin")
	case bytes.HasPrefix(head, zstdMagic):
		return nil, errors.New("zstd compressed files are not supported; decompress with zstd -dc and pipe into stdin")
	}
	return br, nil
}

// sniff tells a journal export or JSON stream from text lines by its first
// line.
func sniff(br *bufio.Reader) Format {
	head, _ := br.Peek(256)
	if len(head) > 0 && head[0] == '{' {
		return FormatJSON
	}
	// journalctl -o export: "KEY=value" or "KEY\n" (binary), KEY in [A-Z0-9_].
	n := 0
	for n < len(head) && ('A' <= head[n] && head[n] <= 'Z' || head[n] == '_' || n > 0 && isDigit(head[n])) {
		n++
	}
	if n >= 2 && n < len(head) && (head[n] == '=' || head[n] == '\n') {
		return FormatExport
	}
	return FormatUnknown
}

// Next reads the next Line into l, or returns io.EOF at the end of the
// input. A read error (such as corrupt gzip data) names the path and the
// offset; the Lines before it have been returned.
func (f *File) Next(l *Line) error {
	var err error
	switch f.format {
	case FormatExport:
		*l, err = f.nextExport()
	case FormatJSON:
		*l, err = f.nextJSON()
	default:
		err = f.nextText(l)
	}
	if err != nil {
		*l = Line{}
		return err
	}
	l.Source = f.path
	l.Offset = f.off
	if f.closer != nil {
		l.File = &f.id
	}
	return nil
}

func (f *File) nextText(l *Line) error {
	for {
		b, truncated, err := f.readLine(f.opt.MaxLine)
		if err != nil {
			return err
		}
		if len(b) == 0 && !truncated {
			continue
		}
		f.parser.parse(l, string(b))
		l.Truncated = truncated
		return nil
	}
}

// readLine returns the next line without its line ending ("\n" or
// "\r\n"), cut to limit bytes (truncated is then true). The slice is valid
// until the next read. It returns an error only when no line is left.
func (f *File) readLine(limit int) (line []byte, truncated bool, err error) {
	if f.err != nil {
		return nil, false, f.error()
	}
	b, err := f.br.ReadSlice('\n')
	f.off += int64(len(b))
	n := len(b) // length of the whole line
	line = b
	var prev byte // last byte before the final chunk b
	if err == bufio.ErrBufferFull {
		// Longer than the buffer: keep up to limit bytes in scratch.
		f.scratch = append(f.scratch[:0], b[:min(len(b), limit)]...)
		for err == bufio.ErrBufferFull {
			prev = b[len(b)-1]
			b, err = f.br.ReadSlice('\n')
			f.off += int64(len(b))
			n += len(b)
			if room := limit - len(f.scratch); room > 0 {
				f.scratch = append(f.scratch, b[:min(len(b), room)]...)
			}
		}
		line = f.scratch
	}
	if err != nil {
		f.err = err
		if n == 0 {
			return nil, false, f.error()
		}
	} else {
		n-- // '\n'
		if len(b) >= 2 && b[len(b)-2] == '\r' || len(b) == 1 && prev == '\r' {
			n--
		}
	}
	if n > limit {
		return line[:limit], true, nil
	}
	return line[:n], false, nil
}

// error returns the sticky read error: io.EOF, or once an error naming the
// path (then io.EOF).
func (f *File) error() error {
	err := f.err
	if err == io.EOF {
		return io.EOF
	}
	f.err = io.EOF
	return fmt.Errorf("ingest: %s: read error after byte %d: %w", f.path, f.off, err)
}

// Close closes the underlying file (not stdin).
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}
