package lab

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
)

// Dial connects to addr from 127.0.0.1 with a kernel-chosen source port and
// returns the connection and that port, which is what sshd logs as
// "port N" for the connection.
func Dial(ctx context.Context, addr string) (*net.TCPConn, int, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, 0, err
	}
	return c.(*net.TCPConn), c.LocalAddr().(*net.TCPAddr).Port, nil
}

// Relay accepts one TCP connection (from an ssh client) and forwards it to a
// target sshd from a known source port. It can reset both sides (RST, via
// SO_LINGER 0) or flip one byte of the client's stream after key exchange.
type Relay struct {
	ln     net.Listener
	target string
	opts   RelayOptions

	dialed       chan struct{} // closed when the upstream dial finished (port or err set)
	serverClosed chan struct{} // closed when the server→client direction ended
	done         chan struct{} // closed when both directions finished
	port         int
	err          error

	mu         sync.Mutex
	down, up   *net.TCPConn
	resetOnce  sync.Once
	corruption *corrupter
}

// RelayOptions select the relay's misbehaviour.
type RelayOptions struct {
	// CorruptAfter, when > 0, flips one byte of the client→server stream
	// that many bytes after the end of the client's SSH_MSG_NEWKEYS packet
	// (so 5 hits the first encrypted packet's payload).
	CorruptAfter int64
}

// NewRelay listens on 127.0.0.1 (kernel-chosen port) and serves one
// connection to target. Close it when done.
func NewRelay(target string, opts RelayOptions) (*Relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Relay{ln: ln, target: target, opts: opts, dialed: make(chan struct{}),
		serverClosed: make(chan struct{}), done: make(chan struct{})}
	if opts.CorruptAfter > 0 {
		r.corruption = &corrupter{after: opts.CorruptAfter}
	}
	go r.serve()
	return r, nil
}

// Port is the port the ssh client should connect to.
func (r *Relay) Port() int { return r.ln.Addr().(*net.TCPAddr).Port }

// SourcePort waits for the upstream connection and returns its local port:
// the port sshd logs for this connection.
func (r *Relay) SourcePort(ctx context.Context) (int, error) {
	select {
	case <-r.dialed:
		return r.port, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Done is closed when the relayed connection is over in both directions.
func (r *Relay) Done() <-chan struct{} { return r.done }

// ServerClosed is closed when sshd's side of the connection ended (EOF or
// error), even if the client has not closed its side (a stopped or parked
// client never does).
func (r *Relay) ServerClosed() <-chan struct{} { return r.serverClosed }

// Corrupted reports whether the relay has flipped its byte.
func (r *Relay) Corrupted() bool {
	if r.corruption == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.corruption.flipped
}

// Reset aborts both sides with a TCP RST.
func (r *Relay) Reset() {
	r.resetOnce.Do(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, c := range []*net.TCPConn{r.up, r.down} {
			if c != nil {
				c.SetLinger(0)
				c.Close()
			}
		}
	})
}

// Close stops the listener and closes any connection.
func (r *Relay) Close() {
	r.ln.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range []*net.TCPConn{r.up, r.down} {
		if c != nil {
			c.Close()
		}
	}
}

func (r *Relay) serve() {
	defer close(r.done)
	serverClosed := sync.OnceFunc(func() { close(r.serverClosed) })
	defer serverClosed()
	c, err := r.ln.Accept()
	r.ln.Close()
	if err != nil {
		r.err = err
		close(r.dialed)
		return
	}
	down := c.(*net.TCPConn)
	up, port, err := Dial(context.Background(), r.target)
	r.mu.Lock()
	r.down, r.up, r.port, r.err = down, up, port, err
	r.mu.Unlock()
	close(r.dialed)
	if err != nil {
		down.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.pipe(up, down, true) }()
	go func() { defer wg.Done(); defer serverClosed(); r.pipe(down, up, false) }()
	wg.Wait()
	up.Close()
	down.Close()
}

// pipe copies src to dst, then half-closes dst. fromClient marks the
// client→server direction, where corruption applies.
func (r *Relay) pipe(dst, src *net.TCPConn, fromClient bool) {
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if fromClient && r.corruption != nil {
				r.mu.Lock()
				r.corruption.feed(buf[:n])
				r.mu.Unlock()
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.SetLinger(0)
				src.Close()
				dst.Close()
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				dst.CloseWrite()
				return
			}
			// src broke (e.g. sshd reset it): pass the reset on, which
			// also unblocks the other direction.
			dst.SetLinger(0)
			dst.Close()
			src.Close()
			return
		}
	}
}

// corrupter watches the client→server SSH stream: the identification line,
// then unencrypted binary packets (uint32 length, padding length, payload)
// until SSH_MSG_NEWKEYS (21). It flips one byte `after` bytes past the end
// of that packet, i.e. inside the encrypted stream.
type corrupter struct {
	after   int64
	seen    []byte // stream prefix kept until NEWKEYS is found
	off     int64  // bytes fed so far
	target  int64  // absolute offset to flip; 0 until NEWKEYS is found
	flipped bool
}

const msgNewKeys = 21

func (c *corrupter) feed(p []byte) {
	start := c.off
	c.off += int64(len(p))
	if c.target == 0 {
		c.seen = append(c.seen, p...)
		switch end := newKeysEnd(c.seen); {
		case end > 0:
			c.target = int64(end) + c.after
			c.seen = nil
		case end < 0: // not an SSH stream: leave it alone
			c.target = -1
			c.seen = nil
		}
	}
	if c.target > 0 && !c.flipped && c.target >= start && c.target < c.off {
		p[c.target-start] ^= 0x55
		c.flipped = true
	}
}

// newKeysEnd returns the offset just past the first SSH_MSG_NEWKEYS packet
// in an unencrypted client stream, 0 if it is not complete yet, or -1 if
// the stream is not SSH.
func newKeysEnd(b []byte) int {
	pos := 0
	for {
		nl := bytes.IndexByte(b[pos:], '\n')
		if nl < 0 {
			if len(b) > 8192 {
				return -1
			}
			return 0
		}
		line := b[pos : pos+nl]
		pos += nl + 1
		if len(line) >= 4 && string(line[:4]) == "SSH-" {
			break
		}
	}
	for {
		if len(b) < pos+6 {
			return 0
		}
		n := int(binary.BigEndian.Uint32(b[pos:]))
		if n < 2 || n > 256*1024 {
			return -1 // not SSH; never corrupt
		}
		if len(b) < pos+4+n {
			return 0
		}
		typ := b[pos+5]
		pos += 4 + n
		if typ == msgNewKeys {
			return pos
		}
	}
}
